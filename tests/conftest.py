"""Shared fixtures.

`server` is one real uvicorn server on a free 127.0.0.1 port for the whole session, serving the built-in
scenarios plus `fixtures/scenarios/e2e.yaml`. Every answer it sends is recorded, and the `wire` fixture checks each
one against the official schema after the test — so no body or event of an end-to-end test escapes the check.

A request without an API key is a 401, as on the live API. The shared fixtures send `TEST_KEY` for the tests that do
not send one themselves (`server` adds it to every request that has none, `client` sends it); the tests of the 401
build their own app.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import openai
import pytest
from hypothesis import settings as hypothesis_settings
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver import MockServer, Settings, contract, create_app, load_scenarios
from mockserver.faults.config import builtin_scenarios_dir
from tests import conformance

# In CI the property tests draw the same examples every run, so a landing never hangs on a lucky draw; on a
# developer's machine they keep exploring.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI every test extra is installed and every reference file is in the repository, so a skipped test means
    something is missing: the run fails and says which."""
    if os.environ.get("CI") and _skipped and exitstatus == pytest.ExitCode.OK:
        print(f"\nCI: {len(_skipped)} tests were skipped, which fails the run: " + ", ".join(_skipped[:10]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
E2E_SCENARIOS = FIXTURES / "scenarios" / "e2e.yaml"
TEST_KEY = "sk-test"
KEY_HEADERS = {"Authorization": f"Bearer {TEST_KEY}"}


@dataclass
class Exchange:
    method: str
    path: str
    status: int = 0
    content_type: str = ""
    body: bytearray = field(default_factory=bytearray)


class RecordingApp:
    """ASGI wrapper that keeps every answer's status, content type and bytes, and gives a request without an API key
    the test key (so that the end-to-end tests need not each send one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = with_default_key(scope)
        exchange = Exchange(scope["method"], scope["path"])
        self.exchanges.append(exchange)

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                headers = dict(message.get("headers", ()))
                exchange.content_type = headers.get(b"content-type", b"").decode()
            elif message["type"] == "http.response.body":
                exchange.body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, record)


def with_default_key(scope: Scope) -> Scope:
    """The request with `Authorization: Bearer TEST_KEY` when it carries no key of its own."""
    names = {name.lower() for name, _ in scope["headers"]}
    if b"authorization" in names or b"x-api-key" in names:
        return scope
    return {**scope, "headers": [*scope["headers"], (b"authorization", f"Bearer {TEST_KEY}".encode())]}


def check_exchange(exchange: Exchange) -> None:
    """Validate one recorded answer against the official schema for its kind, and against the project's own
    contract checks (`mockserver.checks.contract`, what the contract proxy applies to an upstream), which must agree."""
    text = exchange.body.decode()
    if exchange.content_type.startswith("text/event-stream"):
        events = conformance.parse_sse(text)
        conformance.assert_stream_conforms(events)
        checker = contract.StreamChecker()
        findings = [finding for event in events for finding in checker.feed(event)] + checker.finish()
        assert findings == [], contract.summarize(findings)
    elif exchange.status >= 400:
        body = json.loads(text)
        conformance.assert_error_conforms(body)
        assert contract.check_response(exchange.status, body) == []
    elif exchange.method == "POST" and exchange.path == "/v1/responses":
        body = json.loads(text)
        conformance.assert_response_conforms(body)
        assert contract.check_response(exchange.status, body) == []


@pytest.fixture(scope="session")
def recorder_and_server() -> Iterator[tuple[RecordingApp, MockServer]]:
    settings = Settings(port=0, log_level="warning", scenario_paths=(builtin_scenarios_dir(), E2E_SCENARIOS), seed=7)
    server = MockServer(settings)
    recorder = RecordingApp(server.app)
    server.app = recorder  # type: ignore[assignment]
    with server:
        yield recorder, server


@pytest.fixture
def server(recorder_and_server: tuple[RecordingApp, MockServer]) -> Iterator[MockServer]:
    """The session's server; every answer sent during the test is checked against the official schema after it."""
    recorder, running = recorder_and_server
    recorder.exchanges.clear()
    yield running
    exchanges, recorder.exchanges = list(recorder.exchanges), []
    assert exchanges, "the test sent no request to the server"
    for exchange in exchanges:
        check_exchange(exchange)


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The app in-process (no socket) with the built-in scenarios and the end-to-end ones."""
    scenarios = load_scenarios([builtin_scenarios_dir(), E2E_SCENARIOS])
    app = create_app(Settings(seed=1), scenarios)
    with TestClient(app, raise_server_exceptions=False, headers=KEY_HEADERS) as test_client:
        yield test_client


@contextmanager
def checked_sdk(settings: Settings) -> Iterator[openai.OpenAI]:
    """An SDK client of a real server on `settings`; when it closes, every answer the server sent is checked
    (`check_exchange`), and there must have been some."""
    server = MockServer(settings)
    recorder = RecordingApp(server.app)
    server.app = recorder  # type: ignore[assignment]
    with server, openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as sdk:
        yield sdk
    assert recorder.exchanges
    for exchange in recorder.exchanges:
        check_exchange(exchange)
