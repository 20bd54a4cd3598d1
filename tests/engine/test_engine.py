"""The scenario engine in-process: selection order, sequences, lifetimes, retries, state, templates, includes,
near-miss reports (pinned by golden files), the scenario JSON Schema and `--watch`."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.cli import main
from mockserver.core.context import RequestContext
from mockserver.core.errors import APIError, ScenarioFileError
from mockserver.engine.matching import MATCH_KEYS
from mockserver.engine.response_spec import REPLY_KEYS
from mockserver.engine.scenario_engine import ScenarioEngine
from mockserver.engine.scenarios import SCENARIO_KEYS, ScenarioSet, load_scenarios, parse_scenarios
from mockserver.faults.replies import ModelReply
from mockserver.wire.watch import ScenarioWatch
from tests.conftest import KEY_HEADERS

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SCHEMA = json.loads((ROOT / "mockserver" / "data" / "scenario.schema.json").read_text())


def engine_of(text: str) -> ScenarioEngine:
    return ScenarioEngine(ScenarioSet(parse_scenarios(text, "scenarios.yaml")))


def request(headers: dict[str, str] | None = None, **body: Any) -> RequestContext:
    return RequestContext({"model": "gpt-4.1", "input": "hi", **body}, headers or {})


def answer(engine: ScenarioEngine, ctx: RequestContext) -> str | None:
    selection = engine.select(ctx)
    if selection is None:
        return None
    reply = selection.reply
    assert isinstance(reply, ModelReply)
    return "".join(part.get("text", "") for item in reply.output for part in item.get("content", ()))


def test_header_then_priority_then_file_order() -> None:
    engine = engine_of(
        """
scenarios:
  - {name: first, response: one}
  - {name: second, response: two}
  - {name: third, priority: 5, match: {model: special}, response: three}
"""
    )
    assert answer(engine, request()) == "one"
    assert answer(engine, request(model="special")) == "three"
    assert answer(engine, request({"x-mock-scenario": "second"}, model="special")) == "two"


def test_unknown_forced_scenario_is_a_400() -> None:
    with pytest.raises(APIError) as caught:
        engine_of("- {name: a, response: x}").select(request({"x-mock-scenario": "b"}))
    assert caught.value.status == 400 and caught.value.code == "unknown_scenario"


def test_sequence_counts_per_scenario_and_reset_starts_over() -> None:
    engine = engine_of("- {name: b, match: {model: m}, responses: [x, y]}\n- {name: a, responses: [one, two]}")
    assert [answer(engine, request()) for _ in range(3)] == ["one", "two", "two"]
    assert answer(engine, request(model="m")) == "x"
    engine.reset()
    assert answer(engine, request()) == "one"


def test_same_call_retries_repeat_the_answer_and_do_not_count() -> None:
    engine = engine_of("- {name: a, retries: same_call, times: 2, responses: [one, two]}")
    retry = {"x-stainless-retry-count": "1"}

    assert answer(engine, request({"x-stainless-retry-count": "0"})) == "one"
    assert answer(engine, request(retry)) == "one"
    assert answer(engine, request(retry)) == "one"
    assert answer(engine, request()) == "two"
    assert answer(engine, request()) is None  # times: 2 used up; retries did not count


def test_new_call_retries_advance_the_sequence() -> None:
    engine = engine_of("- {name: a, responses: [one, two]}")
    assert answer(engine, request()) == "one"
    assert answer(engine, request({"x-stainless-retry-count": "1"})) == "two"


def test_states_start_at_start_and_move_after_the_answer() -> None:
    engine = engine_of(
        """
- {name: open, match: {state: {door: start}}, set_state: {door: open}, response: opening}
- {name: close, match: {state: {door: open}}, set_state: {door: start}, response: closing}
"""
    )
    assert [answer(engine, request()) for _ in range(3)] == ["opening", "closing", "opening"]
    assert engine.states == {"door": "open"}


def test_templates_are_sandboxed() -> None:
    engine = engine_of("- {name: t, response: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"}")
    with pytest.raises(APIError) as caught:
        engine.select(request())
    assert caught.value.status == 500 and "scenario 't'" in caught.value.message


def test_template_syntax_errors_are_reported_at_load_with_the_line() -> None:
    with pytest.raises(ScenarioFileError) as caught:
        parse_scenarios("scenarios:\n  - name: t\n    response:\n      text: '{{ input '\n", "t.yaml")
    assert caught.value.line == 4 and "template error" in caught.value.problem


def test_template_structure_is_checked_at_load() -> None:
    with pytest.raises(ScenarioFileError, match="unknown response key 'txt'"):
        parse_scenarios("- {name: t, response: {txt: '{{ input }}'}}", "t.yaml")


def test_include_errors_point_into_the_included_file(tmp_path: Path) -> None:
    (tmp_path / "body.yaml").write_text("text: fine\nrefusal: 5\n")
    (tmp_path / "s.yaml").write_text("- {name: a, response: {file: body.yaml}}\n")

    with pytest.raises(ScenarioFileError) as caught:
        load_scenarios([tmp_path / "s.yaml"])
    assert caught.value.path == str(tmp_path / "body.yaml") and caught.value.line == 2


def test_missing_include_is_reported_at_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("scenarios:\n  - name: a\n    response: {file: nope.yaml}\n")
    with pytest.raises(ScenarioFileError, match=r"s\.yaml:3:.*'nope\.yaml' not found"):
        load_scenarios([tmp_path / "s.yaml"])


def test_include_keys_can_be_overridden(tmp_path: Path) -> None:
    (tmp_path / "body.yaml").write_text("text: from file\nmodel: gpt-from-file\n")
    (tmp_path / "s.yaml").write_text("- {name: a, response: {file: body.yaml, model: gpt-override}}\n")
    (scenario,) = load_scenarios([tmp_path / "s.yaml"]).scenarios
    assert isinstance(scenario.reply, ModelReply) and scenario.reply.model == "gpt-override"


NEAR_MISS_SCENARIOS = """
scenarios:
  - name: greeting
    match: {input: {contains: hello world}}
    response: hi
  - name: weather
    match: {model: gpt-4.1, tools: [get_weather]}
    response: sunny
  - name: paid-only
    match: {model: gpt-4.1, state: {checkout: paid}, metadata: {tenant: acme}}
    response: thanks
  - name: used-up
    once: true
    match: {input: {regex: "^hello"}}
    response: once
  - name: far
    match: {model: gpt-5, stream: true, instructions: pirate, any: [{input: arr}, {input: ahoy}]}
    response: far
"""


def test_near_miss_report_golden() -> None:
    engine = engine_of(NEAR_MISS_SCENARIOS)
    assert answer(engine, request(input="hello")) == "once"
    ctx = request(input="hello wrld", tools=[{"type": "function", "name": "get_wether"}])

    report = engine.explain(ctx)

    assert report == (GOLDEN / "near_miss.txt").read_text(encoding="utf-8").rstrip("\n")


def test_near_miss_report_with_nothing_loaded() -> None:
    assert engine_of("").explain(request()).splitlines() == [
        "No scenario matched this request.",
        "The request: model 'gpt-4.1', last user message 'hi'.",
        "No scenarios are loaded.",
    ]


def test_explain_endpoint_and_strict_setting() -> None:
    scenarios = ScenarioSet(parse_scenarios(NEAR_MISS_SCENARIOS, "scenarios.yaml"))
    with TestClient(create_app(Settings(strict=True), scenarios), headers=KEY_HEADERS) as client:
        tool = {"type": "function", "name": "get_wether", "parameters": {}}
        body = {"model": "gpt-4.1", "input": "howdy", "tools": [tool]}
        explained = client.post("/__mock__/explain", json=body).json()
        strict = client.post("/v1/responses", json=body)
        matched = client.post("/__mock__/explain", json={"model": "gpt-4.1", "input": "hello"}).json()

    assert explained["matched"] is None and explained["report"].startswith("No scenario matched this request.")
    assert strict.status_code == 400 and strict.json()["error"]["code"] == "no_scenario_matched"
    assert strict.json()["error"]["message"] == explained["report"]
    assert matched["matched"] == "used-up"


def test_schema_is_valid_and_names_every_key_the_loader_knows() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    defs = SCHEMA["$defs"]
    assert set(defs["Scenario"]["properties"]) == set(SCENARIO_KEYS)
    assert set(defs["Match"]["properties"]) == set(MATCH_KEYS)
    assert set(defs["Response"]["anyOf"][1]["properties"]) == set(REPLY_KEYS)


def scenario_yaml_files() -> list[Path]:
    return sorted([*(ROOT / "scenarios").glob("*.yaml"), *(ROOT / "fixtures" / "scenarios").glob("*.yaml")])


@pytest.mark.parametrize("path", scenario_yaml_files(), ids=lambda p: p.name)
def test_every_scenario_file_validates_against_the_schema(path: Path) -> None:
    import yaml

    jsonschema.Draft202012Validator(SCHEMA).validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for bad in (
        {"scenarios": [{"name": "a", "response": "x", "matsh": {}}]},
        {"scenarios": [{"name": "a", "match": {"modle": "x"}, "response": "x"}]},
        {"scenarios": [{"name": "a", "response": "x", "responses": ["y"]}]},
        {"scenarios": [{"name": "a"}]},
        {"scenarios": [{"name": "a", "response": {"output": [{"type": "function_call"}]}}]},
    ):
        assert not validator.is_valid(bad), bad


def test_watch_reloads_changed_files_and_keeps_the_last_good_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- {name: a, response: one}\n")
    engine = ScenarioEngine(load_scenarios([tmp_path]))
    now = [0.0]
    watcher = ScenarioWatch(engine, (tmp_path,), settle=0.5, clock=lambda: now[0])

    def touch(text: str) -> None:
        path.write_text(text)
        stat = path.stat()
        os.utime(path, (stat.st_atime, stat.st_mtime + 5))

    def settle() -> bool:
        """A look right after the change (which waits for it to settle), then one 0.5 s later."""
        assert watcher.poll() is False
        now[0] += 0.5
        return watcher.poll()

    touch("- {name: b, response: two}\n")
    assert settle() is True
    assert answer(engine, request()) == "two"

    with caplog.at_level(logging.ERROR, logger="mockserver"):
        touch("- {name: b, response: {txt: broken}}\n")
        assert settle() is False
    assert answer(engine, request()) == "two"
    assert "keeping the previous 1 scenarios" in caplog.text and "unknown response key 'txt'" in caplog.text
    assert engine.reload_error is not None and "unknown response key 'txt'" in engine.reload_error["message"]
    assert abs(engine.reload_error["at"] - time.time()) < 60  # what /__mock__/health reports, with its time

    (tmp_path / "more.yaml").write_text("- {name: c, priority: 1, response: three}\n")
    settle()
    assert answer(engine, request()) == "two"  # the folder still holds the broken file

    touch("- {name: b, response: fixed}\n")
    assert settle() is True
    assert engine.reload_error is None


def test_watch_waits_for_a_change_to_settle(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("- {name: a, response: one}\n")
    engine = ScenarioEngine(load_scenarios([path]))
    now = [0.0]
    watcher = ScenarioWatch(engine, (path,), settle=0.5, clock=lambda: now[0])

    path.write_text("")  # a file rewritten in place: truncated first
    assert watcher.poll() is False
    path.write_text("- {name: a, response: one}\n- {name: b, response: two}\n")  # then written: changed again
    now[0] += 0.5
    assert watcher.poll() is False  # not settled: the clock starts again
    assert answer(engine, request()) == "one"
    now[0] += 0.5
    assert watcher.poll() is True
    assert [scenario.name for scenario in engine.scenarios.scenarios] == ["a", "b"]


TWO_SCENARIOS = "- {name: a, response: one}\n- {name: b, response: two}\n"


def watching(path: Path) -> tuple[ScenarioEngine, ScenarioWatch, list[float]]:
    """An engine loaded from `path` (two scenarios) and a watch on it whose clock the test moves."""
    path.write_text(TWO_SCENARIOS)
    engine = ScenarioEngine(load_scenarios([path]))
    now = [0.0]
    return engine, ScenarioWatch(engine, (path,), settle=0.5, clock=lambda: now[0]), now


def names(engine: ScenarioEngine) -> list[str]:
    return [scenario.name for scenario in engine.scenarios.scenarios]


@pytest.mark.parametrize("emptied", ["", "# nothing yet\n", "scenarios:\n"])
def test_watch_never_loads_a_file_that_emptied(tmp_path: Path, emptied: str, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s.yaml"
    engine, watcher, now = watching(path)

    path.write_text(emptied)  # rewritten in place, and the writer held up for seconds before it writes
    with caplog.at_level(logging.ERROR, logger="mockserver"):
        for _ in range(20):
            now[0] += 0.5
            assert watcher.poll() is False
    assert names(engine) == ["a", "b"]
    assert caplog.text.count("is empty") == 1 and "keeping the previous 2 scenarios" in caplog.text

    path.write_text("- {name: c, response: three}\n- {name: d, response: four}\n")  # the edit ends: valid YAML
    now[0] += 0.5
    assert watcher.poll() is False
    now[0] += 0.5
    assert watcher.poll() is True  # taken once it settles
    assert names(engine) == ["c", "d"]


@pytest.mark.parametrize("text", ["scenarios: []\n", "[]\n"])
def test_watch_honours_an_explicit_empty_list(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.yaml"
    engine, watcher, now = watching(path)

    path.write_text(text)
    assert watcher.poll() is False
    now[0] += 0.5
    assert watcher.poll() is True
    assert names(engine) == []


def test_watch_takes_fewer_scenarios_only_once_the_change_has_held(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    engine, watcher, now = watching(path)

    path.write_text("- {name: a, response: one}\n")  # the first half of the file: valid YAML, one scenario short
    assert watcher.poll() is False
    for _ in range(3):  # settled (0.5 s), but not yet for 2 s
        now[0] += 0.5
        assert watcher.poll() is False
    assert names(engine) == ["a", "b"]
    now[0] += 0.5
    assert watcher.poll() is True  # 2 s without a change: the edit meant it
    assert names(engine) == ["a"]

    path.write_text(TWO_SCENARIOS)  # more scenarios need no more than the settle interval
    assert watcher.poll() is False
    now[0] += 0.5
    assert watcher.poll() is True
    assert names(engine) == ["a", "b"]


def test_schema_lists_every_error_preset_fault_and_stream_key() -> None:
    from mockserver.faults.fault_specs import FAULT_NAMES
    from mockserver.faults.http_errors import PRESETS
    from mockserver.faults.shaping import STREAM_KEYS

    defs = SCHEMA["$defs"]
    assert defs["Error"]["anyOf"][0]["enum"] == list(PRESETS)
    assert defs["FaultEntry"]["anyOf"][0]["enum"] == list(FAULT_NAMES)
    assert set(defs["Stream"]["properties"]) == set(STREAM_KEYS)


def test_explain_copes_with_bodies_nobody_validated() -> None:
    scenarios = ScenarioSet(parse_scenarios(NEAR_MISS_SCENARIOS, "scenarios.yaml"))
    with TestClient(create_app(Settings(), scenarios), headers=KEY_HEADERS) as client:
        for body in ({"tools": 5}, {"tools": [5, "x"], "input": 7}, {"text": "plain", "metadata": []}):
            answer = client.post("/__mock__/explain", json=body)
            assert answer.status_code == 200, answer.text
            assert answer.json()["report"].startswith("The server refuses this request before any scenario is tried")


def test_a_scenario_can_hand_the_answer_to_the_default_responder() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    body = {
        "model": "gpt-4.1",
        "input": "hi",
        "text": {"format": {"type": "json_schema", "name": "c", "schema": schema}},
    }
    scenarios = ScenarioSet(
        parse_scenarios(
            """
- {name: seeded, match: {model: gpt-4.1}, response: {generate: {seed: 7}, delay: 1}}
- {name: plain, response: {generate: true}}
""",
            "scenarios.yaml",
        )
    )
    with TestClient(create_app(Settings(), scenarios), headers=KEY_HEADERS) as client:
        first = client.post("/v1/responses", json=body).json()
        again = client.post("/v1/responses", json=body).json()
        other = client.post("/v1/responses", json={**body, "model": "gpt-4o"}).json()

    text = first["output"][0]["content"][0]["text"]
    jsonschema.Draft202012Validator(schema).validate(json.loads(text))
    assert text == again["output"][0]["content"][0]["text"]
    assert other["status"] == "completed"
    with pytest.raises(ScenarioFileError, match="only delay, stream and fault beside it"):
        parse_scenarios("- {name: x, response: {generate: true, text: hi}}", "bad.yaml")


def test_explain_reports_the_refusal_the_server_would_answer() -> None:
    body = {"model": "gpt-4.1", "input": "hello", "temperature": 9}
    with TestClient(create_app(Settings(), ScenarioSet(parse_scenarios(NEAR_MISS_SCENARIOS, "s.yaml")))) as client:
        explained = client.post("/__mock__/explain", json=body).json()
        answered = client.post("/v1/responses", json=body, headers={"authorization": "Bearer sk-test"})

    assert answered.status_code == 400
    assert explained["matched"] is None and explained["status"] == 400
    assert explained["refused"] == answered.json()
    assert explained["report"] == (
        "The server refuses this request before any scenario is tried: 400 invalid_request_error "
        "(param 'temperature', code 'decimal_above_max_value').\n" + answered.json()["error"]["message"]
    )


def test_explain_command_validates_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps({"model": "gpt-4.1", "input": "hi", "previous_response_id": "resp_gone"}))

    assert main(["explain", str(request_file)]) == 1
    report = capsys.readouterr().out
    assert report.startswith("The server refuses this request before any scenario is tried: 400")
    assert "code 'previous_response_not_found'" in report and "No scenario matched" not in report
