"""Bounds on how long a request may take to send its body, kept without a timer per request.

A body trickling in a few bytes a second must not hold the server forever, but nearly every body has arrived whole
by the time its handler runs, and a timer per request (`asyncio.timeout`) costs a heap insertion and a cancellation
each time. Instead the reading tasks are noted with their deadlines, and one sweeper task looks at them a few times
a second and cancels those past due, which then answer 408.
"""

from __future__ import annotations

import asyncio
import weakref


class BodyTimeout(Exception):
    """The body was not received within the bound."""


class Deadlines:
    """The tasks reading a body on one event loop, and the sweeper that cancels the late ones."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.reading: dict[asyncio.Task[object], float] = {}
        self.expired: weakref.WeakSet[asyncio.Task[object]] = weakref.WeakSet()
        self.sweeper: asyncio.Task[None] | None = None

    async def sweep(self, interval: float) -> None:
        while self.reading:
            await asyncio.sleep(interval)
            now = self.loop.time()
            for task, deadline in list(self.reading.items()):
                if deadline <= now and not task.done():
                    self.expired.add(task)
                    task.cancel()
        self.sweeper = None


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = weakref.WeakKeyDictionary()


class BodyDeadline:
    """`async with BodyDeadline(seconds):` raises `BodyTimeout` if the block still runs `seconds` from now (checked
    every `seconds / 4`, at most every second). A class, not a generator: it runs for every request."""

    __slots__ = ("seconds", "task", "deadlines")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        deadlines = _BY_LOOP.get(loop)
        if deadlines is None:
            deadlines = _BY_LOOP[loop] = Deadlines(loop)
        deadlines.reading[task] = loop.time() + self.seconds
        if deadlines.sweeper is None:
            deadlines.sweeper = loop.create_task(deadlines.sweep(min(1.0, self.seconds / 4)))
        self.task, self.deadlines = task, deadlines

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        task, deadlines = self.task, self.deadlines
        deadlines.reading.pop(task, None)
        if kind is not None and issubclass(kind, asyncio.CancelledError) and task in deadlines.expired:
            deadlines.expired.discard(task)
            if hasattr(task, "uncancel"):  # Python 3.11+: the cancellation was ours, and it is handled
                task.uncancel()
            raise BodyTimeout from None
