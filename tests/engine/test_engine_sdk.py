"""Every matcher and response form of the scenario engine, through the official SDK, streamed and not.

The server loads `fixtures/scenarios/engine.yaml`, where each scenario answers "matched:<name>". Every answer is
checked against the official schema after each test, as for the other end-to-end tests.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from mockserver import MockServer, Settings
from tests.conftest import FIXTURES, RecordingApp, check_exchange

ENGINE_SCENARIOS = FIXTURES / "scenarios" / "engine.yaml"


@pytest.fixture(scope="module")
def engine_server() -> Iterator[tuple[MockServer, RecordingApp]]:
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(ENGINE_SCENARIOS,), seed=3))
    recorder = RecordingApp(server.app)
    server.app = recorder  # type: ignore[assignment]
    with server:
        yield server, recorder


@pytest.fixture
def client(engine_server: tuple[MockServer, RecordingApp]) -> Iterator[openai.OpenAI]:
    """An SDK client; call counts and states start afresh, and every answer is schema-checked afterwards (and none is
    one the live API could not give to its request)."""
    server, recorder = engine_server
    urllib.request.urlopen(urllib.request.Request(server.url + "/__mock__/reset", method="POST")).close()
    recorder.exchanges.clear()
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test") as sdk:
        yield sdk
    for exchange in recorder.exchanges:
        if exchange.path.startswith("/v1/"):
            check_exchange(exchange)
    assert [finding for entry in server.service.journal for finding in entry.findings] == []


def text_of(client: openai.OpenAI, stream: bool, **request: Any) -> str:
    """The answer's text, by `responses.create` or through the `responses.stream` helper."""
    request.setdefault("input", "hi")
    if not stream:
        text: str = client.responses.create(**request).output_text
        return text
    with client.responses.stream(**request) as events:
        text = events.get_final_response().output_text
        return text


WEB_SEARCH = {"type": "web_search"}
WEATHER: Any = {  # the tool the scripted get_weather calls are made to
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string"}}},
}
LOOKUP = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}, "strict": False}
LOOKUP_TURN = [
    {"role": "user", "content": "What is the answer?"},
    {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
]

# (scenario, a request it answers, a request that differs in the one thing the scenario looks at)
MATCHERS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("by-model-list", {"model": "engine-b"}, {"model": "engine-c"}),
    ("by-model-regex", {"model": "engine-rx-42"}, {"model": "engine-rx-x"}),
    (
        "by-input-equals-any-case",
        {"model": "engine-input", "input": "ping"},
        {"model": "engine-input", "input": "ping!"},
    ),
    (
        "by-input-text",
        {
            "model": "engine-input-text",
            "input": [{"role": "user", "content": "first turn"}, {"role": "user", "content": "b"}],
        },
        {"model": "engine-input-text", "input": "second turn"},
    ),
    (
        "by-instructions",
        {"model": "engine-instructions", "instructions": "Talk like a pirate."},
        {"model": "engine-instructions", "instructions": "Talk like a poet."},
    ),
    ("by-tool-type", {"model": "engine-tools", "tools": [WEB_SEARCH]}, {"model": "engine-tools", "tools": [LOOKUP]}),
    (
        "by-tool-choice",
        {"model": "engine-tool-choice", "tools": [LOOKUP], "tool_choice": {"type": "function", "name": "lookup"}},
        {"model": "engine-tool-choice", "tools": [LOOKUP], "tool_choice": "required"},
    ),
    (
        "by-function-output",
        {
            "model": "engine-fco",
            "input": [*LOOKUP_TURN, {"type": "function_call_output", "call_id": "call_1", "output": "42"}],
        },
        {
            "model": "engine-fco",
            "input": [*LOOKUP_TURN, {"type": "function_call_output", "call_id": "call_1", "output": "7"}],
        },
    ),
    ("by-metadata", {"model": "engine-metadata", "metadata": {"tenant": "acme"}}, {"model": "engine-metadata"}),
    (
        "by-header",
        {"model": "engine-header", "extra_headers": {"x-tenant": "acme"}},
        {"model": "engine-header", "extra_headers": {"x-tenant": "other"}},
    ),
    (
        "by-previous-response",
        {"model": "engine-previous", "previous_response_id": "<earlier>"},
        {"model": "engine-previous"},
    ),
    (
        "by-json-path",
        {"model": "engine-json", "reasoning": {"effort": "high"}, "input": [{"role": "developer", "content": "x"}]},
        {"model": "engine-json", "reasoning": {"effort": "low"}, "input": [{"role": "developer", "content": "x"}]},
    ),
    ("by-any", {"model": "engine-any", "input": "pears please"}, {"model": "engine-any", "input": "plums"}),
    ("by-not", {"model": "engine-not", "input": "public"}, {"model": "engine-not", "input": "a secret"}),
    ("by-all", {"model": "engine-all", "metadata": {"a": "1"}}, {"model": "engine-all", "metadata": {"a": "2"}}),
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(("name", "answered", "missed"), MATCHERS, ids=[row[0] for row in MATCHERS])
def test_matcher(
    client: openai.OpenAI, stream: bool, name: str, answered: dict[str, Any], missed: dict[str, Any]
) -> None:
    if answered.get("previous_response_id") == "<earlier>":
        answered = {**answered, "previous_response_id": client.responses.create(model="gpt-4.1", input="hi").id}
    assert text_of(client, stream, **answered) == f"matched:{name}"
    assert text_of(client, stream, **missed) != f"matched:{name}"


def test_stream_matcher(client: openai.OpenAI) -> None:
    assert text_of(client, True, model="engine-stream") == "matched:by-stream"
    assert text_of(client, False, model="engine-stream") != "matched:by-stream"


def test_format_matcher_through_parse(client: openai.OpenAI) -> None:
    class Answer(BaseModel):
        answer: str

    parsed = client.responses.parse(model="engine-format", input="?", text_format=Answer)
    assert parsed.output_parsed == Answer(answer="matched:by-format-name")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_priority_beats_file_order(client: openai.OpenAI, stream: bool) -> None:
    assert text_of(client, stream, model="engine-priority") == "matched:urgent"


def test_sequence_fails_twice_then_succeeds_within_the_sdks_retries(client: openai.OpenAI) -> None:
    assert text_of(client, False, model="engine-flaky") == "matched:flaky"  # attempts 1 and 2 got 500
    assert text_of(client, True, model="engine-flaky") == "matched:flaky"  # the last answer repeats


def test_sequence_without_retries_shows_each_answer(client: openai.OpenAI) -> None:
    once = client.with_options(max_retries=0)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            once.responses.create(model="engine-flaky", input="hi")
    assert once.responses.create(model="engine-flaky", input="hi").output_text == "matched:flaky"


def test_cycle_and_repeat_last(client: openai.OpenAI) -> None:
    cycled = [text_of(client, i % 2 == 1, model="engine-cycle") for i in range(4)]
    repeated = [text_of(client, False, model="engine-repeat") for _ in range(3)]

    assert cycled == ["first", "second", "first", "second"]
    assert repeated == ["first", "second", "second"]


def test_lifetimes(client: openai.OpenAI) -> None:
    once = [text_of(client, False, model="engine-once") for _ in range(2)]
    twice = [text_of(client, True, model="engine-twice") for _ in range(3)]

    assert once[0] == "matched:only-once" and once[1] != "matched:only-once"
    assert twice[:2] == ["matched:twice"] * 2 and twice[2] != "matched:twice"


def test_retries_can_count_as_the_same_call(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model="engine-same-call", input="hi")  # all three attempts are call 1
    assert text_of(client, False, model="engine-same-call") == "matched:retried-as-one-call"


def test_state_machine(client: openai.OpenAI) -> None:
    answers = [text_of(client, stream, model="engine-checkout") for stream in (False, True, False)]
    assert answers == ["Please pay.", "Already paid.", "Already paid."]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_templated_text(client: openai.OpenAI, stream: bool) -> None:
    text = text_of(client, stream, model="engine-template", input="bonjour", metadata={"tenant": "acme"})
    assert text == "You said bonjour to engine-template (call 1, tenant acme)."


def test_templated_function_call_arguments(client: openai.OpenAI) -> None:
    response = client.responses.create(model="engine-template-call", input="Weather in Porto today?", tools=[WEATHER])
    (call,) = response.output
    assert json.loads(call.arguments) == {"location": "Porto", "unit": "celsius"}


def test_broken_template_names_the_scenario_and_is_not_retried(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="engine-template-broken", input="hi")

    assert "scenario 'broken-template'" in caught.value.message and "no_such_variable" in caught.value.message
    assert caught.value.response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_response_from_a_file(client: openai.OpenAI, stream: bool) -> None:
    if stream:
        with client.responses.stream(model="engine-file", input="hi", tools=[WEATHER]) as events:
            output: list[Any] = list(events.get_final_response().output)
    else:
        output = list(client.responses.create(model="engine-file", input="hi", tools=[WEATHER]).output)
    (call,) = output
    assert json.loads(call.arguments) == {"location": "Lisbon", "unit": "celsius"}


def test_response_replayed_from_a_saved_body(client: openai.OpenAI) -> None:
    response = client.responses.create(model="engine-saved", input="hi")

    assert response.output_text == "Replayed from a saved body."
    assert response.model == "gpt-4.1-mini-2025-04-14"
    assert response.usage is not None and (response.usage.input_tokens, response.usage.output_tokens) == (201, 148)
    assert response.id != "resp_0123456789abcdef0123456789abcdef0123456789abcdef01"


def test_strict_mode_answers_a_miss_with_the_near_miss_report(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="engine-input", input="pong", extra_headers={"x-mock-strict": "true"})

    assert caught.value.code == "no_scenario_matched"
    assert "1. by-input-equals-any-case" in caught.value.message
    assert "last user message equals 'PING' (any case), but the last user message is 'pong'" in caught.value.message
