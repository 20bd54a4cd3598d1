"""The checks across fields and requests (`mockserver.checks.coherence`): call_id pairing in the input, across
`previous_response_id` chains and conversations; items sent back by id; `tool_choice` against `tools`; JSON Schema
validity of function parameters and response formats; strict-mode rules. Each refusal is the live API's status, type,
param, code and message."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from starlette.testclient import TestClient

from mockserver import MockServer, Settings, create_app
from mockserver.checks.coherence import MAX_ENUM_VALUES, MAX_NESTING, MAX_PROPERTIES, check_schemas
from tests.engine.test_responder_generate import LINKED, RECURSIVE, STRICT_SCHEMAS
from tests.reference import reference_dir, reference_file

AUTH = {"Authorization": "Bearer sk-test"}
WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"location": {"type": "string"}, "unit": {"type": "string"}},
    "required": ["location", "unit"],
    "additionalProperties": False,
}
WEATHER: dict[str, Any] = {"type": "function", "name": "get_weather", "parameters": WEATHER_PARAMETERS}
CALL = {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"}
OUTPUT = {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(seed=3)), headers=AUTH) as test_client:
        yield test_client


def create(client: TestClient, **body: Any) -> Any:
    return client.post("/v1/responses", json={"model": "gpt-4.1", **body})


def assert_error(answer: Any, status: int, message: str, param: str | None, code: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json() == {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


# ---------------------------------------------------------------- call_id pairing


def test_an_output_for_a_call_nobody_made_is_refused(client: TestClient) -> None:
    answer = create(client, input=[{"role": "user", "content": "hi"}, OUTPUT])
    assert_error(answer, 400, "No tool call found for function call output with call_id call_1.", "input")


def test_a_custom_tool_output_for_a_call_nobody_made_is_refused(client: TestClient) -> None:
    output = {"type": "custom_tool_call_output", "call_id": "call_9", "output": "done"}
    answer = create(client, input=[output])
    assert_error(answer, 400, "No tool call found for custom tool call output with call_id call_9.", "input")


def test_a_call_and_its_output_in_the_input_are_accepted(client: TestClient) -> None:
    answer = create(client, input=[{"role": "user", "content": "weather?"}, CALL, OUTPUT], tools=[WEATHER])
    assert answer.status_code == 200, answer.text


def test_a_call_without_its_output_is_refused(client: TestClient) -> None:
    answer = create(client, input=[{"role": "user", "content": "weather?"}, CALL, {"role": "user", "content": "?"}])
    assert_error(answer, 400, "No tool output found for function call call_1.", "input")


def test_a_custom_tool_call_without_its_output_is_refused(client: TestClient) -> None:
    call = {"type": "custom_tool_call", "call_id": "call_c", "name": "run", "input": "ls"}
    answer = create(client, input=[call])
    assert_error(answer, 400, "No tool output found for custom tool call call_c.", "input")


def test_an_output_answering_a_call_of_the_chain_is_accepted(client: TestClient) -> None:
    first = create(client, input="weather in Paris?", tools=[WEATHER], tool_choice="required").json()
    call = first["output"][-1]
    assert call["type"] == "function_call"
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}
    second = create(client, input=[output], previous_response_id=first["id"], tools=[WEATHER])
    assert second.status_code == 200, second.text
    third = create(client, input="and tomorrow?", previous_response_id=second.json()["id"], tools=[WEATHER])
    assert third.status_code == 200, third.text


def test_a_chain_whose_call_the_next_turn_leaves_unanswered_is_refused(client: TestClient) -> None:
    first = create(client, input="weather in Paris?", tools=[WEATHER], tool_choice="required").json()
    call_id = first["output"][-1]["call_id"]
    answer = create(client, input="never mind", previous_response_id=first["id"], tools=[WEATHER])
    assert_error(answer, 400, f"No tool output found for function call {call_id}.", "input")


def test_an_item_reference_lets_its_output_through(client: TestClient) -> None:
    first = create(client, input="weather in Paris?", tools=[WEATHER], tool_choice="required").json()
    call = first["output"][-1]
    reference = {"type": "item_reference", "id": call["id"]}
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}
    answer = create(client, input=[reference, output], tools=[WEATHER])
    assert answer.status_code == 200, answer.text


# ---------------------------------------------------------------- items sent back by id


def test_an_item_reference_the_server_never_made_is_a_404(client: TestClient) -> None:
    answer = create(client, input=[{"type": "item_reference", "id": "msg_unknown"}])
    assert_error(answer, 404, "Item with id 'msg_unknown' not found.", "input")


def test_a_bare_id_is_a_reference_too(client: TestClient) -> None:
    answer = create(client, input=[{"id": "msg_unknown"}])
    assert_error(answer, 404, "Item with id 'msg_unknown' not found.", "input")


def test_a_reasoning_item_without_encrypted_content_is_looked_up(client: TestClient) -> None:
    item = {"type": "reasoning", "id": "rs_unknown", "summary": []}
    answer = create(client, model="o4-mini", input=[item, {"role": "user", "content": "hi"}], store=False)
    message = (
        "Item with id 'rs_unknown' not found. Items are not persisted when `store` is set to false. Try again with "
        "`store` set to true, or remove this item from your input."
    )
    assert_error(answer, 404, message, "input")


def test_stored_items_are_found_by_reference(client: TestClient) -> None:
    first = create(client, model="o4-mini", input="think").json()
    reasoning = next(item for item in first["output"] if item["type"] == "reasoning")
    message = next(item for item in first["output"] if item["type"] == "message")
    sent_back = [
        {"type": "reasoning", "id": reasoning["id"], "summary": []},
        {"type": "item_reference", "id": message["id"]},
        {"role": "user", "content": "and then?"},
    ]
    answer = create(client, model="o4-mini", input=sent_back)
    assert answer.status_code == 200, answer.text


def test_reasoning_items_with_encrypted_content_need_no_store(client: TestClient) -> None:
    first = create(client, model="o4-mini", input="think", store=False, include=["reasoning.encrypted_content"]).json()
    reasoning = next(item for item in first["output"] if item["type"] == "reasoning")
    assert reasoning["encrypted_content"]
    answer = create(client, model="o4-mini", input=[reasoning, {"role": "user", "content": "more"}], store=False)
    assert answer.status_code == 200, answer.text


def test_items_of_a_conversation_are_found(client: TestClient) -> None:
    conversation = client.post("/v1/conversations", json={"items": [{"role": "user", "content": "hi"}]}).json()
    item_id = client.get(f"/v1/conversations/{conversation['id']}/items").json()["data"][0]["id"]
    answer = create(client, input=[{"type": "item_reference", "id": item_id}])
    assert answer.status_code == 200, answer.text


# ---------------------------------------------------------------- tool_choice against tools


def test_required_tool_choice_without_tools_is_refused(client: TestClient) -> None:
    message = "Tool choice 'required' must be specified with 'tools' parameter."
    assert_error(create(client, input="hi", tool_choice="required"), 400, message, "tool_choice")
    assert_error(create(client, input="hi", tool_choice="required", tools=[]), 400, message, "tool_choice")


def test_a_named_function_not_offered_is_refused(client: TestClient) -> None:
    choice = {"type": "function", "name": "get_time"}
    answer = create(client, input="hi", tools=[WEATHER], tool_choice=choice)
    assert_error(answer, 400, "Tool choice 'function' not found in 'tools' parameter.", "tool_choice")
    accepted = create(client, input="hi", tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"})
    assert accepted.status_code == 200, accepted.text


def test_a_named_custom_tool_not_offered_is_refused(client: TestClient) -> None:
    answer = create(client, input="hi", tools=[WEATHER], tool_choice={"type": "custom", "name": "run"})
    assert_error(answer, 400, "Tool choice 'custom' not found in 'tools' parameter.", "tool_choice")


def test_a_hosted_tool_choice_needs_that_tool(client: TestClient) -> None:
    answer = create(client, input="hi", tools=[WEATHER], tool_choice={"type": "image_generation"})
    assert_error(answer, 400, "Tool choice 'image_generation' not found in 'tools' parameter.", "tool_choice")
    dated = [{"type": "web_search_preview_2025_03_11"}]
    accepted = create(client, input="hi", tools=dated, tool_choice={"type": "web_search_preview"})
    assert accepted.status_code == 200, accepted.text


def test_an_allowed_tools_entry_not_offered_is_refused_by_its_name(client: TestClient) -> None:
    choice = {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "web_search"}]}
    answer = create(client, input="hi", tools=[WEATHER, {"type": "web_search"}], tool_choice=choice)
    assert_error(answer, 400, "Tool choice 'web_search' not found in 'tools' parameter.", "tool_choice")
    choice["tools"] = [{"type": "function", "name": "get_weather"}, {"type": "web_search"}]
    accepted = create(client, input="hi", tools=[WEATHER, {"type": "web_search"}], tool_choice=choice)
    assert accepted.status_code == 200, accepted.text


# ---------------------------------------------------------------- JSON Schema validity


def seed_page_example() -> dict[str, Any]:
    page = reference_file(reference_dir() / "seed-compatible-responses-api.txt")
    found = re.search(r"--data '\n(.*?)\n'", page.read_text(encoding="utf-8"), re.S)
    assert found, "the page's curl example moved"
    example: dict[str, Any] = json.loads(found.group(1).replace('"<string>"', '"get_weather"'))
    example["model"] = "gpt-4.1"
    # The page asks for a reasoning effort beside a temperature, which no catalog model takes together (the model
    # rules refuse it first); what is checked here is the tool's schema.
    del example["reasoning"]
    return example


@pytest.mark.parametrize("profile", ["openai", "compatible"])
def test_the_seed_pages_required_string_is_refused_in_both_profiles(profile: str) -> None:
    body = seed_page_example()
    if profile == "openai":
        body.pop("text", None)  # its `text.type` is the compatible provider's own field
    with TestClient(create_app(Settings(profile=profile)), headers=AUTH) as client:
        answer = client.post("/v1/responses", json=body)
    message = "Invalid schema for function 'get_weather': 'location' is not of type 'array'."
    assert_error(answer, 400, message, "tools[0].parameters", "invalid_function_parameters")


def test_a_response_format_that_is_not_a_schema_is_refused(client: TestClient) -> None:
    fmt = {"type": "json_schema", "name": "haiku", "schema": {"type": "object", "properties": {"a": {"type": 3}}}}
    answer = create(client, input="hi", text={"format": fmt})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"].startswith("Invalid schema for response_format 'haiku': 3 is not valid under any")
    assert (error["param"], error["code"]) == ("text.format.schema", "invalid_json_schema")


# ---------------------------------------------------------------- strict mode


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    return {**WEATHER, "strict": True, "parameters": schema}


def strict_object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        **extra,
    }


STRICT_REFUSALS = {
    "every property required": (
        {**strict_object({"location": {"type": "string"}, "unit": {"type": "string"}}), "required": ["location"]},
        "In context=(), 'required' is required to be supplied and to be an array including every key in properties. "
        "Missing 'unit'.",
    ),
    "additionalProperties false on every object": (
        strict_object({"place": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}),
        "In context=('properties', 'place'), 'additionalProperties' is required to be supplied and to be false.",
    ),
    "root an object": (
        {"anyOf": [strict_object({})]},
        "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"None\"'.",
    ),
    "no oneOf": (
        strict_object({"x": {"oneOf": [{"type": "string"}, {"type": "number"}]}}),
        "In context=('properties', 'x'), 'oneOf' is not permitted.",
    ),
    "arrays with items": (
        strict_object({"paths": {"type": "array"}}),
        "In context=('properties', 'paths'), array schema missing items.",
    ),
    "required keys are properties": (
        {**strict_object({}), "required": ["ghost"]},
        "In context=(), Extra required key 'ghost' supplied.",
    ),
}


@pytest.mark.parametrize("rule", list(STRICT_REFUSALS))
def test_strict_function_rules(client: TestClient, rule: str) -> None:
    schema, problem = STRICT_REFUSALS[rule]
    answer = create(client, input="hi", tools=[strict(schema)])
    message = f"Invalid schema for function 'get_weather': {problem}"
    assert_error(answer, 400, message, "tools[0].parameters", "invalid_function_parameters")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=STRICT_SCHEMAS)
def test_the_schemas_the_generator_is_tested_on_are_accepted_as_strict(schema: dict[str, Any]) -> None:
    check_schemas(
        {
            "tools": [strict(schema)],
            "text": {"format": {"type": "json_schema", "name": "f", "strict": True, "schema": schema}},
        }
    )


@pytest.mark.parametrize("schema", [RECURSIVE, LINKED], ids=["root-ref", "defs"])
def test_recursive_strict_schemas_are_accepted(client: TestClient, schema: dict[str, Any]) -> None:
    fmt = {"type": "json_schema", "name": "tree", "strict": True, "schema": schema}
    answer = create(client, input="a tree", text={"format": fmt})
    assert answer.status_code == 200, answer.text
    jsonschema.validate(json.loads(answer.json()["output"][-1]["content"][0]["text"]), schema)


def test_a_non_strict_or_unmarked_function_may_leave_properties_optional(client: TestClient) -> None:
    schema = {"type": "object", "properties": {"location": {"type": "string"}}}
    for tool in ({**WEATHER, "parameters": schema}, {**WEATHER, "parameters": schema, "strict": False}):
        answer = create(client, input="weather?", tools=[tool])
        assert answer.status_code == 200, answer.text


def test_a_strict_format_is_checked_with_its_own_name_and_param(client: TestClient) -> None:
    fmt = {"type": "json_schema", "name": "answer", "strict": True, "schema": {"type": "object", "properties": {}}}
    answer = create(client, input="hi", text={"format": fmt})
    message = (
        "Invalid schema for response_format 'answer': In context=(), 'additionalProperties' is required to be "
        "supplied and to be false."
    )
    assert_error(answer, 400, message, "text.format.schema", "invalid_json_schema")


def nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = strict_object({"x": schema})
    return schema


def test_strict_size_limits(client: TestClient) -> None:
    assert create(client, input="hi", tools=[strict(nested(MAX_NESTING))]).status_code == 200
    deep = create(client, input="hi", tools=[strict(nested(MAX_NESTING + 1))]).json()["error"]["message"]
    assert deep.endswith(f"at most {MAX_NESTING} are allowed, but the schema has {MAX_NESTING + 1}.")
    wide = strict_object({f"p{i}": {"type": "string"} for i in range(MAX_PROPERTIES + 1)})
    message = create(client, input="hi", tools=[strict(wide)]).json()["error"]["message"]
    assert message.endswith(f"at most {MAX_PROPERTIES} are allowed, but the schema has {MAX_PROPERTIES + 1}.")
    enum = strict_object({"e": {"type": "string", "enum": [str(i) for i in range(MAX_ENUM_VALUES + 1)]}})
    message = create(client, input="hi", tools=[strict(enum)]).json()["error"]["message"]
    assert message.endswith(f"at most {MAX_ENUM_VALUES} are allowed, but the schema has {MAX_ENUM_VALUES + 1}.")


def test_an_accepted_strict_schema_is_answered_from(client: TestClient) -> None:
    answer = create(client, input="weather in Paris?", tools=[strict(WEATHER["parameters"])], tool_choice="required")
    assert answer.status_code == 200, answer.text
    arguments = json.loads(answer.json()["output"][-1]["arguments"])
    assert set(arguments) == {"location", "unit"}


# ---------------------------------------------------------------- through the official SDK, against a real server


def sent_message(error: openai.APIStatusError) -> Any:
    """The error body's `message` (the SDK's own `message` starts with "Error code: …")."""
    assert isinstance(error.body, dict)
    return error.body["message"]


@pytest.fixture(scope="module")
def sdk() -> Iterator[openai.OpenAI]:
    with MockServer(Settings(port=0, log_level="warning", seed=5)) as server:
        with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
            yield client


def call_weather(sdk: openai.OpenAI, **context: Any) -> tuple[str, str]:
    """A turn that calls `get_weather`: its response id and call_id."""
    first = sdk.responses.create(model="gpt-4.1", input="weather?", tools=[WEATHER], tool_choice="required", **context)
    call = first.output[-1]
    assert call.type == "function_call"
    return first.id, call.call_id


def send_output(sdk: openai.OpenAI, call_id: str, **context: Any) -> Any:
    output = {"type": "function_call_output", "call_id": call_id, "output": "sunny"}
    return sdk.responses.create(model="gpt-4.1", tools=[WEATHER], input=[output], **context)


def test_sdk_pairing_across_a_previous_response_id_chain(sdk: openai.OpenAI) -> None:
    response_id, call_id = call_weather(sdk)
    with pytest.raises(openai.BadRequestError) as refused:
        send_output(sdk, "call_other", previous_response_id=response_id)
    assert (refused.value.status_code, refused.value.param) == (400, "input")
    assert sent_message(refused.value) == "No tool call found for function call output with call_id call_other."
    with pytest.raises(openai.BadRequestError) as unanswered:
        sdk.responses.create(model="gpt-4.1", previous_response_id=response_id, tools=[WEATHER], input="hello?")
    assert sent_message(unanswered.value) == f"No tool output found for function call {call_id}."
    assert send_output(sdk, call_id, previous_response_id=response_id).status == "completed"


def test_sdk_pairing_across_a_conversation(sdk: openai.OpenAI) -> None:
    conversation = sdk.conversations.create().id
    _, call_id = call_weather(sdk, conversation=conversation)
    with pytest.raises(openai.BadRequestError) as refused:
        send_output(sdk, "call_other", conversation=conversation)
    assert (refused.value.status_code, refused.value.param) == (400, "input")
    assert sent_message(refused.value) == "No tool call found for function call output with call_id call_other."
    assert send_output(sdk, call_id, conversation=conversation).status == "completed"


def test_sdk_unknown_item_is_a_not_found_error(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as refused:
        sdk.responses.create(model="gpt-4.1", input=[{"type": "item_reference", "id": "msg_gone"}])
    assert (refused.value.status_code, refused.value.param) == (404, "input")
    assert sent_message(refused.value) == "Item with id 'msg_gone' not found."


def test_sdk_invalid_function_schema(sdk: openai.OpenAI) -> None:
    tool = {**WEATHER, "parameters": {**WEATHER["parameters"], "required": "location"}}
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(model="gpt-4.1", input="hi", tools=[tool])
    assert refused.value.code == "invalid_function_parameters"
    message = "Invalid schema for function 'get_weather': 'location' is not of type 'array'."
    assert sent_message(refused.value) == message
