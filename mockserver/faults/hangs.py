"""Answers that wait on purpose (delays, paced streams, stalls, held connections), and how a shutdown ends them.

uvicorn's graceful shutdown waits for every open connection to finish, and an answer that stalls on purpose never
finishes by itself. `Server` is uvicorn's server with one step more: before shutting down it wakes every answer
waiting on its event loop, and each one then closes its connection at once.
"""

from __future__ import annotations

import asyncio
import socket
import weakref

import uvicorn


class Waiters:
    """The answers waiting on one event loop, and whether that loop's server is stopping."""

    def __init__(self) -> None:
        self.stopping = False
        self.futures: set[asyncio.Future[None]] = set()

    def release(self) -> None:
        self.stopping = True
        for future in self.futures:
            if not future.done():
                future.set_result(None)


_WAITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Waiters] = weakref.WeakKeyDictionary()


def waiters(loop: asyncio.AbstractEventLoop) -> Waiters:
    found = _WAITERS.get(loop)
    if found is None:
        found = _WAITERS[loop] = Waiters()
    return found


def release_all() -> None:
    """Wake every answer waiting on the running event loop: its server is stopping."""
    waiters(asyncio.get_running_loop()).release()


async def pause(seconds: float) -> bool:
    """Sleep, cut short when the server starts stopping; False when it is stopping."""
    loop = asyncio.get_running_loop()
    waiting = waiters(loop)
    if waiting.stopping:
        return False
    future: asyncio.Future[None] = loop.create_future()
    timer = loop.call_later(seconds, _wake, future)
    waiting.futures.add(future)
    try:
        await future
    finally:
        waiting.futures.discard(future)
        timer.cancel()
    return not waiting.stopping


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Server(uvicorn.Server):
    """uvicorn's server, which first ends the answers that wait on purpose so that shutdown never waits for them."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        release_all()
        await super().shutdown(sockets)
