"""Answers on reasoning models look like the live ones (`mockserver/reasoning.py`): a reasoning item before the
message or calls, for scenario answers too, none at `reasoning.effort: "none"` or with `reasoning: none`,
`content: []` on reasoning items and `phase` on the messages of gpt-5.3 and later. Every answer is checked against
the official schema and the contract checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from mockserver import Settings
from mockserver.core.errors import InvalidSpec
from mockserver.engine.includes import response_body_to_spec
from mockserver.engine.response_spec import compile_reply
from mockserver.proxy.response_block import response_spec
from mockserver.render.render import encrypted_item_id
from tests import conformance
from tests.conftest import checked_sdk
from tests.reference import live_captures_dir, reference_file

# The scenarios name gpt-5.1 and gpt-5.4, so those models are known to the server; the default responder answers
# every other input.
SCENARIOS = """
scenarios:
  - name: plain-text
    match: {input: "scripted text"}
    response: {text: "Scripted answer."}
  - name: no-reasoning
    match: {input: "no reasoning please"}
    response: {text: "Answered without reasoning.", reasoning: none}
  - name: own-reasoning
    match: {input: "my own reasoning"}
    response: {reasoning: ["**Mine**\\n\\nWritten by the scenario."], text: "Done."}
  - name: scripted-call
    match: {input: "scripted call"}
    response:
      output:
        - {type: message, text: "Let me look that up."}
        - {type: function_call, name: lookup, arguments: {q: "x"}}
  - name: scripted-call-quiet
    match: {input: "quiet call"}
    response:
      reasoning: none
      output: [{type: function_call, name: lookup, arguments: {q: "y"}}]
  - name: own-phase
    match: {input: "own phase"}
    response: {text: "Still thinking aloud.", phase: commentary}
  - name: counted
    match: {input: "counted"}
    response: {text: "Counted.", usage: {input_tokens: 3, output_tokens: 5}}
  - name: failed
    match: {input: "fail now"}
    response: {failed: {code: server_error, message: "Broken."}}
  - name: newer-model
    match: {model: gpt-5.4, input: "name gpt-5.4"}
    response: {text: "Known."}
  - name: effort-none-model
    match: {model: gpt-5.1, input: "name gpt-5.1"}
    response: {text: "Known."}
"""
TOOLS: Any = [
    {
        "type": "function",
        "name": "lookup",
        "description": "Look something up.",
        "parameters": {
            "type": "object",
            "properties": {"q": {"type": "string"}},
            "required": ["q"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]
NO_EFFORT: Any = {"effort": "none"}
LOW_EFFORT: Any = {"effort": "low"}  # gpt-5.4 reasons at none unless asked: low gets a reasoning item


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    scenario_file = tmp_path_factory.mktemp("scenarios") / "reasoning.yaml"
    scenario_file.write_text(SCENARIOS, encoding="utf-8")
    with checked_sdk(Settings(port=0, log_level="warning", scenario_paths=(scenario_file,), seed=3)) as sdk:
        yield sdk


def answer(client: openai.OpenAI, stream: bool, **body: Any) -> Any:
    """The Response: from `create`, or from `responses.stream`, whose accumulated final response must equal the one
    `response.completed` carries, and whose `output_item.done` items must be the final output."""
    if not stream:
        return client.responses.create(**body)
    with client.responses.stream(**body) as events:
        seen = list(events)
        final = events.get_final_response()
    completed = [event.response for event in seen if event.type == "response.completed"]
    assert len(completed) == 1
    assert final.model_dump() == completed[0].model_dump()
    done = [event.item for event in seen if event.type == "response.output_item.done"]
    assert [wire(item) for item in done] == [wire(item) for item in final.output]
    return final


def wire(item: Any) -> Any:
    """An output item as sent: without the fields the SDK's stream helper adds (`parsed`, `parsed_arguments`)."""
    dumped = item.model_dump(exclude_none=True)
    dumped.pop("parsed_arguments", None)
    for part in dumped.get("content") or ():
        part.pop("parsed", None)
    return dumped


def kinds(response: Any) -> list[str]:
    return [item.type for item in response.output]


def reasoning_tokens(response: Any) -> int:
    return int(response.usage.output_tokens_details.reasoning_tokens)


@pytest.mark.parametrize("stream", [False, True])
def test_a_text_scenario_on_a_reasoning_model_gets_the_reasoning_item_first(
    client: openai.OpenAI, stream: bool
) -> None:
    response = answer(client, stream, model="gpt-5", input="scripted text")
    assert kinds(response) == ["reasoning", "message"]
    item = response.output[0]
    assert item.id.startswith("rs_")
    assert item.content == [] and item.summary == [] and item.encrypted_content is None
    assert response.output_text == "Scripted answer."
    assert reasoning_tokens(response) > 0
    assert response.usage.output_tokens > reasoning_tokens(response)


def test_the_wire_item_has_the_2026_keys(client: openai.OpenAI) -> None:
    raw = client.responses.with_raw_response.create(model="gpt-5", input="scripted text").http_response.json()
    assert list(raw["output"][0]) == ["id", "type", "content", "summary"]
    assert "phase" not in raw["output"][1]  # gpt-5's messages carry none (the January-2026 gpt-5.2 capture)


@pytest.mark.parametrize("stream", [False, True])
def test_a_non_reasoning_model_gets_no_reasoning_item(client: openai.OpenAI, stream: bool) -> None:
    response = answer(client, stream, model="gpt-4.1", input="scripted text")
    assert kinds(response) == ["message"]
    assert reasoning_tokens(response) == 0


@pytest.mark.parametrize("stream", [False, True])
def test_effort_none_sends_no_reasoning_item_for_a_scenario(client: openai.OpenAI, stream: bool) -> None:
    response = answer(client, stream, model="gpt-5.1", input="scripted text", reasoning=NO_EFFORT)
    assert kinds(response) == ["message"]
    assert reasoning_tokens(response) == 0
    assert response.reasoning.effort == "none"


@pytest.mark.parametrize("stream", [False, True])
def test_effort_none_sends_no_reasoning_item_from_the_default_responder(client: openai.OpenAI, stream: bool) -> None:
    response = answer(client, stream, model="gpt-5.1", input="What is a harbour?", reasoning=NO_EFFORT)
    assert kinds(response) == ["message"]
    assert reasoning_tokens(response) == 0
    reasoned = answer(client, stream, model="gpt-5.1", input="What is a harbour?", reasoning={"effort": "low"})
    assert kinds(reasoned) == ["reasoning", "message"]
    assert reasoning_tokens(reasoned) > 0


@pytest.mark.parametrize("stream", [False, True])
def test_a_scenario_can_say_reasoning_none(client: openai.OpenAI, stream: bool) -> None:
    response = answer(client, stream, model="gpt-5", input="no reasoning please")
    assert kinds(response) == ["message"]
    assert reasoning_tokens(response) == 0
    quiet = answer(client, stream, model="gpt-5", input="quiet call", tools=TOOLS)
    assert kinds(quiet) == ["function_call"]


def test_a_scenarios_own_reasoning_is_kept_as_written(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-5", input="my own reasoning")
    assert kinds(response) == ["reasoning", "message"]
    assert [part.text for part in response.output[0].summary] == ["**Mine**\n\nWritten by the scenario."]


@pytest.mark.parametrize("stream", [False, True])
def test_a_scripted_call_gets_the_reasoning_item_before_it(client: openai.OpenAI, stream: bool) -> None:
    response = answer(client, stream, model="gpt-5", input="scripted call", tools=TOOLS)
    assert kinds(response) == ["reasoning", "message", "function_call"]


@pytest.mark.parametrize("stream", [False, True])
def test_encrypted_content_on_the_added_item_when_included(client: openai.OpenAI, stream: bool) -> None:
    include: Any = ["reasoning.encrypted_content"]
    response = answer(client, stream, model="gpt-5", input="scripted text", include=include)
    item = response.output[0]
    assert item.type == "reasoning"
    assert item.encrypted_content is not None and encrypted_item_id(item.encrypted_content) == item.id


@pytest.mark.parametrize("stream", [False, True])
def test_a_summary_only_when_asked_for(client: openai.OpenAI, stream: bool) -> None:
    response = answer(client, stream, model="gpt-5", input="scripted text", reasoning={"summary": "auto"})
    summary = response.output[0].summary
    assert len(summary) == 1 and summary[0].text.startswith("**")


@pytest.mark.parametrize("stream", [False, True])
def test_messages_of_newer_models_carry_phase(client: openai.OpenAI, stream: bool) -> None:
    final = answer(client, stream, model="gpt-5.4", input="scripted text", reasoning=LOW_EFFORT)
    assert [getattr(item, "phase", None) for item in final.output] == [None, "final_answer"]
    preamble = answer(client, stream, model="gpt-5.4", input="scripted call", tools=TOOLS, reasoning=LOW_EFFORT)
    assert preamble.output[1].phase == "commentary"
    own = answer(client, stream, model="gpt-5.4", input="own phase", reasoning=LOW_EFFORT)
    assert own.output[1].phase == "commentary"
    default = answer(client, stream, model="gpt-5.4", input="Tell me about tides.", reasoning=NO_EFFORT)
    assert kinds(default) == ["message"] and default.output[0].phase == "final_answer"


def test_the_added_message_event_carries_the_phase(client: openai.OpenAI) -> None:
    with client.responses.stream(model="gpt-5.4", input="scripted text", reasoning=LOW_EFFORT) as events:
        added = [event.item for event in events if event.type == "response.output_item.added"]
    assert [item.type for item in added] == ["reasoning", "message"]
    assert added[0].content == [] and added[1].phase == "final_answer"


def test_a_scenarios_output_tokens_include_the_reasoning_tokens(client: openai.OpenAI) -> None:
    usage = client.responses.create(model="gpt-5", input="counted").usage
    assert usage is not None
    assert (usage.output_tokens, usage.output_tokens_details.reasoning_tokens) == (5, 5)


def test_a_failed_answer_gets_no_reasoning_item(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-5", input="fail now")
    assert response.status == "failed" and response.output == []


def test_reasoning_none_beside_a_reasoning_item_is_an_error() -> None:
    with pytest.raises(InvalidSpec, match="reasoning: none"):
        compile_reply({"reasoning": "none", "output": [{"type": "reasoning", "summary": "x"}]}, ("response",))
    with pytest.raises(InvalidSpec, match="inside the output list"):
        compile_reply({"reasoning": ["x"], "output": [{"type": "message", "text": "y"}]}, ("response",))


def test_a_recording_without_reasoning_item_replays_without_one() -> None:
    message = {"type": "message", "content": [{"type": "output_text", "text": "Hi", "annotations": []}]}
    reasoning = {"type": "reasoning", "id": "rs_1", "content": [], "summary": []}
    assert response_spec({"model": "gpt-5.6-sol", "status": "completed", "output": [message]}) == {
        "text": "Hi",
        "reasoning": "none",
        "model": "gpt-5.6-sol",
    }
    assert response_spec({"model": "gpt-5.6-sol", "status": "completed", "output": [reasoning, message]}) == {
        "reasoning": [],
        "text": "Hi",
        "model": "gpt-5.6-sol",
    }
    assert "reasoning" not in response_spec({"model": "gpt-4.1", "status": "completed", "output": [message]})


def test_a_saved_response_without_reasoning_item_replays_without_one() -> None:
    """`file:` with a Response object saved from the API (`response-text-gpt-6-luna.json`: effort none, a lone
    message) replays as it was sent."""
    message = {"type": "message", "content": [{"type": "output_text", "text": "Hi", "annotations": []}]}
    saved = {"object": "response", "model": "gpt-6-luna", "status": "completed", "output": [message]}
    assert response_body_to_spec(saved)["reasoning"] == "none"
    assert compile_reply(response_body_to_spec(saved), ("response",)).adds_reasoning is False
    assert "reasoning" not in response_body_to_spec({**saved, "model": "gpt-4.1-mini-2025-04-14"})


def item_keys(events: list[Any]) -> dict[str, set[str]]:
    """The keys of each item type in `output_item.added`/`.done` events and the final response, by where seen."""
    found: dict[str, set[str]] = {}
    for event in events:
        if "item" in event:
            found.setdefault(f"{event['type']} {event['item']['type']}", set()).update(event["item"])
        for item in (event.get("response") or {}).get("output") or ():
            found.setdefault(f"{event['type']} {item['type']}", set()).update(item)
    return found


def test_the_items_have_the_keys_of_the_august_2026_capture(client: openai.OpenAI) -> None:
    """`stream-reasoning-summary-gpt-5.6-sol.rig.sse`: a reasoning item with `content: []`, then a message with
    `phase`; the same request to the mock (gpt-5.4, also a phase model) gives items with the same keys."""
    capture = reference_file(live_captures_dir() / "stream-reasoning-summary-gpt-5.6-sol.rig.sse")
    live = item_keys([json.loads(line[5:]) for line in capture.read_text().splitlines() if line.startswith("data:")])
    include: Any = ["reasoning.encrypted_content"]
    with client.responses.with_streaming_response.create(
        model="gpt-5.4",
        input="scripted text",
        include=include,
        reasoning={"effort": "low", "summary": "detailed"},
        stream=True,
    ) as answer:
        mock = item_keys(conformance.parse_sse(answer.read().decode()))
    assert mock == live
    assert {"content", "encrypted_content"} <= mock["response.completed reasoning"]
