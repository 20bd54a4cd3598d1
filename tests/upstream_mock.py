"""A second mock server playing the upstream of record/replay and contract-proxy tests: `fixtures/scenarios/
upstream.yaml`, plus one answer that breaks the API's schema (a status that is not a string). No scenario file may
say that (the loader refuses it), so that scenario is built here, past the loader."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mockserver import MockServer, Settings, load_scenarios
from mockserver.engine.matching import compile_match
from mockserver.engine.scenarios import Scenario, ScenarioSet
from mockserver.faults.replies import ModelReply
from tests.conftest import FIXTURES

UPSTREAM_SCENARIOS = FIXTURES / "scenarios" / "upstream.yaml"
BAD_ITEM_MODEL = "gpt-bad-item"

BAD_ITEM = Scenario(
    name="malformed-item",
    conditions=compile_match({"model": BAD_ITEM_MODEL}, ()),
    replies=(
        ModelReply(
            output=({"type": "web_search_call", "status": 42, "action": {"type": "search", "query": "weather"}},)
        ),
    ),
    source="tests/upstream_mock.py",
)


@contextmanager
def upstream_server() -> Iterator[MockServer]:
    scenarios = ScenarioSet([*load_scenarios([UPSTREAM_SCENARIOS]).scenarios, BAD_ITEM])
    settings = Settings(port=0, log_level="warning", scenario_paths=(UPSTREAM_SCENARIOS,))
    with MockServer(settings, scenarios) as server:
        yield server
