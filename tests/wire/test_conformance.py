"""The conformance helper is a real judge: live captures pass, and every kind of broken body or stream fails.

Reads the official OpenAPI file and the live captures from `tests/reference_data/` (see `tests/reference.py`).
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conformance import (
    ALLOW_LIST,
    ConformanceError,
    SSEFormatError,
    _compiled,
    _raw_validator,
    assert_conforms,
    assert_error_conforms,
    assert_event_conforms,
    assert_response_conforms,
    assert_stream_conforms,
    event_schema_name,
    parse_sse,
    schema_problems,
)
from tests.reference import live_capture_files, live_captures_dir, openapi_spec, openapi_spec_path, reference_file

JSONObject = dict[str, Any]
Events = list[JSONObject]


# ---------------------------------------------------------------------------------------------------------------
# A valid stream and body, in the live API's August-2026 shape
# ---------------------------------------------------------------------------------------------------------------

RESP_ID = "resp_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607182"
USAGE: JSONObject = {
    "input_tokens": 21,
    "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 0},
    "output_tokens": 17,
    "output_tokens_details": {"reasoning_tokens": 6},
    "total_tokens": 38,
}
TOOL: JSONObject = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the weather",
    "output_schema": None,
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


def make_response(status: str = "completed", output: list[JSONObject] | None = None) -> JSONObject:
    finished = status in ("completed", "incomplete")
    return {
        "id": RESP_ID,
        "object": "response",
        "created_at": 1791456012,
        "status": status,
        "background": False,
        "completed_at": 1791456013 if status == "completed" else None,
        "error": None,
        "frequency_penalty": 0.0,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": "gpt-5.6-sol",
        "moderation": None,
        "output": output or [],
        "parallel_tool_calls": True,
        "presence_penalty": 0.0,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "prompt_cache_retention": "in_memory",
        "reasoning": {"context": "all_turns", "effort": "low", "mode": "standard", "summary": "auto"},
        "safety_identifier": None,
        "service_tier": "default" if finished else "auto",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tool_usage": {"web_search": {"num_requests": 0}},
        "tools": [copy.deepcopy(TOOL)],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": copy.deepcopy(USAGE) if finished else None,
        "user": None,
        "metadata": {},
    }


def _text_part(text: str) -> JSONObject:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def make_stream() -> Events:
    """created → in_progress → reasoning (one summary part) → message (two deltas) → function call → completed."""
    rs_id, msg_id, fc_id = "rs_0a1", "msg_0a2", "fc_0a3"
    reasoning_done = {
        "id": rs_id,
        "type": "reasoning",
        "content": [],
        "encrypted_content": "gAAAAABfirst",
        "summary": [{"type": "summary_text", "text": "**Plan**"}],
    }
    message_done = {
        "id": msg_id,
        "type": "message",
        "status": "completed",
        "content": [_text_part("Hello world")],
        "phase": "final_answer",
        "role": "assistant",
    }
    call_done = {
        "id": fc_id,
        "type": "function_call",
        "status": "completed",
        "arguments": '{"city":"Paris"}',
        "call_id": "call_5dp5Uj0Loqn1YcyIpqSq6sLX",
        "name": "get_weather",
    }
    final = make_response(
        "completed", [{**reasoning_done, "encrypted_content": "gAAAAABsecond"}, message_done, call_done]
    )
    summary = {"item_id": rs_id, "output_index": 0, "summary_index": 0}
    text = {"item_id": msg_id, "output_index": 1, "content_index": 0}
    call = {"item_id": fc_id, "output_index": 2}
    events: Events = [
        {"type": "response.created", "response": make_response("in_progress")},
        {"type": "response.in_progress", "response": make_response("in_progress")},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {
                "id": rs_id,
                "type": "reasoning",
                "content": [],
                "encrypted_content": "gAAAAABzero",
                "summary": [],
            },
        },
        {"type": "response.reasoning_summary_part.added", **summary, "part": {"type": "summary_text", "text": ""}},
        {"type": "response.reasoning_summary_text.delta", **summary, "delta": "**Plan**", "obfuscation": "x1"},
        {"type": "response.reasoning_summary_text.done", **summary, "text": "**Plan**"},
        {
            "type": "response.reasoning_summary_part.done",
            **summary,
            "part": {"type": "summary_text", "text": "**Plan**"},
        },
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning_done},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {"id": msg_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
        },
        {"type": "response.content_part.added", **text, "part": _text_part("")},
        {"type": "response.output_text.delta", **text, "delta": "Hello", "logprobs": [], "obfuscation": "abc"},
        {"type": "response.output_text.delta", **text, "delta": " world", "logprobs": [], "obfuscation": "de"},
        {"type": "response.output_text.done", **text, "text": "Hello world", "logprobs": []},
        {"type": "response.content_part.done", **text, "part": _text_part("Hello world")},
        {"type": "response.output_item.done", "output_index": 1, "item": message_done},
        {
            "type": "response.output_item.added",
            "output_index": 2,
            "item": {**call_done, "status": "in_progress", "arguments": ""},
        },
        {"type": "response.function_call_arguments.delta", **call, "delta": '{"city":', "obfuscation": "q"},
        {"type": "response.function_call_arguments.delta", **call, "delta": '"Paris"}', "obfuscation": "rs"},
        {"type": "response.function_call_arguments.done", **call, "arguments": '{"city":"Paris"}'},
        {"type": "response.output_item.done", "output_index": 2, "item": call_done},
        {"type": "response.completed", "response": final},
    ]
    return renumber([copy.deepcopy(e) for e in events])  # no object shared between events


def make_error_stream() -> Events:
    """A quota failure after admission: created → in_progress → error (nested) → response.failed."""
    failed = make_response("failed")
    failed["error"] = {"code": "insufficient_quota", "message": "You exceeded your current quota."}
    inner = {"type": "insufficient_quota", "code": "insufficient_quota", "message": "You exceeded…", "param": None}
    return renumber(
        [
            {"type": "response.created", "response": make_response("in_progress")},
            {"type": "response.in_progress", "response": make_response("in_progress")},
            {"type": "error", "error": inner},
            {"type": "response.failed", "response": failed},
        ]
    )


def renumber(events: Events) -> Events:
    return [{**e, "sequence_number": n} for n, e in enumerate(events)]


def find(events: Events, event_type: str, nth: int = 0) -> JSONObject:
    return [e for e in events if e["type"] == event_type][nth]


def index_of(events: Events, event_type: str, nth: int = 0) -> int:
    return [i for i, e in enumerate(events) if e["type"] == event_type][nth]


def to_sse(events: Events) -> str:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events)


@pytest.fixture(autouse=True)
def _needs_spec() -> None:
    openapi_spec()  # fail every test here at once when the official file is absent


# ---------------------------------------------------------------------------------------------------------------
# Valid documents pass
# ---------------------------------------------------------------------------------------------------------------


def test_valid_stream_and_bodies_pass() -> None:
    events = make_stream()
    assert_stream_conforms(events)
    assert_stream_conforms(make_error_stream())
    assert_response_conforms(find(events, "response.completed")["response"])
    assert_error_conforms({"error": {"message": "Bad.", "type": "invalid_request_error", "param": None, "code": None}})


def test_background_stream_with_queued_and_keepalive_passes() -> None:
    events = make_stream()
    queued = make_response("queued")
    events[0]["response"] = {**queued, "background": True}
    events.insert(1, {"type": "response.queued", "response": {**queued, "background": True}})
    events.insert(5, {"type": "keepalive"})
    for e in events:
        if isinstance(e.get("response"), dict):
            e["response"]["background"] = True
    assert_stream_conforms(renumber(events))


def test_sse_round_trip_of_a_valid_stream() -> None:
    events = make_stream()
    assert parse_sse(to_sse(events)) == events
    assert parse_sse("") == []


def test_other_schemas_by_name() -> None:
    item = {
        "id": "msg_1",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_text", "text": "hi"}],
    }
    page = {"object": "list", "data": [item], "first_id": "msg_1", "last_id": "msg_1", "has_more": False}
    assert_conforms(page, "ResponseItemList")
    assert_conforms({"id": "conv_1", "object": "conversation.deleted", "deleted": True}, "DeletedConversationResource")
    with pytest.raises(ConformanceError, match=r"'has_more' is a required property"):
        assert_conforms({k: v for k, v in page.items() if k != "has_more"}, "ResponseItemList")
    with pytest.raises(ConformanceError, match=r"\$\.data\[0\]\.content\[0\]\.text: 5 is not of type 'string'"):
        assert_conforms(
            {**page, "data": [{**item, "content": [{"type": "input_text", "text": 5}]}]}, "ResponseItemList"
        )
    with pytest.raises(KeyError, match="NoSuchSchema"):
        assert_conforms({}, "NoSuchSchema")


def test_checks_do_not_modify_their_input() -> None:
    events = make_stream() + make_error_stream()
    before = copy.deepcopy(events)
    for event in events:
        assert_event_conforms(event)
    assert_stream_conforms(make_stream())
    assert events == before


# ---------------------------------------------------------------------------------------------------------------
# Broken streams fail, naming the event and the rule
# ---------------------------------------------------------------------------------------------------------------


def _drop_sequence_number(ev: Events) -> Events:
    del ev[10]["sequence_number"]
    return ev


def _gap(ev: Events) -> Events:
    for e in ev[10:]:
        e["sequence_number"] += 1
    return ev


def _not_from_zero(ev: Events) -> Events:
    for e in ev:
        e["sequence_number"] += 1
    return ev


def _created_at_string(ev: Events) -> Events:
    for e in ev:
        if "response" in e:
            e["response"]["created_at"] = "1791456012"
    return ev


def _object_responses(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["object"] = "responses"
    return ev


def _delta_before_part(ev: Events) -> Events:
    i = index_of(ev, "response.content_part.added")
    ev[i], ev[i + 1] = ev[i + 1], ev[i]
    return renumber(ev)


def _top_level_error(ev: Events) -> Events:
    ev[10]["error"] = {"message": "boom"}
    return ev


def _two_terminals(ev: Events) -> Events:
    return renumber([*ev, copy.deepcopy(ev[-1])])


def _changed_id(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["id"] = "resp_other"
    return ev


def _unknown_type(ev: Events) -> Events:
    return renumber([*ev[:5], {"type": "response.thinking.delta", "delta": "x"}, *ev[5:]])


def _created_usage(ev: Events) -> Events:
    ev[0]["response"]["usage"] = copy.deepcopy(USAGE)
    return ev


def _created_output(ev: Events) -> Events:
    ev[0]["response"]["output"] = [find(ev, "response.output_item.done")["item"]]
    return ev


def _no_created(ev: Events) -> Events:
    return renumber(ev[1:])


def _no_in_progress(ev: Events) -> Events:
    return renumber([ev[0], *ev[2:]])


def _index_gap(ev: Events) -> Events:
    for e in ev:
        if e.get("output_index") == 2:
            e["output_index"] = 3
    return ev


def _item_id_mismatch(ev: Events) -> Events:
    find(ev, "response.output_text.delta", 1)["item_id"] = "msg_other"
    return ev


def _done_text(ev: Events) -> Events:
    find(ev, "response.output_text.done")["text"] = "Hello world!"
    return ev


def _arguments_done(ev: Events) -> Events:
    find(ev, "response.function_call_arguments.done")["arguments"] = '{"city":"Rome"}'
    return ev


def _summary_done(ev: Events) -> Events:
    find(ev, "response.reasoning_summary_text.done")["text"] = "**Plan** and more"
    return ev


def _part_done_text(ev: Events) -> Events:
    find(ev, "response.content_part.done")["part"]["text"] = "Hello"
    return ev


def _done_changes_id(ev: Events) -> Events:
    find(ev, "response.output_item.done", 1)["item"]["id"] = "msg_changed"
    return ev


def _done_changes_call_id(ev: Events) -> Events:
    find(ev, "response.output_item.done", 2)["item"]["call_id"] = "call_changed"
    return ev


def _done_changes_type(ev: Events) -> Events:
    item = find(ev, "response.output_item.done", 2)["item"]
    item["type"] = "custom_tool_call"
    item["input"] = item.pop("arguments")
    return ev


def _item_content_not_parts(ev: Events) -> Events:
    find(ev, "response.output_item.done", 1)["item"]["content"] = [_text_part("Hello there")]
    find(ev, "response.completed")["response"]["output"][1]["content"] = [_text_part("Hello there")]
    return ev


def _terminal_output_short(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["output"].pop()
    return ev


def _terminal_output_differs(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["output"][1]["content"][0]["text"] = "Goodbye"
    return ev


def _item_never_done(ev: Events) -> Events:
    return renumber([e for e in ev if not (e["type"] == "response.output_item.done" and e["output_index"] == 2)])


def _delta_after_item_done(ev: Events) -> Events:
    delta = copy.deepcopy(find(ev, "response.output_text.delta"))
    i = index_of(ev, "response.output_item.done", 1)
    return renumber([*ev[: i + 1], delta, *ev[i + 1 :]])


def _delta_after_text_done(ev: Events) -> Events:
    delta = copy.deepcopy(find(ev, "response.output_text.delta"))
    i = index_of(ev, "response.output_text.done")
    return renumber([*ev[: i + 1], delta, *ev[i + 1 :]])


def _sub_event_before_item(ev: Events) -> Events:
    delta = copy.deepcopy(find(ev, "response.function_call_arguments.delta"))
    i = index_of(ev, "response.output_item.added", 2)
    return renumber([*ev[:i], delta, *ev[i:]])


def _text_delta_on_call(ev: Events) -> Events:
    delta = find(ev, "response.function_call_arguments.delta")
    delta.update(type="response.output_text.delta", content_index=0, logprobs=[])
    return ev


def _part_index_gap(ev: Events) -> Events:
    for e in ev:
        if e.get("content_index") == 0 and e.get("output_index") == 1:
            e["content_index"] = 1
    return ev


def _duplicate_item_id(ev: Events) -> Events:
    for e in ev:
        if e.get("output_index") == 2:
            if "item" in e:
                e["item"]["id"] = "msg_0a2"
            else:
                e["item_id"] = "msg_0a2"
    find(ev, "response.completed")["response"]["output"][2]["id"] = "msg_0a2"
    return ev


def _function_call_without_call_id(ev: Events) -> Events:
    del find(ev, "response.output_item.added", 2)["item"]["call_id"]
    return ev


def _missing_terminal(ev: Events) -> Events:
    return ev[:-1]


def _event_after_error(ev: Events) -> Events:
    return renumber([*make_error_stream()[:3], *ev[2:]])


def _flat_error(ev: Events) -> Events:
    errors = make_error_stream()
    inner = errors[2].pop("error")
    errors[2].update(code=inner["code"], message=inner["message"], param=None)
    return errors


def _error_inner_without_type(ev: Events) -> Events:
    errors = make_error_stream()
    del errors[2]["error"]["type"]
    return errors


def _user_not_string(ev: Events) -> Events:
    ev[0]["response"]["user"] = 42
    return ev


def _usage_null_on_completed(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["usage"] = None
    return ev


def _completed_without_completed_at(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["completed_at"] = None
    return ev


def _status_mismatch(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["status"] = "in_progress"
    return ev


def _keepalive_extra_key(ev: Events) -> Events:
    return renumber([*ev[:5], {"type": "keepalive", "note": "x"}, *ev[5:]])


def _arguments_done_name_wrong(ev: Events) -> Events:
    find(ev, "response.function_call_arguments.done")["name"] = 5
    return ev


def _arguments_done_other_name(ev: Events) -> Events:
    find(ev, "response.function_call_arguments.done")["name"] = "get_time"
    return ev


def _failed_unknown_code(ev: Events) -> Events:
    errors = make_error_stream()
    errors[3]["response"]["error"]["code"] = "teapot"
    return errors


def _failed_error_without_message(ev: Events) -> Events:
    errors = make_error_stream()
    del errors[3]["response"]["error"]["message"]
    return errors


def _part_without_logprobs(ev: Events) -> Events:
    del find(ev, "response.content_part.added")["part"]["logprobs"]
    return ev


def _delta_without_logprobs(ev: Events) -> Events:
    del find(ev, "response.output_text.delta")["logprobs"]
    return ev


def _item_type_typo(ev: Events) -> Events:
    find(ev, "response.output_item.added", 1)["item"]["type"] = "mesage"
    return ev


def _tool_choice_typo(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["tool_choice"] = "autoo"
    return ev


def _temperature_too_high(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["temperature"] = 3
    return ev


def _completed_at_string(ev: Events) -> Events:
    find(ev, "response.completed")["response"]["completed_at"] = "soon"
    return ev


def _queued_after_in_progress(ev: Events) -> Events:
    queued = {"type": "response.queued", "response": make_response("queued")}
    return renumber([*ev[:2], queued, *ev[2:]])


STREAM_MUTATIONS: list[tuple[str, Callable[[Events], Events], list[str]]] = [
    ("drop sequence_number", _drop_sequence_number, ["event #10", "'sequence_number' is a required property"]),
    ("gap in sequence numbers", _gap, ["event #10 (sequence_number=11", "expected 10 (gap or repeat)"]),
    ("sequence numbers from 1", _not_from_zero, ["sequence_number 1, expected 0 (does not start at 0)"]),
    ("created_at as a string", _created_at_string, ["$.response.created_at: '1791456012' is not of type 'number'"]),
    ("object 'responses'", _object_responses, ["$.response.object: 'responses' is not one of ['response']"]),
    ("text delta before content_part.added", _delta_before_part, ["content_index 0 before its content_part.added"]),
    ("top-level error key", _top_level_error, ["event #10", "top-level 'error' key on a non-error event"]),
    ("missing terminal event", _missing_terminal, ["ended without a terminal event"]),
    ("two terminal events", _two_terminals, ["type='response.completed'", "after the terminal event #20"]),
    ("changed response id", _changed_id, ["response.id 'resp_other' differs from", "every lifecycle event"]),
    ("unknown event type", _unknown_type, ["unknown event type 'response.thinking.delta'"]),
    ("created with usage", _created_usage, ["event #0", "response.created must have usage null"]),
    ("created with output", _created_output, ["response.created must have output []"]),
    ("no response.created", _no_created, ["the first event must be response.created"]),
    ("no response.in_progress", _no_in_progress, ["the second event must be response.in_progress"]),
    ("output_index gap", _index_gap, ["output_index 3, expected 2 (items are added at contiguous output_index"]),
    ("item_id mismatch", _item_id_mismatch, ["item_id 'msg_other' is not the id 'msg_0a2' of output item 1"]),
    ("output_text.done differs from deltas", _done_text, ["response.output_text.done text 'Hello world!'"]),
    ("arguments.done differs from deltas", _arguments_done, ["function_call_arguments.done arguments"]),
    ("summary text.done differs from deltas", _summary_done, ["reasoning_summary_text.done text"]),
    ("content_part.done differs from deltas", _part_done_text, ["content_part.done part.text differs"]),
    ("output_item.done changes id", _done_changes_id, ["changes the item's id from 'msg_0a2' to 'msg_changed'"]),
    ("output_item.done changes call_id", _done_changes_call_id, ["changes the item's call_id"]),
    ("output_item.done changes type", _done_changes_type, ["changes the item's type from 'function_call'"]),
    ("item.done content differs from parts", _item_content_not_parts, ["item.content differs from the parts"]),
    ("terminal output misses an item", _terminal_output_short, ["terminal response.output has 2 items but 3"]),
    ("terminal output differs", _terminal_output_differs, ["terminal response.output[1] differs from its output"]),
    ("item never done", _item_never_done, ["output item 2 was added but never got response.output_item.done"]),
    ("delta after output_item.done", _delta_after_item_done, ["for output_index 1 after its output_item.done"]),
    ("delta after text.done", _delta_after_text_done, ["after response.output_text.done for the same part"]),
    ("sub-event before its item", _sub_event_before_item, ["for output_index 2 before its output_item.added"]),
    ("text delta on a function call", _text_delta_on_call, ["response.output_text.delta on a 'function_call' item"]),
    ("content_index not from 0", _part_index_gap, ["content_index 1, expected 0"]),
    ("duplicate item id", _duplicate_item_id, ["item id 'msg_0a2' was already used"]),
    ("function call without call_id", _function_call_without_call_id, ["'call_id' is a required property"]),
    ("event after the error event", _event_after_error, ["after the error event #2 only response.failed"]),
    ("flat error event", _flat_error, ["error event without the nested `error` object"]),
    ("nested error without type", _error_inner_without_type, ["$.error: 'type' is a required property"]),
    ("user not a string", _user_not_string, ["$.response.user: 42 is not of type 'string'"]),
    ("usage null on completed", _usage_null_on_completed, ["$.response.usage: None is not of type 'object'"]),
    ("completed without completed_at", _completed_without_completed_at, ["must carry completed_at"]),
    ("status differs from event", _status_mismatch, ["response.status 'in_progress', expected 'completed'"]),
    ("keepalive with an extra key", _keepalive_extra_key, ["Additional properties are not allowed ('note'"]),
    ("arguments.done name not a string", _arguments_done_name_wrong, ["$.name: 5 is not of type 'string'"]),
    ("arguments.done other name", _arguments_done_other_name, ["name 'get_time' is not the function_call item's"]),
    ("failed with an unknown code", _failed_unknown_code, ["$.response.error.code: 'teapot' is not one of"]),
    ("failed error without message", _failed_error_without_message, ["'message' is a required property"]),
    ("output_text part without logprobs", _part_without_logprobs, ["$.part: 'logprobs' is a required property"]),
    ("output_text.delta without logprobs", _delta_without_logprobs, ["$: 'logprobs' is a required property"]),
    ("item type typo", _item_type_typo, ["$.item: type 'mesage' is not accepted here"]),
    ("tool_choice typo", _tool_choice_typo, ["$.response.tool_choice: 'autoo' is not one of"]),
    ("temperature above 2", _temperature_too_high, ["$.response.temperature: 3 is greater than the maximum of 2"]),
    ("completed_at a string", _completed_at_string, ["$.response.completed_at: 'soon' is not of type 'number'"]),
    ("queued after in_progress", _queued_after_in_progress, ["response.queued after response.in_progress"]),
]


@pytest.mark.parametrize(("mutate", "expected"), [pytest.param(m, e, id=n) for n, m, e in STREAM_MUTATIONS])
def test_broken_stream_fails_naming_the_problem(mutate: Callable[[Events], Events], expected: list[str]) -> None:
    events = mutate(make_stream())
    with pytest.raises(ConformanceError) as caught:
        assert_stream_conforms(events)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


BODY_MUTATIONS: list[tuple[str, str, Callable[[JSONObject], None], str]] = [
    ("Response", "created_at as a string", lambda b: b.update(created_at="0"), "$.created_at: '0' is not of type"),
    ("Response", "object 'responses'", lambda b: b.update(object="responses"), "'responses' is not one of"),
    ("Response", "no id", lambda b: b.pop("id"), "$: 'id' is a required property"),
    ("Response", "status unknown", lambda b: b.update(status="done"), "$.status: 'done' is not one of"),
    ("Response", "usage null when completed", lambda b: b.update(usage=None), "$.usage: None is not of type"),
    (
        "Response",
        "cache_write_tokens missing",
        lambda b: b["usage"]["input_tokens_details"].pop("cache_write_tokens"),
        "$.usage.input_tokens_details: 'cache_write_tokens' is a required property",
    ),
    (
        "Response",
        "message without status",
        lambda b: b["output"][1].pop("status"),
        "$.output[1]: 'status' is a required property",
    ),
    (
        "Response",
        "function tool without strict",
        lambda b: b["tools"][0].pop("strict"),
        "$.tools[0]: 'strict' is a required property",
    ),
    (
        "Response",
        "metadata value not a string",
        lambda b: b.update(metadata={"a": 1}),
        "$.metadata.a: 1 is not of type",
    ),
    ("ErrorResponse", "missing param", lambda b: b["error"].pop("param"), "$.error: 'param' is a required property"),
    ("ErrorResponse", "missing code", lambda b: b["error"].pop("code"), "$.error: 'code' is a required property"),
    ("ErrorResponse", "message not a string", lambda b: b["error"].update(message=None), "$.error.message: None"),
    ("ErrorResponse", "flat error", lambda b: b.update(b.pop("error")), "$: 'error' is a required property"),
]


@pytest.mark.parametrize(
    ("schema", "mutate", "expected"), [pytest.param(s, m, e, id=f"{s}: {n}") for s, n, m, e in BODY_MUTATIONS]
)
def test_broken_body_fails_naming_the_problem(schema: str, mutate: Callable[[JSONObject], None], expected: str) -> None:
    if schema == "Response":
        body = find(make_stream(), "response.completed")["response"]
        check: Callable[[JSONObject], None] = assert_response_conforms
    else:
        body = {"error": {"message": "Bad.", "type": "invalid_request_error", "param": None, "code": None}}
        check = assert_error_conforms
    check(copy.deepcopy(body))
    mutate(body)
    with pytest.raises(ConformanceError) as caught:
        check(body)
    assert expected in str(caught.value), str(caught.value)


def test_single_event_failures_name_the_event() -> None:
    delta = find(make_stream(), "response.output_text.delta")
    with pytest.raises(ConformanceError, match=r"sequence_number=10, type='response.output_text.delta'.*\n.*delta"):
        assert_event_conforms({**delta, "delta": 7})
    with pytest.raises(ConformanceError, match="unknown event type 'response.output_text.deltas'"):
        assert_event_conforms({**delta, "type": "response.output_text.deltas"})
    with pytest.raises(ConformanceError, match="no string `type`"):
        assert_event_conforms({"sequence_number": 0})


# ---------------------------------------------------------------------------------------------------------------
# The allow-list: each entry is needed, is scoped, and nothing else is excused
# ---------------------------------------------------------------------------------------------------------------


def _deviating_examples() -> dict[str, tuple[str, JSONObject]]:
    """For each entry, an instance that shows exactly that deviation (the schema name it is judged by)."""
    stream, errors = make_stream(), make_error_stream()
    for event in stream + errors:
        if "response" in event:
            event["response"].pop("user")  # each example shows one deviation only
    arguments_done = find(stream, "response.function_call_arguments.done")
    assert "name" not in arguments_done
    return {
        "response-user-null": ("Response", {**find(stream, "response.completed")["response"], "user": None}),
        "response-usage-null-while-unfinished": ("Response", stream[0]["response"]),
        "response-error-code-insufficient-quota": ("ResponseFailedEvent", {**errors[3], "response": {
            **errors[3]["response"], "usage": copy.deepcopy(USAGE)}}),
        "error-event-nested": ("ResponseErrorEvent", errors[2]),
        "function-call-arguments-done-without-name": ("ResponseFunctionCallArgumentsDoneEvent", arguments_done),
        "keepalive-event": ("ResponseStreamEvent", {"type": "keepalive", "sequence_number": 3}),
    }  # fmt: skip


def test_allow_list_entries_are_named_and_reasoned() -> None:
    names = [entry.name for entry in ALLOW_LIST]
    assert len(names) == len(set(names))
    for entry in ALLOW_LIST:
        assert len(entry.reason) > 40 and entry.evidence, entry.name
        assert (entry.rewrite is None) != (entry.schema is None), entry.name
    assert sorted(names) == sorted(_deviating_examples())


@pytest.mark.parametrize("name", [entry.name for entry in ALLOW_LIST])
def test_each_allow_list_entry_is_needed(name: str) -> None:
    schema, instance = _deviating_examples()[name]
    raw = schema_problems(instance, schema, allow_list=False)
    assert raw, f"the official schema accepts the example of {name!r}: the entry is not needed"
    if name == "keepalive-event":
        assert event_schema_name("keepalive") is None
        assert_event_conforms(instance)
    else:
        assert schema_problems(instance, schema) == []


def test_wire_extras_need_no_entry() -> None:
    """The schema itself accepts these live-API extras; if it ever forbids them, they need an allow-list entry."""
    response = find(make_stream(), "response.completed")["response"]
    response.pop("user")
    extras = {
        "billing": {"payer": "developer"},
        "frequency_penalty": 0.0,
        "presence_penalty": 0.0,
        "tool_usage": {"image_gen": {"input_tokens": 0}, "web_search": {"num_requests": 0}},
        "access_programs": None,
        "moderation": None,
        "store": True,
    }
    assert schema_problems({**response, **extras}, "Response", allow_list=False) == []
    for event in make_stream():
        if "obfuscation" in event:
            assert schema_problems(event, event_schema_name(event["type"]) or "", allow_list=False) == []
    reasoning = find(make_stream(), "response.output_item.done")["item"]
    assert reasoning["content"] == [] and schema_problems(reasoning, "OutputItem", allow_list=False) == []


# ---------------------------------------------------------------------------------------------------------------
# The fast validator judges exactly like a stock validator over the untouched document
# ---------------------------------------------------------------------------------------------------------------


def _schema_for(instance: JSONObject) -> str:
    if "object" in instance and instance.get("object") == "response":
        return "Response"
    if "error" in instance and "type" not in instance:
        return "ErrorResponse"
    return event_schema_name(str(instance.get("type"))) or "ResponseStreamEvent"


def _corpus() -> list[JSONObject]:
    docs: list[JSONObject] = [*make_stream(), *make_error_stream()]
    for _, mutate, _ in STREAM_MUTATIONS:
        docs.extend(mutate(make_stream()))
    for path in _capture_files():
        docs.extend(_load_capture(path, fix=False))
    return docs


def _wrong_value(value: Any, rng: random.Random) -> Any:
    return rng.choice([None, "x", 1, 1.5, True, [], {}, {"type": "x"}, [value]])


def _mutate_somewhere(doc: Any, rng: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    node, steps = doc, rng.randint(1, 6)
    for _ in range(steps):
        if isinstance(node, dict) and node:
            key = rng.choice(sorted(node))
            if rng.random() < 0.3 or not isinstance(node[key], (dict, list)) or not node[key]:
                if rng.random() < 0.3:
                    del node[key]
                else:
                    node[key] = _wrong_value(node[key], rng)
                return doc
            node = node[key]
        elif isinstance(node, list) and node:
            position = rng.randrange(len(node))
            if not isinstance(node[position], (dict, list)) or not node[position]:
                node[position] = _wrong_value(node[position], rng)
                return doc
            node = node[position]
    return doc


def test_fast_validator_agrees_with_stock_validator() -> None:
    compiled = _compiled()
    spec_path = str(openapi_spec_path())
    rng = random.Random(20261130)
    corpus = _corpus()
    docs = corpus + [_mutate_somewhere(d, rng) for d in rng.sample(corpus, min(400, len(corpus)))]
    responses = [d["response"] for d in corpus if isinstance(d.get("response"), dict)]
    docs += [_mutate_somewhere(r, rng) for r in responses for _ in range(3)]
    disagreements = []
    for doc in docs:
        schema = _schema_for(doc)
        fast = compiled.validator(schema).is_valid(doc)
        stock = _raw_validator(spec_path, schema).is_valid(doc)
        if fast != stock:
            disagreements.append((schema, fast, stock, json.dumps(doc)[:300]))
    assert not disagreements, disagreements[:3]
    assert sum(not compiled.validator(_schema_for(d)).is_valid(d) for d in docs) > 100  # the corpus has failures


def test_recursive_compound_filter_is_checked_through_the_registry() -> None:
    """`$recursiveRef: "#"` is read as the recursion it means (a stock 2020-12 validator ignores it)."""
    comparison = {"type": "eq", "key": "lang", "value": "fr"}
    nested = {"type": "and", "filters": [comparison, {"type": "or", "filters": [comparison]}]}
    assert schema_problems(nested, "CompoundFilter") == []
    bad = {"type": "and", "filters": [{"type": "or", "filters": [{"type": "xor", "filters": []}]}]}
    assert schema_problems(bad, "CompoundFilter") == ["$.filters[0].filters[0].type: 'xor' is not one of ['and', 'or']"]
    tool = {"type": "file_search", "vector_store_ids": ["vs_1"], "filters": bad}
    response = {**find(make_stream(), "response.completed")["response"], "tools": [tool]}
    with pytest.raises(ConformanceError, match=r"\$\.tools\[0\]\.filters\.filters\[0\]\.filters\[0\]\.type: 'xor'"):
        assert_response_conforms(response)


# ---------------------------------------------------------------------------------------------------------------
# Live captures pass
# ---------------------------------------------------------------------------------------------------------------


def _cache_write_tokens_backfilled(doc: JSONObject) -> JSONObject:
    response = doc.get("response", doc)
    usage = response.get("usage") if isinstance(response, dict) else None
    if isinstance(usage, dict):
        usage["input_tokens_details"].setdefault("cache_write_tokens", 0)
    return doc


# Captures that predate a field we always send, or that lost a byte in their recording. Each names its reason and is
# proven necessary below. These are not allow-list entries: the server must send the current shape.
CAPTURE_FIXUPS: dict[str, tuple[str, Callable[[str], str] | None, Callable[[JSONObject], JSONObject] | None]] = {
    "response-text-gpt-4.1-mini-2026-01.json": (
        "recorded 2026-01-05, before usage.input_tokens_details.cache_write_tokens appeared (SDK 3.57 requires it)",
        None,
        _cache_write_tokens_backfilled,
    ),
    "stream-text-gpt-5.2.sse": (
        "the Swift raw string drops the final blank line (SOURCES.md); recorded 2026-01-15, before cache_write_tokens",
        lambda text: text + "\n\n",
        _cache_write_tokens_backfilled,
    ),
    "stream-reasoning-summary-gpt-5.4.chunks.jsonl": (
        "recorded 2026-03-08, before usage.input_tokens_details.cache_write_tokens appeared",
        None,
        _cache_write_tokens_backfilled,
    ),
}


def _capture_files() -> list[Path]:
    return live_capture_files()


def _load_capture(path: Path, *, fix: bool = True) -> list[JSONObject]:
    text = path.read_text(encoding="utf-8")
    _, fix_text, fix_doc = CAPTURE_FIXUPS.get(path.name, ("", None, None))
    if fix and fix_text is not None:
        text = fix_text(text)
    if path.name.endswith(".sse"):
        docs = parse_sse(text) if fix or fix_text is None else parse_sse(text + "\n\n")
    elif path.name.endswith(".chunks.jsonl"):
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        docs = [json.loads(text)]
    if fix and fix_doc is not None:
        docs = [fix_doc(d) for d in docs]
    return docs


def _check_capture(path: Path, docs: list[JSONObject]) -> None:
    if path.name.endswith(".json"):
        (assert_error_conforms if path.name.startswith("error-") else assert_response_conforms)(docs[0])
    else:
        assert_stream_conforms(docs)


def _capture_params() -> list[Any]:
    return [pytest.param(p, id=p.name) for p in _capture_files()]


@pytest.mark.parametrize("path", _capture_params())
def test_live_capture_conforms(path: Path) -> None:
    _check_capture(path, _load_capture(path))


@pytest.mark.parametrize("name", sorted(CAPTURE_FIXUPS))
def test_capture_fixups_are_needed(name: str) -> None:
    path = reference_file(live_captures_dir() / name)
    _, fix_text, _ = CAPTURE_FIXUPS[name]
    if fix_text is not None:
        with pytest.raises(SSEFormatError, match="does not end with a blank line"):
            parse_sse(path.read_text(encoding="utf-8"))
    with pytest.raises(ConformanceError, match="'cache_write_tokens' is a required property"):
        _check_capture(path, _load_capture(path, fix=False))


def test_stream_captures_cover_the_rules() -> None:
    """The captures exercise what the judge checks: obfuscation, nested error, keyless name, several items."""
    files = {p.name: p for p in _capture_files()}
    events = [e for p in files.values() if not p.name.endswith(".json") for e in _load_capture(p)]
    types = {e["type"] for e in events}
    assert {"error", "response.failed", "response.incomplete", "response.reasoning_summary_text.delta"} <= types
    assert any("obfuscation" in e for e in events)
    assert any(e["type"] == "response.function_call_arguments.done" and "name" not in e for e in events)


# ---------------------------------------------------------------------------------------------------------------
# Strict SSE framing
# ---------------------------------------------------------------------------------------------------------------

_GOOD = 'event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n'

SSE_FAULTS = [
    ("CRLF line endings", _GOOD.replace("\n", "\r\n"), "CR in the stream"),
    ("no final blank line", _GOOD[:-1], "does not end with a blank line"),
    ("event name differs", _GOOD.replace("event: response.created", "event: response.done"), "differs from the data"),
    ("no event line", _GOOD.split("\n", 1)[1], "expected 2 lines"),
    ("two data lines", _GOOD.replace("\n\n", '\ndata: {"a":1}\n\n'), "expected 2 lines"),
    ("comment line", ": ping\n" + _GOOD, "expected 2 lines"),
    ("extra blank line", _GOOD + "\n" + _GOOD, "expected 2 lines"),
    ("id line", _GOOD.replace("event:", "id: 1\nevent:"), "expected 2 lines"),
    ("[DONE]", _GOOD + "event: done\ndata: [DONE]\n\n", "data is not JSON"),
    ("data without space", _GOOD.replace("data: ", "data:"), "second line must be 'data: <json>'"),
    ("lines swapped", 'data: {"type":"x"}\nevent: x\n\n', "first line must be 'event: <type>'"),
    ("NaN", _GOOD.replace('"sequence_number":0', '"sequence_number":NaN'), "data is not JSON"),
    ("array data", "event: x\ndata: [1]\n\n", "JSON object with a string 'type'"),
    ("no type", 'event: x\ndata: {"sequence_number":0}\n\n', "JSON object with a string 'type'"),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=n) for n, t, e in SSE_FAULTS])
def test_parse_sse_rejects_malformed_framing(text: str, expected: str) -> None:
    with pytest.raises(SSEFormatError, match=expected.replace("[", r"\[")):
        parse_sse(text)


def test_parse_sse_names_the_frame() -> None:
    text = _GOOD + _GOOD + _GOOD.replace("event: response.created", "event: nope")
    with pytest.raises(SSEFormatError, match=r"SSE frame #2 \(line 7\)"):
        parse_sse(text)
