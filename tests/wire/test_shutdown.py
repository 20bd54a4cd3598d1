"""Stopping the server: SIGTERM (and Ctrl-C) end in-flight answers cleanly and the process exits 0 within a bound.

At shutdown the waits an answer makes on purpose end at once: a paced stream sends its remaining events without the
gaps (the client gets every event up to `response.completed`), a delayed answer is sent now; only the faults that
never end by design (`stall`, `hold`) close their connection instead.
"""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import pytest

from mockserver import MockServer, Settings
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
FAULT_SCENARIOS = FIXTURES / "scenarios" / "faults.yaml"
# The answers below would take a minute if their waits did not end at shutdown; a stop takes well under a second on a
# quiet machine (under 3 s with two cores shared by eight processes), so the bound tells the two apart on any machine.
EXIT_BOUND_S = 15.0
SLOW_STREAM = {"x-mock-scenario": "plain", "x-mock-stream": "{gap: 3000}"}  # about 60 s in all


def read_line(stream: Any, timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    try:
        if not selector.select(timeout):
            raise AssertionError(f"no line within {timeout} s")
    finally:
        selector.close()
    line: str = stream.readline()
    return line


@contextmanager
def serve(*options: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`mockserver serve` in a subprocess on a free port, with the fault scenarios; yields it and its base URL."""
    command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--scenarios", str(FAULT_SCENARIOS)]
    process = subprocess.Popen(
        [*command, *options], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = read_line(process.stdout, 20)
        assert "listening on http://" in line, line + process.stderr.read() if process.stderr else line
        yield process, line.split("listening on ", 1)[1].split()[0]
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def in_background(work: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Runs `work` in a thread; its result (or the exception it raised) lands in the list."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_for_requests(base_url: str, count: int) -> None:
    """Until the server's journal holds `count` create requests (read through the admin API)."""
    journal_url = base_url.removesuffix("/v1") + "/__mock__/journal?path=/v1/responses"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with urllib.request.urlopen(journal_url, timeout=10) as answer:
            if len(json.loads(answer.read())["requests"]) >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} requests arrived")


def stream_types(
    base_url: str, headers: dict[str, str], first_event: threading.Event | None = None
) -> Callable[[], list[str]]:
    """A client reading a stream; `first_event` is set once its first event has arrived."""

    def consume() -> list[str]:
        with openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0, timeout=30) as client:
            stream = client.responses.create(model="gpt-4.1", input="hi", stream=True, extra_headers=headers)
            types: list[str] = []
            for event in stream:
                types.append(event.type)
                if first_event is not None:
                    first_event.set()
            return types

    return consume


def stop_with(process: subprocess.Popen[str], signum: int) -> float:
    """Sends the signal; returns the seconds the process took to exit (it must exit 0)."""
    started = time.perf_counter()
    process.send_signal(signum)
    code = process.wait(timeout=EXIT_BOUND_S + 5)
    took = time.perf_counter() - started
    assert code == 0, code
    return took


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_a_paced_stream_cleanly_and_the_process_exits_0(signum: signal.Signals) -> None:
    with serve() as (process, base_url):
        streaming = threading.Event()
        thread, outcome = in_background(stream_types(base_url, SLOW_STREAM, streaming))
        # Stopped once the stream has begun (on a busy machine the request may take a while to arrive).
        assert streaming.wait(30), outcome
        took = stop_with(process, signum)
        thread.join(10)
        stdout = process.stdout.read() if process.stdout else ""

    assert took < EXIT_BOUND_S, took
    types = outcome[0]
    assert isinstance(types, list), types  # no exception: the SDK saw a whole stream
    assert types[0] == "response.created" and types[-1] == "response.completed", types
    assert "mockserver stopped" in stdout


def test_sigterm_sends_a_delayed_answer_now_and_closes_a_stalled_stream() -> None:
    def delayed() -> str:
        with openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0, timeout=30) as client:
            answer = client.responses.create(
                model="gpt-4.1", input="hi", extra_headers={"x-mock-scenario": "plain", "x-mock-delay-ms": "60000"}
            )
            return answer.output_text

    with serve() as (process, base_url):
        delayed_thread, delayed_outcome = in_background(delayed)
        stalled_thread, stalled_outcome = in_background(stream_types(base_url, {"x-mock-scenario": "stalled"}))
        wait_for_requests(base_url, 2)  # both arrived (on a busy machine that may take a while)
        took = stop_with(process, signal.SIGTERM)
        delayed_thread.join(10)
        stalled_thread.join(10)

    assert took < EXIT_BOUND_S, took
    assert delayed_outcome == ["Hello! How can I help you today? Ask me anything at all."]
    assert type(stalled_outcome[0]) is openai.APIConnectionError  # a stall never ends by itself: closed


def stop_while_reading(server: MockServer, work: Callable[[], object], begun: threading.Event) -> tuple[float, object]:
    """Starts `work` (a client reading), stops the server once `begun` is set; the seconds `stop()` took and what the
    work returned (or raised)."""
    try:
        thread, outcome = in_background(work)
        assert begun.wait(30), outcome
    finally:
        started = time.perf_counter()
        server.stop()
        took = time.perf_counter() - started
    thread.join(10)
    return took, outcome[0]


def test_mock_server_stop_lets_a_paced_stream_finish_at_once() -> None:
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(FAULT_SCENARIOS,))).start()
    streaming = threading.Event()
    took, types = stop_while_reading(server, stream_types(server.base_url, SLOW_STREAM, streaming), streaming)

    assert took < EXIT_BOUND_S, took
    assert isinstance(types, list) and types[-1] == "response.completed", types
    entry = server.service.journal.last
    assert entry is not None and entry.stream_end == "response.completed"


def test_mock_server_stop_sends_the_rest_of_a_background_stream_at_once(tmp_path: Path) -> None:
    scenarios = tmp_path / "slow.yaml"
    scenarios.write_text(
        "- name: slow-job\n  response:\n    text: A long job, reported as it runs.\n"
        "    background: {queue_ms: 100, run_ms: 60000}\n"
    )
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(scenarios,))).start()

    in_progress = threading.Event()

    def consume() -> list[str]:
        with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=30) as client:
            stream = client.responses.create(model="gpt-4.1", input="go", background=True, stream=True)
            types: list[str] = []
            for event in stream:
                types.append(event.type)
                if event.type == "response.in_progress":
                    in_progress.set()
            return types

    took, types = stop_while_reading(server, consume, in_progress)  # most of its 60 s still to run

    assert took < EXIT_BOUND_S, took
    assert isinstance(types, list) and types[0] == "response.created", types
    assert types[-1] == "response.completed", types
