"""Forwarding to an upstream OpenAI-compatible API: the request as the caller sent it, the answer relayed back.

The request goes to the same path under the upstream's base URL (`/v1/responses` → `{upstream}/responses`) with the
caller's headers, minus hop-by-hop ones and mockserver's own `x-mock-*`, and with the configured key instead of the
caller's when there is one. The answer comes back with its status and headers (minus hop-by-hop ones, the length and
the encoding); a stream is relayed chunk by chunk as it arrives, while `SSEParser` cuts it into events.

Whoever wants to watch an exchange (the recorder, drift checks, a contract checker) implements `ExchangeObserver`:
every observer sees the request, the status line, each stream event or the whole JSON body, and the end.

`httpx` is an optional dependency (`pip install 'mockserver[proxy]'`), imported only when a server has an upstream.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from ..core.errors import MockServerError
from ..core.jsonio import dumps, loads
from ..core.types import JSON, Headers, JSONObject

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("mockserver.proxy")

INSTALL_HINT = "pip install 'mockserver[proxy]'"
SSE_MEDIA_TYPE = "text/event-stream"
HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
        "trailer", "trailers", "transfer-encoding", "upgrade",
    }
)  # fmt: skip
_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "accept-encoding"}
_CALLER_KEYS = frozenset({"authorization", "x-api-key", "api-key"})
# The body is relayed decoded and its length may change; the server writes its own date and server lines; the
# upstream's request id and timing go out under their own names beside the mock's.
_NOT_RELAYED = HOP_BY_HOP | {"content-length", "content-encoding", "date", "server"}
_RENAMED = {"x-request-id": "x-upstream-request-id", "openai-processing-ms": "x-upstream-processing-ms"}


class ProxyUnavailable(MockServerError):
    """Forwarding needs `httpx`, which is not installed."""


def require_httpx() -> Any:
    """The `httpx` module, or `ProxyUnavailable` saying how to install it."""
    try:
        import httpx
    except ImportError:
        raise ProxyUnavailable(f"forwarding to an upstream needs httpx: {INSTALL_HINT}") from None
    return httpx


def without_credentials(url: str) -> str:
    """The URL without user, password, query or fragment: what may be written into a file or a log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# ---------------------------------------------------------------- what an observer sees


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event as it arrived: its `event:` name, its `data:` text, the data as JSON (None when it is
    not a JSON object: a malformed event) and when it arrived (`time.monotonic()`)."""

    name: str | None
    data: str
    json: JSONObject | None
    at: float


class ExchangeObserver(Protocol):
    """Watches one forwarded exchange. Calls come in this order: `on_request`, then (unless the upstream could not
    be reached) `on_response`, then each `on_event` of a stream or one `on_json` for any other body, then `on_end`
    with None when the whole answer arrived, else the reason it did not."""

    def on_request(self, body: JSONObject) -> None: ...

    def on_response(self, status: int, headers: Headers) -> None: ...

    def on_event(self, event: SSEEvent) -> None: ...

    def on_json(self, status: int, body: JSON, raw: bytes) -> None: ...

    def on_end(self, error: str | None) -> None: ...


def _notify(observers: Sequence[ExchangeObserver], method: str, *args: Any) -> None:
    """Call one method of every observer; an observer that fails is logged and never breaks the relay."""
    for observer in observers:
        try:
            getattr(observer, method)(*args)
        except Exception:
            logger.exception("%s.%s failed", type(observer).__name__, method)


class SSEParser:
    """Cuts a server-sent event stream into events, whatever the chunk boundaries (mid-line, mid-character)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        text = self._pending + self._decoder.decode(chunk)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        *blocks, self._pending = text.split("\n\n")
        now = time.monotonic()
        return [event for block in blocks if (event := _event(block, now)) is not None]

    def close(self) -> list[SSEEvent]:
        """The last event, when the stream ended without the blank line that closes it."""
        rest, self._pending = self._pending + self._decoder.decode(b"", final=True), ""
        event = _event(rest, time.monotonic())
        return [event] if event is not None else []


def _event(block: str, at: float) -> SSEEvent | None:
    name: str | None = None
    data: list[str] = []
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if name is None and not data:
        return None
    text = "\n".join(data)
    try:
        parsed = loads(text)
    except ValueError:
        parsed = None
    return SSEEvent(name, text, parsed if isinstance(parsed, dict) else None, at)


# ---------------------------------------------------------------- forwarding


@dataclass(frozen=True)
class Relayed:
    """The upstream's answer as it goes back to the client: a body in full, or a stream of chunks."""

    status: int
    headers: Headers
    body: bytes | AsyncIterator[bytes]


class Upstream:
    """One upstream API and the HTTP client that reaches it (its connections reused; closed when the event loop
    that used it shuts down)."""

    def __init__(self, base_url: str, key: str | None = None) -> None:
        self._httpx = require_httpx()
        self.base_url = base_url.rstrip("/")
        self.key = key
        self._client: httpx.AsyncClient | None = None
        self._closer: asyncio.Task[None] | None = None

    @property
    def display_url(self) -> str:
        return without_credentials(self.base_url)

    def url_for(self, path: str, query: str = "") -> str:
        """`/v1/responses` → `{base}/responses`: the base URL is what an SDK takes as `base_url`."""
        tail = path[3:] if path.startswith("/v1/") else path
        return self.base_url + tail + (f"?{query}" if query else "")

    def request_headers(self, caller: Headers, *, with_body: bool = True) -> Headers:
        headers = {
            name: value
            for name, value in caller.items()
            if name not in _NOT_FORWARDED and not name.startswith("x-mock-")
            and not (self.key and name in _CALLER_KEYS)
        }  # fmt: skip
        if self.key:
            headers["authorization"] = f"Bearer {self.key}"
        if with_body:
            headers["content-type"] = "application/json"
        else:
            headers.pop("content-type", None)
        return headers

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            httpx = self._httpx
            # Connecting should be quick; an answer may take minutes (reasoning models), a stream as long as it runs.
            timeout = httpx.Timeout(connect=10.0, read=None, write=60.0, pool=10.0)
            self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
            self._closer = asyncio.get_running_loop().create_task(_close_at_shutdown(self._client))
        return self._client

    async def forward(
        self,
        path: str,
        body: JSONObject | None,
        caller_headers: Headers,
        observers: Sequence[ExchangeObserver] = (),
        *,
        buffer: bool = False,
        method: str = "POST",
        query: str = "",
    ) -> Relayed:
        """Send the request upstream (`body` as JSON, None for none) and relay the answer. A stream is relayed as it
        arrives, unless `buffer` asks for the whole answer first (its events are still observed one by one)."""
        client = self._http()
        if body is not None:
            _notify(observers, "on_request", body)
        request = client.build_request(
            method,
            self.url_for(path, query),
            content=dumps(body) if body is not None else None,
            headers=self.request_headers(caller_headers, with_body=body is not None),
        )
        try:
            response = await client.send(request, stream=True)
        except self._httpx.HTTPError as exc:
            _notify(observers, "on_end", f"unreachable: {type(exc).__name__}")
            logger.warning("the upstream %s could not be reached: %s: %s", self.display_url, type(exc).__name__, exc)
            return _unreachable(self.display_url, exc)
        headers = {name.lower(): value for name, value in response.headers.items()}
        _notify(observers, "on_response", response.status_code, headers)
        relayed_headers = relayed(headers)
        if headers.get("content-type", "").startswith(SSE_MEDIA_TYPE):
            chunks = self._relay_stream(response, observers)
            if buffer:
                return Relayed(response.status_code, relayed_headers, b"".join([chunk async for chunk in chunks]))
            return Relayed(response.status_code, relayed_headers, chunks)
        try:
            raw = await response.aread()
        except self._httpx.HTTPError as exc:
            _notify(observers, "on_end", f"body not received: {type(exc).__name__}")
            return _unreachable(self.display_url, exc)
        finally:
            await response.aclose()
        try:
            parsed: JSON = loads(raw) if raw else None
        except ValueError:
            parsed = None
        _notify(observers, "on_json", response.status_code, parsed, raw)
        _notify(observers, "on_end", None)
        return Relayed(response.status_code, relayed_headers, raw)

    async def _relay_stream(
        self, response: httpx.Response, observers: Sequence[ExchangeObserver]
    ) -> AsyncIterator[bytes]:
        parser = SSEParser()
        error: str | None = "the client left before the stream ended"
        try:
            async for chunk in response.aiter_bytes():
                for event in parser.feed(chunk):
                    _notify(observers, "on_event", event)
                yield chunk
            for event in parser.close():
                _notify(observers, "on_event", event)
            error = None
        except self._httpx.HTTPError as exc:
            # The client's stream ends here too, without its terminal event: that is what it would have seen.
            error = f"the upstream stream broke: {type(exc).__name__}"
            logger.warning("%s (%s)", error, self.display_url)
        finally:
            await response.aclose()
            _notify(observers, "on_end", error)


async def _close_at_shutdown(client: httpx.AsyncClient) -> None:
    """Waits for the event loop to end (its remaining tasks are cancelled then), and closes the client's
    connections while the loop still runs."""
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        await client.aclose()


def relayed(headers: Headers) -> Headers:
    """The upstream's answer headers as they go back to the client."""
    kept: Headers = {}
    for name, value in headers.items():
        if name not in _NOT_RELAYED:
            kept[_RENAMED.get(name, name)] = value
    return kept


def _unreachable(url: str, exc: Exception) -> Relayed:
    message = f"mockserver could not reach the upstream {url}: {type(exc).__name__}: {exc}".strip().rstrip(":")
    body = {"error": {"message": message, "type": "server_error", "param": None, "code": "upstream_unreachable"}}
    return Relayed(502, {"content-type": "application/json", "x-should-retry": "false"}, dumps(body))
