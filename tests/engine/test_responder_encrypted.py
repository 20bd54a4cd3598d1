"""`include: ["reasoning.encrypted_content"]` with no scenario: reasoning items carry an opaque, Fernet-shaped blob
that names its item, and a stateless loop that sends those items back as input is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from mockserver import Settings
from mockserver.render.render import encrypted_item_id, fake_encrypted_content
from tests.conftest import checked_sdk

INCLUDE: Any = ["reasoning.encrypted_content"]
TOOLS: Any = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    }
]


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    with checked_sdk(Settings(port=0, log_level="warning", scenario_paths=(), seed=5)) as sdk:
        yield sdk


def _reasoning(output: list[Any]) -> Any:
    items = [item for item in output if item.type == "reasoning"]
    assert len(items) == 1
    return items[0]


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_items_carry_encrypted_content_when_included(client: openai.OpenAI, stream: bool) -> None:
    body: dict[str, Any] = {"model": "gpt-5", "input": "Plan a picnic.", "include": INCLUDE}
    if stream:
        with client.responses.stream(**body) as events:
            done = [event.item for event in events if event.type == "response.output_item.done"]
            response = events.get_final_response()
        assert _reasoning(done).encrypted_content == _reasoning(response.output).encrypted_content
    else:
        response = client.responses.create(**body)
    item = _reasoning(response.output)
    assert item.encrypted_content is not None and item.encrypted_content.startswith("gAAAAAB")
    assert encrypted_item_id(item.encrypted_content) == item.id


def test_no_encrypted_content_unless_included(client: openai.OpenAI) -> None:
    response = client.responses.create(model="o4-mini", input="Plan a picnic.")
    assert _reasoning(response.output).encrypted_content is None


def test_the_blob_is_opaque_and_checked() -> None:
    blob = fake_encrypted_content("rs_abc123")
    assert "rs_abc123" not in blob and encrypted_item_id(blob) == "rs_abc123"
    assert fake_encrypted_content("rs_abc123") == blob != fake_encrypted_content("rs_abc124")
    tampered = blob[:40] + ("A" if blob[40] != "A" else "B") + blob[41:]
    assert encrypted_item_id(tampered) is None
    assert encrypted_item_id("gAAAAABfirst") is None
    assert encrypted_item_id("not base64 at all!") is None


def test_a_stateless_loop_sends_the_reasoning_back(client: openai.OpenAI) -> None:
    question = {"role": "user", "content": "What's the weather in Paris?"}
    first = client.responses.create(
        model="gpt-5", input=[question], tools=TOOLS, include=INCLUDE, store=False, reasoning={"summary": "auto"}
    )
    assert [item.type for item in first.output] == ["reasoning", "function_call"]
    call = first.output[1]
    assert call.type == "function_call"
    returned = [item.model_dump(exclude_none=True) for item in first.output]
    assert returned[0]["encrypted_content"]
    second = client.responses.create(
        model="gpt-5",
        input=[
            question,
            *returned,
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"sky": "clear"}'},
        ],
        tools=TOOLS,
        include=INCLUDE,
        store=False,
    )
    assert second.status == "completed"
    assert '{"sky": "clear"}' in second.output_text
    assert encrypted_item_id(_reasoning(second.output).encrypted_content or "") == _reasoning(second.output).id


def test_an_encrypted_reasoning_item_alone_is_accepted_as_input(client: openai.OpenAI) -> None:
    first = client.responses.create(model="o3", input="Think.", include=INCLUDE, store=False)
    item = _reasoning(first.output)
    again = client.responses.create(
        model="o3",
        input=[
            {"role": "user", "content": "Think."},
            {"type": "reasoning", "id": item.id, "summary": [], "encrypted_content": item.encrypted_content},
            {"role": "user", "content": "And now?"},
        ],
        store=False,
    )
    assert again.status == "completed"
