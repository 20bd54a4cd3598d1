"""A real server on `fixtures/scenarios/faults.yaml` for the fault, delivery and HTTP-error tests.

It records every answer (to count the SDK's attempts and to schema-check the answers a fault leaves intact), and
after the module it checks that no fault made the server answer 500 or log anything at warning level or above.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest

from mockserver import MockServer, Settings
from mockserver.core.validation import build_fast_validator
from tests.conftest import FIXTURES, Exchange, RecordingApp, check_exchange

FAULT_SCENARIOS = FIXTURES / "scenarios" / "faults.yaml"
WATCHED_LOGGERS = ("uvicorn", "uvicorn.error", "mockserver", "asyncio")


class FaultServer:
    """The server, what it answered, what it logged, and one SDK client (fast to fail: no retries, 2 s timeout)."""

    def __init__(self, server: MockServer, recorder: RecordingApp, logs: list[logging.LogRecord]) -> None:
        self.server = server
        self.recorder = recorder
        self.logs = logs
        self.client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=2)

    def sdk(self, **options: Any) -> openai.OpenAI:
        return self.client.with_options(**options)

    def create(self, scenario: str, *, stream: bool = False, headers: dict[str, str] | None = None, **options: Any):
        """`responses.create` answered by `scenario`; `options` go to the client (max_retries, timeout)."""
        headers = {"x-mock-scenario": scenario, **(headers or {})}
        return self.sdk(**options).responses.create(
            model="gpt-4.1", input="hello", stream=stream, extra_headers=headers
        )

    def forget(self) -> None:
        self.recorder.exchanges.clear()

    def attempts(self) -> list[Exchange]:
        """The create requests answered since the last call."""
        seen = [e for e in self.recorder.exchanges if e.path == "/v1/responses"]
        self.recorder.exchanges.clear()
        return seen

    def check_intact(self) -> None:
        """Schema-check every answer since the last call (for answers no fault has broken)."""
        for exchange in self.attempts():
            check_exchange(exchange)


class _Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def fault_server() -> Iterator[FaultServer]:
    """Run the server; on the way out, fail if any fault made it log a warning or an error."""
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(FAULT_SCENARIOS,), seed=11))
    recorder = RecordingApp(server.app)
    server.app = recorder  # type: ignore[assignment]
    logs: list[logging.LogRecord] = []
    handler = _Collect(logs)
    build_fast_validator()  # not in the background during the first timed answer
    with server:  # uvicorn configures its loggers at start: listen after that
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(handler)
        running = FaultServer(server, recorder, logs)
        try:
            yield running
        finally:
            running.client.close()
            for name in WATCHED_LOGGERS:
                logging.getLogger(name).removeHandler(handler)
    # A 500 of the app's own (not a scenario's) or of uvicorn would be logged: no fault may cause one.
    assert not logs, [record.getMessage() for record in logs]


# Fixtures for the test modules that import them: one server per module, its record cleared for each test.
@pytest.fixture(scope="module", name="server")
def running_fault_server() -> Iterator[FaultServer]:
    with fault_server() as running:
        yield running


@pytest.fixture(name="fs")
def fresh_fault_server(server: FaultServer) -> FaultServer:
    server.forget()
    return server
