"""Contract checks: does a request, a JSON answer or a stream of events keep to the Responses API's contract?

A pure library for contract testing (a proxy in front of a real endpoint calls it on everything that goes through):

    check_request(body)             the create-request body, by the rules of `validation` (the API's own words)
    check_response(status, body)    a JSON answer: a Response object (2xx) or the error envelope (>= 400)
    StreamChecker().feed(event)     one SSE event as it arrives; `.finish()` at the end of the stream
    summarize(findings)             one bounded ASCII line, fit for an HTTP header value

Each problem is one `Finding` (where, JSON path, message), one per location: unions are dispatched on their `type`
(an unknown type is one finding, never an anyOf/oneOf dump) and, at one path, only the most telling error is kept.
The schemas are `data/response_contract.schema.json`; answers may carry keys the schema does not know (the live API
adds fields before the schema does), but a missing required key, a wrong type, enum value or id prefix is a finding.
Where the live API and the official schema disagree, the difference is listed once, with its reason, in
`KNOWN_DRIFT`, and gives no finding. Validators are compiled once, on first use.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import fastjsonschema
from jsonschema import (  # type: ignore[import-untyped, unused-ignore]  # no stubs in the test extras
    Draft202012Validator,
    ValidationError,
    validators,
)
from jsonschema.protocols import Validator  # type: ignore[import-untyped, unused-ignore]

from .validation import create_request_problems, json_kind

__all__ = [
    "ABSENT",
    "KNOWN_DRIFT",
    "Finding",
    "KnownDrift",
    "SchemaIssue",
    "StreamChecker",
    "check_request",
    "check_response",
    "summarize",
]

JSONPath = tuple[str | int, ...]
Schema = dict[str, Any]
Keyword = Callable[[Validator, Any, Any, Any], Iterator[ValidationError]]


@dataclass(frozen=True)
class Finding:
    """One way a request, an answer or an event breaks the contract."""

    where: str  # "request", "response", "stream", or "event 7 response.output_text.delta" (position in the stream)
    path: str  # JSON path inside that document, e.g. "output[0].content[0].annotations" ("" for the root)
    message: str  # one sentence naming what is wrong

    def __str__(self) -> str:
        return f"{self.where} at {self.path}: {self.message}" if self.path else f"{self.where}: {self.message}"


class _Absent(enum.Enum):
    VALUE = "absent"


ABSENT = _Absent.VALUE  # the value of a required member that is missing


@dataclass(frozen=True)
class SchemaIssue:
    """A schema violation before the allow-list: what `KnownDrift.excuses` decides on."""

    document: str  # "response", "error body", or the type of the event
    path: JSONPath  # inside the document; for a missing member, the path it should have
    keyword: str  # the schema keyword that failed: type, required, enum, const, x-dispatch, x-prefix, …
    value: object  # what is at `path` (ABSENT when missing)
    holder: object  # the object or array holding `path[-1]`
    response: Mapping[str, Any] | None  # the Response object the path lies in, if any
    response_path: JSONPath | None  # `path` relative to that Response


@dataclass(frozen=True)
class KnownDrift:
    """A known difference between the official schema and what the live API sends, which gives no finding.

    `excuses` recognises a schema issue showing exactly this difference; None for a rule of the stream lifecycle,
    which `StreamChecker` applies by name."""

    name: str
    reason: str
    excuses: Callable[[SchemaIssue], bool] | None = None


_UNFINISHED_STATUSES = ("queued", "in_progress", "failed", "cancelled")
_NESTED_ERROR_MEMBERS = (("code",), ("message",), ("param",))


def _user_null(issue: SchemaIssue) -> bool:
    return issue.response_path == ("user",) and issue.value is None


def _usage_null_unfinished(issue: SchemaIssue) -> bool:
    return (
        issue.response_path == ("usage",)
        and issue.value is None
        and issue.response is not None
        and issue.response.get("status") in _UNFINISHED_STATUSES
    )


def _without_cache_write_tokens(issue: SchemaIssue) -> bool:
    return issue.keyword == "required" and issue.response_path == (
        "usage",
        "input_tokens_details",
        "cache_write_tokens",
    )


def _insufficient_quota_code(issue: SchemaIssue) -> bool:
    return issue.response_path == ("error", "code") and issue.value == "insufficient_quota"


def _nested_error_event(issue: SchemaIssue) -> bool:
    return (
        issue.document == "error"
        and issue.keyword == "required"
        and issue.path in _NESTED_ERROR_MEMBERS
        and isinstance(issue.holder, Mapping)
        and isinstance(issue.holder.get("error"), Mapping)
    )


def _arguments_done_without_name(issue: SchemaIssue) -> bool:
    return (
        issue.document == "response.function_call_arguments.done"
        and issue.keyword == "required"
        and issue.path == ("name",)
    )


def _keepalive(issue: SchemaIssue) -> bool:
    return issue.keyword == "x-dispatch" and issue.path == ("type",) and issue.value == "keepalive"


def _cdn_error_code(issue: SchemaIssue) -> bool:
    holder = issue.holder
    return (
        issue.document == "error body"
        and issue.path == ("error", "code")
        and type(issue.value) is int
        and isinstance(holder, Mapping)
        and str(holder.get("type", "")).startswith("cf_")
    )


ERROR_THEN_FAILED = "error-event-then-response-failed"

KNOWN_DRIFT: tuple[KnownDrift, ...] = (
    KnownDrift(
        "response-user-null",
        'Every live Response carries `"user": null` when the request had no `user`; the schema types it as a '
        "(deprecated) string, not nullable.",
        _user_null,
    ),
    KnownDrift(
        "response-usage-null-while-unfinished",
        "`usage` is null until the response finishes: in response.created / queued / in_progress, in a "
        "response.failed that produced no tokens and in a cancelled response; the schema's usage is not nullable. "
        "A completed or incomplete response with `usage: null` is still a finding.",
        _usage_null_unfinished,
    ),
    KnownDrift(
        "usage-without-cache-write-tokens",
        "`usage.input_tokens_details.cache_write_tokens` (required by the schema and SDK 3.57) is absent from live "
        "captures before August 2026 (2025-11, 2026-01, 2026-03).",
        _without_cache_write_tokens,
    ),
    KnownDrift(
        "response-error-code-insufficient-quota",
        'After a quota `error` event the live response.failed carries `error.code: "insufficient_quota"`, which '
        "the schema's ResponseErrorCode enum lacks. Only that value is excused.",
        _insufficient_quota_code,
    ),
    KnownDrift(
        "error-event-nested",
        'The live `error` stream event nests its fields, {"type":"error","error":{type,code,message,param},'
        '"sequence_number":n}; the schema wants top-level code/message/param. The nested object must still be a '
        "complete error object.",
        _nested_error_event,
    ),
    KnownDrift(
        ERROR_THEN_FAILED,
        "After a live `error` event (a quota hit after admission) the stream may end with response.failed, so the "
        "error event is followed by one more terminal event.",
    ),
    KnownDrift(
        "function-call-arguments-done-without-name",
        "The live response.function_call_arguments.done has no `name` (nor has the SDK type); the schema requires "
        "it. When present it must still be a string.",
        _arguments_done_without_name,
    ),
    KnownDrift(
        "keepalive-event",
        'Long live streams carry {"type":"keepalive","sequence_number":n} (event: keepalive) during pauses; it is '
        "not a member of the schema's ResponseStreamEvent. It takes a sequence number (checked like any other).",
        _keepalive,
    ),
    KnownDrift(
        "cdn-gateway-error-envelope",
        "A 502/504 from the CDN in front of the API has `type` cf_bad_gateway / cf_gateway_timeout and the HTTP "
        "status as an integer `code`, where the schema wants a string or null.",
        _cdn_error_code,
    ),
)
_SCHEMA_DRIFT: tuple[Callable[[SchemaIssue], bool], ...] = tuple(
    drift.excuses for drift in KNOWN_DRIFT if drift.excuses is not None
)


# --- public checks ------------------------------------------------------------------------------------------------


def check_request(body: Mapping[str, object], profile: str = "openai") -> list[Finding]:
    """The problems of a create-response body, worded as the API words its 400s (one per parameter)."""
    return [Finding("request", param or "", message) for message, param, _ in create_request_problems(body, profile)]


def check_response(status: int, body: object) -> list[Finding]:
    """The problems of a JSON answer: a Response object for 2xx, the error envelope for >= 400."""
    if 200 <= status < 300:
        return [Finding("response", path, message) for path, message in _schema_problems("response", body)]
    if status >= 400:
        return [Finding("response", path, message) for path, message in _schema_problems("error body", body)]
    return [Finding("response", "", f"HTTP status {status} is neither a success (2xx) nor an error (>= 400)")]


def summarize(findings: Sequence[Finding], limit: int = 3, max_length: int = 400) -> str:
    """The first `limit` findings on one ASCII line of at most `max_length` characters (no control characters)."""
    if not findings:
        return "no contract findings"
    shown = "; ".join(str(finding) for finding in findings[:limit])
    more = f" (+{len(findings) - limit} more)" if len(findings) > limit else ""
    noun = "finding" if len(findings) == 1 else "findings"
    line = _ascii_line(f"{len(findings)} contract {noun}: {shown}")
    if len(line) + len(more) > max_length:
        line = line[: max(0, max_length - len(more) - 3)] + "..."
    return (line + more)[:max_length]


def _ascii_line(text: str) -> str:
    escaped = text.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(char if " " <= char <= "~" else " " for char in escaped)


# --- streams ------------------------------------------------------------------------------------------------------

_LIFECYCLE_STATUS = {
    "response.queued": "queued",
    "response.in_progress": "in_progress",
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}
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

Problem = tuple[str, str]  # path, message


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
        problems.extend(_schema_problems(event_type if isinstance(event_type, str) else "event", event))
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
            if event_type == "response.failed" and self._error_seen and _drift_allows(ERROR_THEN_FAILED):
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
        if event_type == "response.created" or event_type in _LIFECYCLE_STATUS:
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
            expected = _LIFECYCLE_STATUS[event_type]
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
            return [(value_key, f"{value_key} {_show(value)} is not its deltas joined, {_show(streamed)}")]
        return []


def _drift_allows(name: str) -> bool:
    return any(drift.name == name for drift in KNOWN_DRIFT)


def _one_per_path(problems: list[Problem]) -> list[Problem]:
    kept: dict[str, str] = {}
    for path, message in problems:
        kept.setdefault(path, message)
    return list(kept.items())


# --- schema checks ------------------------------------------------------------------------------------------------

_SCHEMA_FILE = "response_contract.schema.json"
_DOCUMENT_SCHEMAS = {"response": "response", "error body": "error_body"}  # any other document is an event
_KEYWORD_RANK = {"type": 0, "required": 1, "x-dispatch": 2, "const": 3, "enum": 3, "x-prefix": 4}
_LIFECYCLE_EVENTS = frozenset({"response.created", *_LIFECYCLE_STATUS})


@dataclass(frozen=True)
class _Contract:
    validators: Mapping[str, Validator]  # "response", "error_body", "event"
    event_schemas: Mapping[str, Schema]  # each event type's own schema, references inlined


def _schema_problems(document: str, instance: object) -> list[Problem]:
    """The findings of one document against its schema, after the allow-list: (path, message), one per path."""
    fast_check = _fast_event_check(document)
    if fast_check is not None and fast_check(instance):
        return []
    validator = _contract().validators[_DOCUMENT_SCHEMAS.get(document, "event")]
    if validator.is_valid(instance):
        return []
    best: dict[str, tuple[int, str]] = {}
    for error in validator.iter_errors(instance):
        issue = _issue(document, instance, error)
        if any(excuses(issue) for excuses in _SCHEMA_DRIFT):
            continue
        path = _path_text(issue.path)
        rank = _KEYWORD_RANK.get(issue.keyword, len(_KEYWORD_RANK))
        if path not in best or rank < best[path][0]:
            best[path] = (rank, _message(issue, error))
    return [(path, message) for path, (_, message) in best.items()]


def _issue(document: str, instance: object, error: ValidationError) -> SchemaIssue:
    path: JSONPath = tuple(error.absolute_path)
    holder = _lookup(instance, path[:-1]) if path else None
    response: Mapping[str, Any] | None = None
    response_path: JSONPath | None = None
    if document == "response" and isinstance(instance, Mapping):
        response, response_path = instance, path
    elif document in _LIFECYCLE_EVENTS and path[:1] == ("response",) and isinstance(instance, Mapping):
        found = instance.get("response")
        response, response_path = (found, path[1:]) if isinstance(found, Mapping) else (None, None)
    return SchemaIssue(document, path, str(error.validator), _lookup(instance, path), holder, response, response_path)


def _lookup(instance: object, path: JSONPath) -> object:
    node = instance
    for part in path:
        if isinstance(node, Mapping) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return ABSENT
    return node


def _path_text(path: JSONPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _message(issue: SchemaIssue, error: ValidationError) -> str:
    keyword, value, expected = issue.keyword, issue.value, error.validator_value
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        return f"expected {' or '.join(_TYPE_WORDS.get(name, name) for name in names)}, got {json_kind(value)}"
    if keyword == "required":
        return f"the required key {issue.path[-1]!r} is missing"
    if keyword == "enum":
        options = [_show(option) for option in expected]
        listed = ", ".join(options[:6]) + (f" or {len(options) - 6} more" if len(options) > 6 else "")
        return f"{_show(value)} is not one of {listed}"
    if keyword == "const":
        return f"expected {_show(expected)}, got {_show(value)}"
    if keyword == "minimum":
        return f"expected a value >= {expected}, got {_show(value)}"
    return str(error.message) if len(error.message) <= 160 else error.message[:157] + "..."


def _show(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr) if value is not ABSENT else "nothing"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- compiling the schemas (once) ---------------------------------------------------------------------------------


@cache
def _contract() -> _Contract:
    root: Schema = json.loads((files("mockserver") / "data" / _SCHEMA_FILE).read_text(encoding="utf-8"))
    groups = {
        name: {"noun": group["noun"], "types": {tag: _inlined(branch, root) for tag, branch in group["types"].items()}}
        for name, group in root["dispatch"].items()
    }
    keywords = {"required": _required, "x-dispatch": _dispatch_keyword(groups), "x-prefix": _prefix}
    validator_class = validators.extend(Draft202012Validator, keywords)
    documents = {name: validator_class(_inlined(schema, root)) for name, schema in root["documents"].items()}
    return _Contract(documents, groups["event"]["types"])


@cache
def _fast_event_check(event_type: str) -> Callable[[object], bool] | None:
    """A generated validator (fastjsonschema: ~1 µs instead of ~70) for an event type whose schema uses only standard
    keywords (deltas, dones: most of a stream); None for the others, which the detailed validator judges alone.
    Only its "valid" is trusted: an event it rejects is judged again by the detailed validator."""
    schema = _contract().event_schemas.get(event_type)
    if schema is None or _uses_own_keywords(schema):
        return None
    check = fastjsonschema.compile(schema)

    def is_valid(instance: object) -> bool:
        try:
            check(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return is_valid


def _uses_own_keywords(node: Any) -> bool:
    if isinstance(node, list):
        return any(_uses_own_keywords(item) for item in node)
    if not isinstance(node, dict):
        return False
    return any(key.startswith("x-") or _uses_own_keywords(value) for key, value in node.items())


def _inlined(node: Any, root: Schema) -> Any:
    """The schema with every local `$ref` replaced by its target and `allOf` members merged into their parent where
    nothing collides: the same verdicts with fewer levels to descend (the schema has no recursion)."""
    if isinstance(node, list):
        return [_inlined(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    merged = {key: _inlined(value, root) for key, value in node.items() if key not in ("$ref", "allOf")}
    members = [_inlined(_target(root, node["$ref"]), root)] if "$ref" in node else []
    members += [_inlined(member, root) for member in node.get("allOf", ())]
    for member in members:
        merged = _merge(merged, member)
    return merged


def _target(root: Schema, ref: str) -> Any:
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _merge(schema: Schema, member: Schema) -> Schema:
    """`schema` and `member` both applying, as one schema (an `allOf` entry where their keywords differ)."""
    clashes = [key for key in member if key in schema and schema[key] != member[key]]
    if any(key not in ("required", "properties") for key in clashes):
        return {**schema, "allOf": [*schema.get("allOf", ()), member]}
    merged = {**member, **schema}
    if "required" in clashes:
        merged["required"] = list(dict.fromkeys([*member["required"], *schema["required"]]))
    if "properties" in clashes:
        properties = dict(member["properties"])
        for name, sub in schema["properties"].items():
            properties[name] = {"allOf": [properties[name], sub]} if name in properties else sub
        merged["properties"] = properties
    return merged


def _required(validator: Validator, required: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """One error per missing member, at the member's own path."""
    if isinstance(instance, dict):
        for name in required:
            if name not in instance:
                yield ValidationError(f"the required key {name!r} is missing", path=[name])


def _dispatch_keyword(groups: Mapping[str, Any]) -> Keyword:
    def dispatch(validator: Validator, group: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        tag = instance.get("type") if isinstance(instance, dict) else None
        if not isinstance(tag, str):
            return  # `type` missing or not a string: the schema beside this keyword says so
        branch = groups[group]["types"].get(tag)
        if branch is None:
            noun = groups[group]["noun"]
            yield ValidationError(f"unknown {noun} type {_show(tag)}", path=["type"], instance=tag)
        else:
            yield from validator.descend(instance, branch)

    return dispatch


def _prefix(validator: Validator, prefix: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not instance.startswith(prefix):
        yield ValidationError(f"expected an id starting with {prefix!r}, got {_show(instance)}")
