"""The candidate index narrows the scenarios tried for a request without changing which one answers."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.core.context import RequestContext
from mockserver.engine.scenarios import ScenarioSet, parse_scenarios

MODELS = ["gpt-4.1", "gpt-5", ""]
TEXTS = ["hello", "Hello", "hello there", ""]

model_specs = st.one_of(
    st.none(),
    st.sampled_from(MODELS[:2]),
    st.lists(st.sampled_from(MODELS[:2]), min_size=1, max_size=2),
    st.just({"regex": "^gpt-5"}),
    st.just({"equals": "GPT-4.1", "ignore_case": True}),
)
input_specs = st.one_of(
    st.none(),
    st.sampled_from(TEXTS[:3]).map(lambda text: {"equals": text}),
    st.sampled_from(TEXTS[:3]),  # contains
    st.just({"equals": "HELLO", "ignore_case": True}),
    st.just({"startswith": "hello", "equals": "hello"}),
    st.just({"item_type": "function_call_output"}),
)
scenario_specs = st.lists(
    st.tuples(model_specs, input_specs, st.sampled_from([0, 0, 1, -1]), st.booleans()), min_size=1, max_size=12
)


def scenario_set(specs: list[tuple[Any, Any, int, bool]]) -> ScenarioSet:
    scenarios = []
    for number, (model, text, priority, other_condition) in enumerate(specs):
        match: dict[str, Any] = {}
        if model is not None:
            match["model"] = model
        if text is not None:
            match["input"] = text
        if other_condition:
            match["stream"] = True
        scenarios.append({"name": f"s{number}", "priority": priority, "match": match, "response": f"answer {number}"})
    return ScenarioSet(parse_scenarios(json.dumps({"scenarios": scenarios}), "generated.yaml"))


def scanned(scenarios: ScenarioSet, ctx: RequestContext) -> str | None:
    first = next((scenario for scenario in scenarios.by_priority if scenario.matches(ctx)), None)
    return first.name if first else None


@settings(max_examples=300, deadline=None)
@given(scenario_specs, st.sampled_from(MODELS + [None]), st.sampled_from(TEXTS), st.booleans())
def test_the_index_picks_what_a_full_scan_picks(specs, model, text, stream):
    scenarios = scenario_set(specs)
    body: dict[str, Any] = {"input": text, "stream": stream}
    if model is not None:
        body["model"] = model
    ctx = RequestContext(body, {})
    chosen = scenarios.first_match(ctx)
    assert (chosen.name if chosen else None) == scanned(scenarios, ctx)


def test_candidates_leave_out_scenarios_pinned_to_another_model_or_message():
    scenarios = scenario_set(
        [(f"gpt-{n}", {"equals": f"question {n}"}, 0, False) for n in range(1000)] + [(None, None, 0, False)]
    )
    ctx = RequestContext({"model": "gpt-7", "input": "question 7"}, {})
    assert [scenario.name for scenario in scenarios.candidates(ctx)] == ["s7", "s1000"]
