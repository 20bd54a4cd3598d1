"""The request journal: what each request was and how it was answered, in a bounded ring buffer.

A journal that grows without bound turns a long test run into a memory leak (WireMock's default journal reached
2.9 GB in 45 s of load), so only the newest `size` entries are kept, and only as many as fit in `max_bytes` (counted
as JSON). One entry is bounded too: a header value past `KEEP_CHARS` characters is cut, and a body past `entry_bytes`
is kept with its long strings cut (past `KEEP_CHARS`), or if that is not enough, only its top-level values; each cut
says so in the text. Secrets in headers are redacted.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ..core.jsonio import dumps
from ..core.types import JSON, Headers, JSONObject

DEFAULT_JOURNAL_SIZE = 1000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_ENTRY_BYTES = 1024 * 1024
KEEP_CHARS = 8192  # of a header value always, of a body's strings when the body is over `entry_bytes`
ENTRY_OVERHEAD = 256  # what an entry costs besides its headers and body, about
SHORTENED_KEY = "mockserver_journal"
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "openai-organization", "openai-project", "cookie"})


def cut(text: str, keep: int = KEEP_CHARS) -> str:
    """`text`, or its first `keep` characters and a note saying how many more there were."""
    if len(text) <= keep:
        return text
    return f"{text[:keep]}…[{len(text) - keep} more characters not kept by the journal]"


def _cut_strings(value: JSON) -> JSON:
    if isinstance(value, str):
        return cut(value)
    if isinstance(value, dict):
        return {key: _cut_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut_strings(item) for item in value]
    return value


def kept_body(body: JSON, limit: int) -> tuple[JSON, int]:
    """The body as the journal keeps it, and its size as JSON: whole up to `limit` bytes; past it with its long
    strings cut; if still past it, its top-level numbers, booleans and short strings (the model, `stream`, …)."""
    size = len(dumps(body))
    if size <= limit:
        return body, size
    shortened = _cut_strings(body)
    shortened_size = len(dumps(shortened))
    if shortened_size <= limit:
        return shortened, shortened_size
    note = f"a body of {size} bytes, past the journal's {limit} per request: only its top-level values kept"
    summary: JSONObject = {SHORTENED_KEY: note}
    if isinstance(body, dict):
        summary.update((key, value) for key, value in body.items() if _short_scalar(value))
    return summary, len(dumps(summary))


def _short_scalar(value: JSON) -> bool:
    return not isinstance(value, (dict, list)) and not (isinstance(value, str) and len(value) > 256)


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
    """One request and its answer, in the vocabulary of scenario files. `fault` names the faults applied as YAML
    writes them (`reset`, `error_event`, …, joined by `, `); `events` counts the SSE events sent. `stream_end` says
    how a streamed answer ended: the terminal event's type (`response.completed`, …), `error` (an error event),
    `no_terminal_event`, `cut`, `reset`, `stalled` (a `stall` or `hold` the server was stopped in) or
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


_ENDING_FAULTS = {"reset": "reset", "cut": "cut", "garbage": "cut", "stall": "stalled", "hold": "stalled"}


def unfinished_end(fault: str | None) -> str:
    """How a stream that never sent its last byte ended: by the first fault that ends a connection, else by the
    client leaving."""
    for name in (fault or "").split(", "):
        if name in _ENDING_FAULTS:
            return _ENDING_FAULTS[name]
    return "client_disconnected"


class Journal:
    """The newest `size` entries that fit in `max_bytes`, oldest first."""

    def __init__(
        self,
        size: int = DEFAULT_JOURNAL_SIZE,
        max_bytes: int = DEFAULT_MAX_BYTES,
        entry_bytes: int = DEFAULT_ENTRY_BYTES,
    ) -> None:
        self._entries: deque[Entry] = deque()
        self._numbers = itertools.count(1)
        self._size = size
        self.max_bytes = max_bytes
        self.entry_bytes = entry_bytes
        self._bytes = 0
        self._sizes: dict[int, int] = {}  # entry number → its bytes

    @property
    def size(self) -> int:
        return self._size

    @property
    def bytes(self) -> int:
        """What the kept entries cost, about, as JSON."""
        return self._bytes

    def open(self, at: float, method: str, path: str, headers: Headers) -> Entry:
        kept = {name: cut(value) for name, value in redact(headers).items()}
        entry = Entry(next(self._numbers), at, method, path, kept)
        self._entries.append(entry)
        self._account(
            entry, ENTRY_OVERHEAD + len(path) + sum(len(name) + len(value) + 6 for name, value in kept.items())
        )
        return entry

    def keep_body(self, entry: Entry, body: JSON) -> None:
        """Set the entry's body, shortened past `entry_bytes` (see `kept_body`)."""
        entry.body, size = kept_body(body, self.entry_bytes)
        if entry.number in self._sizes:  # not evicted meanwhile
            self._account(entry, size)

    def _account(self, entry: Entry, size: int) -> None:
        self._sizes[entry.number] = self._sizes.get(entry.number, 0) + size
        self._bytes += size
        while len(self._entries) > 1 and (len(self._entries) > self._size or self._bytes > self.max_bytes):
            oldest = self._entries.popleft()
            self._bytes -= self._sizes.pop(oldest.number, 0)

    def clear(self) -> None:
        self._entries.clear()
        self._sizes.clear()
        self._bytes = 0

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
