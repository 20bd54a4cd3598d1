"""Durations in milliseconds, fixed or drawn from a seeded generator, and the schedule that paces a stream.

delay: 250                                      fixed
delay: {uniform: [100, 300]}                    evenly between two bounds
delay: {lognormal: {median: 200, sigma: 0.5}}   long-tailed, like real latencies
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from ..core.errors import InvalidSpec
from ..core.tokens import estimate_tokens
from ..core.types import JSON, JSONObject, Where

DURATION_FORMS = "milliseconds (250), {uniform: [low, high]} or {lognormal: {median, sigma}}"


@dataclass(frozen=True)
class Fixed:
    ms: float

    def draw(self, rng: random.Random) -> float:
        return self.ms


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True)
class LogNormal:
    median: float
    sigma: float

    def draw(self, rng: random.Random) -> float:
        return rng.lognormvariate(math.log(self.median), self.sigma)


Duration: TypeAlias = Fixed | Uniform | LogNormal


def _milliseconds(raw: JSON, where: Where) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) or raw < 0:
        raise InvalidSpec(where, f"a duration is {DURATION_FORMS}; got {raw!r}")
    return float(raw)


def compile_duration(raw: JSON, where: Where) -> Duration:
    """A duration as written in a scenario: a number of milliseconds or a distribution."""
    if not isinstance(raw, Mapping):
        return Fixed(_milliseconds(raw, where))
    if len(raw) != 1 or next(iter(raw)) not in ("uniform", "lognormal"):
        raise InvalidSpec(where, f"a duration is {DURATION_FORMS}")
    kind, value = next(iter(raw.items()))
    where = (*where, kind)
    if kind == "uniform":
        if not isinstance(value, list) or len(value) != 2:
            raise InvalidSpec(where, "uniform takes two bounds in milliseconds: [low, high]")
        low, high = (_milliseconds(bound, (*where, i)) for i, bound in enumerate(value))
        if low > high:
            raise InvalidSpec(where, f"uniform bounds must be [low, high]; got [{low:g}, {high:g}]")
        return Uniform(low, high)
    if not isinstance(value, Mapping) or set(value) != {"median", "sigma"}:
        raise InvalidSpec(where, "lognormal takes {median: milliseconds, sigma: spread}")
    median = _milliseconds(value["median"], (*where, "median"))
    sigma = _milliseconds(value["sigma"], (*where, "sigma"))
    if median <= 0:
        raise InvalidSpec((*where, "median"), "a lognormal median must be above 0")
    return LogNormal(median, sigma)


def draw_seconds(duration: Duration | None, rng: random.Random) -> float:
    return 0.0 if duration is None else duration.draw(rng) / 1000


class Schedule:
    """When each event is due, on the event loop's monotonic clock.

    Each due time is the previous due time plus a gap, never "now plus a gap": a sleep that wakes late does not
    push back the events after it, so errors do not add up over a long stream.
    """

    def __init__(
        self,
        start: float,
        rng: random.Random,
        *,
        first_event: Duration | None = None,
        gap: Duration | None = None,
        tokens_per_second: float | None = None,
    ) -> None:
        self._rng = rng
        self._gap_duration = gap
        self._tokens_per_second = tokens_per_second
        self._next = start + draw_seconds(first_event, rng)
        self._started = False

    def due(self, event: JSONObject) -> float:
        """The time `event` should be sent, advancing the schedule past it."""
        if self._started:
            self._next += self._gap(event)
        self._started = True
        return self._next

    def _gap(self, event: JSONObject) -> float:
        delta = event.get("delta")
        rate = self._tokens_per_second
        if rate and isinstance(delta, str) and str(event.get("type", "")).endswith(".delta"):
            return estimate_tokens(delta) / rate
        return draw_seconds(self._gap_duration, self._rng)
