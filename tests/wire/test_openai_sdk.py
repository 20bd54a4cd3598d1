"""The official `openai` SDK, unmodified, against a real server on a loopback port.

Every answer sent here is also checked against the official schema (see the `server` fixture).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import openai
import pytest
from pydantic import BaseModel

from mockserver import MockServer

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["location", "unit"],
        "additionalProperties": False,
    },
}


_opened: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    """Close every client a test made, so no socket is left for the garbage collector to warn about."""
    yield
    while _opened:
        _opened.pop().close()


def sdk(server: MockServer, **options: object) -> openai.OpenAI:
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", **options)
    _opened.append(client)
    return client


def test_sync_create_returns_the_scenario_text(server: MockServer) -> None:
    response = sdk(server).responses.create(model="gpt-4.1", input="hello there")

    assert response.output_text == "Hello! How can I help?"
    assert response.status == "completed"
    assert response.id.startswith("resp_")
    assert response.output[0].id.startswith("msg_")
    assert isinstance(response.created_at, (int, float)) and response.completed_at is not None
    assert response.usage is not None and response.usage.total_tokens == (
        response.usage.input_tokens + response.usage.output_tokens
    )
    assert response.usage.input_tokens_details.cache_write_tokens == 0


def test_async_create(server: MockServer) -> None:
    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test") as client:
            response = await client.responses.create(model="gpt-4.1", input="Hello, async world")
            return response.output_text

    assert asyncio.run(run()) == "Hello! How can I help?"


def test_request_parameters_are_echoed(server: MockServer) -> None:
    response = sdk(server).responses.create(
        model="gpt-4.1-mini",
        input="Say anything.",
        instructions="Be brief.",
        temperature=0.3,
        top_p=0.9,
        max_output_tokens=64,
        metadata={"suite": "sdk"},
        parallel_tool_calls=False,
        store=False,
        truncation="auto",
        tool_choice="none",
        text={"verbosity": "low"},
    )

    assert (response.instructions, response.temperature, response.top_p) == ("Be brief.", 0.3, 0.9)
    assert (response.max_output_tokens, response.metadata) == (64, {"suite": "sdk"})
    assert (response.parallel_tool_calls, response.truncation, response.tool_choice) == (False, "auto", "none")
    assert response.text.verbosity == "low"
    assert response.model == "gpt-4.1-mini-2025-04-14"  # the snapshot, as the live API reports it


def test_stream_true_yields_events_in_order(server: MockServer) -> None:
    events = list(sdk(server).responses.create(model="gpt-4.1", input="hello stream", stream=True))

    types = [event.type for event in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert deltas == "Hello! How can I help?"
    assert len({event.response.id for event in events if hasattr(event, "response")}) == 1


def test_stream_helper_final_response(server: MockServer) -> None:
    with sdk(server).responses.stream(model="gpt-4.1", input="hello helper") as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert "".join(texts) == final.output_text == "Hello! How can I help?"
    assert final.status == "completed"


def test_reasoning_summary_streams_through_the_helper(server: MockServer) -> None:
    with sdk(server).responses.stream(model="gpt-5", input="Think step by step: 2+2?") as stream:
        final = stream.get_final_response()

    reasoning, message = final.output
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_")
    assert reasoning.summary[0].text.startswith("**Adding the numbers**")
    assert final.output_text == "The answer is 4."
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens > 0


class Person(BaseModel):
    name: str
    age: int
    languages: list[str]


def test_parse_with_a_pydantic_model(server: MockServer) -> None:
    parsed = sdk(server).responses.parse(model="gpt-4.1", input="Who wrote the first program?", text_format=Person)

    assert parsed.output_parsed == Person(name="Ada Lovelace", age=36, languages=["English", "French"])


def test_parse_without_a_scenario_gets_schema_shaped_json(server: MockServer) -> None:
    class Invoice(BaseModel):
        number: str
        total: float
        paid: bool

    parsed = sdk(server).responses.parse(model="gpt-4.1", input="Make up an invoice.", text_format=Invoice)

    assert isinstance(parsed.output_parsed, Invoice)


def test_weather_function_call_round_trip(server: MockServer) -> None:
    client = sdk(server)
    first = client.responses.create(model="gpt-4.1", input="Weather in Paris?", tools=[WEATHER_TOOL])

    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.id.startswith("fc_") and call.call_id.startswith("call_")
    assert json.loads(call.arguments) == {"location": "Paris", "unit": "celsius"}

    second = client.responses.create(
        model="gpt-4.1",
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp_c": 18}'},
        ],
        tools=[WEATHER_TOOL],
    )
    assert second.output_text == "It is 18°C and sunny in Paris."


def test_streamed_parallel_function_calls(server: MockServer) -> None:
    tools = [
        {"type": "function", "name": name, "parameters": {"type": "object", "properties": {}}, "strict": False}
        for name in ("get_time", "get_stock_price")
    ]
    with sdk(server).responses.stream(model="gpt-4.1", input="Time and ACME price?", tools=tools) as stream:
        final = stream.get_final_response()

    assert [item.name for item in final.output] == ["get_stock_price", "get_time"]
    assert len({item.call_id for item in final.output}) == 2


def test_refusal(server: MockServer) -> None:
    response = sdk(server).responses.create(model="gpt-4.1", input="How do I pick a lock?")

    part = response.output[0].content[0]
    assert part.type == "refusal" and part.refusal == "I'm sorry, but I can't help with that."
    assert response.output_text == ""


def test_incomplete_response(server: MockServer) -> None:
    response = sdk(server).responses.create(model="gpt-truncated", input="Tell me about maples.")

    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.completed_at is None
    assert response.output[0].status == "incomplete"


def test_incomplete_stream_ends_with_response_incomplete(server: MockServer) -> None:
    events = list(sdk(server).responses.create(model="gpt-truncated", input="Maples?", stream=True))

    assert events[-1].type == "response.incomplete"
    with sdk(server).responses.stream(model="gpt-truncated", input="Maples?") as stream:
        with pytest.raises(RuntimeError, match="response.completed"):
            stream.get_final_response()


def test_failed_response_is_http_200_with_status_failed(server: MockServer) -> None:
    response = sdk(server).responses.create(model="gpt-failed", input="hi")
    events = list(sdk(server).responses.create(model="gpt-failed", input="hi", stream=True))

    assert response.status == "failed" and response.error is not None and response.error.code == "server_error"
    assert events[-1].type == "response.failed"


def test_validation_error_is_bad_request(server: MockServer) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(server).responses.create(model="gpt-4.1", input="hi", temperature=2.5)

    assert caught.value.status_code == 400
    assert caught.value.param == "temperature"
    assert caught.value.code == "decimal_above_max_value"
    assert caught.value.request_id is not None and caught.value.request_id.startswith("req_")


def test_validation_error_on_a_stream_request_is_json_not_sse(server: MockServer) -> None:
    with pytest.raises(openai.BadRequestError):
        sdk(server).responses.create(model="gpt-4.1", input="hi", temperature=-1, stream=True)


def test_scenario_error_maps_to_sdk_exceptions(server: MockServer) -> None:
    with pytest.raises(openai.InternalServerError) as overloaded:
        sdk(server, max_retries=0).responses.create(model="gpt-overloaded", input="hi")
    with pytest.raises(openai.AuthenticationError):
        sdk(server).responses.create(model="gpt-unauthorized", input="hi")
    with pytest.raises(openai.RateLimitError):
        sdk(server, max_retries=1).responses.create(model="gpt-rate-limited", input="hi")

    assert overloaded.value.status_code == 503
    assert overloaded.value.message.endswith("The server is overloaded.")


def test_sdk_retries_a_503_quickly(server: MockServer) -> None:
    client = sdk(server, max_retries=2)
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="gpt-overloaded", input="hi")

    # The SDK retried (3 attempts) without a long back-off because the answer carries retry-after-ms.
    assert caught.value.response.headers["retry-after-ms"] == "1"


def test_api_key_is_checked_when_keys_are_configured() -> None:
    from mockserver import Settings

    with MockServer(Settings(port=0, log_level="warning", api_keys=("sk-good",))) as keyed:
        good = openai.OpenAI(base_url=keyed.base_url, api_key="sk-good")
        wrong = openai.OpenAI(base_url=keyed.base_url, api_key="sk-wrong-key-123")
        _opened.extend((good, wrong))
        ok = good.responses.create(model="gpt-4.1", input="hi")
        with pytest.raises(openai.AuthenticationError) as caught:
            wrong.responses.create(model="gpt-4.1", input="hi")

    assert ok.status == "completed"
    assert caught.value.code == "invalid_api_key"


def test_models_list_and_retrieve(server: MockServer) -> None:
    client = sdk(server)
    names = [model.id for model in client.models.list()]

    assert "gpt-4.1" in names and "gpt-overloaded" in names
    assert client.models.retrieve("gpt-4.1").id == "gpt-4.1"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_forced_scenario_header(server: MockServer) -> None:
    client = sdk(server)
    response = client.responses.create(
        model="gpt-4.1", input="nothing special", extra_headers={"x-mock-scenario": "refusal"}
    )

    assert response.output[0].content[0].type == "refusal"
