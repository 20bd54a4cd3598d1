"""The event stream built from a Response: order, numbering, deltas that add up, SSE framing."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mockserver.core.context import RequestContext
from mockserver.core.ids import IdSource
from mockserver.faults.replies import ModelReply
from mockserver.render.render import Timing, build_response
from mockserver.render.streaming import encode_event, response_events, split_deltas


@given(st.text())
def test_deltas_add_up_to_the_text(text: str) -> None:
    pieces = split_deltas(text)
    assert "".join(pieces) == text
    assert all(pieces) or text == ""


def test_deltas_look_like_tokens() -> None:
    assert split_deltas("Hello, World!") == ["Hello", ",", " World", "!"]


def stream_of(reply: ModelReply, **body: object) -> list[dict[str, object]]:
    ids = IdSource(3).response_family(1_800_000_000)
    ctx = RequestContext({"model": "gpt-4.1", "input": "hi", **body})
    final = build_response(ctx, reply, ids, Timing(1_800_000_000, 1_800_000_001), billing=False)
    return list(response_events(final, ids))


def test_items_stream_one_after_another() -> None:
    reply = ModelReply(
        output=(
            {"type": "reasoning", "summary": ["One.", "Two."]},
            {"type": "function_call", "name": "f", "arguments": '{"a":1}'},
            {"type": "message", "content": [{"type": "output_text", "text": "Done.", "annotations": []}]},
        )
    )
    events = stream_of(reply)
    item_events = [
        (e["type"], e.get("output_index")) for e in events if str(e["type"]).startswith("response.output_item")
    ]

    assert item_events == [
        ("response.output_item.added", 0),
        ("response.output_item.done", 0),
        ("response.output_item.added", 1),
        ("response.output_item.done", 1),
        ("response.output_item.added", 2),
        ("response.output_item.done", 2),
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    summary_parts = [e["summary_index"] for e in events if e["type"] == "response.reasoning_summary_part.added"]
    assert summary_parts == [0, 1]
    args = "".join(str(e["delta"]) for e in events if e["type"] == "response.function_call_arguments.delta")
    assert args == '{"a":1}'


def test_terminal_event_follows_status() -> None:
    text = {"type": "message", "content": [{"type": "output_text", "text": "Cut", "annotations": []}]}
    incomplete = stream_of(ModelReply(output=(text,), status="incomplete", incomplete_reason="max_output_tokens"))
    failed = stream_of(ModelReply(output=(), status="failed", error={"code": "server_error", "message": "x"}))

    assert incomplete[-1]["type"] == "response.incomplete"
    assert incomplete[-2]["item"]["status"] == "incomplete"
    assert failed[-1]["type"] == "response.failed"
    assert failed[-1]["response"]["usage"] is None


def test_annotations_are_announced_before_text_done() -> None:
    annotation = {"type": "url_citation", "start_index": 0, "end_index": 3, "url": "https://x.test", "title": "X"}
    part = {"type": "output_text", "text": "Yes.", "annotations": [annotation]}
    types = [e["type"] for e in stream_of(ModelReply(output=({"type": "message", "content": [part]},)))]

    assert types.index("response.output_text.annotation.added") < types.index("response.output_text.done")


def test_sse_framing() -> None:
    frame = encode_event({"type": "response.created", "sequence_number": 0, "text": "é"})
    assert (
        frame
        == 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"text":"é"}\n\n'.encode()
    )
    assert b"[DONE]" not in frame
    assert json.loads(frame.decode().split("data: ", 1)[1])["text"] == "é"
