"""Body deadlines: one sweeper cancels the body reads that run past their bound; nothing else is touched."""

from __future__ import annotations

import asyncio

import pytest

from mockserver.core.deadlines import _BY_LOOP, BodyDeadline, BodyTimeout


def test_a_read_within_its_bound_is_left_alone() -> None:
    async def main() -> str:
        async with BodyDeadline(0.2):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.25)  # past the bound, outside the block: nothing happens
        assert _BY_LOOP[asyncio.get_running_loop()].reading == {}
        return "read"

    assert asyncio.run(main()) == "read"


def test_a_read_past_its_bound_raises_body_timeout_and_the_task_goes_on() -> None:
    async def main() -> str:
        with pytest.raises(BodyTimeout):
            async with BodyDeadline(0.1):
                await asyncio.sleep(5)
        await asyncio.sleep(0.01)  # the cancellation was handled: the task is not cancelled any more
        return "answered 408"

    assert asyncio.run(asyncio.wait_for(main(), 2)) == "answered 408"


def test_a_cancellation_from_elsewhere_is_not_a_timeout() -> None:
    async def reader() -> None:
        async with BodyDeadline(10):
            await asyncio.sleep(5)

    async def main() -> None:
        task = asyncio.get_running_loop().create_task(reader())
        await asyncio.sleep(0.01)
        task.cancel()  # e.g. the server shutting down
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
