"""Sending an answer under its `Delivery`: the delay, the paced and cut stream, keepalives, and the faults.

    delay → [ending before any byte] → status line and headers → body (JSON bytes, or stream frames on a schedule,
    keepalives in long pauses, writes fragmented) → [ending mid-answer] → [hold] → end of the body

The endings (`Reset`, `Cut`, `Garbage`, `Stall`, `Hold`) act on the connection; the first one drawn wins.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

from ..core.types import JSONObject
from ..faults.faults import At, Cut, Delivery, Fault, Fragment, Garbage, Hold, Reset, Stall
from ..faults.shaping import Chunking, StreamShape
from ..faults.timing import Schedule, draw_seconds
from ..faults.transport import Connection, ConnectionFault
from .stream_plan import Frame
from .streaming import Splitter, encode_event, split_deltas

SSE_MEDIA_TYPE = "text/event-stream; charset=utf-8"
Ending = Reset | Cut | Garbage | Stall | Hold


def splitter(chunk: Chunking | None) -> Splitter:
    """How deltas are cut: token-like by default, or by characters or words."""
    if chunk is None:
        return split_deltas
    if chunk.unit == "chars":
        return lambda text: split_deltas(text, chars=chunk.size)
    return lambda text: split_deltas(text, words=chunk.size)


@dataclass(frozen=True)
class Plan:
    """What to send and how: the status and headers, then JSON bytes or stream frames."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes | Sequence[Frame]
    delay: float  # seconds before anything is sent
    shape: StreamShape
    ending: Ending | None
    fragment: Fragment | None


def json_plan(
    status: int,
    content: object,
    headers: dict[str, str],
    delivery: Delivery,
    faults: Sequence[Fault],
    rng: random.Random,
) -> Plan:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    return _plan(status, tuple(raw_headers), body, delivery, faults, rng)


def stream_plan(
    frames: Sequence[Frame],
    delivery: Delivery,
    faults: Sequence[Fault],
    rng: random.Random,
    headers: dict[str, str] | None = None,
) -> Plan:
    raw_headers = [(b"content-type", SSE_MEDIA_TYPE.encode())]
    raw_headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]
    return _plan(200, tuple(raw_headers), frames, delivery, faults, rng)


def _plan(
    status: int,
    headers: tuple[tuple[bytes, bytes], ...],
    body: bytes | Sequence[Frame],
    delivery: Delivery,
    faults: Sequence[Fault],
    rng: random.Random,
) -> Plan:
    return Plan(
        status=status,
        headers=headers,
        body=body,
        delay=draw_seconds(delivery.delay, rng),
        shape=delivery.stream,
        ending=next((f for f in faults if isinstance(f, Reset | Cut | Garbage | Stall | Hold)), None),
        fragment=next((f for f in faults if isinstance(f, Fragment)), None),
    )


class DeliveredAnswer:
    """An ASGI app that sends its `Plan`, with full control of the timing and of the connection."""

    def __init__(self, plan: Plan, rng: random.Random) -> None:
        self.plan = plan
        self.rng = rng

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = Connection(send, receive)
        try:
            await _Sender(self.plan, connection, self.rng).run()
        finally:
            connection.finish()


class _Sender:
    def __init__(self, plan: Plan, connection: Connection, rng: random.Random) -> None:
        self.plan = plan
        self.conn = connection
        self.rng = rng
        self.loop = asyncio.get_running_loop()
        self.ending = plan.ending
        self.events_sent = 0
        self.bytes_sent = 0
        self.last_write = 0.0
        self.last_number = -1
        self.number_shift = 0  # keepalives take sequence numbers, pushing later events up
        self.streaming = False  # between the first and the last frame of a stream, when keepalives may go out

    @property
    def finishing_at_shutdown(self) -> bool:
        """The server is stopping with this client still here: the answer's waits end and the rest goes out now, so
        that a paced or delayed answer ends cleanly (faults that never end, such as `stall`, still close)."""
        return self.conn.server_stopping and not self.conn.client_gone

    async def run(self) -> None:
        if (
            self.plan.delay
            and not await self.conn.pause_until(self.loop.time() + self.plan.delay)
            and not self.finishing_at_shutdown
        ):
            return await self._abandon()
        at = self._ending_at()
        if at is not None and at.before_headers:
            return await self._end(at_start=True)
        await self.conn.send({"type": "http.response.start", "status": self.plan.status, "headers": self.plan.headers})
        self.last_write = self.loop.time()
        self.conn.watch()
        body = self.plan.body
        finished = await (self._json(body) if isinstance(body, bytes) else self._stream(body))
        if not finished:
            return
        if isinstance(self.ending, Reset | Cut | Stall):
            return await self._end()
        if isinstance(self.ending, Hold):
            held = self.ending.duration
            until = self.loop.time() + draw_seconds(held, self.rng) if held is not None else None
            if not await self.conn.pause_until(until):
                return await self._abandon()
        await self.conn.body(b"", more=False)

    # ------------------------------------------------------------ bodies

    async def _json(self, body: bytes) -> bool:
        at = self._ending_at()
        if at is not None and (at.events == 0 or at.bytes is not None):
            part = body[: at.bytes] if at.bytes is not None else b""
            if part:
                await self._write(part)
            await self._end()
            return False
        await self._write(body)
        return True

    async def _stream(self, frames: Sequence[Frame]) -> bool:
        shape = self.plan.shape
        schedule = None
        if shape.paced:
            schedule = Schedule(
                self.last_write,
                self.rng,
                first_event=shape.first_event,
                gap=shape.gap,
                tokens_per_second=shape.tokens_per_second,
            )
        at = self._ending_at()
        self.streaming = True
        for frame in frames:
            if self.conn.client_gone:
                return False
            if at is not None and at.events is not None and self.events_sent >= at.events:
                await self._end()
                return False
            if isinstance(frame, dict):
                if schedule is not None and not await self._wait(schedule.due(frame)):
                    if not self.finishing_at_shutdown:
                        await self._abandon()
                        return False
                    schedule = None
                data = self._encode(frame)
            else:
                data = frame
            if at is not None and at.bytes is not None and self.bytes_sent + len(data) >= at.bytes:
                await self._end_inside(data, at.bytes - self.bytes_sent)
                return False
            await self._write(data)
            self.events_sent += 1
        self.streaming = False  # the stream's content is all out: no keepalives after its terminal event
        return True

    def _encode(self, event: JSONObject) -> bytes:
        self.last_number = event["sequence_number"] = event["sequence_number"] + self.number_shift
        return encode_event(event)

    async def _write(self, data: bytes) -> None:
        fragment = self.plan.fragment
        pieces = (
            [data] if fragment is None else [data[i : i + fragment.size] for i in range(0, len(data), fragment.size)]
        )
        for index, piece in enumerate(pieces):
            if index and fragment is not None and fragment.pause:
                paused = await self.conn.pause_until(self.loop.time() + fragment.pause / 1000)
                if not paused and not self.finishing_at_shutdown:
                    return
            await self.conn.body(piece)
            # Let the loop run between writes: a client that hung up is noticed (uvicorn then drops further writes)
            # instead of each write failing on the dead socket, which asyncio logs as a warning.
            await asyncio.sleep(0)
        self.bytes_sent += len(data)
        self.last_write = self.loop.time()

    # ------------------------------------------------------------ waiting, with keepalives

    async def _wait(self, until: float | None) -> bool:
        """Wait until `until` (None: until cut short), sending keepalives when the stream has been silent too long."""
        keepalive = self.plan.shape.keepalive
        while keepalive is not None and self.streaming and self.events_sent > 0:
            beat = self.last_write + keepalive / 1000
            if until is not None and until <= beat:
                break
            if not await self.conn.pause_until(beat):
                return False
            self.number_shift += 1
            self.last_number += 1
            await self._write(encode_event({"type": "keepalive", "sequence_number": self.last_number}))
            self.last_write = beat  # on the beat, so keepalives keep their rhythm
        return await self.conn.pause_until(until)

    # ------------------------------------------------------------ endings

    def _ending_at(self) -> At | None:
        if isinstance(self.ending, Reset | Cut | Stall):
            return self.ending.at
        if isinstance(self.ending, Garbage):
            return At()
        return None

    async def _end(self, at_start: bool = False) -> None:
        ending = self.ending
        if isinstance(ending, Reset):
            await self.conn.reset()
        elif isinstance(ending, Cut):
            await self.conn.close("empty reply" if at_start else "cut")
        elif isinstance(ending, Garbage):
            # Ended by a line break so that the client tries to read it as a status line, and fails.
            await self.conn.write_raw(self.rng.randbytes(ending.size) + b"\r\n\r\n", "garbage")
            await self.conn.close("garbage")
        elif isinstance(ending, Stall):
            stalled = await (self.conn.pause_until(None) if at_start else self._wait(None))
            if not stalled:
                await self._abandon()

    async def _end_inside(self, frame: bytes, keep: int) -> None:
        """End after `keep` bytes of a stream frame: mid-chunk, as the chunk announces the whole frame."""
        if isinstance(self.ending, Reset | Cut) and keep:
            await self.conn.write_raw(b"%x\r\n" % len(frame) + frame[:keep], "cut")
            self.bytes_sent += keep
        elif keep:
            await self._write(frame[:keep])
        await self._end()

    async def _abandon(self) -> None:
        """Stop sending: the client has left (nothing to do) or the server is stopping (close the connection)."""
        if self.conn.server_stopping and not self.conn.client_gone:
            try:
                await self.conn.close("close at shutdown")
            except ConnectionFault:  # in-process there is no connection to close
                pass
