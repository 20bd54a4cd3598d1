"""Where an answer's delivery comes from: the server's defaults, the reply's own, and the request's headers.

Later ones win, key by key (`delay`, each `stream` key, `fault`):

    command line / MOCKSERVER_* / Settings   →   the scenario's response   →   request headers

Request headers, so that a test in any language picks a behaviour without a scenario file:

    x-mock-fault: reset                   a fault, by name or as YAML: {stall: {after_events: 3}, probability: 0.5}
    x-mock-error: rate_limit              this HTTP error instead of the answer (a preset, a status, or YAML)
    x-mock-delay-ms: 100                  the delay before the answer
    x-mock-stream: {gap: 20}              stream keys (`stream:` of a response), as YAML
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import yaml

from ..core.errors import InvalidSpec, invalid_request
from ..core.types import JSON
from .fault_specs import compile_fault_option, compile_faults
from .faults import NO_DELIVERY, Delivery, Fault, HttpError
from .http_errors import compile_error
from .replies import ErrorReply
from .shaping import PLAIN_STREAM, StreamShape, compile_stream
from .timing import Fixed, compile_duration

if TYPE_CHECKING:
    from .config import Settings

FAULT_HEADER = "x-mock-fault"
ERROR_HEADER = "x-mock-error"
DELAY_HEADER = "x-mock-delay-ms"
STREAM_HEADER = "x-mock-stream"
MOCK_HEADERS = (FAULT_HEADER, ERROR_HEADER, DELAY_HEADER, STREAM_HEADER)

T = TypeVar("T")


@dataclass(frozen=True)
class RequestOverrides:
    """What the request's headers ask for: a delivery, and perhaps an HTTP error instead of the answer."""

    delivery: Delivery = NO_DELIVERY
    error: ErrorReply | None = None


NO_OVERRIDES = RequestOverrides()


def read_overrides(headers: Mapping[str, str]) -> RequestOverrides:
    """The `x-mock-*` headers of a request; a malformed one is the client's mistake: a 400 naming the header."""
    if not any(name in headers for name in MOCK_HEADERS):
        return NO_OVERRIDES
    delay = _header(headers, DELAY_HEADER, lambda raw, where: compile_duration(_number(raw, where), where))
    stream = _header(headers, STREAM_HEADER, compile_stream)
    faults = _header(headers, FAULT_HEADER, compile_faults)
    error = _header(headers, ERROR_HEADER, compile_error)
    return RequestOverrides(Delivery(delay=delay, stream=stream or PLAIN_STREAM, faults=faults), error)


def _header(headers: Mapping[str, str], name: str, compile_value: Callable[[JSON, tuple[str]], T]) -> T | None:
    text = headers.get(name)
    if text is None:
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise _bad_header(name, "not valid YAML") from None
    try:
        return compile_value(value, (name,))
    except InvalidSpec as exc:
        raise _bad_header(name, exc.problem) from None


def _number(raw: JSON, where: tuple[str]) -> JSON:
    if isinstance(raw, str):
        raise InvalidSpec(where, f"give a number of milliseconds, got {raw!r}")
    return raw


def _bad_header(name: str, problem: str) -> Exception:
    return invalid_request(f"Invalid {name} header: {problem}", code="invalid_mock_header")


def server_defaults(settings: Settings) -> Delivery:
    """The delivery every answer gets unless its scenario or its request says otherwise."""

    def ms(value: float | None) -> Fixed | None:
        return None if value is None else Fixed(value)

    stream = StreamShape(
        first_event=ms(settings.first_event_ms),
        gap=ms(settings.stream_gap_ms),
        tokens_per_second=settings.tokens_per_second,
        keepalive=settings.keepalive_ms,
    )
    faults = compile_fault_option(settings.fault) if settings.fault else None
    return Delivery(delay=ms(settings.delay_ms), stream=stream, faults=faults)


class DeliveryPolicy:
    """Combines the three sources of a delivery, and draws faults and timings from seeded generators."""

    def __init__(self, settings: Settings) -> None:
        self.defaults = server_defaults(settings)
        # Separate generators: how many timings a stream draws must not change which faults strike next.
        self.fault_rng = random.Random(f"faults:{settings.seed}") if settings.seed is not None else random.Random()
        self.timing_rng = random.Random(f"timing:{settings.seed}") if settings.seed is not None else random.Random()

    def resolve(self, own: Delivery, overrides: RequestOverrides) -> tuple[Delivery, list[Fault]]:
        """The answer's delivery and the faults drawn for it this time."""
        delivery = overrides.delivery.over(own.over(self.defaults))
        faults = delivery.draw(self.fault_rng) if delivery.faults else []
        return delivery, faults


def drawn_error(faults: list[Fault]) -> ErrorReply | None:
    """The HTTP error a drawn `http_error` fault answers with instead of the reply, if any."""
    return next((fault.error for fault in faults if isinstance(fault, HttpError)), None)
