"""Scenario files: loading, the file:line errors of broken files, matching and replies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockserver.core.context import RequestContext
from mockserver.core.errors import ScenarioFileError
from mockserver.engine.scenarios import load_scenarios, parse_scenarios
from mockserver.faults.config import builtin_scenarios_dir
from mockserver.faults.replies import ErrorReply, ModelReply

ISSUE_EXAMPLE = """\
scenarios:
  - name: greeting
    match:
      input: {contains: hello}        # text of the last user message
    response:
      text: "Hello! How can I help?"
  - name: weather-followup
    match:
      input: {item_type: function_call_output}
    response:
      text: "It is 18°C and sunny in Paris."
  - name: weather
    match:
      tools: [get_weather]
    response:
      output:
        - type: function_call
          name: get_weather
          arguments: {location: Paris, unit: celsius}
  - name: overloaded
    match:
      model: gpt-overloaded
    response:
      error: {status: 503, type: server_error, message: "The server is overloaded."}
"""


def ctx(body: dict[str, object], headers: dict[str, str] | None = None) -> RequestContext:
    return RequestContext({"model": "gpt-4.1", **body}, headers or {})


def selected(text: str, body: dict[str, object]) -> str | None:
    from mockserver.engine.scenarios import ScenarioSet

    scenario = ScenarioSet(parse_scenarios(text)).first_match(ctx(body))
    return scenario.name if scenario else None


def test_the_documented_example_loads_and_selects_in_file_order() -> None:
    weather_tool = [{"type": "function", "name": "get_weather", "parameters": {}}]
    followup = [
        {"role": "user", "content": "hello, weather?"},
        {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
    ]

    assert selected(ISSUE_EXAMPLE, {"input": "well hello"}) == "greeting"
    assert selected(ISSUE_EXAMPLE, {"input": "Weather?", "tools": weather_tool}) == "weather"
    assert selected(ISSUE_EXAMPLE, {"input": followup, "tools": weather_tool}) == "greeting"  # file order: first wins
    assert selected(ISSUE_EXAMPLE, {"input": followup[1:], "tools": weather_tool}) == "weather-followup"
    assert selected(ISSUE_EXAMPLE, {"model": "gpt-overloaded", "input": "x"}) == "overloaded"
    assert selected(ISSUE_EXAMPLE, {"input": "nothing"}) is None


def test_example_replies_compile_to_what_they_say() -> None:
    greeting, _, weather, overloaded = parse_scenarios(ISSUE_EXAMPLE)

    assert isinstance(greeting.reply, ModelReply)
    assert greeting.reply.output[0]["content"][0]["text"] == "Hello! How can I help?"
    assert isinstance(weather.reply, ModelReply)
    call = weather.reply.output[0]
    assert json.loads(call["arguments"]) == {"location": "Paris", "unit": "celsius"}
    assert isinstance(overloaded.reply, ErrorReply)
    assert (overloaded.reply.status, overloaded.reply.type) == (503, "server_error")


def test_a_scenario_without_match_matches_everything() -> None:
    assert selected("scenarios: [{name: any, response: {text: hi}}]", {"input": "x"}) == "any"


@pytest.mark.parametrize(
    ("match", "body", "expected"),
    [
        ({"model": ["gpt-a", "gpt-b"]}, {"model": "gpt-b"}, True),
        ({"model": {"regex": "^gpt-5"}}, {"model": "gpt-5-mini"}, True),
        ({"model": {"regex": "^gpt-5"}}, {"model": "gpt-4.1"}, False),
        ({"input": "Paris"}, {"input": "Trip to Paris"}, True),
        ({"input": {"equals": "hi"}}, {"input": "hi there"}, False),
        ({"input": {"contains": "PARIS", "ignore_case": True}}, {"input": "paris"}, True),
        ({"input": {"contains": "PARIS"}}, {"input": "paris"}, False),
        (
            {"input": {"regex": "\\d{3}"}},
            {"input": [{"role": "user", "content": [{"type": "input_text", "text": "a 123"}]}]},
            True,
        ),
        (
            {"input": "first"},
            {"input": [{"role": "user", "content": "first"}, {"role": "user", "content": "second"}]},
            False,
        ),
        (
            {"input_text": "first"},
            {"input": [{"role": "user", "content": "first"}, {"role": "user", "content": "second"}]},
            True,
        ),
        ({"instructions": "pirate"}, {"instructions": "Talk like a pirate."}, True),
        ({"instructions": "pirate"}, {}, False),
        ({"tools": ["a", "b"]}, {"tools": [{"type": "function", "name": "a"}]}, False),
        ({"tools": "web_search"}, {"tools": [{"type": "web_search"}]}, True),
        ({"stream": True}, {"stream": True}, True),
        ({"stream": True}, {}, False),
        ({"metadata": {"suite": "x"}}, {"metadata": {"suite": "x", "other": "y"}}, True),
        ({"format": "json_object"}, {"text": {"format": {"type": "json_object"}}}, True),
        ({"format": "text"}, {}, True),
        ({"headers": {"x-tenant": "acme"}}, {}, False),
    ],
)
def test_match_conditions(match: dict[str, object], body: dict[str, object], expected: bool) -> None:
    text = json.dumps({"scenarios": [{"name": "s", "match": match, "response": {"text": "ok"}}]})
    assert (selected(text, body) == "s") is expected


def test_header_condition() -> None:
    (scenario,) = parse_scenarios("scenarios: [{name: s, match: {headers: {X-Tenant: acme}}, response: hi}]")
    assert scenario.matches(ctx({}, {"x-tenant": "acme"}))
    assert not scenario.matches(ctx({}, {"x-tenant": "other"}))


BROKEN = [
    ("scenarios: [unclosed", 1, "not valid YAML"),
    ("scenarios:\n  - name: a\n    response: {text: hi}\n    matsh: {}\n", 4, "unknown scenario key 'matsh'"),
    ("scenarios:\n  - response: {text: hi}\n", 2, "needs a non-empty 'name'"),
    ("scenarios:\n  - name: a\n", 2, "has no 'response'"),
    ("scenarios:\n  - name: a\n    match:\n      modle: x\n    response: hi\n", 4, "unknown match key 'modle'"),
    (
        "scenarios:\n  - name: a\n    match:\n      input: {regex: '('}\n    response: hi\n",
        4,
        "invalid regular expression",
    ),
    ("scenarios:\n  - name: a\n    match:\n      input: {contians: x}\n    response: hi\n", 4, "unknown text operator"),
    ("scenarios:\n  - name: a\n    response:\n      txt: hi\n", 4, "unknown response key 'txt'"),
    ("scenarios:\n  - name: a\n    response:\n      error: {status: 200}\n", 4, "from 400 to 599"),
    ("scenarios:\n  - name: a\n    response:\n      error: {status: 500}\n      text: hi\n", 5, "takes no other keys"),
    (
        "scenarios:\n  - name: a\n    response:\n      output:\n"
        "        - type: function_call\n          arguments: {}\n",
        5,
        "needs a 'name'",
    ),
    (
        "scenarios:\n  - name: a\n    response:\n      output:\n"
        "        - {type: function_call, name: f, arguments: '{bad'}\n",
        5,
        "must be valid JSON",
    ),
    ("scenarios:\n  - name: a\n    response: {text: hi, incomplete: tired}\n", 3, "incomplete takes a reason"),
    ("scenarios:\n  - name: a\n    response: {text: 5}\n", 3, "text must be a string"),
    ("scenarios:\n  - name: a\n    response: hi\n  - name: a\n    response: ho\n", 4, "already used"),
    ("scenario:\n  - name: a\n", 1, "unknown top-level key 'scenario'"),
    ("scenarios: {name: a}\n", 1, "must be a list"),
    ("scenarios:\n  - name: a\n    response: {usage: {input_tokens: many}}\n", 3, "usage takes token counts"),
    (
        "scenarios:\n  - name: a\n    response:\n      text: '{{ input | regex(\"\\\\q\") }}'\n",
        4,
        "the regex filter's pattern is not valid: bad escape \\q",
    ),
]


@pytest.mark.parametrize(("text", "line", "problem"), BROKEN)
def test_broken_files_name_file_line_and_problem(tmp_path: Path, text: str, line: int, problem: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)

    with pytest.raises(ScenarioFileError) as caught:
        load_scenarios([path])

    assert caught.value.path == str(path)
    assert caught.value.line == line, str(caught.value)
    assert problem in caught.value.problem
    assert caught.value.location.startswith(f"{path}:{line}")
    assert str(caught.value) == f"{caught.value.location}: {caught.value.problem}"


def test_missing_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match="no such file or folder"):
        load_scenarios([tmp_path / "nope.yaml"])


def test_duplicate_names_across_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("scenarios: [{name: same, response: hi}]")
    (tmp_path / "b.yaml").write_text("scenarios:\n  - name: same\n    response: ho\n")

    with pytest.raises(ScenarioFileError, match=r"b\.yaml:2: scenario name 'same' is already used at .*a\.yaml:1"):
        load_scenarios([tmp_path])


def test_folder_loads_yaml_files_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "2.yml").write_text("scenarios: [{name: second, response: hi}]")
    (tmp_path / "1.yaml").write_text("- {name: first, response: hi}")
    (tmp_path / "notes.txt").write_text("ignored")

    assert [s.name for s in load_scenarios([tmp_path]).scenarios] == ["first", "second"]


def test_empty_file_has_no_scenarios() -> None:
    assert parse_scenarios("") == []


def test_builtin_set_shows_every_response_kind() -> None:
    scenarios = load_scenarios([builtin_scenarios_dir()]).scenarios
    replies = [s.reply for s in scenarios]
    model_replies = [r for r in replies if isinstance(r, ModelReply)]
    item_types = {item["type"] for r in model_replies for item in r.output}
    part_types = {part["type"] for r in model_replies for item in r.output for part in item.get("content", ())}

    assert {"message", "function_call", "reasoning"} <= item_types
    assert {"output_text", "refusal"} <= part_types
    assert {r.status for r in model_replies} == {"completed", "incomplete", "failed"}
    assert {r.status for r in replies if isinstance(r, ErrorReply)} >= {429, 503}
    assert all(s.description for s in scenarios)
