"""How an answer travels: delays, stream pacing and chunking, and injected faults.

A scenario's response may carry `delay`, `stream` and `fault` keys (`DELIVERY_KEYS`); they compile into a
`Delivery` that the app applies when it sends the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import InvalidSpec
from .types import JSON, Where

DELIVERY_KEYS: tuple[str, ...] = ("delay", "stream", "fault")


@dataclass(frozen=True)
class Delivery:
    """Timing and faults for one answer; the default sends it at once, intact."""


NO_DELIVERY = Delivery()


def compile_delivery(raw: Mapping[str, JSON], where: Where) -> Delivery:
    """The delivery described by the `DELIVERY_KEYS` of a response mapping (none given: `NO_DELIVERY`)."""
    for key in DELIVERY_KEYS:
        if key in raw:
            raise InvalidSpec((*where, key), f"'{key}' is not supported yet")
    return NO_DELIVERY
