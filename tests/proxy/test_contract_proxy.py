"""The contract proxy end to end: a second mock server plays the upstream (`fixtures/scenarios/upstream.yaml`), and
the proxy in front of it checks every forwarded request and upstream answer against the API's contract."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import openai
import pytest

from mockserver import MockServer, Settings
from mockserver.proxy.contract_proxy import CONTRACT_HEADER
from tests.conftest import KEY_HEADERS
from tests.upstream_mock import upstream_server


@pytest.fixture
def upstream() -> Iterator[MockServer]:
    with upstream_server() as server:
        yield server


@contextmanager
def proxy(upstream: MockServer, **options: Any) -> Iterator[MockServer]:
    settings = Settings(
        port=0, log_level="warning", scenario_paths=(), upstream=upstream.base_url, record_mode="record", **options
    )
    with MockServer(settings) as server:
        yield server


def post(server: MockServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.base_url + "/responses", json=body, headers={"authorization": "Bearer sk-test"})


def forwarded(upstream: MockServer) -> int:
    return sum(1 for entry in upstream.service.journal if entry.path == "/v1/responses")


def test_clean_traffic_gives_no_findings(upstream: MockServer) -> None:
    with proxy(upstream) as server, openai.OpenAI(base_url=server.base_url, api_key="sk-test") as client:
        answer = client.responses.with_raw_response.create(model="gpt-4.1", input="hello")
        events = list(client.responses.create(model="gpt-thinker", input="2 + 2?", stream=True))
        with client.responses.stream(model="gpt-slow", input="a story") as stream:
            final = stream.get_final_response()

        assert CONTRACT_HEADER not in answer.headers
        assert answer.parse().output_text == "Hello from upstream! How can I help?"
        assert events[-1].type == "response.completed" and final.status == "completed"
        entries = [entry for entry in server.service.journal if entry.upstream]
        assert len(entries) == 3 and all(entry.contract == [] for entry in entries)


def test_a_json_answer_that_breaks_the_schema_is_reported_in_the_header_log_and_journal(
    upstream: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    with proxy(upstream) as server, caplog.at_level(logging.WARNING, logger="mockserver.proxy"):
        answer = post(server, {"model": "gpt-bad-item", "input": "search"})

        assert answer.status_code == 200  # report-only: the client gets what the upstream sent
        assert answer.json()["output"][0]["status"] == 42
        assert answer.headers[CONTRACT_HEADER].startswith("1 contract finding: response at output[0].status: 42")
        entry = server.service.journal.last
        assert entry is not None and entry.contract == [
            'response at output[0].status: 42 is not one of "in_progress", "searching", "completed", "failed", '
            '"incomplete"'
        ]
        assert "output[0].status" in caplog.text
        journal = httpx.get(server.url + "/__mock__/journal").json()
        assert journal["requests"][-1]["contract"] == entry.contract
        # The upstream's scripted item is broken on purpose, and is also a call to a hosted tool nobody offered.
        scripted = upstream.service.journal.last
        assert scripted is not None and scripted.findings == [
            "Scenario 'malformed-item' sent a web_search_call, but the request offers no web_search tool; the live API "
            "runs only the tools offered."
        ]


def test_a_malformed_stream_is_relayed_and_reported_event_by_event(upstream: MockServer) -> None:
    with proxy(upstream) as server:
        with httpx.stream(
            "POST",
            server.base_url + "/responses",
            json={"model": "gpt-malformed", "input": "x", "stream": True},
            headers=KEY_HEADERS,
        ) as answer:
            text = answer.read().decode()

        assert answer.status_code == 200 and "response.created" in text  # relayed as it came
        assert CONTRACT_HEADER not in answer.headers  # the headers left before the events were seen
        entry = server.service.journal.last
        assert entry is not None
        assert entry.contract[0].startswith("event 3")
        assert "not a JSON object" in entry.contract[0]


def test_a_request_that_breaks_the_contract_is_forwarded_and_reported(upstream: MockServer) -> None:
    with proxy(upstream) as server:
        answer = post(server, {"model": "gpt-4.1", "input": "hello", "temperature": 7})

        assert forwarded(upstream) == 1  # the upstream answers it (here with its own 400)
        assert answer.status_code == 400
        assert answer.headers[CONTRACT_HEADER].startswith("1 contract finding: request at temperature:")


def test_strict_refuses_a_bad_request_without_forwarding_it(upstream: MockServer) -> None:
    with proxy(upstream, contract="strict") as server:
        answer = post(server, {"model": "gpt-4.1", "input": "hello", "temperature": 7})

        assert answer.status_code == 400 and answer.json()["error"]["param"] == "temperature"
        assert forwarded(upstream) == 0


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"model": "gpt-bad-item", "input": "x"}, "output[0].status"),
        ({"model": "gpt-malformed", "input": "x", "stream": True}, "not a JSON object"),
    ],
)
def test_strict_turns_a_broken_answer_into_a_502(upstream: MockServer, body: dict[str, Any], named: str) -> None:
    with proxy(upstream, contract="strict") as server:
        with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
            with pytest.raises(openai.InternalServerError) as raised:
                client.responses.create(**body)

        assert raised.value.status_code == 502
        assert raised.value.code == "contract_violation"
        assert named in raised.value.message
        assert forwarded(upstream) == 1  # x-should-retry: false, so the SDK asked once


def test_contract_off_checks_nothing(upstream: MockServer) -> None:
    with proxy(upstream, contract="off") as server:
        answer = post(server, {"model": "gpt-bad-item", "input": "x"})

        assert CONTRACT_HEADER not in answer.headers
        entry = server.service.journal.last
        assert entry is not None and entry.contract == []
