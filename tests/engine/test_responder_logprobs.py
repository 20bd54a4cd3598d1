"""`include: ["message.output_text.logprobs"]` with `top_logprobs`: output text and its streamed deltas carry
log probabilities, one entry a token-like piece, deterministic per request."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver import MockServer, Settings
from mockserver.render.logprobs import text_logprobs, token_pieces
from mockserver.render.streaming import share_logprobs, split_deltas
from mockserver.testing.mock_api import MockAPI
from tests.conftest import RecordingApp, check_exchange

INCLUDE: Any = ["message.output_text.logprobs"]


@pytest.fixture(scope="module")
def api() -> Iterator[MockAPI]:
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(), seed=11))
    recorder = RecordingApp(server.app)
    server.app = recorder  # type: ignore[assignment]
    with server:
        yield MockAPI(server)
    assert recorder.exchanges
    for exchange in recorder.exchanges:
        check_exchange(exchange)


@pytest.fixture
def client(api: MockAPI) -> Iterator[openai.OpenAI]:
    with api.openai(max_retries=0) as sdk:
        yield sdk


def _check_entries(text: str, entries: list[Any], top: int) -> None:
    assert "".join(entry.token for entry in entries) == text
    assert [entry.token for entry in entries] == token_pieces(text)
    for entry in entries:
        assert entry.bytes == list(entry.token.encode())
        assert entry.logprob <= 0
        assert len(entry.top_logprobs) == top
        if top:
            assert entry.top_logprobs[0].token == entry.token
            assert entry.top_logprobs[0].logprob == entry.logprob
        logprobs = [alternative.logprob for alternative in entry.top_logprobs]
        assert logprobs == sorted(logprobs, reverse=True)
        assert len({alternative.token for alternative in entry.top_logprobs}) == top
        assert sum(math.exp(value) for value in logprobs) <= 1 + 1e-5
        for alternative in entry.top_logprobs:
            assert alternative.bytes == list(alternative.token.encode())


@pytest.mark.parametrize("top", [0, 3, 20])
def test_output_text_carries_logprobs(client: openai.OpenAI, top: int) -> None:
    body: dict[str, Any] = {"model": "gpt-4.1", "input": "Say hello, please!", "include": INCLUDE}
    response = client.responses.create(**body, top_logprobs=top)
    assert response.top_logprobs == top
    part = response.output[0].content[0]
    assert part.type == "output_text" and part.logprobs is not None
    _check_entries(part.text, part.logprobs, top)
    again = client.responses.create(**body, top_logprobs=top)
    assert again.output[0].content[0].model_dump() == part.model_dump()


def test_no_logprobs_unless_included(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-4.1", input="Say hello.", top_logprobs=5)
    assert response.output[0].content[0].logprobs == []


def test_each_streamed_delta_carries_its_token(client: openai.OpenAI) -> None:
    body: dict[str, Any] = {"model": "gpt-4.1", "input": "Stream me, please.", "include": INCLUDE, "top_logprobs": 2}
    with client.responses.stream(**body) as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [event for event in events if event.type == "response.output_text.delta"]
    done = [event for event in events if event.type == "response.output_text.done"]
    part = final.output[0].content[0]
    assert all(len(delta.logprobs) == 1 for delta in deltas)
    assert [delta.logprobs[0].token for delta in deltas] == [delta.delta for delta in deltas]
    expected = [entry.model_dump() for entry in part.logprobs or []]
    assert [entry.model_dump() for delta in deltas for entry in delta.logprobs] == expected
    assert len(done) == 1 and [entry.model_dump() for entry in done[0].logprobs] == expected
    plain = client.responses.create(**body)
    assert plain.output[0].content[0].model_dump() == part.model_dump(exclude={"parsed"})
    _check_entries(part.text, part.logprobs or [], 2)


def test_structured_output_and_reasoning_models_too(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="o4-mini",
        input="Give me JSON.",
        text={"format": {"type": "json_object"}},
        include=[*INCLUDE, "reasoning.encrypted_content"],
        top_logprobs=1,
    )
    message = response.output[-1]
    assert message.type == "message" and message.content[0].type == "output_text"
    _check_entries(message.content[0].text, message.content[0].logprobs or [], 1)


def test_a_cut_answer_has_logprobs_for_what_is_left(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4.1", input="Tell me a long story " * 10, include=INCLUDE, top_logprobs=1, max_output_tokens=16
    )
    assert response.status == "incomplete"
    part = response.output[0].content[0]
    _check_entries(part.text, part.logprobs or [], 1)


def test_a_scenario_answer_gets_logprobs(api: MockAPI, client: openai.OpenAI) -> None:
    api.add({"name": "scripted", "match": {"input": "scripted please"}, "response": {"text": "Scripted, as asked."}})
    try:
        response = client.responses.create(model="gpt-4.1", input="scripted please", include=INCLUDE, top_logprobs=4)
    finally:
        api.reset()
    assert response.output_text == "Scripted, as asked."
    _check_entries(response.output_text, response.output[0].content[0].logprobs or [], 4)


@pytest.mark.parametrize("cut", [{"chars": 3}, {"words": 2}, {}])
def test_deltas_cut_otherwise_share_the_tokens_that_end_in_them(cut: dict[str, int]) -> None:
    text = "Hello, wonderful world: this is a test."
    entries = text_logprobs(text, 0)
    pieces = split_deltas(text, **cut)
    shares = share_logprobs(pieces, entries)
    assert [entry for share in shares for entry in share] == entries
    end = 0
    ends = []
    for piece in pieces:
        end += len(piece)
        ends.append(end)
    token_end = 0
    for entry in entries:
        token_end += len(entry["token"])
        slot = next(n for n, share in enumerate(shares) if entry in share)
        assert (ends[slot - 1] if slot else 0) < token_end <= ends[slot]


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(st.sampled_from("ab é🎉,.!\n\t-_1"), max_size=60),
    cut=st.one_of(
        st.just({}),
        st.builds(lambda n: {"chars": n}, st.integers(1, 9)),
        st.builds(lambda n: {"words": n}, st.integers(1, 4)),
    ),
    top=st.integers(0, 20),
)
def test_every_token_goes_with_exactly_one_delta(text: str, cut: dict[str, int], top: int) -> None:
    entries = text_logprobs(text, top)
    assert "".join(str(entry["token"]) for entry in entries) == text
    assert all(len(entry["top_logprobs"]) == top for entry in entries)
    pieces = split_deltas(text, **cut)
    shares = share_logprobs(pieces, entries)
    assert len(shares) == len(pieces)
    assert [entry for share in shares for entry in share] == entries
    if not cut:
        assert all(len(share) == 1 for share in shares) or not text
