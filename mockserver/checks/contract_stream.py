"""The stream half of the contract: `StreamChecker` takes one SSE event at a time and checks its schema and the
lifecycle rules (order, sequence numbers, items and parts before their deltas, deltas adding up, one terminal event).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.validation import json_kind
from .contract_drift import ERROR_THEN_FAILED, Finding, drift_allows
from .contract_schema import LIFECYCLE_STATUS, Problem, schema_problems, show

_TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")

# delta event -> (its done event, the key of the full value there, the key of the part it belongs to)
_TEXT_STREAMS: Mapping[str, tuple[str, str, str | None]] = {
    "response.output_text.delta": ("response.output_text.done", "text", "content_index"),
    "response.refusal.delta": ("response.refusal.done", "refusal", "content_index"),
    "response.reasoning_text.delta": ("response.reasoning_text.done", "text", "content_index"),
    "response.reasoning_summary_text.delta": ("response.reasoning_summary_text.done", "text", "summary_index"),
    "response.function_call_arguments.delta": ("response.function_call_arguments.done", "arguments", None),
    "response.custom_tool_call_input.delta": ("response.custom_tool_call_input.done", "input", None),
    "response.mcp_call_arguments.delta": ("response.mcp_call_arguments.done", "arguments", None),
    "response.code_interpreter_call_code.delta": ("response.code_interpreter_call_code.done", "code", None),
}
_DONE_TO_DELTA = {done: delta for delta, (done, _, _) in _TEXT_STREAMS.items()}
_PART_EVENTS = {  # part event -> the key of the part's index
    "response.content_part.added": "content_index",
    "response.content_part.done": "content_index",
    "response.reasoning_summary_part.added": "summary_index",
    "response.reasoning_summary_part.done": "summary_index",
}
_PART_ADDERS = {
    "content_index": "response.content_part.added",
    "summary_index": "response.reasoning_summary_part.added",
}
# Which item types an event family may name (the SDK accumulators assume these).
_FAMILY_ITEM_TYPES: tuple[tuple[str, frozenset[str]], ...] = (
    ("response.output_text.", frozenset({"message"})),
    ("response.refusal.", frozenset({"message"})),
    ("response.content_part.", frozenset({"message", "reasoning"})),
    ("response.function_call_arguments.", frozenset({"function_call"})),
    ("response.reasoning_summary_", frozenset({"reasoning"})),
    ("response.reasoning_text.", frozenset({"reasoning"})),
    ("response.custom_tool_call_input.", frozenset({"custom_tool_call"})),
    ("response.web_search_call.", frozenset({"web_search_call"})),
    ("response.file_search_call.", frozenset({"file_search_call"})),
    ("response.code_interpreter_call", frozenset({"code_interpreter_call"})),
    ("response.image_generation_call.", frozenset({"image_generation_call"})),
    ("response.mcp_call", frozenset({"mcp_call"})),
    ("response.mcp_list_tools.", frozenset({"mcp_list_tools"})),
)


@dataclass
class _StreamedItem:
    id: object
    type: object
    done: bool = False
    parts: dict[tuple[str, int], bool] = field(default_factory=dict)  # (index key, index) -> done
    texts: dict[tuple[str, object], str] = field(default_factory=dict)  # (delta type, part index) -> deltas so far
    lost_events: bool = False  # some of its events were refused (already a finding): its deltas cannot add up


class StreamChecker:
    """The checks of one SSE stream, fed event by event: each event's schema and the lifecycle rules.

    The first event is response.created (keepalives aside); sequence_number counts from 0 by 1; an item is added
    (at the next output_index) before any event names it, and a content or summary part before its deltas; deltas
    add up to their `*.done` value; lifecycle events carry their status and the stream's response id; exactly one
    terminal event (response.completed / incomplete / failed, or an `error` event) ends the stream."""

    def __init__(self) -> None:
        self._position = 0
        self._started = False
        self._created_seen = False
        self._last_sequence: int | None = None
        self._response_id: object = None
        self._items: dict[int, _StreamedItem] = {}
        self._orphans: set[int] = set()  # output indexes named before their item was added
        self._ended_by: str | None = None  # "response.completed at event 9"
        self._error_seen = False
        self._trailing_reported = False

    def feed(self, event: Mapping[str, object], event_name: str | None = None) -> list[Finding]:
        """The findings of the next event (`event_name`: the SSE `event:` line, when the transport has one)."""
        position = self._position
        self._position += 1
        if not isinstance(event, Mapping):
            return [Finding(f"event {position}", "", f"an event must be a JSON object, got {json_kind(event)}")]
        event_type = event.get("type")
        where = f"event {position} {event_type}" if isinstance(event_type, str) else f"event {position}"
        problems: list[Problem] = []
        if event_name is not None and event_name != event_type:
            problems.append(("type", f"the SSE event name {event_name!r} differs from the data's type {event_type!r}"))
        problems.extend(schema_problems(event_type if isinstance(event_type, str) else "event", event))
        problems.extend(self._sequence(position, event))
        if isinstance(event_type, str):
            problems.extend(self._lifecycle(position, event_type, event))
        return [Finding(where, path, message) for path, message in _one_per_path(problems)]

    def finish(self) -> list[Finding]:
        """The findings of the stream as a whole, once it has ended."""
        if self._position == 0:
            return [Finding("stream", "", "the stream has no events")]
        if self._ended_by is None:
            return [
                Finding(
                    "stream",
                    "",
                    f"the stream ended after {self._position} events without a terminal event "
                    "(response.completed, response.incomplete, response.failed or error)",
                )
            ]
        return []

    # -- order ---------------------------------------------------------------------------------------------------

    def _sequence(self, position: int, event: Mapping[str, object]) -> list[Problem]:
        number = event.get("sequence_number")
        expected = 0 if self._last_sequence is None else self._last_sequence + 1
        if type(number) is not int:
            self._last_sequence = expected  # it took its place in the count
            got = json_kind(number) if "sequence_number" in event else "nothing"
            return [("sequence_number", f"expected an integer, got {got}")]
        self._last_sequence = number  # follow the stream as sent, so one skip is one finding
        if number != expected:
            rule = "sequence numbers start at 0" if position == 0 else "sequence numbers rise by 1"
            return [("sequence_number", f"sequence_number {number}, expected {expected} ({rule})")]
        return []

    def _lifecycle(self, position: int, event_type: str, event: Mapping[str, object]) -> list[Problem]:
        if self._ended_by is not None:
            if event_type == "response.failed" and self._error_seen and drift_allows(ERROR_THEN_FAILED):
                self._error_seen = False
                return self._lifecycle_event(position, event_type, event)
            if self._trailing_reported:
                return []
            self._trailing_reported = True
            return [("", f"{event_type} after the end of the stream ({self._ended_by}); nothing may follow it")]
        if event_type == "keepalive":
            return []
        problems: list[Problem] = []
        if not self._started and event_type != "response.created":
            problems.append(("type", f"the stream must start with response.created, not {event_type}"))
        self._started = True
        if event_type == "response.created" or event_type in LIFECYCLE_STATUS:
            problems.extend(self._lifecycle_event(position, event_type, event))
        elif event_type == "error":
            self._ended_by = f"error at event {position}"
            self._error_seen = True
        elif event_type == "response.output_item.added":
            problems.extend(self._item_added(event))
        elif event_type == "response.output_item.done":
            problems.extend(self._item_done(event_type, event))
        elif "output_index" in event:
            problems.extend(self._item_event(event_type, event))
        return problems

    def _lifecycle_event(self, position: int, event_type: str, event: Mapping[str, object]) -> list[Problem]:
        response = event.get("response")
        if not isinstance(response, Mapping):
            return []
        problems: list[Problem] = []
        status = response.get("status")
        if event_type == "response.created":
            if self._created_seen:
                problems.append(("type", "response.created again: it comes first, once"))
            self._created_seen = True
            if status not in ("in_progress", "queued"):
                problems.append(
                    (
                        "response.status",
                        f"response.created carries status {status!r}, expected 'in_progress' or 'queued'",
                    )
                )
            self._response_id = response.get("id")
        else:
            expected = LIFECYCLE_STATUS[event_type]
            if status != expected:
                problems.append(("response.status", f"{event_type} carries status {status!r}, expected {expected!r}"))
            if self._response_id is not None and response.get("id") != self._response_id:
                problems.append(
                    (
                        "response.id",
                        f"response id {response.get('id')!r} differs from {self._response_id!r} of response.created",
                    )
                )
        if event_type in _TERMINAL_EVENTS:
            self._ended_by = f"{event_type} at event {position}"
            if event_type != "response.failed":
                problems.extend(self._terminal_output(response))
        return problems

    def _terminal_output(self, response: Mapping[str, Any]) -> list[Problem]:
        output = response.get("output")
        unfinished = [index for index, item in sorted(self._items.items()) if not item.done]
        if unfinished:
            return [
                ("response.output", f"output item {unfinished[0]} was added but never got response.output_item.done")
            ]
        if isinstance(output, list) and len(output) != len(self._items):
            return [("response.output", f"{len(output)} items, but {len(self._items)} were streamed")]
        return []

    # -- items ---------------------------------------------------------------------------------------------------

    def _item_added(self, event: Mapping[str, object]) -> list[Problem]:
        index, item = event.get("output_index"), event.get("item")
        if type(index) is not int or not isinstance(item, Mapping):
            return []
        if index in self._items:
            return [("output_index", f"output_index {index} was already added")]
        expected = len(self._items)
        self._items[index] = _StreamedItem(item.get("id"), item.get("type"), lost_events=index in self._orphans)
        if index != expected:
            return [("output_index", f"output_index {index}, expected {expected} (items are added in order from 0)")]
        return []

    def _named_item(self, event_type: str, event: Mapping[str, object]) -> tuple[_StreamedItem | None, list[Problem]]:
        index = event.get("output_index")
        if type(index) is not int:
            return None, []
        item = self._items.get(index)
        if item is None:
            self._orphans.add(index)
            return None, [
                ("output_index", f"{event_type} for output_index {index} before its response.output_item.added")
            ]
        if item.done:
            return None, [
                ("output_index", f"{event_type} for output_index {index} after its response.output_item.done")
            ]
        return item, []

    def _item_done(self, event_type: str, event: Mapping[str, object]) -> list[Problem]:
        found, problems = self._named_item(event_type, event)
        item = event.get("item")
        if found is None or not isinstance(item, Mapping):
            return problems
        found.done = True
        if item.get("id") != found.id:
            return [("item.id", f"the item's id changed from {found.id!r} (added) to {item.get('id')!r}")]
        return []

    def _item_event(self, event_type: str, event: Mapping[str, object]) -> list[Problem]:
        found, problems = self._named_item(event_type, event)
        if found is None:
            return problems
        if "item_id" in event and event["item_id"] != found.id:
            found.lost_events = True
            return [("item_id", f"item_id {event['item_id']!r} is not the id {found.id!r} of that output item")]
        for prefix, item_types in _FAMILY_ITEM_TYPES:
            if event_type.startswith(prefix) and found.type not in item_types:
                found.lost_events = True
                return [("output_index", f"{event_type} names a {found.type!r} item")]
        if event_type in _PART_EVENTS:
            return self._part_event(event_type, event, found)
        if event_type in _TEXT_STREAMS or event_type in _DONE_TO_DELTA:
            return self._text_event(event_type, event, found)
        return []

    def _part_event(self, event_type: str, event: Mapping[str, object], found: _StreamedItem) -> list[Problem]:
        key = _PART_EVENTS[event_type]
        adder = _PART_ADDERS[key]
        index = event.get(key)
        if type(index) is not int:
            return []
        if event_type == adder:
            if (key, index) in found.parts:
                return [(key, f"{key} {index} was already added")]
            found.parts[(key, index)] = False
            return []
        if (key, index) not in found.parts:
            return [(key, f"{event_type} for {key} {index} before its {adder}")]
        found.parts[(key, index)] = True
        return []

    def _text_event(self, event_type: str, event: Mapping[str, object], found: _StreamedItem) -> list[Problem]:
        delta_type = event_type if event_type in _TEXT_STREAMS else _DONE_TO_DELTA[event_type]
        _, value_key, part_key = _TEXT_STREAMS[delta_type]
        part_index = event.get(part_key) if part_key else None
        if part_key is not None and type(part_index) is int and (part_key, part_index) not in found.parts:
            found.lost_events = True
            return [(part_key, f"{event_type} for {part_key} {part_index} before its {_PART_ADDERS[part_key]}")]
        streamed = found.texts.get((delta_type, part_index), "")
        if event_type == delta_type:
            delta = event.get("delta")
            if isinstance(delta, str):
                found.texts[(delta_type, part_index)] = streamed + delta
            return []
        value = event.get(value_key)
        if isinstance(value, str) and value != streamed and not found.lost_events:
            return [(value_key, f"{value_key} {show(value)} is not its deltas joined, {show(streamed)}")]
        return []


def _one_per_path(problems: list[Problem]) -> list[Problem]:
    kept: dict[str, str] = {}
    for path, message in problems:
        kept.setdefault(path, message)
    return list(kept.items())
