"""The request journal and the client verdicts drawn from it."""

from __future__ import annotations

import openai
import pytest

from mockserver import MockServer, Settings
from mockserver.checks.verdicts import assert_client_behaved, findings, logical_calls, verdict
from mockserver.state.journal import Entry, Journal, redact


def attempt(journal: Journal, at: float, retry: int, status: int, *, hint_ms: float | None = None) -> Entry:
    headers = {"x-stainless-retry-count": str(retry), "authorization": "Bearer sk-secret"}
    entry = journal.open(at, "POST", "/v1/responses", headers)
    entry.status = status
    entry.finished_at = at + 0.001
    entry.retry_hint_ms = hint_ms
    entry.body = {"model": "gpt-4.1", "input": "hi"}
    return entry


def test_secrets_are_redacted() -> None:
    assert redact({"authorization": "Bearer sk-1", "x-api-key": "k", "x-tenant": "acme"}) == {
        "authorization": "Bearer ***",
        "x-api-key": "***",
        "x-tenant": "acme",
    }


def test_ring_buffer_keeps_the_newest() -> None:
    journal = Journal(size=3)
    for number in range(5):
        journal.open(float(number), "POST", f"/p{number}", {})

    assert [entry.path for entry in journal] == ["/p2", "/p3", "/p4"]
    assert journal.last is not None and journal.last.number == 5
    assert len(journal) == 3


def test_filters() -> None:
    journal = Journal()
    first = journal.open(0, "POST", "/v1/responses", {})
    first.body, first.scenario = {"model": "a"}, "s1"
    second = journal.open(0, "GET", "/v1/models", {})
    second.body = None

    assert journal.filter(scenario="s1") == [first]
    assert journal.filter(model="a") == [first]
    assert journal.filter(path="/v1/models") == [second]
    assert journal.to_json(scenario="s1")[0]["model"] == "a"


def test_logical_calls_group_retries() -> None:
    journal = Journal()
    attempt(journal, 0.0, 0, 503)
    attempt(journal, 0.1, 1, 503)
    attempt(journal, 0.2, 2, 200)
    attempt(journal, 0.3, 0, 200)

    assert [call.retries for call in logical_calls(journal)] == [2, 0]


def test_well_behaved_client() -> None:
    journal = Journal()
    attempt(journal, 0.0, 0, 429, hint_ms=20)
    attempt(journal, 0.05, 1, 200)

    assert findings(journal) == []
    assert verdict(journal) == "2 requests in 1 calls, 1 retries.\nThe client behaved."
    assert_client_behaved(journal)


def test_retrying_a_400_and_not_waiting_are_failures() -> None:
    journal = Journal()
    attempt(journal, 0.0, 0, 400)
    attempt(journal, 0.01, 1, 429, hint_ms=1000)
    attempt(journal, 0.02, 2, 200)

    with pytest.raises(AssertionError) as caught:
        assert_client_behaved(journal)
    message = str(caught.value)
    assert "request #2 retried request #1, which got HTTP 400: a client must not retry that status" in message
    assert "request #3 came 9 ms after request #2, which asked the client to wait 1000 ms" in message


def test_resending_after_a_broken_stream_is_noted_not_failed() -> None:
    journal = Journal()
    broken = attempt(journal, 0.0, 0, 200)
    broken.streamed, broken.stream_end = True, "cut"
    attempt(journal, 0.5, 0, 200)

    (finding,) = findings(journal)
    assert finding.kind == "resent_after_broken_stream" and not finding.failure
    assert_client_behaved(journal)


def resent(journal: Journal, at: float, status: int, *, hint_ms: float | None = None, **headers: str) -> Entry:
    """An attempt sent by an application's own loop: no `x-stainless-retry-count`."""
    entry = journal.open(
        at, "POST", "/v1/responses", {name.replace("_", "-"): value for name, value in headers.items()}
    )
    entry.status, entry.finished_at, entry.retry_hint_ms = status, at + 0.001, hint_ms
    entry.body = {"model": "gpt-4.1", "input": "hi"}
    return entry


def test_an_applications_own_retry_loop_is_judged_like_the_sdks() -> None:
    journal = Journal()
    resent(journal, 0.0, 429, hint_ms=500)
    resent(journal, 0.011, 400)
    resent(journal, 0.02, 200)

    assert [call.retries for call in logical_calls(journal)] == [2]
    assert [finding.kind for finding in findings(journal)] == ["retried_too_soon", "retried_non_retryable"]
    assert "request #2 came 10 ms after request #1, which asked the client to wait 500 ms" in verdict(journal)


def test_the_same_request_after_a_success_or_long_after_a_refusal_is_a_new_call() -> None:
    journal = Journal()
    resent(journal, 0.0, 200)
    resent(journal, 0.01, 400)
    resent(journal, 100.0, 200)  # past the resend window

    assert [call.retries for call in logical_calls(journal)] == [0, 0, 0]
    assert findings(journal) == []


def test_an_idempotency_key_marks_a_retry_even_with_another_body() -> None:
    journal = Journal()
    resent(journal, 0.0, 503, hint_ms=100, idempotency_key="k1")
    other = resent(journal, 0.2, 200, idempotency_key="k1")
    other.body = {"model": "gpt-4.1", "input": "changed"}
    resent(journal, 0.3, 200, idempotency_key="k2")

    assert [call.retries for call in logical_calls(journal)] == [1, 0]
    assert findings(journal) == []


def test_a_retry_loop_without_the_sdks_retries_is_caught_over_the_wire() -> None:
    with MockServer(Settings(port=0, scenario_paths=())) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        limited = {"x-mock-error": "{preset: rate_limit, retry_after_ms: 500}"}
        for _ in range(2):  # the application retries at once, ignoring the 500 ms it was asked to wait
            with pytest.raises(openai.RateLimitError):
                client.responses.create(model="gpt-4.1", input="hi", extra_headers=limited)
        client.close()
        (finding,) = findings(server.service.journal)

    assert finding.kind == "retried_too_soon" and "asked the client to wait 500 ms" in finding.message
