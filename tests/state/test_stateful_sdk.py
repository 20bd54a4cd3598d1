"""The stateful Responses API with the official SDK: chains, retrieve, delete, input items, background, cancel,
stream resume, conversations, input token counts and the store bound. Every answer is schema-checked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from mockserver import MockServer, Settings
from tests import conformance
from tests.conftest import FIXTURES, RecordingApp, check_exchange

STATEFUL = FIXTURES / "scenarios" / "stateful.yaml"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}


def recorded_server(**settings: Any) -> tuple[MockServer, RecordingApp]:
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(STATEFUL,), seed=11, **settings))
    recorder = RecordingApp(server.app)
    server.app = recorder  # type: ignore[assignment]
    return server, recorder


@pytest.fixture(scope="module")
def stateful_server() -> Iterator[tuple[MockServer, RecordingApp]]:
    server, recorder = recorded_server()
    with server:
        yield server, recorder


@pytest.fixture
def client(stateful_server: tuple[MockServer, RecordingApp]) -> Iterator[openai.OpenAI]:
    server, recorder = stateful_server
    recorder.exchanges.clear()
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as sdk:
        yield sdk
    for exchange in recorder.exchanges:
        check_exchange(exchange)


def test_three_turn_chain_sees_earlier_turns(client: openai.OpenAI) -> None:
    first = client.responses.create(model="gpt-4.1", input="My name is Ada.", instructions="Be kind.")
    second = client.responses.create(model="gpt-4.1", input="I like maths.", previous_response_id=first.id)
    third = client.responses.create(model="gpt-4.1", input="What is my name?", previous_response_id=second.id)

    assert (first.output_text, second.output_text) == ("OK.", "Noted.")
    assert third.output_text == "Your name is Ada; this is turn 3."
    assert third.previous_response_id == second.id
    items = list(client.responses.input_items.list(third.id, order="asc"))
    texts = [item.content[0].text for item in items if item.type == "message"]
    assert texts == ["My name is Ada.", "OK.", "I like maths.", "Noted.", "What is my name?"]
    assert all(item.id for item in items)


def test_function_call_round_trip_across_two_requests(client: openai.OpenAI) -> None:
    first = client.responses.create(model="gpt-4.1", input="Weather in Paris?", tools=[WEATHER_TOOL])
    (call,) = first.output
    second = client.responses.create(
        model="gpt-4.1",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"celsius": 18}'}],  # type: ignore[misc]
        tools=[WEATHER_TOOL],
    )

    assert call.type == "function_call"
    assert second.output_text == "It is 18°C in Paris."


def test_retrieve_after_create(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-4.1", input="Remember this.")
    fetched = client.responses.retrieve(created.id)

    assert fetched.model_dump(exclude={"billing"}) == created.model_dump(exclude={"billing"})


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-4.1", input="Forget this.", store=False)

    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(created.id)
    assert caught.value.message.endswith(f"Response with id '{created.id}' not found.")
    with pytest.raises(openai.BadRequestError) as chained:
        client.responses.create(model="gpt-4.1", input="And?", previous_response_id=created.id)
    assert chained.value.code == "previous_response_not_found" and chained.value.param == "previous_response_id"


def test_delete_then_404(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-4.1", input="Short-lived.")
    client.responses.delete(created.id)

    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-4.1", input="More?", previous_response_id=created.id)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_input_items_auto_pagination_over_150_items(client: openai.OpenAI, order: str) -> None:
    messages = [{"role": "user", "content": f"message {number}"} for number in range(150)]
    created = client.responses.create(model="gpt-4.1", input=messages)

    listed = [item.content[0].text for item in client.responses.input_items.list(created.id, order=order, limit=20)]

    expected = [f"message {number}" for number in range(150)]
    assert listed == (expected if order == "asc" else expected[::-1])


def test_input_items_default_order_is_newest_first(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-4.1", input=[{"role": "user", "content": c} for c in "abc"])
    page = client.responses.input_items.list(created.id)

    assert [item.content[0].text for item in page.data] == ["c", "b", "a"]
    assert page.has_more is False


def test_background_create_poll_completed(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-background", input="Crunch numbers.", background=True)
    seen = [created.status]
    response = created
    deadline = time.monotonic() + 5
    while response.status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.02)
        response = client.responses.retrieve(created.id)
        seen.append(response.status)

    assert created.status == "queued" and created.background is True
    assert "in_progress" in seen and seen[-1] == "completed"
    assert response.output_text.startswith("Background work done")


def test_background_cancel(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-background", input="Long job.", background=True)
    cancelled = client.responses.cancel(created.id)
    again = client.responses.cancel(created.id)

    assert cancelled.status == again.status == "cancelled"
    assert client.responses.retrieve(created.id).status == "cancelled"


def test_cancel_errors(client: openai.OpenAI) -> None:
    foreground = client.responses.create(model="gpt-4.1", input="Quick.")
    finished = client.responses.create(model="gpt-background", input="Job.", background=True)
    time.sleep(0.5)

    with pytest.raises(openai.BadRequestError, match="background"):
        client.responses.cancel(foreground.id)
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a completed response"):
        client.responses.cancel(finished.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_unknown")


def test_background_stream_dropped_and_resumed(
    client: openai.OpenAI, stateful_server: tuple[MockServer, RecordingApp]
) -> None:
    first_part = []
    with client.responses.create(model="gpt-background", input="Stream it.", background=True, stream=True) as stream:
        for event in stream:
            first_part.append(event)
            if len(first_part) == 6:
                break  # the connection drops here
    response_id = first_part[0].response.id
    cursor = first_part[-1].sequence_number

    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=cursor))

    numbers = [event.sequence_number for event in [*first_part, *rest]]
    assert numbers == list(range(len(numbers)))
    assert [e.type for e in first_part[:3]] == ["response.created", "response.queued", "response.in_progress"]
    assert rest[-1].type == "response.completed"
    text = "".join(e.delta for e in [*first_part, *rest] if e.type == "response.output_text.delta")
    assert text == rest[-1].response.output_text
    # On the wire, the dropped stream and its resumption make one conforming stream.
    recorder = stateful_server[1]
    streams = [e for e in recorder.exchanges if e.content_type.startswith("text/event-stream")]
    recorder.exchanges = [e for e in recorder.exchanges if e not in streams]
    dropped, resumed = (conformance.parse_sse(bytes(e.body).decode()) for e in streams)
    assert dropped[-1]["sequence_number"] >= cursor
    conformance.assert_stream_conforms([*dropped[: cursor + 1], *resumed])


def test_streaming_a_foreground_response_is_refused(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-4.1", input="Hi.")
    with pytest.raises(openai.BadRequestError, match="background"):
        list(client.responses.retrieve(created.id, stream=True))


def test_conversations_crud_and_a_two_turn_conversation(client: openai.OpenAI) -> None:
    conversation = client.conversations.create(
        metadata={"topic": "colours"}, items=[{"type": "message", "role": "user", "content": "Hello."}]
    )
    assert conversation.id.startswith("conv_") and conversation.metadata == {"topic": "colours"}

    first = client.responses.create(
        model="gpt-4.1", input="My favourite colour is green.", conversation=conversation.id
    )
    second = client.responses.create(model="gpt-4.1", input="What did I say?", conversation=conversation.id)
    assert first.conversation is not None and first.conversation.id == conversation.id
    assert second.output_text == "You said your favourite colour is green."

    items = list(client.conversations.items.list(conversation.id, order="asc"))
    assert [item.type for item in items] == ["message"] * 5
    assert [item.role for item in items] == ["user", "user", "assistant", "user", "assistant"]

    updated = client.conversations.update(conversation.id, metadata={"topic": "greens"})
    assert updated.metadata == {"topic": "greens"}
    added = client.conversations.items.create(conversation.id, items=[{"role": "user", "content": "One more."}])
    assert len(added.data) == 1
    fetched = client.conversations.items.retrieve(added.data[0].id, conversation_id=conversation.id)
    assert fetched.id == added.data[0].id
    after_delete = client.conversations.items.delete(added.data[0].id, conversation_id=conversation.id)
    assert after_delete.id == conversation.id
    assert client.conversations.retrieve(conversation.id).metadata == {"topic": "greens"}

    deleted = client.conversations.delete(conversation.id)
    assert deleted.deleted is True and deleted.object == "conversation.deleted"
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conversation.id)


def test_conversation_and_previous_response_id_are_exclusive(client: openai.OpenAI) -> None:
    conversation = client.conversations.create()
    first = client.responses.create(model="gpt-4.1", input="Hi.")
    with pytest.raises(openai.BadRequestError):
        client.responses.create(
            model="gpt-4.1", input="Hi.", conversation=conversation.id, previous_response_id=first.id
        )
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="gpt-4.1", input="Hi.", conversation="conv_missing")


def test_input_token_count(client: openai.OpenAI) -> None:
    short = client.responses.input_tokens.count(model="gpt-4.1", input="Hi.")
    long = client.responses.input_tokens.count(model="gpt-4.1", input="Hi. " * 100, instructions="Be brief.")
    created = client.responses.create(model="gpt-4.1", input="Hi. " * 100, instructions="Be brief.")

    assert short.object == "response.input_tokens" and 0 < short.input_tokens < long.input_tokens
    assert created.usage is not None and created.usage.input_tokens == long.input_tokens


def test_store_bound_evicts_the_oldest(tmp_path: Path) -> None:
    for settings in ({"store_max_items": 3}, {"store_max_items": 3, "state_file": tmp_path / "state.sqlite"}):
        server, _ = recorded_server(**settings)
        with server, openai.OpenAI(base_url=server.base_url, api_key="sk-test") as client:
            ids = [client.responses.create(model="gpt-4.1", input=f"turn {n}").id for n in range(5)]
            with pytest.raises(openai.NotFoundError):
                client.responses.retrieve(ids[0])
            assert [client.responses.retrieve(i).id for i in ids[2:]] == ids[2:]


def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    first, _ = recorded_server(state_file=state)
    with first:
        with openai.OpenAI(base_url=first.base_url, api_key="k") as client:
            created = client.responses.create(model="gpt-4.1", input="Keep.")
    second, _ = recorded_server(state_file=state)
    with second:
        with openai.OpenAI(base_url=second.base_url, api_key="k") as client:
            fetched = client.responses.retrieve(created.id)
    assert fetched.output_text == created.output_text


def test_compact_a_chain_and_continue_from_it(client: openai.OpenAI) -> None:
    first = client.responses.create(model="gpt-4.1", input="My name is Ada.")
    raw = client.responses.with_raw_response.compact(
        model="gpt-4.1", previous_response_id=first.id, input="Keep it short."
    )
    compacted, wire = raw.parse(), raw.http_response.json()

    conformance.assert_conforms(wire, "CompactResource")
    assert compacted.object == "response.compaction"
    *messages, summary = wire["output"]
    assert [m["content"][0]["text"] for m in messages] == ["My name is Ada.", "Keep it short."]
    assert summary["type"] == "compaction" and summary["id"].startswith("cmp_") and summary["encrypted_content"]
    usage = wire["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]

    follow_up = client.responses.create(model="gpt-4.1", input=[*wire["output"], {"role": "user", "content": "Go."}])
    assert follow_up.status == "completed"
    with pytest.raises(openai.BadRequestError) as missing:
        client.post("/responses/compact", body={"input": "x"}, cast_to=object)
    assert missing.value.param == "model"


def test_repeated_long_prefixes_report_cached_tokens(client: openai.OpenAI) -> None:
    manual = "Follow the style guide carefully. " * 200  # about 1,700 tokens
    first = client.responses.create(model="gpt-4.1", instructions=manual, input="Question one?", prompt_cache_key="kb")
    second = client.responses.create(model="gpt-4.1", instructions=manual, input="Question two?", prompt_cache_key="kb")
    other_key = client.responses.create(
        model="gpt-4.1", instructions=manual, input="Question two?", prompt_cache_key="x"
    )
    short = client.responses.create(model="gpt-4.1", input="Hi.", prompt_cache_key="short")
    short_again = client.responses.create(model="gpt-4.1", input="Hi.", prompt_cache_key="short")

    assert first.usage is not None and first.usage.input_tokens_details.cached_tokens == 0
    assert second.usage is not None
    cached = second.usage.input_tokens_details.cached_tokens
    assert 1024 <= cached <= second.usage.input_tokens and cached % 128 == 0
    assert other_key.usage is not None and other_key.usage.input_tokens_details.cached_tokens == 0
    assert short_again.usage is not None and short_again.usage.input_tokens_details.cached_tokens == 0
    assert short.usage is not None
