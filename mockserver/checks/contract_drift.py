"""The contract's vocabulary (`Finding`, `SchemaIssue`) and `KNOWN_DRIFT`: where the live API and the official schema
disagree, each difference once, with its reason; a difference listed here gives no finding.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

JSONPath = tuple[str | int, ...]


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
SCHEMA_DRIFT: tuple[Callable[[SchemaIssue], bool], ...] = tuple(
    drift.excuses for drift in KNOWN_DRIFT if drift.excuses is not None
)


def drift_allows(name: str) -> bool:
    return any(drift.name == name for drift in KNOWN_DRIFT)
