"""The `mockserver` command: `serve` runs the fake API, `check` validates scenario files."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import os
import signal
import socket
import sys
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from .core.errors import APIError, MockServerError, refused
from .core.validation import PROFILES
from .engine.scenarios import ScenarioSet, check_scenario_files, load_scenarios
from .faults.config import (
    CONTRACT_MODES,
    FINDINGS_MODES,
    LOG_LEVELS,
    MATCH_RULES,
    RECORD_MODES,
    Settings,
    builtin_scenarios_dir,
    settings_from_env,
)
from .proxy.upstream import require_httpx, without_credentials


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockserver",
        description="A local emulator of the OpenAI Responses API, answering from YAML scenarios.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the mock API server",
        description="Run the mock API. Every option can also be set by a MOCKSERVER_* environment variable.",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; env MOCKSERVER_HOST)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        default=None,
        help="allow a --host other than loopback, reachable from other machines (env MOCKSERVER_ALLOW_REMOTE=1)",
    )
    serve.add_argument("--port", type=int, help="port (default 8000, 0 = any free port; env MOCKSERVER_PORT)")
    serve.add_argument(
        "--scenarios",
        action="append",
        type=Path,
        metavar="PATH",
        help="scenario file or folder, repeatable (default: the built-in set; env MOCKSERVER_SCENARIOS)",
    )
    serve.add_argument("--log-level", choices=LOG_LEVELS, help="log level (default info; env MOCKSERVER_LOG_LEVEL)")
    serve.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept only this key, repeatable (default: any key; env MOCKSERVER_API_KEYS, comma-separated)",
    )
    serve.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="NAME",
        help="accept this model besides the catalog's and those the scenarios name, repeatable (env "
        "MOCKSERVER_MODELS, comma-separated)",
    )
    serve.add_argument(
        "--any-model",
        action="store_true",
        default=None,
        help="accept every model name, unknown ones too (env MOCKSERVER_ANY_MODEL=1)",
    )
    serve.add_argument(
        "--no-auth",
        action="store_true",
        default=None,
        help="accept requests without an API key, which the live API answers 401 (env MOCKSERVER_NO_AUTH=1)",
    )
    serve.add_argument(
        "--profile", choices=PROFILES, help="request validation rules (default openai; env MOCKSERVER_PROFILE)"
    )
    serve.add_argument("--max-body-bytes", type=int, help="largest request body accepted (default 16 MiB)")
    serve.add_argument(
        "--body-timeout",
        type=float,
        metavar="SECONDS",
        help="time to receive a whole request body, else 408 (default 30; env MOCKSERVER_BODY_TIMEOUT)",
    )
    _add_connection_options(serve)
    serve.add_argument(
        "--seed", type=int, help="seed for ids and default answers, so runs are reproducible (env MOCKSERVER_SEED)"
    )
    state = serve.add_argument_group("state")
    state.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="keep stored responses and conversations in this SQLite file: shared by several servers, kept across "
        "restarts (default: in memory; env MOCKSERVER_STATE)",
    )
    state.add_argument("--store-max-items", type=int, metavar="N", help="most stored documents, oldest evicted (10000)")
    state.add_argument("--store-max-bytes", type=int, metavar="N", help="most bytes stored in memory (256 MiB)")
    state.add_argument("--journal-size", type=int, metavar="N", help="requests kept in the journal (1000)")
    state.add_argument(
        "--journal-max-bytes", type=int, metavar="N", help="bytes of requests kept in the journal, oldest go (64 MiB)"
    )
    state.add_argument(
        "--journal-entry-bytes",
        type=int,
        metavar="N",
        help="bytes of one request's body (and of each header) kept in the journal, the rest cut (1 MiB)",
    )
    state.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help="require this token (header x-mock-admin-token) on /__mock__/ calls, and accept them from any address",
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="answer requests no scenario matches with a 400 near-miss report (env MOCKSERVER_STRICT=1)",
    )
    serve.add_argument(
        "--watch",
        action="store_true",
        default=None,
        help="reload scenario files when they change; a broken edit keeps the last good set (env MOCKSERVER_WATCH=1)",
    )
    serve.add_argument(
        "--findings",
        choices=FINDINGS_MODES,
        help="a scenario's answer the live API could not give to that request (a call to a tool not offered, "
        "arguments or text that break a strict schema, ...): warn (default) puts it in the x-mock-finding header, "
        "the log and the journal; error answers the request with a 500 instead (env MOCKSERVER_FINDINGS)",
    )
    _add_delivery_options(serve)
    _add_recording_options(serve)
    explain = commands.add_parser(
        "explain",
        help="say which scenario answers a request, or why none does",
        description="Read a create-request body (JSON) and report which scenario would answer it, or the closest "
        "scenarios and the conditions each one missed. Exit code 0 when a scenario answers, 1 when none does.",
    )
    explain.add_argument("request", type=Path, metavar="REQUEST.json", help="the request body; - reads stdin")
    explain.add_argument("--scenarios", action="append", type=Path, metavar="PATH", help="default: the built-in set")
    explain.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="a request header")
    explain.add_argument(
        "--profile", choices=PROFILES, default="openai", help="the validation profile (default openai)"
    )
    commands.add_parser("schema", help="print the JSON Schema of scenario files (for editors)")
    check = commands.add_parser("check", help="load scenario files and report the first problem in each")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="scenario files or folders")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args.paths)
    if args.command == "schema":
        print((files("mockserver") / "data" / "scenario.schema.json").read_text(encoding="utf-8"), end="")
        return 0
    if args.command == "explain":
        return _explain(args.request, args.scenarios, args.header, args.profile)
    if args.command in (None, "serve"):
        try:
            settings = settings_from_env().with_overrides(
                host=getattr(args, "host", None),
                port=getattr(args, "port", None),
                scenario_paths=tuple(args.scenarios) if getattr(args, "scenarios", None) else None,
                log_level=getattr(args, "log_level", None),
                api_keys=tuple(args.api_keys) if getattr(args, "api_keys", None) else None,
                models=tuple(args.models) if getattr(args, "models", None) else None,
                any_model=getattr(args, "any_model", None),
                no_auth=getattr(args, "no_auth", None),
                profile=getattr(args, "profile", None),
                max_body_bytes=getattr(args, "max_body_bytes", None),
                body_timeout_s=getattr(args, "body_timeout", None),
                **_connection_options(args),
                allow_remote=getattr(args, "allow_remote", None),
                seed=getattr(args, "seed", None),
                strict=getattr(args, "strict", None),
                watch=getattr(args, "watch", None),
                findings=getattr(args, "findings", None),
                **_delivery_options(args),
                state_file=getattr(args, "state", None),
                store_max_items=getattr(args, "store_max_items", None),
                store_max_bytes=getattr(args, "store_max_bytes", None),
                journal_size=getattr(args, "journal_size", None),
                journal_max_bytes=getattr(args, "journal_max_bytes", None),
                journal_entry_bytes=getattr(args, "journal_entry_bytes", None),
                admin_token=getattr(args, "admin_token", None),
                **_recording_options(args),
            )
            if settings.upstream:
                require_httpx()
            if (
                settings.proxy_mode
                and not getattr(args, "scenarios", None)
                and not os.environ.get("MOCKSERVER_SCENARIOS")
            ):
                settings = settings.with_overrides(scenario_paths=())  # recordings answer, not the built-in set
            scenarios = load_scenarios(settings.scenario_paths)
        except (ValueError, MockServerError) as exc:
            print(f"mockserver: {exc}", file=sys.stderr)
            return 2
        record = settings.record_file
        if settings.proxy_mode == "replay" and record is not None and not record.is_file():
            print(f"mockserver: nothing to replay: {record} does not exist (record it first)", file=sys.stderr)
            return 2
        if not is_loopback(settings.host):
            if not settings.allow_remote:
                print(
                    f"mockserver: --host {settings.host} is not a loopback address: the mock would be reachable from "
                    "other machines. Add --allow-remote to do so on purpose.",
                    file=sys.stderr,
                )
                return 2
            print(
                f"mockserver: warning: listening on {settings.host}, reachable from other machines; the mock "
                "accepts any API key unless --api-key is given, and its admin API needs --admin-token there.",
                file=sys.stderr,
            )
        return serve(settings, scenarios)
    return 2


def _add_connection_options(serve: argparse.ArgumentParser) -> None:
    """What one connection may cost, and whose X-Forwarded-For is believed (see `connections`)."""
    group = serve.add_argument_group("connections")
    group.add_argument(
        "--max-header-bytes",
        type=int,
        metavar="N",
        help="largest request line and headers, else 431 (default 64 KiB; env MOCKSERVER_MAX_HEADER_BYTES)",
    )
    group.add_argument(
        "--header-timeout",
        type=float,
        metavar="SECONDS",
        help="time to receive a request's line and headers, else the connection is closed (default 10; env "
        "MOCKSERVER_HEADER_TIMEOUT)",
    )
    group.add_argument(
        "--idle-timeout",
        type=float,
        metavar="SECONDS",
        help="close a connection idle this long between requests (default 5; env MOCKSERVER_IDLE_TIMEOUT)",
    )
    group.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="believe X-Forwarded-For from these proxies: comma-separated addresses or networks, * for any "
        "(default: from none; env MOCKSERVER_FORWARDED_ALLOW_IPS)",
    )


_CONNECTION_OPTIONS = {
    "max_header_bytes": "max_header_bytes",
    "header_timeout": "header_timeout_s",
    "idle_timeout": "idle_timeout_s",
    "forwarded_allow_ips": "forwarded_allow_ips",
}


def _connection_options(args: argparse.Namespace) -> dict[str, object]:
    return {setting: getattr(args, option, None) for option, setting in _CONNECTION_OPTIONS.items()}


def _add_recording_options(serve: argparse.ArgumentParser) -> None:
    """Record and replay: forward to an upstream API, record its answers as scenarios, replay them."""
    group = serve.add_argument_group("record and replay")
    group.add_argument(
        "--upstream",
        metavar="URL",
        help="forward requests to this OpenAI-compatible base URL, e.g. https://api.openai.com/v1 (needs "
        "mockserver[proxy]; env MOCKSERVER_UPSTREAM)",
    )
    group.add_argument(
        "--upstream-key",
        metavar="KEY",
        help="API key for the upstream instead of the caller's (prefer env MOCKSERVER_UPSTREAM_KEY)",
    )
    group.add_argument(
        "--mode",
        dest="record_mode",
        choices=RECORD_MODES,
        help="record: forward and record all; replay: never forward; auto (default with --upstream): forward and "
        "record what no scenario answers; verify: forward and report drift from the recordings (env MOCKSERVER_MODE)",
    )
    group.add_argument(
        "--record",
        dest="record_file",
        type=Path,
        metavar="FILE",
        help="YAML file the recordings are written to and replayed from (env MOCKSERVER_RECORD)",
    )
    group.add_argument(
        "--match-by",
        dest="record_match",
        choices=MATCH_RULES,
        help="how a recording matches requests: input (model + last user message; default), full_input, hash "
        "(env MOCKSERVER_MATCH_BY)",
    )
    group.add_argument(
        "--record-timing",
        action="store_true",
        default=None,
        help="record the upstream's timing (delay, first event, gap) so replays are as slow "
        "(env MOCKSERVER_RECORD_TIMING=1)",
    )
    group.add_argument(
        "--contract",
        choices=CONTRACT_MODES,
        help="check forwarded requests and upstream answers against the API's contract: report (default) puts "
        "findings in the x-mock-contract header, the log and the journal; strict refuses them; off (env "
        "MOCKSERVER_CONTRACT)",
    )
    group.add_argument(
        "--redact",
        action="append",
        metavar="NAME",
        help="never write the value of this header or body field, repeatable (env MOCKSERVER_REDACT, comma-separated)",
    )


def _recording_options(args: argparse.Namespace) -> dict[str, object]:
    redact = getattr(args, "redact", None)
    options = {name: getattr(args, name, None) for name in _RECORDING_OPTIONS}
    return {**options, "redact": tuple(redact) if redact else None}


_RECORDING_OPTIONS = (
    "upstream", "upstream_key", "record_mode", "record_file", "record_match", "record_timing", "contract",
)  # fmt: skip
_DELIVERY_OPTIONS = ("delay_ms", "first_event_ms", "stream_gap_ms", "tokens_per_second", "keepalive_ms", "fault")


def _add_delivery_options(serve: argparse.ArgumentParser) -> None:
    """Defaults for every answer's timing and faults; a scenario or the request's x-mock-* headers may override."""
    for flag, dest, what in (
        ("--delay", "delay_ms", "wait before every answer"),
        ("--first-event", "first_event_ms", "wait from a stream's headers to its first event"),
        ("--stream-gap", "stream_gap_ms", "time between stream events"),
        ("--keepalive", "keepalive_ms", "send a keepalive event when a stream has been silent this long"),
    ):
        serve.add_argument(flag, dest=dest, type=float, metavar="MS", help=f"{what} (env MOCKSERVER_{dest.upper()})")
    serve.add_argument(
        "--tokens-per-second",
        type=float,
        metavar="N",
        help="pace stream deltas by their token count (env MOCKSERVER_TOKENS_PER_SECOND)",
    )
    serve.add_argument(
        "--fault",
        metavar="YAML",
        help="a fault for every answer, written as a scenario's fault:, e.g. '{reset: {}, probability: 0.1}' "
        "(env MOCKSERVER_FAULT)",
    )


def _delivery_options(args: argparse.Namespace) -> dict[str, object]:
    return {name: getattr(args, name, None) for name in _DELIVERY_OPTIONS}


def _check(paths: Sequence[Path]) -> int:
    """Every problem of every file, each with its file:line:column; exit code 1 when there is any."""
    try:
        checked = check_scenario_files(paths)
    except MockServerError as exc:  # a path that names nothing
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path, count, problems in checked:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if not problems:
            print(f"ok: {path}: {count} scenarios")
    return 1 if any(problems for _, _, problems in checked) else 0


def _explain(request: Path, scenario_paths: list[Path] | None, headers: list[str], profile: str) -> int:
    from .wire.service import MockService

    try:
        text = sys.stdin.read() if str(request) == "-" else request.read_text(encoding="utf-8")
        body = json.loads(text)
        paths = tuple(scenario_paths or [builtin_scenarios_dir()])
        scenarios = load_scenarios(paths)
    except (OSError, ValueError, MockServerError) as exc:
        print(f"mockserver: {exc}", file=sys.stderr)
        return 2
    if not isinstance(body, dict):
        print("mockserver: the request body must be a JSON object", file=sys.stderr)
        return 2
    pairs = (header.split(":", 1) for header in headers if ":" in header)
    service = MockService(Settings(scenario_paths=paths, profile=profile), scenarios)
    try:
        ctx = service.admit(body, {name.strip().lower(): value.strip() for name, value in pairs})
    except APIError as refusal:
        print(refused(refusal))
        return 1
    print(service.engine.explain(ctx))
    return 0 if service.engine.would_answer(ctx) else 1


def is_loopback(host: str) -> bool:
    """Whether `host` is an address of this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any address
        return False


class _Terminated(Exception):
    """SIGTERM, turned into an exception once uvicorn's graceful shutdown is over (see `serve`)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _what_answers(settings: Settings, scenarios: ScenarioSet, recordings: int) -> str:
    """`with 10 scenarios from scenarios/`, and where requests are forwarded, recorded and replayed from."""
    sources = ", ".join(str(path) for path in settings.scenario_paths)
    said = f"with {len(scenarios)} scenarios from {sources}" if sources else "with no scenarios"
    if settings.upstream:
        said += f", forwarding to {without_credentials(settings.upstream)} ({settings.proxy_mode} mode)"
    elif settings.proxy_mode:
        said += f" ({settings.proxy_mode} mode)"
    if settings.record_file:
        if settings.proxy_mode == "record":  # the file starts anew
            said += f", recordings in {settings.record_file}"
        else:
            said += f", {recordings} recording{'s' * (recordings != 1)} from {settings.record_file}"
    return said


def uvicorn_stack() -> str:
    """The event loop and HTTP parser uvicorn picks by itself ("auto"): `uvloop, httptools` where they are installed,
    else `asyncio, h11`."""
    from importlib.util import find_spec

    loop = "uvloop" if find_spec("uvloop") is not None else "asyncio"
    parser = "httptools" if find_spec("httptools") is not None else "h11"
    return f"{loop}, {parser}"


def serve(settings: Settings, scenarios: ScenarioSet) -> int:
    """Run until Ctrl-C. The socket is bound first so that port 0 can print the port it got."""
    from .faults.hangs import Server
    from .wire.app import create_app
    from .wire.connections import server_config

    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP matters: asyncio turns Nagle off (TCP_NODELAY) only for sockets that name their protocol.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
        sock.listen(2048)  # connections made right after the line below wait in the backlog
    except OSError as exc:
        print(f"mockserver: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    host = f"[{settings.host}]" if family == socket.AF_INET6 else settings.host
    app = create_app(settings, scenarios)
    proxy = app.state.service.proxy
    recordings = len(proxy.file.compiled) if proxy is not None else 0
    answers = _what_answers(settings, scenarios, recordings)
    print(f"mockserver listening on http://{host}:{port}/v1 ({uvicorn_stack()}) {answers}", flush=True)
    config = server_config(
        app,
        settings,
        access_log=settings.log_level in ("debug", "trace"),
        lifespan="on" if settings.watch else "off",
    )
    # uvicorn handles SIGINT and SIGTERM itself, then raises the signal again for the handler it found: for SIGTERM
    # that handler raises `_Terminated`, so the process exits 0 after its graceful shutdown rather than being killed.
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        gc.freeze()  # what start-up built lives as long as the server: full collections need not walk it
        Server(config).run(sockets=[sock])  # uvicorn's, ending stalled answers at Ctrl-C
    except (KeyboardInterrupt, _Terminated):  # uvicorn re-raises Ctrl-C after its graceful shutdown
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("mockserver stopped", flush=True)
    return 0
