"""The request journal: what each request was and how it was answered, in a bounded ring buffer.

A journal that grows without bound turns a long test run into a memory leak (WireMock's default journal reached
2.9 GB in 45 s of load), so only the newest `size` entries are kept. Secrets in headers are redacted.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from .types import JSON, Headers, JSONObject

DEFAULT_JOURNAL_SIZE = 1000
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "openai-organization", "openai-project", "cookie"})


def redact(headers: Headers) -> Headers:
    """Headers with secret values replaced (the scheme of `Authorization` is kept: `Bearer ***`)."""
    redacted = dict(headers)
    for name in [name for name in redacted if name.lower() in SECRET_HEADERS]:
        value = redacted[name]
        scheme = value.split(" ", 1)[0] + " " if name.lower() == "authorization" and " " in value else ""
        redacted[name] = scheme + "***"
    return redacted


@dataclass
class Entry:
    """One request and its answer. `stream_end` says how a streamed answer ended: the terminal event's type
    (`response.completed`, …), `error` (an error event), `no_terminal_event`, `cut`, `reset`, `stalled` or
    `client_disconnected`. A request forwarded to an upstream (record and replay) has `upstream` set."""

    number: int
    at: float
    method: str
    path: str
    headers: Headers
    body: JSON = None
    scenario: str | None = None
    status: int | None = None
    streamed: bool = False
    stream_end: str | None = None
    fault: str | None = None
    retry_hint_ms: float | None = None
    finished_at: float | None = None
    events: int = 0
    extra: JSONObject = field(default_factory=dict)
    # Record and replay: forwarded to the upstream, its status, the recording that now holds it, the drift found.
    upstream: bool = False
    upstream_status: int | None = None
    recorded_as: str | None = None
    drift: str | None = None
    contract: list[str] = field(default_factory=list)  # contract findings on a forwarded exchange
    findings: list[str] = field(default_factory=list)  # scripted answers the live API could not give to this request

    @property
    def model(self) -> str | None:
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return model if isinstance(model, str) else None

    @property
    def retry_count(self) -> int:
        value = self.headers.get("x-stainless-retry-count", "0")
        return int(value) if value.isdigit() else 0

    @property
    def matched(self) -> bool:
        return self.scenario is not None

    def to_json(self) -> JSONObject:
        data = asdict(self)
        data.update(model=self.model, retry_count=self.retry_count)
        return data


class Journal:
    """The newest `size` entries, oldest first."""

    def __init__(self, size: int = DEFAULT_JOURNAL_SIZE) -> None:
        self._entries: deque[Entry] = deque(maxlen=size)
        self._numbers = itertools.count(1)

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def open(self, at: float, method: str, path: str, headers: Headers) -> Entry:
        entry = Entry(next(self._numbers), at, method, path, redact(headers))
        self._entries.append(entry)
        return entry

    def clear(self) -> None:
        self._entries.clear()

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def last(self) -> Entry | None:
        return self._entries[-1] if self._entries else None

    def filter(self, *, scenario: str | None = None, model: str | None = None, path: str | None = None) -> list[Entry]:
        return [
            entry
            for entry in self._entries
            if (scenario is None or entry.scenario == scenario)
            and (model is None or entry.model == model)
            and (path is None or entry.path == path)
        ]

    def to_json(self, **filters: Any) -> list[JSONObject]:
        return [entry.to_json() for entry in self.filter(**filters)]
