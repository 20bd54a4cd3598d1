"""How an answer travels: its delay, the shape of its stream, and the faults injected into it.

A scenario's response may carry `delay`, `stream` and `fault`; `fault_specs` compiles them into a `Delivery` (this
module's data) that the app applies when it sends the answer. The fault vocabulary:

    fault: reset                                   a fault by name, with its defaults
    fault: {reset: {after_events: 3}}              with parameters
    fault: {stall: {}, probability: 0.3}           only on some requests (seeded by --seed)
    fault: [{fragment: 3}, {reset: {after_bytes: 900}, probability: 0.5}]

Positions: `after_events: N` (after the first N events of a stream; for a JSON answer 0 means after the headers)
or `after_bytes: N` (after N bytes of the body); neither: before the first byte of the answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from .shaping import PLAIN_STREAM, StreamShape
from .timing import Duration

if TYPE_CHECKING:
    from .replies import ErrorReply


@dataclass(frozen=True)
class At:
    """Where a fault strikes: after `events` events, after `bytes` body bytes, or (neither) before any byte."""

    events: int | None = None
    bytes: int | None = None

    @property
    def before_headers(self) -> bool:
        return self.events is None and self.bytes is None


BEFORE_ANY_BYTE = At()


@dataclass(frozen=True)
class Reset:
    """A TCP reset (RST): the client sees "connection reset by peer"."""

    at: At = BEFORE_ANY_BYTE


@dataclass(frozen=True)
class Cut:
    """The server closes the connection (FIN) without finishing the answer: an empty reply, or a body cut short."""

    at: At = BEFORE_ANY_BYTE


@dataclass(frozen=True)
class Garbage:
    """Random bytes that are not HTTP, then the connection closes."""

    size: int = 64


@dataclass(frozen=True)
class Stall:
    """Nothing more is sent and the answer never ends, until the client gives up or the server stops."""

    at: At = BEFORE_ANY_BYTE


@dataclass(frozen=True)
class Hold:
    """After the terminal event the connection stays open: for `duration`, or until the client gives up."""

    duration: Duration | None = None


@dataclass(frozen=True)
class Truncate:
    """The stream ends cleanly after `after_events` events (default: all but the terminal event)."""

    after_events: int | None = None


@dataclass(frozen=True)
class ErrorEvent:
    """An `error` event (the live API's nested shape; `flat` adds the documented top-level fields), after which the
    stream ends, or, with `failed`, sends `response.failed` and then ends."""

    error: ErrorReply
    after_events: int = 2
    flat: bool = False
    failed: bool = False


@dataclass(frozen=True)
class Failed:
    """`response.failed` after `after_events` events (default: halfway), with the items finished so far."""

    code: str = "server_error"
    message: str = "The model failed to generate a response."
    after_events: int | None = None


@dataclass(frozen=True)
class Malformed:
    """A line that is not valid SSE data (default: an event's JSON cut in half) after `after_events` events."""

    line: str | None = None
    after_events: int | None = None


@dataclass(frozen=True)
class UnknownEvent:
    """An event of a type no SDK knows, after `after_events` events (default: halfway)."""

    type: str = "response.mock_unknown"
    after_events: int | None = None


@dataclass(frozen=True)
class Duplicate:
    """Event number `event` (default: the middle one) is sent twice, with the same `sequence_number`."""

    event: int | None = None


@dataclass(frozen=True)
class Swap:
    """Events `event` and `event + 1` (default: the middle ones) go out in each other's place."""

    event: int | None = None


@dataclass(frozen=True)
class Fragment:
    """Every write is cut into pieces of `size` bytes (mid-line, mid-UTF-8 character), `pause` ms apart."""

    size: int = 1
    pause: float = 0.0


@dataclass(frozen=True)
class HttpError:
    """This HTTP error instead of the answer (useful with `probability`)."""

    error: ErrorReply


Fault: TypeAlias = (
    Reset
    | Cut
    | Garbage
    | Stall
    | Hold
    | Truncate
    | ErrorEvent
    | Failed
    | Malformed
    | UnknownEvent
    | Duplicate
    | Swap
    | Fragment
    | HttpError
)


@dataclass(frozen=True)
class Injection:
    """A fault and the chance that it applies to a given answer."""

    fault: Fault
    probability: float = 1.0


@dataclass(frozen=True)
class Delivery:
    """Delay, stream shape and faults of an answer; `None` (and the plain stream) mean "not set here"."""

    delay: Duration | None = None
    stream: StreamShape = PLAIN_STREAM
    faults: tuple[Injection, ...] | None = None

    def over(self, base: Delivery) -> Delivery:
        """This delivery, with `base`'s settings wherever this one sets none."""
        if base == NO_DELIVERY or self == base:
            return self
        if self == NO_DELIVERY:
            return base
        return Delivery(
            delay=self.delay if self.delay is not None else base.delay,
            stream=self.stream.over(base.stream),
            faults=self.faults if self.faults is not None else base.faults,
        )

    def draw(self, rng: random.Random) -> list[Fault]:
        """The faults that strike this time, in the order written."""
        return [i.fault for i in self.faults or () if i.probability >= 1 or rng.random() < i.probability]


NO_DELIVERY = Delivery()


_NAMES: dict[type, str] = {
    Reset: "reset", Cut: "cut", Garbage: "garbage", Stall: "stall", Hold: "hold", Truncate: "truncate",
    ErrorEvent: "error_event", Failed: "failed", Malformed: "malformed", UnknownEvent: "unknown_event",
    Duplicate: "duplicate", Swap: "swap", Fragment: "fragment", HttpError: "http_error",
}  # fmt: skip


def fault_name(fault: Fault) -> str:
    """The fault's name as scenario files write it (`empty` is a `cut` before any byte, `headers_only` a `stall`)."""
    return _NAMES[type(fault)]
