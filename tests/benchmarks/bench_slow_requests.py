"""The slowest requests a client can still make, and what other clients see meanwhile.

    python -m tests.benchmarks.bench_slow_requests [--seconds 5]

The server runs in its own process (`mockserver serve`) on a free 127.0.0.1 port with scenarios that reach the work
caps (`mockserver.core.limits`): a template that loops until its time cap, and a regex that backtracks until its time
cap.
For each kind of slow request, one client thread sends it again and again for `--seconds`, while another sends
`GET /v1/models` one after another; the figures are the slow request's duration and the latency of the concurrent
GETs (median, p99, max), next to a baseline with no slow request. The worst bodies of issue 13 (a json_schema of 30
nested arrays, 20,000 generated values, a `minItems` past the cap) are among the kinds.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

SCENARIOS = """
scenarios:
  - name: slow-template
    match: {model: gpt-4o-mini}
    response:
      text: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}done"
  - name: slow-regex
    match: {input: {regex: "^(a|aa)+$"}}
    response: {text: matched}
"""


def _nested_arrays(levels: int, min_items: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema, "minItems": min_items}
    return schema


def _schema_body(schema: dict[str, Any]) -> dict[str, Any]:
    root = {"type": "object", "properties": {"v": schema}, "required": ["v"], "additionalProperties": False}
    return {"model": "gpt-4.1", "input": "hi", "text": {"format": {"type": "json_schema", "name": "s", "schema": root}}}


_ROWS = {
    "type": "array",
    "minItems": 3_999,
    "maxItems": 3_999,
    "items": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}, "d": {}},
        "required": ["a", "b", "c", "d"],
        "additionalProperties": False,
    },
}
SLOW_BODIES: dict[str, dict[str, Any]] = {
    "template looping to its time cap (500)": {"model": "gpt-4o-mini", "input": "hi"},
    "regex backtracking to its time cap (500)": {"model": "gpt-4.1", "input": "a" * 80 + "!"},
    "json_schema: 30 nested arrays of 5 (400 at the value cap)": _schema_body(_nested_arrays(30, 5)),
    "json_schema: 3,999 rows of 4 fields (200, 20,000 values)": _schema_body(_ROWS),
    "json_schema: minItems 100000000 (400 at once)": _schema_body({"type": "array", "minItems": 100_000_000}),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _measure(base: str, body: dict[str, Any] | None, seconds: float) -> tuple[list[float], list[tuple[int, float]]]:
    """GET /v1/models latencies (ms) while `body` is sent again and again (none: a baseline), and the slow answers'
    statuses and durations (s)."""
    headers = {"Authorization": "Bearer sk-test"}
    stop = threading.Event()
    slow: list[tuple[int, float]] = []

    def send_slow() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            while not stop.is_set():
                started = time.perf_counter()
                answer = client.post("/v1/responses", json=body)
                slow.append((answer.status_code, time.perf_counter() - started))

    sender = threading.Thread(target=send_slow) if body is not None else None
    if sender is not None:
        sender.start()
        time.sleep(0.2)
    latencies: list[float] = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        finish = time.perf_counter() + seconds
        while time.perf_counter() < finish:
            started = time.perf_counter()
            client.get("/v1/models").raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.005)
    stop.set()
    if sender is not None:
        sender.join()
    return latencies, slow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each kind runs")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        scenarios = Path(folder) / "slow.yaml"
        scenarios.write_text(SCENARIOS)
        command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--scenarios", str(scenarios)]
        server = subprocess.Popen([*command, "--log-level", "error"], stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base)
            print(f"{'slow request':60} {'its status and duration':>26}   GET /v1/models meanwhile (ms)")
            rows = {"(none: baseline)": None, **SLOW_BODIES}
            for name, body in rows.items():
                latencies, slow = _measure(base, body, args.seconds)
                statuses = ",".join(str(code) for code in sorted({code for code, _ in slow})) or "-"
                durations = [duration for _, duration in slow]
                took = f"{statuses} x{len(slow)}, median {statistics.median(durations):.2f} s" if slow else "-"
                gets = (
                    f"n={len(latencies)} median {statistics.median(latencies):.1f} "
                    f"p99 {_percentile(latencies, 0.99):.1f} max {max(latencies):.1f}"
                )
                print(f"{name:60} {took:>26}   {gets}")
        finally:
            server.terminate()
            server.wait(10)


def _wait_until_up(base: str) -> None:
    deadline = time.perf_counter() + 20
    while time.perf_counter() < deadline:
        try:
            httpx.get(f"{base}/__mock__/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    main()
