"""Scripted answers checked against the request that got them (`findings`): each finding through the HTTP app, as
JSON and as a stream, in the `x-mock-finding` header and the journal; `--findings error` through the official SDK;
and the default responder, whose answers never give a finding (a hypothesis test over generated requests)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.checks.findings import FINDING_HEADER, HEADER_LIMIT, header_value, scenario_findings
from mockserver.core.context import RequestContext
from mockserver.core.ids import IdSource
from mockserver.engine.responder import default_reply
from mockserver.engine.scenarios import ScenarioSet, parse_scenarios
from mockserver.faults.config import settings_from_env
from mockserver.render.render import Timing, build_response
from tests.engine.test_responder_generate import STRICT_SCHEMAS

AUTH = {"Authorization": "Bearer sk-test"}
WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
WEATHER = {"type": "function", "name": "get_weather", "parameters": WEATHER_PARAMETERS}
CLOCK = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}
REPORT_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
    "required": ["city", "celsius"],
    "additionalProperties": False,
}
WEB_SEARCH_CALL = {
    "type": "web_search_call",
    "status": "completed",
    "action": {"type": "search", "query": "weather in Paris"},
}
MCP_CALL = {
    "type": "mcp_call",
    "server_label": "deepwiki",
    "name": "ask_question",
    "arguments": "{}",
    "output": "42",
    "error": None,
}
MCP_TOOL = {"type": "mcp", "server_label": "deepwiki", "server_url": "https://mcp.deepwiki.com/mcp"}


def call(name: str, arguments: Any) -> dict[str, Any]:
    return {"type": "function_call", "name": name, "arguments": arguments}


def client(response: dict[str, Any], **options: Any) -> TestClient:
    """An app whose one scenario, `scripted`, answers every request with `response`."""
    text = json.dumps({"scenarios": [{"name": "scripted", "response": response}]})
    app = create_app(Settings(**options), ScenarioSet(parse_scenarios(text, "findings.yaml")))
    return TestClient(app, headers=AUTH)


# (what the scenario answers, what the request says, a phrase of the finding)
FINDINGS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "function not offered": (
        {"output": [call("lookup", {"q": "x"})]},
        {"tools": [WEATHER]},
        "called the function tool 'lookup', which the request does not offer (it offers get_weather)",
    ),
    "function with no tools": (
        {"output": [call("get_weather", {"city": "Paris"})]},
        {},
        "it offers no function tool",
    ),
    "custom tool not offered": (
        {"output": [{"type": "custom_tool_call", "name": "run_sql", "input": "select 1", "call_id": "call_1"}]},
        {"tools": [WEATHER]},
        "called the custom tool 'run_sql', which the request does not offer",
    ),
    "left out by allowed_tools": (
        {"output": [call("get_time", {})]},
        {
            "tools": [WEATHER, CLOCK],
            "tool_choice": {
                "type": "allowed_tools",
                "mode": "auto",
                "tools": [{"type": "function", "name": "get_weather"}],
            },
        },
        "called the function tool 'get_time', which tool_choice.allowed_tools leaves out",
    ),
    "hosted tool not offered": (
        {"output": [WEB_SEARCH_CALL]},
        {"tools": [WEATHER]},
        "sent a web_search_call, but the request offers no web_search tool",
    ),
    "MCP server not offered": (
        {"output": [MCP_CALL]},
        {"tools": [WEATHER]},
        "sent an mcp_call for the MCP server 'deepwiki', which the request does not offer as an mcp tool",
    ),
    "MCP tool outside allowed_tools": (
        {"output": [MCP_CALL]},
        {"tools": [{**MCP_TOOL, "allowed_tools": ["read_wiki_structure"]}]},
        "for 'ask_question' on the MCP server 'deepwiki', which that server's allowed_tools leaves out",
    ),
    "arguments break a strict schema": (
        {"output": [call("get_weather", {"location": "Paris"})]},
        {"tools": [{**WEATHER, "strict": True}]},
        "called 'get_weather' with arguments that break its strict parameters schema (at the top level: 'city' is a "
        "required property; Additional properties are not allowed ('location' was unexpected))",
    ),
    "arguments break a schema made strict (strict omitted)": (
        {"output": [call("get_weather", {"city": "Paris", "unit": "c"})]},
        {
            "tools": [
                {
                    "type": "function",
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                }
            ]
        },
        "Additional properties are not allowed ('unit' was unexpected)",
    ),
    "text not JSON under json_schema": (
        {"text": "It is sunny."},
        {"text": {"format": {"type": "json_schema", "name": "report", "schema": REPORT_SCHEMA, "strict": True}}},
        "answered text that is not JSON ('It is sunny.') under text.format json_schema 'report'",
    ),
    "text breaks a strict json_schema": (
        {"text": '{"city": "Paris"}'},
        {"text": {"format": {"type": "json_schema", "name": "report", "schema": REPORT_SCHEMA, "strict": True}}},
        "answered JSON that breaks the strict text.format json_schema 'report' (at the top level: 'celsius' is a "
        "required property)",
    ),
    "json_object text not an object": (
        {"text": "[1, 2]"},
        {"text": {"format": {"type": "json_object"}}},
        "answered JSON that is not an object under text.format json_object",
    ),
    "a call under tool_choice none": (
        {"output": [call("get_weather", {"city": "Paris"})]},
        {"tools": [WEATHER], "tool_choice": "none"},
        "made a tool call (function_call 'get_weather') under tool_choice \"none\"",
    ),
    "no call under tool_choice required": (
        {"text": "Sunny."},
        {"tools": [WEATHER], "tool_choice": "required"},
        'answered without a tool call under tool_choice "required"',
    ),
    "no call under allowed_tools required": (
        {"text": "Sunny."},
        {
            "tools": [WEATHER],
            "tool_choice": {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "get_weather"}],
            },
        },
        "answered without a tool call under tool_choice allowed_tools in required mode",
    ),
    "forced function not called": (
        {"text": "Sunny."},
        {"tools": [WEATHER], "tool_choice": {"type": "function", "name": "get_weather"}},
        "did not call 'get_weather', which tool_choice forces",
    ),
    "another function than the forced one": (
        {"output": [call("get_time", {})]},
        {"tools": [WEATHER, CLOCK], "tool_choice": {"type": "function", "name": "get_weather"}},
        "called 'get_time' while tool_choice forces 'get_weather'",
    ),
    "more built-in calls than max_tool_calls": (
        {"output": [WEB_SEARCH_CALL, WEB_SEARCH_CALL]},
        {"tools": [{"type": "web_search"}], "max_tool_calls": 1},
        "made 2 built-in tool calls where max_tool_calls is 1",
    ),
    "two calls with parallel_tool_calls false": (
        {"output": [call("get_weather", {"city": "Paris"}), call("get_time", {})]},
        {"tools": [WEATHER, CLOCK], "parallel_tool_calls": False},
        "made 2 tool calls in one response with parallel_tool_calls false",
    ),
    "a reasoning item from a model that does not reason": (
        {"reasoning": ["**Thinking**\n\nAbout the weather."], "text": "Sunny."},
        {},
        "sent a reasoning item, but gpt-4.1 is not a reasoning model; the live API sends none for it.",
    ),
    "a reasoning item at effort none": (
        {"reasoning": ["**Thinking**\n\nAbout the weather."], "text": "Sunny."},
        {"model": "gpt-5.1", "reasoning": {"effort": "none"}},
        "sent a reasoning item, but at reasoning.effort 'none' gpt-5.1 reasons not at all",
    ),
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("case", list(FINDINGS))
def test_each_finding_goes_to_the_header_the_journal_and_the_log(
    case: str, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    response, request, phrase = FINDINGS[case]
    with client(response) as api, caplog.at_level(logging.WARNING, logger="mockserver.findings"):
        answer = api.post("/v1/responses", json={"model": "gpt-4.1", "input": "weather?", "stream": stream, **request})
        journal = api.get("/__mock__/journal").json()["requests"]

    assert answer.status_code == 200
    assert phrase in answer.headers[FINDING_HEADER]
    assert answer.headers[FINDING_HEADER].startswith("Scenario 'scripted' ")
    [finding] = journal[-1]["findings"]
    assert phrase in finding
    assert phrase in caplog.text
    if stream:
        assert "event: response.completed" in answer.text


# (what the scenario answers, what the request says): answers a live model could give
NO_FINDINGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "offered function, fitting arguments": ({"output": [call("get_weather", {"city": "Paris"})]}, {"tools": [WEATHER]}),
    "plain text, no tools, no format": ({"text": "Hi"}, {}),
    "its own reasoning from a reasoning model": (
        {"reasoning": ["**Thinking**\n\nAbout the weather."], "text": "Sunny."},
        {"model": "gpt-5", "reasoning": {"effort": "low"}},
    ),
    "non-strict tool, arguments off its schema": (
        {"output": [call("get_weather", {"town": "Paris"})]},
        {"tools": [{**WEATHER, "strict": False}]},
    ),
    "strict omitted, schema strict mode refuses (best-effort calling)": (
        {"output": [call("pick", {"b": 1})]},
        {
            "tools": [
                {"type": "function", "name": "pick", "parameters": {"type": "object", "oneOf": [{"required": ["a"]}]}}
            ]
        },
    ),
    "function calls are not counted by max_tool_calls": (
        {"output": [call("get_weather", {"city": "Paris"}), call("get_time", {})]},
        {"tools": [WEATHER, CLOCK], "max_tool_calls": 1},
    ),
    "non-strict json_schema: any JSON": (
        {"text": '{"town": "Paris"}'},
        {"text": {"format": {"type": "json_schema", "name": "report", "schema": REPORT_SCHEMA}}},
    ),
    "a refusal under a strict json_schema": (
        {"refusal": "I can't help with that."},
        {"text": {"format": {"type": "json_schema", "name": "report", "schema": REPORT_SCHEMA, "strict": True}}},
    ),
    "JSON cut short by max_output_tokens": (
        {"text": '{"city": "Par', "incomplete": "max_output_tokens"},
        {"text": {"format": {"type": "json_schema", "name": "report", "schema": REPORT_SCHEMA, "strict": True}}},
    ),
    "no call while required, cut short by max_output_tokens": (
        {"text": "Let me", "incomplete": "max_output_tokens"},
        {"tools": [WEATHER], "tool_choice": "required"},
    ),
    "no call under required with hosted tools only (not emulated)": (
        {"text": "Sunny."},
        {"tools": [{"type": "web_search"}], "tool_choice": "required"},
    ),
    "string formats are not checked": (
        {"output": [call("mail", {"to": "not an address"})]},
        {
            "tools": [
                {
                    "type": "function",
                    "name": "mail",
                    "strict": True,
                    "parameters": {
                        "type": "object",
                        "properties": {"to": {"type": "string", "format": "email"}},
                        "required": ["to"],
                        "additionalProperties": False,
                    },
                }
            ]
        },
    ),
    "hosted call with its tool offered": ({"output": [WEB_SEARCH_CALL]}, {"tools": [{"type": "web_search_preview"}]}),
    "MCP call to an offered server": ({"output": [MCP_CALL]}, {"tools": [MCP_TOOL]}),
    "a stored prompt may offer the tool": (
        {"output": [call("get_weather", {"city": "Paris"})]},
        {"prompt": {"id": "pmpt_123"}},
    ),
    "function inside a namespace tool": (
        {"output": [{**call("get_weather", {"city": "Paris"}), "namespace": "weather"}]},
        {"tools": [{"type": "namespace", "name": "weather", "description": "Weather", "tools": [WEATHER]}]},
    ),
}


@pytest.mark.parametrize("case", list(NO_FINDINGS))
def test_answers_the_live_api_could_give_have_no_finding(case: str) -> None:
    response, request = NO_FINDINGS[case]
    with client(response) as api:
        answer = api.post("/v1/responses", json={"model": "gpt-4.1", "input": "weather?", **request})
        journal = api.get("/__mock__/journal").json()["requests"]

    assert answer.status_code == 200
    assert FINDING_HEADER not in answer.headers
    assert journal[-1]["findings"] == []


def test_several_findings_share_one_header_and_are_all_journaled() -> None:
    response = {"output": [call("lookup", {}), call("get_weather", {"town": "Paris"})]}
    request = {"tools": [{**WEATHER, "strict": True}], "parallel_tool_calls": False, "tool_choice": "none"}
    with client(response) as api:
        answer = api.post("/v1/responses", json={"model": "gpt-4.1", "input": "weather?", **request})
        findings = api.get("/__mock__/journal").json()["requests"][-1]["findings"]

    assert len(findings) == 4  # lookup not offered, a call under "none", two calls, arguments off the schema
    assert answer.headers[FINDING_HEADER] == " | ".join(findings)


def test_the_header_is_ascii_and_bounded() -> None:
    found = [
        f"Scenario 'météo-{n}' called the function tool 'prévision', which the request does not offer."
        for n in range(40)
    ]

    value = header_value(found)

    assert value.isascii() and len(value) == HEADER_LIMIT and value.endswith("...")
    assert value.startswith("Scenario 'm\\xe9t\\xe9o-0' called the function tool 'pr\\xe9vision'")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_background_answers_carry_the_finding(stream: bool) -> None:
    with client({"output": [call("lookup", {})]}) as api:
        body = {"model": "gpt-4.1", "input": "hi", "background": True, "stream": stream}
        answer = api.post("/v1/responses", json=body)
        journal = api.get("/__mock__/journal").json()["requests"]

    assert answer.status_code == 200
    assert "called the function tool 'lookup'" in answer.headers[FINDING_HEADER]
    assert journal[-1]["findings"] and "lookup" in journal[-1]["findings"][0]


def test_a_delayed_answer_and_a_paced_stream_carry_the_finding() -> None:
    with client({"output": [call("lookup", {})], "delay": 1}) as api:
        plain = api.post("/v1/responses", json={"model": "gpt-4.1", "input": "hi"})
        streamed = api.post("/v1/responses", json={"model": "gpt-4.1", "input": "hi", "stream": True})

    assert "'lookup'" in plain.headers[FINDING_HEADER]
    assert "'lookup'" in streamed.headers[FINDING_HEADER]
    assert "event: response.completed" in streamed.text


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_findings_error_answers_a_500_naming_the_scenario(stream: bool) -> None:
    with client({"output": [call("lookup", {})]}, findings="error") as api:
        answer = api.post("/v1/responses", json={"model": "gpt-4.1", "input": "hi", "stream": stream})
        listed = api.get("/v1/responses/does-not-matter")  # nothing was stored under any id

    assert answer.status_code == 500
    assert answer.headers["x-should-retry"] == "false"
    assert "'lookup'" in answer.headers[FINDING_HEADER]
    error = answer.json()["error"]
    assert error["type"] == "server_error" and error["code"] == "scenario_finding" and error["param"] is None
    assert error["message"].startswith("The mock server refused a scripted answer the live API could not give")
    assert "Scenario 'scripted' called the function tool 'lookup'" in error["message"]
    assert listed.status_code == 404


def test_findings_error_is_not_retried_by_the_official_sdk() -> None:
    with client({"output": [call("lookup", {})]}, findings="error") as api:
        sdk = openai.OpenAI(api_key="sk-test", base_url="http://testserver/v1", http_client=api, max_retries=2)
        with pytest.raises(openai.InternalServerError) as raised:
            sdk.responses.create(model="gpt-4.1", input="hi")
        creates = [entry for entry in api.get("/__mock__/journal").json()["requests"] if entry["method"] == "POST"]

    assert raised.value.status_code == 500
    assert raised.value.code == "scenario_finding"
    assert "Scenario 'scripted'" in raised.value.message
    assert len(creates) == 1  # x-should-retry: false, so no retry


def test_findings_mode_from_settings_and_environment() -> None:
    assert Settings().findings == "warn"
    assert settings_from_env({"MOCKSERVER_FINDINGS": "ERROR"}).findings == "error"
    with pytest.raises(ValueError, match="findings must be one of warn, error"):
        Settings(findings="fail")


def test_the_default_responder_is_not_checked_and_a_scenario_with_generate_gives_no_finding() -> None:
    with client({"generate": True}) as api:
        answer = api.post(
            "/v1/responses",
            json={"model": "gpt-4.1", "input": "weather in Paris?", "tools": [WEATHER], "tool_choice": "required"},
        )

    assert answer.status_code == 200
    assert answer.json()["output"][0]["type"] == "function_call"
    assert FINDING_HEADER not in answer.headers


# ---------------------------------------------------------------- the default responder never gives a finding


def _function_tools() -> st.SearchStrategy[dict[str, Any]]:
    def loosened(schema: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in schema.items() if key not in ("required", "additionalProperties")}

    return st.builds(
        lambda name, schema, strict, loose: {
            "type": "function",
            "name": name,
            "parameters": loosened(schema) if loose else schema,
            **({} if strict is None else {"strict": strict}),
        },
        st.sampled_from(["get_weather", "search_docs", "book_flight", "lookup", "convertCurrency"]),
        STRICT_SCHEMAS,
        st.sampled_from([None, True, False]),
        st.booleans(),
    )


TOOLS = st.lists(
    st.one_of(
        _function_tools(),
        st.sampled_from(["run_sql", "shell"]).map(lambda name: {"type": "custom", "name": name}),
        st.just({"type": "web_search"}),
    ),
    max_size=4,
    unique_by=lambda tool: str(tool.get("name", tool["type"])),
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    tools = draw(TOOLS)
    named = [tool for tool in tools if "name" in tool]
    choices: list[Any] = ["auto", "none", "required"]
    choices += [{"type": tool["type"], "name": tool["name"]} for tool in named]
    if named:
        allowed = [{"type": tool["type"], "name": tool["name"]} for tool in named[:2]]
        choices += [{"type": "allowed_tools", "mode": mode, "tools": allowed} for mode in ("auto", "required")]
    body: dict[str, Any] = {
        "model": draw(st.sampled_from(["gpt-4.1", "gpt-4o-mini", "o4-mini", "gpt-5"])),
        "input": draw(
            st.sampled_from(["hello", "What's the weather in Paris?", "search the docs and book a flight", "run sql"])
        ),
    }
    if tools:
        body["tools"] = tools
        if draw(st.booleans()):
            body["tool_choice"] = draw(st.sampled_from(choices))
        if draw(st.booleans()):
            body["parallel_tool_calls"] = draw(st.booleans())
        if draw(st.booleans()):
            body["max_tool_calls"] = draw(st.integers(0, 3))
    fmt = draw(st.sampled_from(["text", "json_object", "json_schema", "strict"]))
    if fmt == "json_object":
        body["text"] = {"format": {"type": "json_object"}}
    elif fmt != "text":
        schema = draw(STRICT_SCHEMAS)
        body["text"] = {
            "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": fmt == "strict"}
        }
    return body


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(body=requests(), seed=st.integers(0, 2**16))
def test_the_default_responders_answers_never_give_a_finding(body: dict[str, Any], seed: int) -> None:
    ctx = RequestContext(body)
    reply = default_reply(ctx, seed)
    final = build_response(
        ctx, reply, IdSource(seed).response_family(1_800_000_000), Timing(1_800_000_000, 1_800_000_000)
    )

    assert scenario_findings(ctx, final, "default") == []


def test_the_readme_example_gives_the_finding_it_shows() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Answers the live API could not give") :]
    example = section[section.index("```yaml\n") + 8 : section.index("```\n", section.index("```yaml\n") + 8)]
    app = create_app(Settings(), ScenarioSet(parse_scenarios(example, "README.md")))
    city = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    with TestClient(app, headers=AUTH) as api:
        answer = api.post(
            "/v1/responses",
            json={
                "model": "gpt-4.1",
                "input": "Weather?",
                "tools": [{"type": "function", "name": "get_weather", "parameters": city}],
            },
        )

    shown = (
        "Scenario 'weather' called 'get_weather' with arguments that break its strict parameters schema (at the top "
        "level: 'city' is a required property; Additional properties are not allowed ('location' was unexpected)); "
    )
    assert answer.headers[FINDING_HEADER].startswith(shown)
    assert " ".join(shown.split()) in " ".join(section.split())
