"""The HTTP server under the app: uvicorn, with bounds on what a connection may cost before the app sees a request.

uvicorn reads a request's head without such bounds: httptools takes a header of any size (a 10 MB header was
answered 200), h11 refuses one past 16 KiB with a bare 400, and neither limits the time a client takes to send it, so
a connection that sends a byte now and then stays open for ever ("slowloris"). The protocols here are uvicorn's own,
with two bounds more:

    max_header_bytes     the request line and headers; past it a 431 (with the API's error body), connection closed
    header_timeout_s     from a connection's start, or from the first bytes of a later request, to its complete
                         head; past it the connection is closed (after a 408 if part of a request had arrived)

Between requests uvicorn's keep-alive timeout closes an idle connection (`idle_timeout_s`). `X-Forwarded-For`
is believed only from the addresses the user names (`--forwarded-allow-ips`): uvicorn's own default believes it from
127.0.0.1, so any local process could claim any address. The access log (on at `--log-level debug`) shows a path's
query values as `***`: a key sent as `?api_key=` stays out of the log.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from functools import cache
from typing import Any

import h11
import uvicorn
from starlette.types import Scope
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from ..core.errors import APIError
from ..core.jsonio import dumps
from ..faults.config import DEFAULT_HEADER_TIMEOUT_S, DEFAULT_MAX_HEADER_BYTES, Settings

ACCESS_LOGGER = "uvicorn.access"
# Starlette's TestClient calls the app in the test's own process, under this name: no socket, no peer to check.
IN_PROCESS_CLIENT = "testclient"


def is_loopback_address(host: str) -> bool:
    """Whether `host` is a loopback IP address (127.0.0.0/8, ::1, or 127.x mapped into IPv6). Names are not
    addresses: `localhost.evil.example` is not one, and neither is anything else that only starts like one."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


# ---------------------------------------------------------------- bounds on a request's head


class Head:
    """Reading one request head on a connection: whether the connection is waiting for or reading one, how many
    bytes of it arrived, and the timer that ends a head too slow to arrive."""

    def __init__(self, max_bytes: int, timeout_s: float) -> None:
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.reading = True
        self.received = 0
        self.timer: asyncio.TimerHandle | None = None

    def expect(self) -> None:
        """The next bytes are a new request's head."""
        self.reading, self.received = True, 0

    def done(self) -> None:
        self.reading, self.received = False, 0
        self.cancel_timer()

    def count(self, size: int) -> None:
        if self.reading:
            self.received += size

    @property
    def too_large(self) -> bool:
        return self.reading and self.received > self.max_bytes

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def head_too_large(max_bytes: int) -> APIError:
    """The 431 for a request line and headers past `max_bytes` (wording ours: the live API's front end answers such
    a request before the API does, with an HTML page)."""
    return APIError(
        431,
        f"The request line and headers are larger than the limit of {max_bytes} bytes.",
        code="request_header_fields_too_large",
        headers={"connection": "close"},
    )


def head_size(scope: Scope) -> int:
    """About the bytes of a request's line and headers as sent (a name, `: `, a value and CRLF per header)."""
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 16
    for name, value in scope["headers"]:
        size += len(name) + len(value) + 4
    return size


def refusal(error: APIError) -> bytes:
    """A whole HTTP answer with the API's error body, for a request the app never saw; the connection closes after."""
    status = error.status
    body = dumps(error.body())
    reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
    return head % (status, reason, len(body)) + body


class Guarded(asyncio.Protocol):
    """What both protocols add to uvicorn's: the head's size and time bounds, called from uvicorn's hooks. The timer
    runs from the connection's start, or from the first bytes of a later head that arrive while no request is being
    answered, to the head's end. A connection silent between requests is uvicorn's keep-alive timeout's."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def __init__(
        self, config: uvicorn.Config, server_state: ServerState, app_state: dict[str, Any], **options: Any
    ) -> None:
        super().__init__(config, server_state, app_state, **options)  # type: ignore[call-arg]  # uvicorn's, next
        limits = (getattr(config, "max_header_bytes", None), getattr(config, "header_timeout_s", None))
        self.head = Head(limits[0] or DEFAULT_MAX_HEADER_BYTES, limits[1] or DEFAULT_HEADER_TIMEOUT_S)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._time_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self.head.cancel_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.head.count(len(data))
        super().data_received(data)
        self._parsed()
        self._check_head()
        self._time_head()

    def _parsed(self) -> None:
        """After received bytes were parsed: where the protocol learns that a head ended, if its parser says so."""

    def _answering(self) -> bool:
        cycle = getattr(self, "cycle", None)
        return cycle is not None and not cycle.response_complete

    def _time_head(self) -> None:
        if self.head.reading and self.head.timer is None and not self._answering() and not self.transport.is_closing():
            self.head.timer = self.loop.call_later(self.head.timeout_s, self._head_timed_out)

    def _check_head(self) -> None:
        if self.head.too_large and not self.transport.is_closing():
            self.head.done()
            self._refuse(refusal(head_too_large(self.head.max_bytes)))

    def _head_timed_out(self) -> None:
        self.head.timer = None
        if not self.head.reading or self._answering() or self.transport.is_closing():
            return
        if self.head.received:
            message = f"The request line and headers were not received within {self.head.timeout_s:g} seconds."
            self._refuse(refusal(APIError(408, message, code="request_timeout")))
        else:  # an idle connection: nothing to answer
            self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        self.transport.write(answer)
        self.transport.close()


class GuardedH11Protocol(Guarded, H11Protocol):
    """uvicorn's h11 protocol with the head bounds; a head is being read while the client's side is idle."""

    def send_400_response(self, msg: str) -> None:
        self._check_head()  # h11 refuses a head past the same bound first: say why, with the 431
        if not self.transport.is_closing():
            super().send_400_response(msg)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._parsed()

    def _parsed(self) -> None:
        if self.conn.their_state is not h11.IDLE:
            self.head.done()
        elif not self.head.reading:
            self.head.expect()


@cache
def _httptools_protocol() -> type[asyncio.Protocol] | None:
    """uvicorn's httptools protocol with the head bounds, when httptools is installed (then uvicorn would pick it)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is optional: mockserver[fast]
        return None

    class GuardedHttpToolsProtocol(Guarded, HttpToolsProtocol):
        """A head is read from the end of the previous message (or the connection's start) to its headers' end."""

        def on_headers_complete(self) -> None:
            self.head.done()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self.head.expect()  # what follows on the connection is the next request's head

    return GuardedHttpToolsProtocol


def protocol_class() -> type[asyncio.Protocol]:
    """The protocol uvicorn would pick (httptools when installed, else h11), with the head bounds."""
    return _httptools_protocol() or GuardedH11Protocol


# ---------------------------------------------------------------- the access log


_QUERY_VALUE = re.compile(r"=[^&\s\"]*")


def redact_query(path: str) -> str:
    """`/v1/x?api_key=sk-1&limit=5` → `/v1/x?api_key=***&limit=***`: names stay, values may be secrets."""
    base, mark, query = path.partition("?")
    return base + mark + _QUERY_VALUE.sub("=***", query) if mark else path


class RedactQueries(logging.Filter):
    """Takes query values out of uvicorn's access log lines (`client - "GET /path?query HTTP/1.1" 200`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def _redact_access_log() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, RedactQueries) for existing in logger.filters):
        logger.addFilter(RedactQueries())


# ---------------------------------------------------------------- the server


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration plus the head bounds the protocols read."""

    max_header_bytes: int
    header_timeout_s: float


def server_config(app: Any, settings: Settings, *, access_log: bool, lifespan: str) -> ServerConfig:
    """How `serve` and `MockServer` run the app: the bounded protocols, the keep-alive timeout, forwarded headers
    only from the addresses given, query values out of the access log."""
    config = ServerConfig(
        app,
        log_level=settings.log_level,
        access_log=access_log,
        lifespan=lifespan,  # type: ignore[arg-type]
        http=protocol_class(),
        timeout_keep_alive=settings.idle_timeout_s,  # type: ignore[arg-type]  # a float works: it goes to call_later
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips or "",
        # h11's own bound, past ours by more than one read: ours answers first, with the 431 (h11's is a bare 400).
        h11_max_incomplete_event_size=settings.max_header_bytes + 1024 * 1024,
    )
    config.max_header_bytes = settings.max_header_bytes
    config.header_timeout_s = settings.header_timeout_s
    _redact_access_log()  # after uvicorn configured its loggers (in the constructor)
    return config
