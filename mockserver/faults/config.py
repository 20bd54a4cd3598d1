"""Server settings, from command-line options or `MOCKSERVER_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.validation import PROFILES
from .fault_specs import compile_fault_option

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_STORE_MAX_ITEMS = 10_000
DEFAULT_STORE_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_JOURNAL_SIZE = 1000
DEFAULT_JOURNAL_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_JOURNAL_ENTRY_BYTES = 1024 * 1024
DEFAULT_BODY_TIMEOUT_S = 30.0
FINDINGS_MODES = ("warn", "error")
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_IDLE_TIMEOUT_S = 5.0
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def builtin_scenarios_dir() -> Path:
    """The built-in scenario set: in the wheel under `_builtin/`, in a checkout at the repository's top level."""
    package = Path(__file__).parent.parent
    packaged = package / "_builtin" / "scenarios"
    return packaged if packaged.is_dir() else package.parent / "scenarios"


@dataclass(frozen=True)
class Settings:
    """Everything that shapes how the server behaves. Defaults give the built-in scenarios on 127.0.0.1:8000."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    scenario_paths: tuple[Path, ...] = field(default_factory=lambda: (builtin_scenarios_dir(),))
    log_level: str = "warning"  # quiet in library use; `mockserver serve` says more (info)
    api_keys: tuple[str, ...] = ()  # the only keys accepted; empty: any key
    no_auth: bool = False  # accept requests that carry no key at all (the live API answers them 401)
    profile: str = "openai"
    # Models accepted besides the catalog's and those the scenarios name (`--model`); `any_model` accepts every name.
    models: tuple[str, ...] = ()
    any_model: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S  # to receive a whole request body, else 408
    # Connections (see `connections`): a request's line and headers, the time to receive them, an idle connection;
    # and the proxies whose X-Forwarded-For is believed (comma-separated addresses or networks, `*`; None: none).
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S
    forwarded_allow_ips: str | None = None
    allow_remote: bool = False  # `serve` on an address other than loopback needs this
    seed: int | None = None
    strict: bool = False
    watch: bool = False
    # Delivery defaults for every answer (a scenario or the request's x-mock-* headers may say otherwise).
    delay_ms: float | None = None
    first_event_ms: float | None = None
    stream_gap_ms: float | None = None
    tokens_per_second: float | None = None
    keepalive_ms: float | None = None
    fault: str | None = None
    # State: stored responses and conversations (in memory, or in an SQLite file), and the request journal.
    state_file: Path | None = None
    store_max_items: int = DEFAULT_STORE_MAX_ITEMS
    store_max_bytes: int = DEFAULT_STORE_MAX_BYTES
    journal_size: int = DEFAULT_JOURNAL_SIZE
    journal_max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES  # all entries; the oldest go first past it
    journal_entry_bytes: int = DEFAULT_JOURNAL_ENTRY_BYTES  # one request's body and headers, past it truncated
    admin_token: str | None = None
    # Record and replay (see `proxy`): forward to an upstream API, write what it answers as scenarios, replay them.
    upstream: str | None = None
    upstream_key: str | None = field(default=None, repr=False)
    record_mode: str | None = None  # record, replay, auto, verify; None: auto with an upstream, else off
    record_file: Path | None = None
    record_match: str = "input"
    record_timing: bool = False
    redact: tuple[str, ...] = ()
    contract: str = "report"  # what a forwarding server does with contract findings: off, report, strict
    findings: str = "warn"  # a scenario's answer the live API could not give: warn (header, log, journal) or error

    @property
    def proxy_mode(self) -> str | None:
        """The record/replay mode in force, or None when the server neither forwards nor replays recordings."""
        return self.record_mode or ("auto" if self.upstream else None)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"validation profile must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        if self.max_body_bytes < 1:
            raise ValueError(f"max body size must be positive, got {self.max_body_bytes}")
        for name in ("body_timeout_s", "header_timeout_s", "idle_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name[:-2].replace('_', ' ')} must be above 0 seconds, got {getattr(self, name)}")
        for name in (
            "store_max_items", "store_max_bytes", "journal_size", "journal_max_bytes", "journal_entry_bytes",
            "max_header_bytes",
        ):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', ' ')} must be positive, got {getattr(self, name)}")
        if self.findings not in FINDINGS_MODES:
            raise ValueError(f"findings must be one of {', '.join(FINDINGS_MODES)}, got {self.findings!r}")
        _check_delivery_defaults(self)
        _check_recording(self)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields changed; `None` values are ignored (an option that was not given)."""
        return replace(self, **{key: value for key, value in changes.items() if value is not None})  # type: ignore[arg-type]


def _check_delivery_defaults(settings: Settings) -> None:
    for name in ("delay_ms", "first_event_ms", "stream_gap_ms"):
        if (getattr(settings, name) or 0) < 0:
            raise ValueError(f"{name} must be at least 0, got {getattr(settings, name)}")
    for name in ("keepalive_ms", "tokens_per_second"):
        if getattr(settings, name) is not None and getattr(settings, name) <= 0:
            raise ValueError(f"{name} must be above 0, got {getattr(settings, name)}")
    if settings.fault:
        compile_fault_option(settings.fault)


RECORD_MODES = ("record", "replay", "auto", "verify")
CONTRACT_MODES = ("off", "report", "strict")
MATCH_RULES = ("input", "full_input", "hash")


def _check_recording(settings: Settings) -> None:
    if settings.record_mode is not None and settings.record_mode not in RECORD_MODES:
        raise ValueError(f"mode must be one of {', '.join(RECORD_MODES)}, got {settings.record_mode!r}")
    if settings.contract not in CONTRACT_MODES:
        raise ValueError(f"contract must be one of {', '.join(CONTRACT_MODES)}, got {settings.contract!r}")
    if settings.record_match not in MATCH_RULES:
        raise ValueError(f"match rule must be one of {', '.join(MATCH_RULES)}, got {settings.record_match!r}")
    if settings.upstream is not None and not settings.upstream.startswith(("http://", "https://")):
        raise ValueError(f"the upstream must be an http:// or https:// URL, got {settings.upstream!r}")
    if settings.proxy_mode in ("record", "auto", "verify") and settings.upstream is None:
        raise ValueError(f"mode {settings.proxy_mode} forwards requests: give the upstream (--upstream URL)")


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `MOCKSERVER_HOST`, `_PORT`, `_SCENARIOS` (os.pathsep-separated), `_LOG_LEVEL`,
    `_API_KEYS` (comma-separated), `_NO_AUTH`, `_MODELS` (comma-separated), `_ANY_MODEL`, `_PROFILE`, `_MAX_BODY_BYTES`,
    `_BODY_TIMEOUT` (s), `_MAX_HEADER_BYTES`, `_HEADER_TIMEOUT` (s), `_IDLE_TIMEOUT` (s), `_FORWARDED_ALLOW_IPS`,
    `_ALLOW_REMOTE`, `_SEED`, `_STRICT`, `_WATCH`, `_FINDINGS`, `_STATE`, `_STORE_MAX_ITEMS`, `_STORE_MAX_BYTES`,
    `_JOURNAL_SIZE`, `_JOURNAL_MAX_BYTES`, `_JOURNAL_ENTRY_BYTES`, `_ADMIN_TOKEN`, and the delivery defaults
    `_DELAY_MS`, `_FIRST_EVENT_MS`, `_STREAM_GAP_MS`, `_TOKENS_PER_SECOND`, `_KEEPALIVE_MS`, `_FAULT`.
    Record and replay: `_UPSTREAM`, `_UPSTREAM_KEY`, `_MODE`, `_RECORD`, `_MATCH_BY`, `_RECORD_TIMING`,
    `_REDACT` (comma-separated), `_CONTRACT`."""
    env = os.environ if env is None else env

    def get(name: str) -> str | None:
        value = env.get(f"MOCKSERVER_{name}")
        return value if value else None

    def as_int(name: str) -> int | None:
        value = get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"MOCKSERVER_{name} must be a whole number, got {value!r}") from None

    def as_float(name: str) -> float | None:
        value = get(name)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"MOCKSERVER_{name} must be a number, got {value!r}") from None

    def as_flag(name: str) -> bool | None:
        value = get(name)
        return None if value is None else value.lower() in ("1", "true", "yes", "on")

    scenarios = get("SCENARIOS")
    keys = get("API_KEYS")
    models = get("MODELS")
    redact = get("REDACT")
    return Settings(log_level="info").with_overrides(
        host=get("HOST"),
        port=as_int("PORT"),
        scenario_paths=tuple(Path(p) for p in scenarios.split(os.pathsep) if p) if scenarios else None,
        log_level=(get("LOG_LEVEL") or "").lower() or None,
        api_keys=tuple(k.strip() for k in keys.split(",") if k.strip()) if keys else None,
        models=tuple(m.strip() for m in models.split(",") if m.strip()) if models else None,
        any_model=as_flag("ANY_MODEL"),
        no_auth=as_flag("NO_AUTH"),
        profile=get("PROFILE"),
        max_body_bytes=as_int("MAX_BODY_BYTES"),
        body_timeout_s=as_float("BODY_TIMEOUT"),
        max_header_bytes=as_int("MAX_HEADER_BYTES"),
        header_timeout_s=as_float("HEADER_TIMEOUT"),
        idle_timeout_s=as_float("IDLE_TIMEOUT"),
        forwarded_allow_ips=get("FORWARDED_ALLOW_IPS"),
        allow_remote=as_flag("ALLOW_REMOTE"),
        seed=as_int("SEED"),
        strict=as_flag("STRICT"),
        watch=as_flag("WATCH"),
        findings=(get("FINDINGS") or "").lower() or None,
        delay_ms=as_float("DELAY_MS"),
        first_event_ms=as_float("FIRST_EVENT_MS"),
        stream_gap_ms=as_float("STREAM_GAP_MS"),
        tokens_per_second=as_float("TOKENS_PER_SECOND"),
        keepalive_ms=as_float("KEEPALIVE_MS"),
        fault=get("FAULT"),
        state_file=Path(state) if (state := get("STATE")) else None,
        store_max_items=as_int("STORE_MAX_ITEMS"),
        store_max_bytes=as_int("STORE_MAX_BYTES"),
        journal_size=as_int("JOURNAL_SIZE"),
        journal_max_bytes=as_int("JOURNAL_MAX_BYTES"),
        journal_entry_bytes=as_int("JOURNAL_ENTRY_BYTES"),
        admin_token=get("ADMIN_TOKEN"),
        upstream=get("UPSTREAM"),
        upstream_key=get("UPSTREAM_KEY"),
        record_mode=get("MODE"),
        record_file=Path(record) if (record := get("RECORD")) else None,
        record_match=get("MATCH_BY"),
        record_timing=as_flag("RECORD_TIMING"),
        contract=(get("CONTRACT") or "").lower() or None,
        redact=tuple(name.strip() for name in redact.split(",") if name.strip()) if redact else None,
    )
