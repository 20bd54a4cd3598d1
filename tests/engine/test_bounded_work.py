"""Bounded work per request (issue 13, items 1–4 and 7): no body, scenario regex or template can stall the server,
and every malformed string is a 400.

- A lone UTF-16 surrogate (`"\\ud800"`) anywhere in a body is the API's 400 "could not parse the JSON body", on
  every endpoint that reads one (hypothesis generates strings with surrogates and control characters).
- Templates that double a string, nest `range(100000)` loops or ask `replace`, `center`, `format` for hundreds of
  megabytes end at once in the template error (500, `code: template_error`, `x-should-retry: false`).
- A scenario regex runs with a time cap: `^(a+)+$` (which `re` takes minutes over) answers at once, a pattern that
  still runs past the cap answers a 500 naming the scenario, and nested repeats are warned of at load.
- `json_schema` and tool parameters the generator will not produce within its caps are a 400 naming the schema.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import MockServer, Settings, create_app
from mockserver.engine.scenarios import ScenarioSet, parse_scenarios

KEY = {"Authorization": "Bearer sk-test"}
SLACK = 20.0  # seconds, generous on a busy 2-core machine; before the fix each took minutes or ran out of memory


def _client(scenarios: list[dict[str, Any]] | None = None) -> TestClient:
    loaded = ScenarioSet(parse_scenarios(yaml.safe_dump({"scenarios": scenarios or []}), "bounded.yaml"))
    return TestClient(create_app(Settings(), scenarios=loaded), headers=KEY, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def plain() -> Iterator[TestClient]:
    with _client() as client:
        yield client


def _post_raw(client: TestClient, path: str, raw: bytes) -> Any:
    return client.post(path, content=raw, headers={"content-type": "application/json"})


# ---------------------------------------------------------------- lone surrogates

SURROGATE = "\\ud800"  # as it is written inside a JSON string: valid JSON text, but not a Unicode character


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/responses", '{"model": "gpt-4.1", "input": "%s"}'),
        ("/v1/responses", '{"model": "gpt-4.1", "input": "x", "metadata": {"k": "%s"}}'),
        ("/v1/responses", '{"model": "gpt-4.1%s", "input": "x"}'),
        ("/v1/responses", '{"model": "gpt-4.1", "input": "%s", "stream": true}'),
        ("/v1/responses", '{"model": "gpt-4.1", "input": "x", "metadata": {"%s": "key"}}'),
        ("/v1/responses/input_tokens", '{"model": "gpt-4.1", "input": "%s"}'),
        ("/v1/responses/compact", '{"model": "gpt-4.1", "input": "%s"}'),
        ("/v1/conversations", '{"metadata": {"k": "%s"}}'),
        ("/__mock__/explain", '{"model": "gpt-4.1", "input": "%s"}'),
        ("/__mock__/scenarios", '{"name": "s%s", "response": {"text": "x"}}'),
    ],
)
def test_a_lone_surrogate_is_a_400_not_a_500(plain: TestClient, path: str, body: str) -> None:
    answer = _post_raw(plain, path, (body % SURROGATE).encode())
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["type"] == "invalid_request_error"
    if path.startswith("/v1/"):
        assert "We could not parse the JSON body of your request" in answer.json()["error"]["message"]
        assert "surrogate" in answer.json()["error"]["message"]


def test_a_lone_surrogate_in_conversation_metadata_and_items_is_a_400(plain: TestClient) -> None:
    conversation = plain.post("/v1/conversations", json={}).json()["id"]
    update = _post_raw(plain, f"/v1/conversations/{conversation}", b'{"metadata": {"k": "\\udfff"}}')
    items = _post_raw(
        plain,
        f"/v1/conversations/{conversation}/items",
        b'{"items": [{"type": "message", "role": "user", "content": "\\ud83d"}]}',
    )
    assert (update.status_code, items.status_code) == (400, 400)
    assert plain.get(f"/v1/conversations/{conversation}").status_code == 200


def test_a_surrogate_pair_is_a_character_and_answers(plain: TestClient) -> None:
    answer = _post_raw(plain, "/v1/responses", b'{"model": "gpt-4.1", "input": "smile \\ud83d\\ude00"}')
    assert answer.status_code == 200, answer.text
    assert "smile \U0001f600" in answer.json()["output"][0]["content"][0]["text"]


_ANY_CHARACTER = st.one_of(
    st.characters(exclude_categories=()),  # any code point, surrogates included (hypothesis leaves them out by default)
    st.integers(0xD800, 0xDFFF).map(chr),  # lone surrogates, often
    st.integers(0, 0x1F).map(chr),  # control characters
)
_STRINGS = st.text(_ANY_CHARACTER, max_size=12)
_ENDPOINTS = st.sampled_from(
    [
        ("/v1/responses", lambda text: {"model": "gpt-4.1", "input": text, "metadata": {"note": text[:512]}}),
        ("/v1/responses", lambda text: {"model": "gpt-4.1", "input": [{"role": "user", "content": text}]}),
        ("/v1/responses", lambda text: {"model": text, "input": "x"}),
        ("/v1/responses", lambda text: {"model": "gpt-4.1", "input": text, "stream": True}),
        ("/v1/responses/input_tokens", lambda text: {"model": "gpt-4.1", "input": text}),
        ("/v1/conversations", lambda text: {"metadata": {"k": text[:512]}}),
    ]
)


def _holds_a_lone_surrogate(text: str) -> bool:
    """What a JSON reader sees: an escaped pair (`\\ud800\\udc00`) is one character, a lone half is not one."""
    try:
        json.loads(json.dumps(text)).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=_ENDPOINTS, text=_STRINGS)
def test_generated_strings_get_an_answer_or_a_400_never_a_500(plain: TestClient, endpoint: Any, text: str) -> None:
    path, make = endpoint
    raw = json.dumps(make(text)).encode()  # ensure_ascii: a lone surrogate goes out as its \\uXXXX escape
    answer = _post_raw(plain, path, raw)
    assert answer.status_code < 500, answer.text
    if _holds_a_lone_surrogate(text):
        assert answer.status_code == 400, answer.text
    else:
        assert answer.status_code in (200, 400), answer.text
        assert "surrogate" not in answer.text


# ---------------------------------------------------------------- templates

HOSTILE_TEMPLATES = {
    "doubling with ~": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s | length }}",
    "doubling with +": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}{{ ns.s | length }}",
    "nested ranges": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}done",
    "nested loops over the input": "{% for a in input %}{% for b in input %}{% for c in input %}{% endfor %}"
    "{% endfor %}{% endfor %}done",
    "output from nested loops": "{% for i in range(100000) %}{% for j in range(100000) %}xxxx{% endfor %}{% endfor %}",
    "replace": "{{ ('a' * 1000000) | replace('a', 'b' * 300) }}",
    "center": "{{ 'a' | center(1000000000) }}",
    "format filter": "{{ '%1000000000s' | format('x') }}",
    "str.format": "{{ '{:>1000000000}'.format('x') }}",
    "% with a * width": "{{ '%*d' % (1000000000, 1) }}",
    "rjust": "{{ 'a'.rjust(1000000000) }}",
    "a set block": "{% set x %}{% for i in range(100000) %}{{ 'a' * 1000000 }}{% endfor %}{% endset %}{{ x|length }}",
    "a list extended by itself": "{% set l = [1] %}{% for i in range(40) %}{{ l.extend(l) }}{% endfor %}",
    "join with a huge separator": "{{ range(100000) | list | join('a' * 1000000) }}",
    "a recursive macro": "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
}


@pytest.mark.parametrize("template", list(HOSTILE_TEMPLATES.values()), ids=list(HOSTILE_TEMPLATES))
def test_templates_past_the_caps_end_quickly_in_the_template_error(template: str) -> None:
    with _client([{"name": "greedy", "match": {"model": "gpt-4.1"}, "response": {"text": template}}]) as client:
        started = time.perf_counter()
        answer = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "hi" * 300})
        elapsed = time.perf_counter() - started
    assert answer.status_code == 500, answer.text[:300]
    error = answer.json()["error"]
    assert error["code"] == "template_error" and error["type"] == "server_error"
    assert error["message"].startswith("The template of scenario 'greedy' failed: ")
    assert answer.headers["x-should-retry"] == "false"
    assert elapsed < SLACK


def test_templates_within_the_caps_still_render() -> None:
    template = (
        "{{ input | upper }}|{{ '%5d' | format(42) }}|{{ '{:>6}'.format('r') }}|{{ 'ab' | center(6) }}|"
        "{{ input | replace('o', '0') }}|{% for i in range(3) %}{{ i }}{% endfor %}|{{ input | regex('w(or)', 1) }}|"
        "{{ [1, 2] | join(', ') }}|{{ 'x' ~ 'y' }}|{{ 'x' * 3 }}|{{ '%d' | format(1700000000) }}|"
        "{{ 'order 12345678901: %s' | format('ok') }}"
    )
    with _client([{"name": "fine", "match": {"model": "gpt-4.1"}, "response": {"text": template}}]) as client:
        answer = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "hello world"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"][0]["content"][0]["text"] == (
        "HELLO WORLD|   42|     r|  ab  |hell0 w0rld|012|or|1, 2|xy|xxx|1700000000|order 12345678901: ok"
    )


def test_a_hostile_template_added_through_the_admin_api_is_added_at_once_and_fails_cleanly(plain: TestClient) -> None:
    scenario = {"name": "huge", "match": {"model": "gpt-4o-mini"}, "response": {"text": "{{ 'a' | center(10**9) }}"}}
    started = time.perf_counter()
    added = plain.post("/__mock__/scenarios", json=scenario)
    assert added.status_code == 201 and time.perf_counter() - started < SLACK
    try:
        answer = plain.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi"})
        assert answer.status_code == 500 and answer.json()["error"]["code"] == "template_error"
    finally:
        plain.delete("/__mock__/scenarios/huge")


# ---------------------------------------------------------------- scenario regexes


def test_a_nested_quantifier_regex_answers_at_once() -> None:
    scenarios = [{"name": "nested", "match": {"input": {"regex": "^(a+)+$"}}, "response": {"text": "matched"}}]
    with _client(scenarios) as client:
        started = time.perf_counter()
        answer = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "a" * 27 + "!"})
        elapsed = time.perf_counter() - started
        matched = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "aaaa"})
    assert answer.status_code == 200 and elapsed < SLACK
    assert answer.json()["output"][0]["content"][0]["text"] != "matched"  # no match: the default responder answered
    assert matched.json()["output"][0]["content"][0]["text"] == "matched"


def test_a_regex_past_its_time_cap_is_a_500_naming_the_scenario() -> None:
    scenarios = [
        {"name": "catastrophic", "match": {"input": {"regex": "^(a|aa)+$"}}, "response": {"text": "matched"}},
        {"name": "fallback", "match": {"input": "a"}, "response": {"text": "fallback"}},
    ]
    with _client(scenarios) as client:
        started = time.perf_counter()
        answer = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "a" * 80 + "!"})
        elapsed = time.perf_counter() - started
    assert answer.status_code == 500, answer.text
    error = answer.json()["error"]
    assert error["code"] == "regex_timeout" and error["type"] == "server_error"
    assert "scenario 'catastrophic' (bounded.yaml:" in error["message"] and "'^(a|aa)+$'" in error["message"]
    assert answer.headers["x-should-retry"] == "false"
    assert elapsed < SLACK


def test_the_regex_filter_has_the_same_time_cap() -> None:
    template = "{{ input | regex('^(a|aa)+$') }}"
    with _client([{"name": "filter", "match": {"model": "gpt-4.1"}, "response": {"text": template}}]) as client:
        answer = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "a" * 80 + "!"})
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "template_error"
    assert "took more than" in answer.json()["error"]["message"]


def test_nested_quantifiers_are_warned_of_at_load(caplog: pytest.LogCaptureFixture) -> None:
    text = yaml.safe_dump(
        {
            "scenarios": [
                {"name": "fine", "match": {"input": {"regex": "^a+b+$"}}, "response": {"text": "x"}},
                {"name": "nested", "match": {"any": [{"input": {"regex": "(\\w+\\s?)*$"}}]}, "response": {"text": "y"}},
            ]
        },
        sort_keys=False,
    )
    with caplog.at_level(logging.WARNING, logger="mockserver"):
        parse_scenarios(text, "warned.yaml")
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("warned.yaml:") and "(\\\\w+\\\\s?)*$" in warnings[0]


# ---------------------------------------------------------------- generated structured output and tool arguments


def _nested_arrays(levels: int, min_items: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema, "minItems": min_items}
    return schema


_NODE = {
    "type": "object",
    "properties": {"left": {"$ref": "#/$defs/node"}, "right": {"$ref": "#/$defs/node"}},
    "required": ["left", "right"],
    "additionalProperties": False,
}
REFUSED_SCHEMAS = {
    "minLength 10^9": ({"type": "string", "minLength": 1_000_000_000}, "'minLength' is 1000000000"),
    "a pattern of 10^8 characters": ({"type": "string", "pattern": "^a{100000000}$"}, "'pattern' cannot be used"),
    "minItems 10^8": ({"type": "array", "items": {"type": "integer"}, "minItems": 100_000_000}, "'minItems' is"),
    "minItems 10^6": ({"type": "array", "items": {"type": "integer"}, "minItems": 1_000_000}, "'minItems' is 1000000,"),
    "30 nested arrays of 5": (_nested_arrays(30, 5), "more than 20000 values"),
    "two required self-references": (_NODE, "more than 20000 values"),
    "a multiple too small for the bounds": (
        {"type": "number", "multipleOf": 1e-300, "minimum": 1e300},
        "'multipleOf' is too small",
    ),
}


@pytest.mark.parametrize(("schema", "problem"), list(REFUSED_SCHEMAS.values()), ids=list(REFUSED_SCHEMAS))
def test_a_schema_past_the_generator_caps_is_a_400_naming_it(plain: TestClient, schema: Any, problem: str) -> None:
    wrapped = {
        "type": "object",
        "properties": {"field": schema},
        "required": ["field"],
        "additionalProperties": False,
        "$defs": {"node": _NODE},
    }
    body = {
        "model": "gpt-4.1",
        "input": "hi",
        "text": {"format": {"type": "json_schema", "name": "big", "schema": wrapped}},
    }
    started = time.perf_counter()
    answer = plain.post("/v1/responses", json=body)
    assert time.perf_counter() - started < SLACK
    assert answer.status_code == 400, answer.text[:300]
    error = answer.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (
        "text.format.schema",
        "invalid_json_schema",
        "invalid_request_error",
    )
    assert error["message"].startswith("Invalid schema for response_format 'big': In context=('properties', 'field'")
    assert problem in error["message"]


def test_tool_parameters_past_the_caps_are_a_400_naming_the_tool(plain: TestClient) -> None:
    huge = {"type": "object", "properties": {"ids": {"type": "array", "minItems": 50_000_000}}, "required": ["ids"]}
    body = {
        "model": "gpt-4.1",
        "input": "hi",
        "tools": [
            {"type": "function", "name": "fine", "parameters": {"type": "object", "properties": {}}},
            {"type": "function", "name": "bulk", "parameters": huge},
        ],
        "tool_choice": {"type": "function", "name": "bulk"},
    }
    answer = plain.post("/v1/responses", json=body)
    assert answer.status_code == 400, answer.text[:300]
    error = answer.json()["error"]
    assert (error["param"], error["code"]) == ("tools[1].parameters", "invalid_function_parameters")
    assert error["message"].startswith("Invalid schema for function 'bulk': In context=('properties', 'ids'), ")


def test_the_required_tool_of_the_issue_is_refused_too(plain: TestClient) -> None:
    parameters = {"type": "object", "properties": {"a": {"type": "array", "minItems": 50_000_000}}, "required": ["a"]}
    body = {
        "model": "gpt-4.1",
        "input": "hi",
        "tool_choice": "required",
        "tools": [{"type": "function", "name": "f", "parameters": parameters}],
    }
    answer = plain.post("/v1/responses", json=body)
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "tools[0].parameters"


def test_schemas_within_the_caps_still_generate(plain: TestClient) -> None:
    schema = {
        "type": "object",
        "properties": {
            "rows": {"type": "array", "minItems": 2000, "items": {"type": "integer"}},
            "code": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"},
            "padding": {"type": "string", "minLength": 50_000},
            "step": {"type": "number", "multipleOf": 0.5, "minimum": 10},
        },
        "required": ["rows", "code", "padding", "step"],
        "additionalProperties": False,
    }
    body = {
        "model": "gpt-4.1",
        "input": "hi",
        "text": {"format": {"type": "json_schema", "name": "ok", "schema": schema}},
    }
    answer = plain.post("/v1/responses", json=body)
    assert answer.status_code == 200, answer.text[:300]
    value = json.loads(answer.json()["output"][0]["content"][0]["text"])
    assert len(value["rows"]) >= 2000 and len(value["padding"]) >= 50_000
    assert re.fullmatch(r"[A-Z]{3}-\d{4}", value["code"]) and value["step"] % 0.5 == 0 and value["step"] >= 10


# ---------------------------------------------------------------- other clients while a slow request runs


def test_other_clients_are_answered_while_a_slow_request_runs(tmp_path: Path) -> None:
    """The slowest thing a request can still make the server do (a template looping until its time cap) runs off
    the event loop: GET /v1/models is answered, several times, before the slow answer comes back."""
    scenarios = tmp_path / "slow.yaml"
    slow_template = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}done"
    scenarios.write_text(
        yaml.safe_dump(
            {"scenarios": [{"name": "slow", "match": {"model": "gpt-4o-mini"}, "response": {"text": slow_template}}]}
        )
    )
    finished: list[float] = []
    with MockServer(Settings(port=0, log_level="warning", scenario_paths=(scenarios,))) as server:

        def send_slow() -> None:
            with httpx.Client(headers=KEY, timeout=60) as client:
                answer = client.post(f"{server.url}/v1/responses", json={"model": "gpt-4o-mini", "input": "hi"})
                assert answer.status_code == 500
                finished.append(time.perf_counter())

        slow = threading.Thread(target=send_slow)
        slow.start()
        answered: list[float] = []
        with httpx.Client(headers=KEY, timeout=SLACK) as client:
            time.sleep(0.1)
            while slow.is_alive() and len(answered) < 5:
                assert client.get(f"{server.url}/v1/models").status_code == 200
                answered.append(time.perf_counter())
        slow.join(SLACK)
    assert finished, "the slow request did not finish"
    assert len(answered) >= 3 and answered[2] < finished[0], (answered, finished)
