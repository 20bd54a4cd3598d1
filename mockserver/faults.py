"""How an answer travels: its delay, the shape of its stream, and the faults injected into it.

A scenario's response may carry `delay`, `stream` and `fault` (`DELIVERY_KEYS`); they compile into a `Delivery`
that the app applies when it sends the answer. The fault vocabulary:

    fault: reset                                   a fault by name, with its defaults
    fault: {reset: {after_events: 3}}              with parameters
    fault: {stall: {}, probability: 0.3}           only on some requests (seeded by --seed)
    fault: [{fragment: 3}, {reset: {after_bytes: 900}, probability: 0.5}]

Positions: `after_events: N` (after the first N events of a stream; for a JSON answer 0 means after the headers)
or `after_bytes: N` (after N bytes of the body); neither: before the first byte of the answer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from .errors import InvalidSpec
from .matching import unknown_key_message
from .shaping import PLAIN_STREAM, StreamShape, compile_stream
from .timing import Duration, compile_duration
from .types import JSON, Where

if TYPE_CHECKING:
    from .replies import ErrorReply

DELIVERY_KEYS: tuple[str, ...] = ("delay", "stream", "fault")


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


def compile_delivery(raw: Mapping[str, JSON], where: Where) -> Delivery:
    """The delivery described by the `DELIVERY_KEYS` of a response mapping (none given: `NO_DELIVERY`)."""
    if not any(key in raw for key in DELIVERY_KEYS):
        return NO_DELIVERY
    return Delivery(
        delay=compile_duration(raw["delay"], (*where, "delay")) if "delay" in raw else None,
        stream=compile_stream(raw["stream"], (*where, "stream")) if "stream" in raw else PLAIN_STREAM,
        faults=compile_faults(raw["fault"], (*where, "fault")) if "fault" in raw else None,
    )


# ---------------------------------------------------------------- the fault vocabulary


def compile_faults(raw: JSON, where: Where) -> tuple[Injection, ...]:
    """A `fault:` value: a name, a `{name: parameters, probability}` mapping, or a list of these."""
    if isinstance(raw, list):
        return tuple(_injection(item, (*where, index)) for index, item in enumerate(raw))
    return (_injection(raw, where),)


def _injection(raw: JSON, where: Where) -> Injection:
    if isinstance(raw, str):
        return Injection(_fault(raw, None, where))
    if not isinstance(raw, Mapping):
        raise InvalidSpec(where, f"a fault is a name or {{name: parameters}}; use one of {', '.join(FAULT_NAMES)}")
    names = [key for key in raw if key != "probability"]
    if not names:
        raise InvalidSpec(where, f"name the fault beside its probability: one of {', '.join(FAULT_NAMES)}")
    if len(names) > 1:
        raise InvalidSpec(where, f"one fault per entry, got {', '.join(map(str, names))}; write a list for several")
    probability = raw.get("probability", 1.0)
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise InvalidSpec((*where, "probability"), f"probability is a number from 0 to 1; got {probability!r}")
    name = names[0]
    return Injection(_fault(name, raw[name], (*where, name)), float(probability))


def _fault(name: JSON, params: JSON, where: Where) -> Fault:
    compile_one = _COMPILERS.get(name) if isinstance(name, str) else None
    if compile_one is None:
        raise InvalidSpec(where, unknown_key_message("fault", name, FAULT_NAMES))
    return compile_one(params, where)


def _params(raw: JSON, where: Where, allowed: tuple[str, ...], scalar: str | None = None) -> dict[str, JSON]:
    """A fault's parameters: none (`true`, null, `{}`), a mapping of `allowed` keys, or one value for `scalar`."""
    if raw is None or raw is True:
        return {}
    if isinstance(raw, Mapping):
        unknown = sorted(set(raw) - set(allowed))
        if unknown and not allowed:
            raise InvalidSpec((*where, unknown[0]), "this fault takes no parameters")
        if unknown:
            raise InvalidSpec((*where, unknown[0]), unknown_key_message("parameter", unknown[0], allowed))
        return dict(raw)
    if scalar is not None:
        return {scalar: raw}
    shown = ", ".join(allowed) or "no parameters"
    raise InvalidSpec(where, f"this fault takes a mapping of {shown}, or true")


def _count(params: Mapping[str, JSON], key: str, where: Where, *, minimum: int = 0) -> int | None:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidSpec((*where, key), f"{key} takes a whole number of at least {minimum}; got {value!r}")
    return value


def _flag(params: Mapping[str, JSON], key: str, where: Where) -> bool:
    value = params.get(key, False)
    if not isinstance(value, bool):
        raise InvalidSpec((*where, key), f"{key} takes true or false")
    return value


def _string(params: Mapping[str, JSON], key: str, where: Where) -> str | None:
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidSpec((*where, key), f"{key} takes a string")
    return value


_POSITION = ("after_events", "after_bytes")


def _at(params: Mapping[str, JSON], where: Where) -> At:
    events = _count(params, "after_events", where)
    size = _count(params, "after_bytes", where)
    if events is not None and size is not None:
        raise InvalidSpec((*where, "after_bytes"), "give after_events or after_bytes, not both")
    return At(events=events, bytes=size)


def _reset(raw: JSON, where: Where) -> Fault:
    return Reset(_at(_params(raw, where, _POSITION), where))


def _cut(raw: JSON, where: Where) -> Fault:
    return Cut(_at(_params(raw, where, _POSITION), where))


def _empty(raw: JSON, where: Where) -> Fault:
    _params(raw, where, ())
    return Cut(BEFORE_ANY_BYTE)


def _garbage(raw: JSON, where: Where) -> Fault:
    params = _params(raw, where, ("bytes",), scalar="bytes")
    return Garbage(_count(params, "bytes", where, minimum=1) or 64)


def _stall(raw: JSON, where: Where) -> Fault:
    return Stall(_at(_params(raw, where, _POSITION), where))


def _headers_only(raw: JSON, where: Where) -> Fault:
    _params(raw, where, ())
    return Stall(At(events=0))


def _hold(raw: JSON, where: Where) -> Fault:
    params = _params(raw, where, ("for",), scalar="for")
    return Hold(compile_duration(params["for"], (*where, "for")) if params.get("for") is not None else None)


def _truncate(raw: JSON, where: Where) -> Fault:
    params = _params(raw, where, ("after_events",), scalar="after_events")
    return Truncate(_count(params, "after_events", where))


_ERROR_EVENT_OWN_KEYS = ("after_events", "flat", "failed")


def _error_event(raw: JSON, where: Where) -> Fault:
    from .http_errors import compile_error  # not at the top: http_errors → replies → faults

    params = _params(raw, where, (*_ERROR_EVENT_OWN_KEYS, "preset", "type", "code", "message", "param"), "preset")
    fields = {key: value for key, value in params.items() if key not in _ERROR_EVENT_OWN_KEYS}
    after = _count(params, "after_events", where)
    return ErrorEvent(
        error=compile_error(fields or {"preset": "server_error"}, where),
        after_events=2 if after is None else after,
        flat=_flag(params, "flat", where),
        failed=_flag(params, "failed", where),
    )


def _failed(raw: JSON, where: Where) -> Fault:
    params = _params(raw, where, ("after_events", "code", "message"))
    defaults = Failed()
    return Failed(
        code=_string(params, "code", where) or defaults.code,
        message=_string(params, "message", where) or defaults.message,
        after_events=_count(params, "after_events", where),
    )


def _malformed(raw: JSON, where: Where) -> Fault:
    params = _params(raw, where, ("after_events", "line"))
    return Malformed(line=_string(params, "line", where), after_events=_count(params, "after_events", where))


def _unknown_event(raw: JSON, where: Where) -> Fault:
    params = _params(raw, where, ("after_events", "type"), scalar="type")
    kind = _string(params, "type", where) or UnknownEvent.type
    return UnknownEvent(type=kind, after_events=_count(params, "after_events", where))


def _duplicate(raw: JSON, where: Where) -> Fault:
    return Duplicate(_count(_params(raw, where, ("event",), scalar="event"), "event", where))


def _swap(raw: JSON, where: Where) -> Fault:
    return Swap(_count(_params(raw, where, ("event",), scalar="event"), "event", where))


def _fragment(raw: JSON, where: Where) -> Fault:
    params = _params(raw, where, ("bytes", "pause"), scalar="bytes")
    pause = params.get("pause", 0)
    if isinstance(pause, bool) or not isinstance(pause, int | float) or not math.isfinite(pause) or pause < 0:
        raise InvalidSpec((*where, "pause"), "pause takes milliseconds (a number of at least 0)")
    return Fragment(size=_count(params, "bytes", where, minimum=1) or 1, pause=float(pause))


def _http_error(raw: JSON, where: Where) -> Fault:
    from .http_errors import compile_error  # not at the top: http_errors → replies → faults

    return HttpError(compile_error("server_error" if raw is None or raw is True else raw, where))


_COMPILERS: dict[str, Callable[[JSON, Where], Fault]] = {
    "reset": _reset,
    "cut": _cut,
    "empty": _empty,
    "garbage": _garbage,
    "stall": _stall,
    "headers_only": _headers_only,
    "hold": _hold,
    "truncate": _truncate,
    "error_event": _error_event,
    "failed": _failed,
    "malformed": _malformed,
    "unknown_event": _unknown_event,
    "duplicate": _duplicate,
    "swap": _swap,
    "fragment": _fragment,
    "http_error": _http_error,
}
FAULT_NAMES = tuple(_COMPILERS)

_NAMES: dict[type, str] = {
    Reset: "reset", Cut: "cut", Garbage: "garbage", Stall: "stall", Hold: "hold", Truncate: "truncate",
    ErrorEvent: "error_event", Failed: "failed", Malformed: "malformed", UnknownEvent: "unknown_event",
    Duplicate: "duplicate", Swap: "swap", Fragment: "fragment", HttpError: "http_error",
}  # fmt: skip


def fault_name(fault: Fault) -> str:
    """The fault's name as scenario files write it (`empty` is a `cut` before any byte, `headers_only` a `stall`)."""
    return _NAMES[type(fault)]
