"""What the journal says about the client: did it retry as a well-behaved API client should?

Verdicts judge what went over the wire, whoever sent it (the SDK's own retries or an application's retry loop).
Requests are grouped into logical calls; a request continues the call of an earlier one (it is a retry) when
- it counts `x-stainless-retry-count: N` and that call's last attempt counted N - 1 (the official SDKs), or
- it carries the same `idempotency-key` header as that call, or
- it re-sends the same method, path and body within `RESEND_WINDOW_S` of that call's last attempt, which was refused
  (HTTP 400 and above) or never answered: a request repeated after a success is a new call.
The findings:

- `retried_non_retryable`: a retry after 400, 401, 403, 404 or 422, which a client must not retry;
- `retried_too_soon`: a retry sent before the `retry-after-ms` / `retry-after` the server asked for had passed;
- `resent_after_broken_stream`: a new call with the same body after a stream that ended without a terminal event
  (not a failure: the SDKs never retry such a stream themselves, so this is the application coming back).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..state.journal import Entry

NOT_RETRYABLE = frozenset({400, 401, 403, 404, 422})
TERMINAL_ENDS = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})
# Clocks of client and server are the same machine's, but scheduling adds a little jitter.
RETRY_WAIT_TOLERANCE_MS = 5.0
RESEND_WINDOW_S = 60.0
"""How long after a refused attempt the same request counts as its retry rather than a new call."""
IDEMPOTENCY_HEADER = "idempotency-key"


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    failure: bool


@dataclass(frozen=True)
class Call:
    """One logical call: its first attempt and the retries that followed."""

    attempts: tuple[Entry, ...]

    @property
    def retries(self) -> int:
        return len(self.attempts) - 1


def logical_calls(entries: Iterable[Entry]) -> list[Call]:
    calls: list[list[Entry]] = []
    for entry in entries:
        retried = next((attempts for attempts in reversed(calls) if _retries(entry, attempts)), None)
        if retried is None:
            calls.append([entry])
        else:
            retried.append(entry)
    return [Call(tuple(attempts)) for attempts in calls]


def _retries(entry: Entry, attempts: list[Entry]) -> bool:
    """Whether `entry` is the next attempt of the call made of `attempts` (see the module's rules)."""
    last = attempts[-1]
    if entry.path != last.path or entry.method != last.method:
        return False
    if entry.retry_count > 0:
        return last.retry_count == entry.retry_count - 1
    key = entry.headers.get(IDEMPOTENCY_HEADER)
    if key is not None:
        return last.headers.get(IDEMPOTENCY_HEADER) == key
    refused = last.status is None or last.status >= 400
    recent = last.finished_at is not None and entry.at - last.finished_at <= RESEND_WINDOW_S
    return refused and recent and entry.body is not None and entry.body == last.body


def findings(entries: Iterable[Entry]) -> list[Finding]:
    listed = list(entries)
    found: list[Finding] = []
    for call in logical_calls(listed):
        for previous, attempt in zip(call.attempts, call.attempts[1:], strict=False):
            found.extend(_retry_findings(previous, attempt))
    found.extend(_resends_after_broken_streams(listed))
    return found


def _retry_findings(previous: Entry, attempt: Entry) -> list[Finding]:
    found = []
    if previous.status in NOT_RETRYABLE:
        found.append(
            Finding(
                "retried_non_retryable",
                f"request #{attempt.number} retried request #{previous.number}, which got HTTP {previous.status}: "
                "a client must not retry that status",
                failure=True,
            )
        )
    if previous.retry_hint_ms is not None and previous.finished_at is not None:
        waited_ms = (attempt.at - previous.finished_at) * 1000
        if waited_ms + RETRY_WAIT_TOLERANCE_MS < previous.retry_hint_ms:
            found.append(
                Finding(
                    "retried_too_soon",
                    f"request #{attempt.number} came {waited_ms:.0f} ms after request #{previous.number}, "
                    f"which asked the client to wait {previous.retry_hint_ms:.0f} ms",
                    failure=True,
                )
            )
    return found


def _resends_after_broken_streams(entries: list[Entry]) -> list[Finding]:
    found = []
    for index, entry in enumerate(entries):
        if not entry.streamed or entry.stream_end in TERMINAL_ENDS or entry.stream_end is None:
            continue
        for later in entries[index + 1 :]:
            if later.retry_count == 0 and later.path == entry.path and later.body == entry.body:
                found.append(
                    Finding(
                        "resent_after_broken_stream",
                        f"request #{later.number} re-sent request #{entry.number}, whose stream ended "
                        f"without a terminal event ({entry.stream_end})",
                        failure=False,
                    )
                )
                break
    return found


def verdict(entries: Iterable[Entry]) -> str:
    """A readable summary: the calls, their retries, and every finding."""
    listed = list(entries)
    calls = logical_calls(listed)
    lines = [f"{len(listed)} requests in {len(calls)} calls, {sum(call.retries for call in calls)} retries."]
    found = findings(listed)
    lines.extend(("FAIL " if finding.failure else "note ") + finding.message for finding in found)
    if not any(finding.failure for finding in found):
        lines.append("The client behaved.")
    return "\n".join(lines)


def assert_client_behaved(entries: Iterable[Entry]) -> None:
    """Raise `AssertionError` with the verdict when the client retried what it must not, or too soon."""
    listed = list(entries)
    if any(finding.failure for finding in findings(listed)):
        raise AssertionError("The client misbehaved:\n" + verdict(listed))
