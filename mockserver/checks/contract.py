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

from collections.abc import Mapping, Sequence

from ..core.validation import create_request_problems
from .contract_drift import ABSENT, KNOWN_DRIFT, Finding, KnownDrift, SchemaIssue
from .contract_schema import schema_problems
from .contract_stream import StreamChecker

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


# --- public checks ------------------------------------------------------------------------------------------------


def check_request(body: Mapping[str, object], profile: str = "openai") -> list[Finding]:
    """The problems of a create-response body, worded as the API words its 400s (one per parameter)."""
    return [Finding("request", param or "", message) for message, param, _ in create_request_problems(body, profile)]


def check_response(status: int, body: object) -> list[Finding]:
    """The problems of a JSON answer: a Response object for 2xx, the error envelope for >= 400."""
    if 200 <= status < 300:
        return [Finding("response", path, message) for path, message in schema_problems("response", body)]
    if status >= 400:
        return [Finding("response", path, message) for path, message in schema_problems("error body", body)]
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
