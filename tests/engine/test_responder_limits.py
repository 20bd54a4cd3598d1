"""The default responder's seeds, context windows and `encrypted_content`, through the official SDK against a
server with no scenario; every exchange is checked against the official schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel

from mockserver import MockServer, Settings
from mockserver.core.models import CONTEXT_WINDOWS, DEFAULT_CONTEXT_WINDOW, context_window
from mockserver.engine.responder import CONTEXT_EXCEEDED
from mockserver.testing.mock_api import MockAPI
from tests.conftest import RecordingApp, check_exchange


@contextmanager
def sdk(seed: int | None = None) -> Iterator[openai.OpenAI]:
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(), seed=seed))
    recorder = RecordingApp(server.app)
    server.app = recorder  # type: ignore[assignment]
    with server, openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
        yield client
    for exchange in recorder.exchanges:
        check_exchange(exchange)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[int | None, openai.OpenAI]]:
    with sdk(None) as unseeded, sdk(1) as one, sdk(1) as other_one, sdk(2) as two:
        yield {None: unseeded, 1: one, -1: other_one, 2: two}


class Ticket(BaseModel):
    title: str
    priority: int
    tags: list[str]
    assignee_email: str


# -- the server-wide seed ------------------------------------------------------------------------------------------


def _raw(client: openai.OpenAI, headers: dict[str, str] | None = None, **body: Any) -> str:
    response = client.responses.with_raw_response.create(**body, extra_headers=headers or {})
    parsed = response.parse()
    return str(parsed.output_text)


STRUCTURED: dict[str, Any] = {
    "model": "gpt-4.1",
    "input": "File a ticket about the login page.",
    # The SDK's strict form of the model (what `responses.parse(text_format=Ticket)` sends): the raw
    # `model_json_schema()` lacks `additionalProperties: false`, which the live API refuses in a strict format.
    "text": {
        "format": {"type": "json_schema", "name": "ticket", "strict": True, "schema": to_strict_json_schema(Ticket)}
    },
}


def test_the_same_seed_gives_the_same_content_on_another_server(servers: dict[int | None, openai.OpenAI]) -> None:
    assert _raw(servers[1], **STRUCTURED) == _raw(servers[-1], **STRUCTURED) == _raw(servers[1], **STRUCTURED)
    plain = {"model": "gpt-4.1", "input": "Tell me about Lisbon."}
    assert _raw(servers[1], **plain) == _raw(servers[-1], **plain)


def test_another_server_seed_gives_other_content(servers: dict[int | None, openai.OpenAI]) -> None:
    answers = {seed: _raw(servers[seed], **STRUCTURED) for seed in (None, 1, 2)}
    assert len(set(answers.values())) == 3
    for answer in answers.values():
        Ticket.model_validate_json(answer)
    texts = {seed: [_raw(servers[seed], model="gpt-4.1", input=f"Question {n}?") for n in range(6)] for seed in (1, 2)}
    assert texts[1] != texts[2]
    assert all("Question" in text for text in texts[1] + texts[2])


def test_the_seed_header_overrides_the_server_seed(servers: dict[int | None, openai.OpenAI]) -> None:
    header = {"x-mock-seed": "7"}
    with_header = {seed: _raw(servers[seed], header, **STRUCTURED) for seed in (None, 1, 2)}
    assert len(set(with_header.values())) == 1
    assert with_header[1] != _raw(servers[1], **STRUCTURED)


def test_the_seed_gives_the_same_content_streamed(servers: dict[int | None, openai.OpenAI]) -> None:
    with servers[2].responses.stream(**STRUCTURED) as stream:
        streamed = stream.get_final_response().output_text
    assert streamed == _raw(servers[2], **STRUCTURED)


# -- context windows -----------------------------------------------------------------------------------------------


def test_the_context_window_table() -> None:
    assert context_window("gpt-4.1") == context_window("gpt-4.1-nano") == 1_047_576
    assert context_window("gpt-4o") == context_window("gpt-4o-mini-2024-07-18") == 128_000
    assert context_window("gpt-5") == context_window("gpt-5-mini") == 400_000
    assert context_window("o3") == context_window("o4-mini") == 200_000
    assert context_window("my-local-model") == context_window(None) == DEFAULT_CONTEXT_WINDOW
    assert all(window > 0 for window in CONTEXT_WINDOWS.values())


def _too_long(window: int) -> str:
    return "word " * (window + 1000)  # five characters a word: well over one token a word


@pytest.mark.parametrize("stream", [False, True])
def test_input_larger_than_the_window_is_the_live_400(servers: dict[int | None, openai.OpenAI], stream: bool) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        servers[None].responses.create(model="gpt-4o", input=_too_long(128_000), stream=stream)
    assert raised.value.status_code == 400
    assert raised.value.code == "context_length_exceeded"
    assert raised.value.param == "input"
    assert raised.value.body == {
        "message": CONTEXT_EXCEEDED,
        "type": "invalid_request_error",
        "param": "input",
        "code": "context_length_exceeded",
    }
    assert CONTEXT_EXCEEDED == (
        "Your input exceeds the context window of this model. Please adjust your input and try again."
    )


def test_the_same_input_fits_a_larger_window(servers: dict[int | None, openai.OpenAI]) -> None:
    response = servers[None].responses.create(model="gpt-4.1-mini", input=_too_long(128_000))
    assert response.status == "completed"
    assert response.usage is not None and 128_000 < response.usage.input_tokens <= 1_047_576


def test_the_window_counts_instructions_and_the_chain(servers: dict[int | None, openai.OpenAI]) -> None:
    client = servers[None]
    first = client.responses.create(model="o3", input="word " * 120_000)
    assert first.usage is not None and first.usage.input_tokens < 200_000
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(
            model="o3", input="Go on.", instructions="word " * 150_000, previous_response_id=first.id
        )
    assert raised.value.code == "context_length_exceeded"


@pytest.mark.parametrize("stream", [False, True])
def test_truncation_auto_succeeds_with_input_capped_at_the_window(
    servers: dict[int | None, openai.OpenAI], stream: bool
) -> None:
    body: dict[str, Any] = {"model": "gpt-4o", "input": _too_long(128_000), "truncation": "auto"}
    if stream:
        with servers[None].responses.stream(**body) as events:
            response = events.get_final_response()
    else:
        response = servers[None].responses.create(**body)
    assert response.status == "completed"
    assert response.truncation == "auto"
    assert response.usage is not None
    assert response.usage.input_tokens == 128_000
    assert response.usage.total_tokens == 128_000 + response.usage.output_tokens


def test_a_scenario_answers_whatever_the_input_size() -> None:
    with MockServer(Settings(port=0, log_level="warning", scenario_paths=())) as server:
        api = MockAPI(server)
        api.add({"name": "any", "match": {"model": "gpt-4o"}, "response": {"text": "scripted"}})
        with api.openai(max_retries=0) as client:
            response = client.responses.create(model="gpt-4o", input=_too_long(128_000))
    assert response.output_text == "scripted"
