"""Choosing the scenario that answers a request, with the state that choice depends on.

Selection order: the `x-mock-scenario` header names a scenario outright; otherwise scenarios are tried by `priority`
(higher first), then in file order, and the first one that is still alive (its `times` not used up) and whose
every condition holds answers. The engine counts each scenario's calls (for `responses` sequences and `times`) and
keeps the state machines that `set_state` moves; `reset()` forgets both.

An SDK retries 408/409/429/5xx answers by itself and says so in `x-stainless-retry-count`. By default each retry is
a new call (it advances a sequence and counts against `times`); with `retries: same_call` a retry gets the answer of
the call it repeats and counts for nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..core.context import RequestContext
from ..core.errors import APIError, invalid_request
from ..core.types import JSONObject
from ..faults.replies import Reply
from .matching import Condition
from .response_spec import GeneratedReply
from .scenarios import Scenario, ScenarioSet
from .templates import TemplatedReply
from .value_tests import RegexTimeout, quote

SCENARIO_HEADER = "x-mock-scenario"
RETRY_HEADER = "x-stainless-retry-count"
NEAR_MISSES_SHOWN = 3


@dataclass(frozen=True)
class Selection:
    """The scenario that answers, the reply it gives, and which of its calls this is (from 1)."""

    scenario: Scenario
    reply: Reply
    call: int


@dataclass(frozen=True)
class NearMiss:
    """A scenario that did not answer, and why, in words."""

    scenario: Scenario
    reasons: tuple[str, ...]
    conditions_held: int


class ScenarioEngine:
    """The loaded scenarios plus their call counts and the state machines."""

    def __init__(self, scenarios: ScenarioSet) -> None:
        self.loaded = scenarios
        self.reload_error: JSONObject | None = None
        """`--watch`: why the last change of the files was not loaded (`{"at": unix seconds, "message"}`), until a
        later one is."""
        self.added: list[Scenario] = []
        self.recorded: list[Scenario] = []
        self.scenarios = scenarios
        self.calls: dict[str, int] = {}
        self.states: dict[str, str] = {}
        self.lock = threading.Lock()
        self.may_be_slow = any(_may_be_slow(scenario) for scenario in scenarios.scenarios)

    def replace(self, scenarios: ScenarioSet) -> None:
        """Answer from a new set of loaded scenarios from now on (added ones stay), with no calls and no states."""
        self.loaded = scenarios
        self.reload_error = None
        self._combine()
        self.reset()

    def add(self, scenarios: list[Scenario]) -> None:
        """Add scenarios at run time (from a test or the admin API): they come before the loaded ones, so at equal
        priority they win. Names must stay unique."""
        taken = {scenario.name for scenario in self.scenarios.scenarios}
        for scenario in scenarios:
            if scenario.name in taken:
                raise ValueError(f"a scenario named {scenario.name!r} already exists")
            taken.add(scenario.name)
        self.added.extend(scenarios)
        self._combine()

    def remove(self, name: str) -> bool:
        """Remove an added scenario; loaded ones stay."""
        kept = [scenario for scenario in self.added if scenario.name != name]
        removed = len(kept) != len(self.added)
        self.added = kept
        self._combine()
        return removed

    def clear_added(self) -> None:
        self.added = []
        self._combine()

    def set_recorded(self, scenarios: list[Scenario]) -> None:
        """Answer from these recordings (see `recording`): after the added scenarios, before the loaded ones. Call
        counts and states stay."""
        self.recorded = list(scenarios)
        self._combine()

    def _combine(self) -> None:
        front = [*self.added, *self.recorded]
        combined = [*front, *self.loaded.scenarios]
        self.scenarios = ScenarioSet(combined, self.loaded.declared_models) if front else self.loaded
        self.may_be_slow = any(_may_be_slow(scenario) for scenario in self.scenarios.scenarios)

    def reset(self) -> None:
        """Forget call counts and states, as if no request had been answered."""
        self.calls.clear()
        self.states.clear()

    def select(self, ctx: RequestContext) -> Selection | None:
        """The answer to `ctx`, updating counts and states; `None` when no scenario answers. Requests are answered
        in worker threads: the choice and the counts it moves happen under a lock, one request at a time; the
        templates are rendered outside it."""
        with self.lock:
            ctx.states = dict(self.states)
            scenario = self._forced(ctx) or self._first_alive_match(ctx)
            if scenario is None:
                return None
            count = self.calls.get(scenario.name, 0)
            if scenario.retries == "same_call" and _is_retry(ctx) and count > 0:
                call = count
            else:
                call = self.calls[scenario.name] = count + 1
                self.states.update(scenario.set_state)
        return Selection(scenario, _resolve(scenario, call, ctx), call)

    def _forced(self, ctx: RequestContext) -> Scenario | None:
        name = ctx.headers.get(SCENARIO_HEADER)
        if not name:
            return None
        scenario = self.scenarios.named(name)
        if scenario is None:
            known = ", ".join(s.name for s in self.scenarios.scenarios) or "none"
            raise invalid_request(
                f"No scenario named '{name}' (from the {SCENARIO_HEADER} header). Loaded scenarios: {known}.",
                code="unknown_scenario",
            )
        return scenario

    def _first_alive_match(self, ctx: RequestContext) -> Scenario | None:
        for scenario in self.scenarios.candidates(ctx):
            if self._alive(scenario) and _matches(scenario, ctx):
                return scenario
        return None

    def _alive(self, scenario: Scenario) -> bool:
        return scenario.times is None or self.calls.get(scenario.name, 0) < scenario.times

    # ------------------------------------------------------------ near misses

    def near_misses(self, ctx: RequestContext, limit: int = NEAR_MISSES_SHOWN) -> list[NearMiss]:
        """The scenarios closest to answering `ctx`: fewest failed conditions first, then file order."""
        ctx.states = dict(self.states)
        misses = []
        for scenario in self.scenarios.scenarios:
            reasons = [condition.explain(ctx) for condition in scenario.conditions if not _holds(condition, ctx)]
            if not self._alive(scenario):
                reasons.append(f"it has answered its {scenario.times} time(s) already (times: {scenario.times})")
            if reasons:
                held = len(scenario.conditions) - len(reasons)
                misses.append(NearMiss(scenario, tuple(reasons), held))
        misses.sort(key=lambda miss: (len(miss.reasons), -miss.conditions_held))
        return misses[:limit]

    def would_answer(self, ctx: RequestContext) -> Scenario | None:
        """The scenario that would answer `ctx` now, without counting a call."""
        ctx.states = dict(self.states)
        return self._forced(ctx) or self._first_alive_match(ctx)

    def explain(self, ctx: RequestContext) -> str:
        """A report, in words, of why no scenario answers `ctx` (or which one does)."""
        answering = self.would_answer(ctx)
        if answering is not None:
            return f"Scenario '{answering.name}' ({answering.source}) answers this request."
        lines = ["No scenario matched this request.", f"The request: {describe_request(ctx)}."]
        misses = self.near_misses(ctx)
        if not misses:
            lines.append("No scenarios are loaded.")
            return "\n".join(lines)
        lines.append("Closest scenarios:")
        for number, miss in enumerate(misses, start=1):
            lines.append(f"{number}. {miss.scenario.name} ({miss.scenario.source})")
            lines.extend(f"   - {reason}" for reason in miss.reasons)
        return "\n".join(lines)


def describe_request(ctx: RequestContext) -> str:
    """The facts matchers look at most, in one line."""
    parts = [f"model {quote(ctx.model)}"]
    parts.append(f"last user message {quote(ctx.last_user_text)}" if ctx.last_user_text else "no user message")
    if ctx.tool_names:
        parts.append("tools " + ", ".join(sorted(ctx.tool_names)))
    if ctx.stream:
        parts.append("stream true")
    return ", ".join(parts)


def _may_be_slow(scenario: Scenario) -> bool:
    """Whether answering with this scenario can take long (up to `limits.WORK_SECONDS` a step): a `regex` to match,
    templates to render, or a generated answer."""
    return scenario.uses_regex or any(isinstance(reply, TemplatedReply | GeneratedReply) for reply in scenario.replies)


def _matches(scenario: Scenario, ctx: RequestContext) -> bool:
    """Whether the scenario matches; a regular expression that runs past its time cap is the scenario's failure,
    answered as a 500 naming it (as a failing template is), not a silent miss that another scenario would answer."""
    try:
        return scenario.matches(ctx)
    except RegexTimeout as exc:
        raise APIError(
            500,
            f"The regex {quote(exc.pattern, 80)} of scenario '{scenario.name}' ({scenario.source}) {exc} on this "
            "request; nested repeats such as (a+)+ or overlapping alternatives such as (a|a)+ take exponential time.",
            type="server_error",
            code="regex_timeout",
            headers={"x-should-retry": "false"},
        ) from None


def _holds(condition: Condition, ctx: RequestContext) -> bool:
    try:
        return condition.holds(ctx)
    except RegexTimeout:  # in a near-miss report, a condition that could not be decided did not hold
        return False


def _resolve(scenario: Scenario, call: int, ctx: RequestContext) -> Reply:
    """The reply to the scenario's call number `call` (from 1), its templates rendered."""
    source = scenario.reply_for_call(call - 1)
    if isinstance(source, TemplatedReply | GeneratedReply):
        return source.render(ctx, call, scenario.name)
    return source


def _is_retry(ctx: RequestContext) -> bool:
    count = ctx.headers.get(RETRY_HEADER, "0")
    return count.isdigit() and int(count) > 0
