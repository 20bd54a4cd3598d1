"""Which scenarios could answer a request, found without trying them all.

Most large scenario sets (recordings above all) pin each scenario to an exact model and an exact last user message.
`CandidateIndex` files the scenarios under the exact values their top-level `model` and `input: {equals}` conditions
accept, so a request looks up four buckets (its model and message, its model and any message, any model and its
message, neither) instead of testing every scenario. The index only narrows: each candidate's conditions are still
tested in full, in selection order, so the answer is the same as a scan's.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import Generic, Protocol, TypeVar

from ..core.context import RequestContext
from .matching import Condition


class _Conditioned(Protocol):
    """What the index reads of a scenario: its compiled `match:` conditions."""

    @property
    def conditions(self) -> tuple[Condition, ...]: ...


Scenario = TypeVar("Scenario", bound=_Conditioned)

_ANY = None  # the bucket key of a scenario that sets no exact value for a field
Key = tuple[str | None, str | None]


def _exact(scenario: _Conditioned, key: str) -> tuple[str | None, ...]:
    for condition in scenario.conditions:
        if condition.key == key and condition.exact_values:
            return condition.exact_values
    return (_ANY,)


class CandidateIndex(Generic[Scenario]):
    """Scenarios (in selection order) by the exact model and last user message they require."""

    def __init__(self, ordered: Sequence[Scenario]) -> None:
        self._ordered = ordered
        self._buckets: dict[Key, list[int]] = {}
        for position, scenario in enumerate(ordered):
            for model in _exact(scenario, "model"):
                for text in _exact(scenario, "input"):
                    self._buckets.setdefault((model, text), []).append(position)

    def candidates(self, ctx: RequestContext) -> Iterator[Scenario]:
        """The scenarios that may answer `ctx`, in selection order."""
        model, text = ctx.model or "", ctx.last_user_text
        keys = ((model, text), (model, _ANY), (_ANY, text), (_ANY, _ANY))
        found = [self._buckets[key] for key in keys if key in self._buckets]
        positions = found[0] if len(found) == 1 else heapq.merge(*found)
        ordered = self._ordered
        return (ordered[position] for position in positions)
