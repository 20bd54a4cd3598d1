"""The `delay`, `stream` and `fault` keys of a response (`DELIVERY_KEYS`) and the `--fault` option, compiled into a
`Delivery` and its faults (the vocabulary is described in `faults`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import yaml

from ..core.errors import InvalidSpec, unknown_key_message
from ..core.types import JSON, Where
from .faults import (
    BEFORE_ANY_BYTE,
    NO_DELIVERY,
    At,
    Cut,
    Delivery,
    Duplicate,
    ErrorEvent,
    Failed,
    Fault,
    Fragment,
    Garbage,
    Hold,
    HttpError,
    Injection,
    Malformed,
    Reset,
    Stall,
    Swap,
    Truncate,
    UnknownEvent,
)
from .http_errors import compile_error
from .shaping import PLAIN_STREAM, compile_stream
from .timing import compile_duration

DELIVERY_KEYS: tuple[str, ...] = ("delay", "stream", "fault")


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


def compile_fault_option(text: str) -> tuple[Injection, ...]:
    """A fault given on the command line (YAML, as in a scenario); `ValueError` when it is not one."""
    try:
        return compile_faults(yaml.safe_load(text), ("--fault",))
    except yaml.YAMLError:
        raise ValueError(f"--fault {text!r} is not valid YAML") from None
    except InvalidSpec as exc:
        raise ValueError(f"--fault {text!r}: {exc.problem}") from None


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
