"""Soak: many concurrent clients for a bounded time against one server, then proof that nothing broke or leaked.

    python -m tests.benchmarks.bench_soak [--seconds 60] [--clients 64]

One `MockServer` runs in this process (loopback, free port), so its RSS and its event loop's tasks can be read.
`--clients` asyncio clients (one httpx.AsyncClient each) send, as fast as they are answered and in a seeded random mix:
JSON and streamed creates, `previous_response_id` follow-ups, retrievals of stored responses, faults by header
(`reset` before any byte, `cut` after three events, a mid-stream `error` event, a 429 with `should_retry: false`)
and paced streams they drop after two events. Each kind has one expected client outcome; any other is an error.
After a warm-up of the same mix and a reset, the soak runs; then the journal must count exactly the requests sent
(with the expected ends: every dropped stream `client_disconnected`, no 500), every stored response a client got
must come back from `GET /v1/responses/{id}` with the same body, and after a reset RSS and the number of asyncio
tasks on the server's loop must be back near their values after the warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver import MockServer, Settings
from mockserver.engine.scenarios import ScenarioSet, parse_scenarios

SCENARIOS = """
scenarios:
  - name: steady
    response:
      text: "A steady answer for the soak test: long enough to stream in a dozen events, short enough to be quick."
"""
KEY = {"authorization": "Bearer sk-soak"}  # the mock, like the live API, answers a request without a key 401
DROP_AFTER_EVENTS = 2
CUT_AFTER_EVENTS = 3
# kind → weight in the mix
MIX = {
    "json": 30,
    "stream": 22,
    "follow_up": 10,
    "retrieve": 8,
    "reset": 6,
    "cut": 6,
    "error_event": 6,
    "rate_limit": 6,
    "drop": 6,
}
HEADERS = {
    "reset": {"x-mock-fault": "reset"},
    "cut": {"x-mock-fault": f"{{cut: {{after_events: {CUT_AFTER_EVENTS}}}}}"},
    "error_event": {"x-mock-fault": "{error_event: {after_events: 2}}"},
    "rate_limit": {"x-mock-error": "{preset: rate_limit, should_retry: false}"},
    # Paced slowly enough that a client slowed down by a busy machine still leaves (after two events) long before the
    # server could have sent the rest: at 20 ms a gap, a client late by a quarter second found the stream complete.
    "drop": {"x-mock-stream": "{gap: 500}"},
}
WATCHED_LOGGERS = ("uvicorn", "uvicorn.error", "mockserver", "asyncio")
SETTLE_S = 30.0  # for the last answers to be journaled and connections closed: seconds on a busy 2-core machine


class LoopProbe:
    """ASGI wrapper that remembers the server's event loop (to count its tasks from another thread)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)


async def _other_tasks() -> int:
    return len(asyncio.all_tasks()) - 1  # not this one


def server_tasks(probe: LoopProbe) -> int:
    """The asyncio tasks on the server's loop."""
    assert probe.loop is not None, "no request has reached the server yet"
    return asyncio.run_coroutine_threadsafe(_other_tasks(), probe.loop).result(timeout=10)


def rss_mib() -> float:
    """This process's resident memory, after returning freed heap memory to the system (glibc's malloc_trim), so
    that what is measured is what is held."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


@dataclass
class Load:
    """What the clients of one phase sent and got."""

    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stored: dict[str, Any] = field(default_factory=dict)  # response id → the body the client got (JSON creates)
    streamed: dict[str, Any] = field(default_factory=dict)  # response id → the response of `response.completed`

    def unexpected(self, kind: str, what: str) -> None:
        self.errors.append(f"{kind}: {what}")


@dataclass
class Phase:
    """One half of the soak: what the clients saw, what the server recorded, and what it held afterwards."""

    seconds: float
    load: Load
    journal_entries: int
    journal_ends: Counter[str]
    journal_500s: int
    unfinished_entries: int
    checked_stored: int
    mismatched_stored: list[str]
    rss_peak_mib: float  # at the end, the state (journal, stored responses) still held
    rss_after_mib: float  # after a reset
    tasks_after: int
    blocks_after: int  # Python objects' memory blocks after a reset (sys.getallocatedblocks)


@dataclass
class SoakReport:
    """Two equal halves: the first is the warm-up and the baseline, the second must end where the first did."""

    clients: int
    first: Phase
    second: Phase
    server_logs: list[str]

    @property
    def phases(self) -> tuple[Phase, Phase]:
        return self.first, self.second

    @property
    def sent(self) -> int:
        return sum(phase.load.sent for phase in self.phases)

    @property
    def seconds(self) -> float:
        return sum(phase.seconds for phase in self.phases)

    @property
    def problems(self) -> list[str]:
        found = [*self.server_logs]
        for phase in self.phases:
            found += [*phase.load.errors, *phase.mismatched_stored]
            if phase.journal_entries != phase.load.sent:
                found.append(f"the journal has {phase.journal_entries} entries for {phase.load.sent} requests sent")
            if phase.journal_ends["client_disconnected"] != phase.load.outcomes["drop"]:
                found.append(
                    f"{phase.journal_ends['client_disconnected']} streams journaled client_disconnected for "
                    f"{phase.load.outcomes['drop']} dropped"
                )
            if phase.journal_500s or phase.unfinished_entries:
                found.append(f"{phase.journal_500s} answers 500, {phase.unfinished_entries} never finished")
        return found

    def summary(self) -> str:
        first, second = self.phases
        outcomes = first.load.outcomes + second.load.outcomes
        return (
            f"soak: {self.sent} requests in {self.seconds:.1f} s ({self.sent / self.seconds:.0f} req/s) from "
            f"{self.clients} clients; {len(self.problems)} unexpected errors; journal "
            f"{first.journal_entries + second.journal_entries} entries for {self.sent} sent; "
            f"{first.checked_stored + second.checked_stored} stored responses read back; "
            f"RSS after the first half {first.rss_after_mib:.1f} MiB, after the second {second.rss_after_mib:.1f} "
            f"(peak {max(first.rss_peak_mib, second.rss_peak_mib):.1f} holding the state); "
            f"server tasks {first.tasks_after} -> {second.tasks_after}; "
            f"allocated blocks {first.blocks_after} -> {second.blocks_after}; "
            f"outcomes {dict(sorted(outcomes.items()))}"
        )


def sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.split("\n") if line.startswith("data: ")]


class Client:
    """One simulated client: its own connection(s), a seeded choice of what to send next."""

    def __init__(self, number: int, base_url: str, load: Load) -> None:
        self.rng = random.Random(number)
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30, headers=KEY)
        self.load = load
        self.own_ids: list[str] = []
        self.kinds = list(MIX)
        self.weights = list(MIX.values())

    async def run_until(self, deadline: float) -> None:
        try:
            while time.monotonic() < deadline:
                kind = self.rng.choices(self.kinds, self.weights)[0]
                self.load.sent += 1
                try:
                    outcome = await getattr(self, f"_{kind}")()
                except Exception as exc:
                    self.load.unexpected(kind, f"{type(exc).__name__}: {exc}")
                    continue
                self.load.outcomes[outcome] += 1
        finally:
            await self.http.aclose()

    def _body(self, stream: bool = False, **more: Any) -> dict[str, Any]:
        return {"model": "gpt-4.1", "input": f"soak {self.rng.randrange(10**6)}", "stream": stream, **more}

    async def _create_json(self, kind: str, body: dict[str, Any]) -> str:
        response = await self.http.post("/v1/responses", json=body)
        if response.status_code != 200:
            self.load.unexpected(kind, f"status {response.status_code}: {response.text[:200]}")
            return "bad status"
        answer = response.json()
        self.load.stored[answer["id"]] = answer
        self.own_ids.append(answer["id"])
        return kind

    async def _json(self) -> str:
        return await self._create_json("json", self._body())

    async def _follow_up(self) -> str:
        if not self.own_ids:
            return await self._json()
        previous = self.rng.choice(self.own_ids)
        return await self._create_json("follow_up", self._body(previous_response_id=previous))

    async def _retrieve(self) -> str:
        if not self.own_ids:
            return await self._json()
        response_id = self.rng.choice(self.own_ids)
        response = await self.http.get(f"/v1/responses/{response_id}")
        if response.status_code != 200 or response.json()["id"] != response_id:
            self.load.unexpected("retrieve", f"status {response.status_code}: {response.text[:200]}")
        return "retrieve"

    async def _stream(self) -> str:
        async with self.http.stream("POST", "/v1/responses", json=self._body(stream=True)) as response:
            text = (await response.aread()).decode()
        events = sse_events(text)
        if response.status_code != 200 or not events or events[-1]["type"] != "response.completed":
            self.load.unexpected("stream", f"status {response.status_code}, ends {events[-1:]}")
            return "bad stream"
        final = events[-1]["response"]
        self.load.streamed[final["id"]] = final
        return "stream"

    async def _reset(self) -> str:
        try:
            response = await self.http.post("/v1/responses", json=self._body(), headers=HEADERS["reset"])
        except (httpx.ReadError, httpx.RemoteProtocolError):
            return "reset"
        self.load.unexpected("reset", f"an answer ({response.status_code}) instead of a reset")
        return "bad reset"

    async def _cut(self) -> str:
        received = b""
        try:
            async with self.http.stream(
                "POST", "/v1/responses", json=self._body(stream=True), headers=HEADERS["cut"]
            ) as response:
                async for chunk in response.aiter_bytes():
                    received += chunk
        except httpx.RemoteProtocolError:
            events = sse_events(received.decode())
            if len(events) == CUT_AFTER_EVENTS:
                return "cut"
            self.load.unexpected("cut", f"{len(events)} events before the cut")
            return "bad cut"
        self.load.unexpected("cut", "the stream ended without a cut")
        return "bad cut"

    async def _error_event(self) -> str:
        async with self.http.stream(
            "POST", "/v1/responses", json=self._body(stream=True), headers=HEADERS["error_event"]
        ) as response:
            events = sse_events((await response.aread()).decode())
        if response.status_code == 200 and events and events[-1]["type"] == "error":
            return "error_event"
        self.load.unexpected("error_event", f"status {response.status_code}, ends {events[-1:]}")
        return "bad error_event"

    async def _rate_limit(self) -> str:
        response = await self.http.post("/v1/responses", json=self._body(), headers=HEADERS["rate_limit"])
        error = response.json().get("error") or {}
        if (
            response.status_code == 429
            and response.headers.get("x-should-retry") == "false"
            and error.get("code") == "rate_limit_exceeded"
        ):
            return "rate_limit"
        self.load.unexpected("rate_limit", f"status {response.status_code}: {response.text[:200]}")
        return "bad rate_limit"

    async def _drop(self) -> str:
        async with self.http.stream(
            "POST", "/v1/responses", json=self._body(stream=True), headers=HEADERS["drop"]
        ) as response:
            events = 0
            async for line in response.aiter_lines():
                events += line.startswith("data: ")
                if events == DROP_AFTER_EVENTS:
                    break  # leaving the block closes the connection with the stream half read
        if events == DROP_AFTER_EVENTS:
            return "drop"
        self.load.unexpected("drop", f"the stream ended after {events} events")
        return "bad drop"


async def run_clients(base_url: str, clients: int, seconds: float) -> Load:
    load = Load()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(Client(number, base_url, load).run_until(deadline) for number in range(clients)))
    return load


async def read_back(base_url: str, load: Load, concurrency: int) -> tuple[int, list[str]]:
    """GET every stored response a client got; returns how many were read and the ones that differ."""
    expected = {**load.streamed, **load.stored}
    mismatched: list[str] = []
    pending = list(expected)

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=KEY) as http:
            while pending:
                response_id = pending.pop()
                response = await http.get(f"/v1/responses/{response_id}")
                if response.status_code != 200:
                    mismatched.append(f"{response_id}: status {response.status_code}")
                elif not same_response(response.json(), expected[response_id]):
                    mismatched.append(f"{response_id}: the stored body differs from the one the client got")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(expected), mismatched


def same_response(stored: dict[str, Any], got: dict[str, Any]) -> bool:
    """The body read back equals the one the client got (a stream's `response.completed` carries no `billing`)."""
    return {key: value for key, value in stored.items() if key in got} == got and set(stored) - set(got) <= {"billing"}


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def run_soak(seconds: float, clients: int = 64) -> SoakReport:
    """Two halves of `seconds / 2`, each checked, then reset; the report says what happened and asserts nothing."""
    settings = Settings(port=0, log_level="warning", seed=1, journal_size=10_000_000, store_max_items=1_000_000)
    server = MockServer(settings, ScenarioSet(parse_scenarios(SCENARIOS, "soak.yaml")))
    probe = LoopProbe(server.app)
    server.app = probe  # type: ignore[assignment]
    collect = _Collect()
    with server:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(collect)
        try:
            first = run_phase(server, probe, seconds / 2, clients)
            second = run_phase(server, probe, seconds / 2, clients)
        finally:
            for name in WATCHED_LOGGERS:
                logging.getLogger(name).removeHandler(collect)
    return SoakReport(clients, first, second, list(collect.messages))


def run_phase(server: MockServer, probe: LoopProbe, seconds: float, clients: int) -> Phase:
    journal = server.service.journal

    def settled() -> bool:
        return all(entry.finished_at is not None for entry in journal)

    started = time.perf_counter()
    load = asyncio.run(run_clients(server.url, clients, seconds))
    elapsed = time.perf_counter() - started
    wait_until(settled, SETTLE_S)
    entries = list(journal)
    ends = Counter(entry.stream_end for entry in entries if entry.stream_end)
    counted, answered_500, unfinished = (
        len(entries),
        sum(entry.status == 500 for entry in entries),
        sum(entry.finished_at is None for entry in entries),
    )
    del entries  # what is measured below is what the server (and httpx) still hold
    checked, mismatched = asyncio.run(read_back(server.url, load, clients))
    wait_until(settled, SETTLE_S)
    rss_peak = rss_mib()
    load.stored.clear()  # the clients' copies
    load.streamed.clear()
    httpx.post(server.url + "/__mock__/reset", timeout=10).raise_for_status()
    wait_until(lambda: server_tasks(probe) <= 1, SETTLE_S)  # the clients' connections are closed: only uvicorn's own
    return Phase(
        seconds=elapsed,
        load=load,
        journal_entries=counted,
        journal_ends=ends,
        journal_500s=answered_500,
        unfinished_entries=unfinished,
        checked_stored=checked,
        mismatched_stored=mismatched,
        rss_peak_mib=rss_peak,
        rss_after_mib=rss_mib(),
        tasks_after=server_tasks(probe),
        blocks_after=sys.getallocatedblocks(),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the soak runs (default 60)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    args = parser.parse_args()
    report = run_soak(args.seconds, args.clients)
    print(report.summary())
    for problem in report.problems[:20]:
        print("  ", problem)
    return 1 if report.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
