"""The admin API under /__mock__/, driven over plain HTTP as a Node, Go or Java test suite would drive it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import MockServer, Settings, create_app
from mockserver.engine.scenarios import ScenarioSet
from tests.conftest import E2E_SCENARIOS, KEY_HEADERS

AUTH = {"Authorization": "Bearer sk-test"}


def call(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(Settings(port=0, log_level="warning", scenario_paths=(E2E_SCENARIOS,))) as running:
        yield running


@pytest.fixture
def admin(server: MockServer) -> Iterator[str]:
    call(server.url + "/__mock__/scenarios", "DELETE")
    call(server.url + "/__mock__/reset", "POST")
    yield server.url + "/__mock__"


def create(server: MockServer, **body: Any) -> tuple[int, Any]:
    return call(server.base_url + "/responses", "POST", {"model": "gpt-4.1", "input": "hi", **body}, KEY_HEADERS)


def test_health(admin: str) -> None:
    assert call(admin + "/health") == (200, {"status": "ok", "scenarios": 4, "reload_error": None})


def test_health_says_why_the_last_reload_failed(tmp_path: Path) -> None:
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text("- {name: a, response: one}\n")
    with MockServer(Settings(port=0, scenario_paths=(scenarios,), watch=True)) as watched:
        scenarios.write_text("- {name: a, response: {txt: broken}}\n")
        deadline = time.monotonic() + 20
        while (health := call(watched.url + "/__mock__/health")[1])["reload_error"] is None:
            assert time.monotonic() < deadline, health
            time.sleep(0.05)

    assert health["scenarios"] == 1  # the last good set still answers
    assert "unknown response key 'txt'" in health["reload_error"]["message"]
    assert abs(health["reload_error"]["at"] - time.time()) < 60


def test_add_list_and_remove_scenarios(server: MockServer, admin: str) -> None:
    status, added = call(
        admin + "/scenarios", "POST", {"name": "js-test", "match": {"input": "ping"}, "response": "pong"}
    )
    assert (status, added) == (201, {"added": ["js-test"]})

    assert create(server, input="ping")[1]["output"][0]["content"][0]["text"] == "pong"
    listed = call(admin + "/scenarios")[1]["scenarios"]
    assert listed[0] == {
        "name": "js-test",
        "source": "<admin API>:1",
        "added": True,
        "priority": 0,
        "match": ["last user message contains 'ping'"],
        "responses": 1,
    }
    assert call(admin + "/scenarios/js-test", "DELETE") == (200, {"removed": ["js-test"]})
    assert create(server, input="ping")[1]["output"][0]["content"][0]["text"] != "pong"
    assert call(admin + "/scenarios/parsed-person", "DELETE")[0] == 404


def test_adding_a_broken_scenario_names_the_problem(admin: str) -> None:
    status, body = call(admin + "/scenarios", "POST", [{"name": "x", "match": {"modle": "m"}, "response": "y"}])

    assert status == 400
    assert body["error"]["code"] == "invalid_scenario"
    assert body["error"]["message"] == (
        "Scenario [0].match.modle: unknown match key 'modle' (did you mean 'model'?); use one of model, input, "
        "input_text, instructions, tools, tool_choice, function_call_output, format, stream, metadata, headers, "
        "previous_response_id, turn, state, json, all, any, not"
    )


def test_journal_and_verdict(server: MockServer, admin: str) -> None:
    create(server, input="cite a source", metadata={"run": "1"})
    create(server, model="gpt-unauthorized")

    journal = call(admin + "/journal")[1]["requests"]
    assert [(entry["path"], entry["status"], entry["scenario"]) for entry in journal] == [
        ("/v1/responses", 200, "annotated"),
        ("/v1/responses", 401, "unauthorized"),
    ]
    assert journal[0]["body"]["metadata"] == {"run": "1"}
    assert call(admin + "/journal?scenario=unauthorized")[1]["requests"][0]["model"] == "gpt-unauthorized"
    verdict = call(admin + "/verdict")[1]
    assert verdict["behaved"] is True and verdict["verdict"].startswith("2 requests in 2 calls, 0 retries.")
    assert call(admin + "/journal", "DELETE") == (200, {"cleared": True})
    assert call(admin + "/journal")[1]["requests"] == []


def test_reset_forgets_stored_responses(server: MockServer, admin: str) -> None:
    created = create(server)[1]
    assert call(server.base_url + f"/responses/{created['id']}", headers=KEY_HEADERS)[0] == 200
    call(admin + "/reset", "POST")
    assert call(server.base_url + f"/responses/{created['id']}", headers=KEY_HEADERS)[0] == 404


def test_admin_token() -> None:
    with MockServer(Settings(port=0, log_level="warning", admin_token="s3cret")) as guarded:
        refused = call(guarded.url + "/__mock__/health")
        allowed = call(guarded.url + "/__mock__/health", headers={"x-mock-admin-token": "s3cret"})

    assert refused[0] == 401 and "x-mock-admin-token" in refused[1]["error"]["message"]
    assert allowed[0] == 200


# ---------------------------------------------------------------- who counts as a loopback client


def health_from(host: str, settings: Settings | None = None) -> int:
    """The status `GET /__mock__/health` gets from a client at `host` (in-process: the address is the test's)."""
    app = create_app(settings or Settings(), ScenarioSet())
    with TestClient(app, client=(host, 50000), headers=AUTH) as client:
        return client.get("/__mock__/health").status_code


@pytest.mark.parametrize(
    "host", ["127.evil.example", "localhost.evil.example", "::1:2:3", "::102:304", "testclient-remote", "localhost"]
)
def test_an_address_that_only_starts_like_loopback_is_refused(host: str) -> None:
    assert health_from(host) == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "testclient"])
def test_loopback_addresses_are_let_in(host: str) -> None:
    assert health_from(host) == 200


def test_the_in_process_client_name_counts_only_while_no_forwarded_header_is_believed() -> None:
    assert health_from("testclient", Settings(forwarded_allow_ips="127.0.0.1")) == 403


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "status"),
    [
        (None, "203.0.113.9", 200),  # not believed by default: the client is the socket's peer, 127.0.0.1
        ("127.0.0.1", "203.0.113.9", 403),  # believed when asked: the client is 203.0.113.9
        ("127.0.0.1", "127.0.0.1", 200),
        ("127.0.0.1", "127.evil.example", 403),
        ("127.0.0.1", "testclient", 403),
    ],
)
def test_x_forwarded_for_is_believed_only_when_asked(trusted: str | None, forwarded_for: str, status: int) -> None:
    settings = Settings(port=0, log_level="warning", forwarded_allow_ips=trusted, scenario_paths=())
    with MockServer(settings) as server:
        answer = call(server.url + "/__mock__/health", headers={**AUTH, "x-forwarded-for": forwarded_for})
    assert answer[0] == status, answer
