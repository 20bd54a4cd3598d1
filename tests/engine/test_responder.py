"""The default responder through the official SDK, against a real server with **no scenario at all**, streamed and
not; every answer is checked against the official schema (as the shared `server` fixture does)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import Enum
from typing import Any, Literal

import jsonschema
import openai
import pytest
from pydantic import BaseModel, Field

from mockserver import MockServer, Settings
from mockserver.core.tokens import estimate_tokens
from tests.conftest import RecordingApp, check_exchange


@pytest.fixture(scope="module")
def bare() -> Iterator[tuple[RecordingApp, MockServer]]:
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(), seed=3))
    recorder = RecordingApp(server.app)
    server.app = recorder  # type: ignore[assignment]
    with server:
        yield recorder, server


@pytest.fixture
def client(bare: tuple[RecordingApp, MockServer]) -> Iterator[openai.OpenAI]:
    recorder, server = bare
    recorder.exchanges.clear()
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as sdk:
        yield sdk
    exchanges, recorder.exchanges = list(recorder.exchanges), []
    assert exchanges
    for exchange in exchanges:
        check_exchange(exchange)


# -- structured output ---------------------------------------------------------------------------------------------


class Priority(str, Enum):
    low = "low"
    high = "high"


class Address(BaseModel):
    street: str
    city: str
    postal_code: str | None


class Contact(BaseModel):
    name: str
    email: str = Field(json_schema_extra={"format": "email"})
    website: str | None


class Task(BaseModel):
    title: str
    priority: Priority
    done: bool
    estimate_hours: float
    tags: list[str]


class Project(BaseModel):
    id: str
    owner: Contact
    address: Address
    tasks: list[Task]
    status: Literal["draft", "active", "archived"]
    budget: int | None


class Comment(BaseModel):
    author: str
    text: str
    replies: list[Comment]


MODELS = [Address, Contact, Task, Project, Comment]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_parse_fills_pydantic_models_with_no_scenario(
    client: openai.OpenAI, model: type[BaseModel], stream: bool
) -> None:
    request: dict[str, Any] = {"model": "gpt-4.1", "input": f"Make up a {model.__name__}.", "text_format": model}
    if stream:
        with client.responses.stream(**request) as events:
            parsed = events.get_final_response().output_parsed
    else:
        parsed = client.responses.parse(**request).output_parsed

    assert isinstance(parsed, model)


def test_the_same_request_gets_the_same_answer_streamed_or_not(client: openai.OpenAI) -> None:
    request: dict[str, Any] = {"model": "gpt-4.1", "input": "A project please.", "text_format": Project}
    first = client.responses.parse(**request).output_text
    again = client.responses.parse(**request).output_text
    with client.responses.stream(**request) as events:
        streamed = events.get_final_response().output_text

    assert first == again == streamed
    assert client.responses.parse(**{**request, "input": "Another project."}).output_text != first


def test_plain_json_schema_and_json_object(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"},
            "created": {"type": "string", "format": "date-time"},
            "qty": {"type": "integer", "minimum": 1, "maximum": 9},
        },
        "required": ["sku", "created", "qty"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "name": "order", "schema": schema, "strict": True}
    text = client.responses.create(model="gpt-4.1", input="An order.", text={"format": fmt}).output_text
    jsonschema.validate(json.loads(text), schema, format_checker=jsonschema.FormatChecker())

    free = client.responses.create(model="gpt-4.1", input="Answer in JSON.", text={"format": {"type": "json_object"}})
    assert isinstance(json.loads(free.output_text), dict)


# -- tool calls ------------------------------------------------------------------------------------------------------


class LookupOrder(BaseModel):
    """Look up an order by its number."""

    order_number: str
    include_items: bool


class SendEmail(BaseModel):
    """Send an email to a customer."""

    to: str
    subject: str
    priority: Priority


FLIGHTS = {
    "type": "function",
    "name": "search_flights",
    "description": "Find flights between two cities.",
    "parameters": {
        "type": "object",
        "properties": {
            "origin": {"type": "string"},
            "destination": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "passengers": {"type": "integer", "minimum": 1, "maximum": 9},
            "cabin": {"type": "string", "enum": ["economy", "business"]},
        },
        "required": ["origin", "destination", "date", "passengers", "cabin"],
        "additionalProperties": False,
    },
    "strict": True,
}
FORECAST = {
    "type": "function",
    "name": "get_forecast",
    "description": "Weather forecast for a place.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
        "required": ["location"],
    },
    "strict": False,
}
TOOLS = [FLIGHTS, FORECAST]


def _calls(response: Any) -> list[Any]:
    return [item for item in response.output if item.type == "function_call"]


def _valid(call: Any) -> dict[str, Any]:
    tool = next(t for t in TOOLS if t["name"] == call.name)
    arguments: dict[str, Any] = json.loads(call.arguments)
    jsonschema.validate(arguments, tool["parameters"], format_checker=jsonschema.FormatChecker())
    return arguments


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_required_strict_pydantic_tool_is_parsed_by_the_sdk(client: openai.OpenAI, stream: bool) -> None:
    request: dict[str, Any] = {
        "model": "gpt-4.1",
        "input": "Please help me.",
        "tools": [openai.pydantic_function_tool(LookupOrder), openai.pydantic_function_tool(SendEmail)],
        "tool_choice": "required",
    }
    if stream:
        with client.responses.stream(**request) as events:
            response = events.get_final_response()
    else:
        response = client.responses.parse(**request)

    (call,) = response.output
    assert call.type == "function_call" and call.name == "LookupOrder"
    assert isinstance(call.parsed_arguments, LookupOrder)


def test_auto_calls_the_tool_the_message_asks_for(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-4.1", input="What's the forecast for Lisbon?", tools=TOOLS)

    (call,) = _calls(response)
    assert call.name == "get_forecast"
    assert _valid(call)["location"] == "Lisbon"


def test_auto_answers_in_text_when_no_tool_is_asked_for(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-4.1", input="Tell me a joke.", tools=TOOLS)

    assert not _calls(response) and "Tell me a joke." in response.output_text


def test_auto_calls_several_tools_unless_parallel_calls_are_off(client: openai.OpenAI) -> None:
    ask = "Search flights to Tokyo and check the forecast there."
    both = client.responses.create(model="gpt-4.1", input=ask, tools=TOOLS)
    with client.responses.stream(model="gpt-4.1", input=ask, tools=TOOLS, parallel_tool_calls=False) as events:
        one = events.get_final_response()

    assert [call.name for call in _calls(both)] == ["search_flights", "get_forecast"]
    assert [call.name for call in _calls(one)] == ["search_flights"]
    for call in _calls(both):
        _valid(call)


def test_tool_choice_none_and_a_named_function(client: openai.OpenAI) -> None:
    ask = "What's the forecast for Lisbon?"
    none = client.responses.create(model="gpt-4.1", input=ask, tools=TOOLS, tool_choice="none")
    named = client.responses.create(
        model="gpt-4.1", input=ask, tools=TOOLS, tool_choice={"type": "function", "name": "search_flights"}
    )

    assert not _calls(none) and none.output_text
    (call,) = _calls(named)
    assert call.name == "search_flights"
    _valid(call)


def test_allowed_tools(client: openai.OpenAI) -> None:
    only_flights = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "search_flights"}],
    }
    auto_flights = {**only_flights, "mode": "auto"}
    forced = client.responses.create(model="gpt-4.1", input="Forecast?", tools=TOOLS, tool_choice=only_flights)
    auto = client.responses.create(model="gpt-4.1", input="Forecast?", tools=TOOLS, tool_choice=auto_flights)

    assert [call.name for call in _calls(forced)] == ["search_flights"]
    assert not _calls(auto)  # forecast is asked for, but not allowed


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_function_call_output_is_answered_in_text_that_uses_it(client: openai.OpenAI, stream: bool) -> None:
    ask = "What's the forecast for Lisbon?"
    first = client.responses.create(model="gpt-4.1", input=ask, tools=TOOLS)
    (call,) = _calls(first)
    follow_up: dict[str, Any] = {
        "model": "gpt-4.1",
        "tools": TOOLS,
        "input": [
            {"role": "user", "content": ask},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"high_c": 24, "sky": "clear"}'},
        ],
    }
    if stream:
        with client.responses.stream(**follow_up) as events:
            second = events.get_final_response()
    else:
        second = client.responses.create(**follow_up)

    assert not _calls(second)
    assert "get_forecast" in second.output_text and '"high_c": 24' in second.output_text


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_custom_tools_get_custom_tool_calls(client: openai.OpenAI, stream: bool) -> None:
    tool = {"type": "custom", "name": "run_sql", "description": "Run a SQL query."}
    request: dict[str, Any] = {"model": "gpt-4.1", "input": "Run SQL: select 1", "tools": [tool]}
    if stream:
        with client.responses.stream(**request) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(**request)

    (call,) = response.output
    assert call.type == "custom_tool_call" and call.name == "run_sql"
    assert call.input == "Run SQL: select 1" and call.call_id.startswith("call_")
    assert call.id.startswith("ctc_")


def test_a_streamed_custom_tool_call_sends_its_input_in_deltas(client: openai.OpenAI) -> None:
    tool = {"type": "custom", "name": "run_sql", "description": "Run a SQL query."}
    events = list(client.responses.create(model="gpt-4.1", input="Run SQL: select 1", tools=[tool], stream=True))

    added = next(event for event in events if event.type == "response.output_item.added")
    assert added.item.type == "custom_tool_call" and added.item.input == ""
    deltas = [event for event in events if event.type == "response.custom_tool_call_input.delta"]
    (done,) = [event for event in events if event.type == "response.custom_tool_call_input.done"]
    assert len(deltas) > 1 and "".join(str(event.delta) for event in deltas) == done.input == "Run SQL: select 1"
    assert {event.item_id for event in [*deltas, done]} == {added.item.id}
    types = [event.type for event in events]
    assert types.index("response.custom_tool_call_input.done") < types.index("response.output_item.done")


# -- reasoning and max_output_tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_reasoning_models_reason_first(client: openai.OpenAI, stream: bool) -> None:
    request: dict[str, Any] = {"model": "gpt-5", "input": "Why is the sky blue?", "reasoning": {"summary": "auto"}}
    if stream:
        with client.responses.stream(**request) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(**request)

    reasoning, message = response.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text.startswith("**")
    assert message.type == "message" and "Why is the sky blue?" in response.output_text
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens > 0


def test_reasoning_model_calls_tools_after_its_reasoning(client: openai.OpenAI) -> None:
    response = client.responses.create(model="o4-mini", input="Forecast for Lima?", tools=TOOLS)

    assert [item.type for item in response.output] == ["reasoning", "function_call"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_max_output_tokens_cuts_the_answer(client: openai.OpenAI, stream: bool) -> None:
    request: dict[str, Any] = {
        "model": "gpt-4.1",
        "input": "Write a long essay about maples. " * 3,
        "max_output_tokens": 16,
    }
    if stream:
        events = list(client.responses.create(**request, stream=True))
        assert events[-1].type == "response.incomplete"
        response = events[-1].response
    else:
        response = client.responses.create(**request)

    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None and response.usage.output_tokens == 16
    assert estimate_tokens(response.output_text) == 16 and "Write a long essay" in response.output_text


def test_max_output_tokens_that_suffice_complete(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-4.1", input="Hi there", max_output_tokens=500)

    assert response.status == "completed"


def test_reasoning_counts_toward_the_budget(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="gpt-5", input="Explain entropy.", reasoning={"summary": "detailed"}, max_output_tokens=20
    )

    assert response.status == "incomplete"
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens > 0


# -- real-world tool definitions, and an agent loop ------------------------------------------------------------------


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


class Attendee(BaseModel):
    email: str
    optional: bool


class CreateEvent(BaseModel):
    """Create a calendar event."""

    title: str
    start: str = Field(json_schema_extra={"format": "date-time"})
    duration_minutes: int = Field(ge=15, le=480, multiple_of=15)
    attendees: list[Attendee] = Field(min_length=1, max_length=5)
    location: str | None


REAL_WORLD_TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "create_issue",
        "description": "Open an issue in a GitHub repository.",
        "parameters": _object(
            {
                "repo": {"type": "string", "pattern": "^[\\w.-]+/[\\w.-]+$"},
                "title": {"type": "string", "minLength": 5, "maxLength": 120},
                "body": {"type": "string"},
                "labels": {"type": "array", "items": {"type": "string", "enum": ["bug", "docs", "feature"]}},
                "assignee": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            }
        ),
        "strict": True,
    },
    {
        "type": "function",
        "name": "create_refund",
        "description": "Refund a payment.",
        "parameters": _object(
            {
                "payment_intent": {"type": "string", "pattern": "^pi_[A-Za-z0-9]{8,24}$"},
                "amount": {"type": "integer", "minimum": 1, "maximum": 100000},
                "reason": {"type": "string", "enum": ["duplicate", "fraudulent", "requested_by_customer"]},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            required=["payment_intent"],
        ),
        "strict": False,
    },
    {
        "type": "function",
        "name": "search_products",
        "description": "Search the catalogue.",
        "parameters": _object(
            {
                "query": {"type": "string"},
                "filters": _object(
                    {
                        "price_range": _object(
                            {"min": {"type": "number", "minimum": 0}, "max": {"type": "number", "maximum": 10000}}
                        ),
                        "in_stock": {"type": "boolean"},
                        "categories": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                    }
                ),
                "sort": {"type": "string", "enum": ["relevance", "price_asc", "price_desc"]},
                "page": {"type": "integer", "minimum": 1},
            }
        ),
        "strict": True,
    },
    {
        "type": "function",
        "name": "send_message",
        "description": "Post to a chat channel.",
        "parameters": _object(
            {
                "channel_id": {"type": "string", "format": "uuid"},
                "text": {"type": "string", "maxLength": 40},
                "reply_to": {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]},
            }
        ),
        "strict": True,
    },
    openai.pydantic_function_tool(CreateEvent),
]


@pytest.mark.parametrize("tool", REAL_WORLD_TOOLS, ids=lambda tool: tool.get("name") or tool["function"]["name"])
def test_arguments_fit_real_world_tools(client: openai.OpenAI, tool: dict[str, Any]) -> None:
    if tool["type"] == "function" and "function" in tool:  # chat-completions shape from pydantic_function_tool
        function = tool["function"]
        tool = {"type": "function", "name": function["name"], "parameters": function["parameters"], "strict": True}
    for ask in ("Go ahead.", "Use the tool with something different this time, please!"):
        response = client.responses.create(
            model="gpt-4.1", input=ask, tools=[tool], tool_choice={"type": "function", "name": tool["name"]}
        )
        (call,) = response.output
        jsonschema.validate(json.loads(call.arguments), tool["parameters"], format_checker=jsonschema.FormatChecker())


def test_an_agent_loop_with_two_tools_runs_to_completion(client: openai.OpenAI) -> None:
    """The loop an agent framework runs: call the model, run each tool it asks for, send the results back, until
    the model answers in text."""
    implementations = {
        "search_flights": lambda args: {"flights": [{"number": "TP123", "date": args["date"]}]},
        "get_forecast": lambda args: {"location": args["location"], "high_c": 24},
    }
    items: list[Any] = [{"role": "user", "content": "Search flights to Tokyo and get the forecast for Tokyo."}]
    for _turn in range(5):
        response = client.responses.create(model="gpt-5-mini", input=items, tools=TOOLS)
        calls = _calls(response)
        if not calls:
            break
        items += [item.model_dump(exclude_none=True) for item in response.output]
        for call in calls:
            result = implementations[call.name](_valid(call))
            items.append({"type": "function_call_output", "call_id": call.call_id, "output": json.dumps(result)})
    else:
        pytest.fail("the loop did not end")

    assert _turn == 1
    assert "search_flights returned" in response.output_text and "get_forecast returned" in response.output_text


def test_reasoning_tokens_scale_with_effort(client: openai.OpenAI) -> None:
    def spent(effort: Any) -> int:
        response = client.responses.create(model="gpt-5", input="Plan a trip.", reasoning={"effort": effort})
        assert response.usage is not None
        assert response.usage.output_tokens > response.usage.output_tokens_details.reasoning_tokens
        return response.usage.output_tokens_details.reasoning_tokens

    assert 0 < spent("minimal") < spent("low") < spent("medium") < spent("high")


def test_the_seed_header_varies_the_answer(client: openai.OpenAI) -> None:
    def answer(seed: str) -> str:
        return client.responses.parse(
            model="gpt-4.1", input="A task.", text_format=Task, extra_headers={"x-mock-seed": seed}
        ).output_text

    assert answer("1") == answer("1") != answer("2")
