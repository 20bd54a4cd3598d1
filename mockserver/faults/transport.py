"""One answer's connection: ASGI `send`, waiting that a client's departure or a shutdown cuts short, and the raw
socket control that faults need (a reset, a close mid-answer, bytes outside HTTP).

Raw control needs the asyncio transport. Under uvicorn (h11 or httptools) the ASGI `send` is a bound method of the
request cycle, which holds it as `.transport`. In-process ASGI clients (Starlette's TestClient, httpx's
ASGITransport) have no transport: there a raw fault raises `ConnectionFault` inside the app instead.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Protocol

from starlette.types import Receive, Send

from .hangs import waiters

_GONE_TIMEOUT = 2.0  # seconds to wait for the server to notice a connection this side closed


class ConnectionFault(Exception):
    """A raw connection fault (reset, close, bytes outside HTTP) where no socket is reachable (in-process)."""


class RawTransport(Protocol):
    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...

    def get_extra_info(self, name: str, default: object = None) -> object: ...


def find_transport(send: object, depth: int = 8) -> RawTransport | None:
    """The transport behind an ASGI `send`, if the server exposes one.

    Middlewares (Starlette's among them) wrap `send` in closures, so the search follows closure cells, level by
    level, down to uvicorn's bound method.
    """
    frontier, seen = [send], set()
    for _ in range(depth):
        deeper = []
        for candidate in frontier:
            if id(candidate) in seen:
                continue
            seen.add(id(candidate))
            transport = getattr(getattr(candidate, "__self__", None), "transport", None)
            if all(hasattr(transport, name) for name in ("write", "close", "abort", "get_extra_info")):
                return transport
            for cell in getattr(candidate, "__closure__", None) or ():
                try:
                    value = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if callable(value):
                    deeper.append(value)
        frontier = deeper
    return None


class Connection:
    """The sending side of one answer."""

    def __init__(self, send: Send, receive: Receive) -> None:
        self.send = send
        self._receive = receive
        self._watcher: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._disconnected = asyncio.Event()
        self._transport: RawTransport | None = None
        self._looked_up = False

    @property
    def client_gone(self) -> bool:
        return self._disconnected.is_set()

    @property
    def server_stopping(self) -> bool:
        return waiters(asyncio.get_running_loop()).stopping

    async def pause_until(self, when: float | None) -> bool:
        """Wait until event-loop time `when` (`None`: until cut short). False if the client left or the server is
        stopping, in which case the answer should end now."""
        loop = asyncio.get_running_loop()
        waiting = waiters(loop)
        if self.client_gone or waiting.stopping:
            return False
        if when is not None and when <= loop.time():
            return True
        # uvloop's clock ticks in whole milliseconds and its timers may fire up to one early: the deadline is kept
        # on the precise clock, and a wake-up before it waits out the rest.
        deadline = None if when is None else time.monotonic() + (when - loop.time())
        self.watch()
        while True:
            future: asyncio.Future[None] = loop.create_future()
            timer = loop.call_later(deadline - time.monotonic(), _resolve, future) if deadline is not None else None
            self._wake = future
            waiting.futures.add(future)
            try:
                await future
            finally:
                waiting.futures.discard(future)
                self._wake = None
                if timer is not None:
                    timer.cancel()
            if self.client_gone or waiting.stopping:
                return False
            if deadline is None or time.monotonic() >= deadline:
                return True

    async def body(self, data: bytes, *, more: bool = True) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    # ------------------------------------------------------------ raw control

    def transport(self, fault: str) -> RawTransport:
        if not self._looked_up:
            self._transport, self._looked_up = find_transport(self.send), True
        if self._transport is None:
            raise ConnectionFault(f"simulated {fault}: no socket to act on in-process")
        return self._transport

    async def write_raw(self, data: bytes, fault: str) -> None:
        """Bytes straight onto the socket, outside HTTP framing."""
        self.transport(fault).write(data)

    async def close(self, fault: str = "close") -> None:
        """Close the connection (FIN) after what was written, whatever state the answer is in."""
        self.transport(fault).close()
        await self._until_gone()

    async def reset(self) -> None:
        """Abort the connection with a TCP reset (RST): SO_LINGER on, with a zero timeout, then abort."""
        transport = self.transport("reset")
        setsockopt = getattr(transport.get_extra_info("socket"), "setsockopt", None)
        if setsockopt is not None:
            setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        await self._until_gone()

    async def _until_gone(self) -> None:
        # uvicorn logs "returned without completing response" unless it has seen the connection go first.
        self.watch()
        try:
            await asyncio.wait_for(self._disconnected.wait(), _GONE_TIMEOUT)
        except asyncio.TimeoutError:
            pass

    # ------------------------------------------------------------ the client's departure

    def watch(self) -> None:
        """Start noticing the client's departure (`client_gone`), if not already."""
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch_disconnect())

    async def _watch_disconnect(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self._disconnected.set()
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def finish(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
