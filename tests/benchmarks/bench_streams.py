"""Streaming under load: many concurrent long streams, and how exactly an injected gap between events is kept.

    python -m tests.benchmarks.bench_streams [--streams 200] [--events 500] [--gap-streams 20] [--gap-events 100]

The server runs in its own process (`mockserver serve`) on a free 127.0.0.1 port with two scenarios: a long text cut
into small chunks (about `--events` events per stream), and the same with `stream: {gap: 20}`. An asyncio httpx
client opens `--streams` streams at once and checks that each one ends with `response.completed` and carries every
sequence number; then `--gap-streams` paced streams measure the time between events as the client sees them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

# Events besides the deltas: created, in_progress, output_item.added, content_part.added, output_text.done,
# content_part.done, output_item.done, completed.
KEY = {"authorization": "Bearer sk-bench"}  # the mock, like the live API, answers a request without a key 401
FRAME_EVENTS = 8
CHUNK = 4


def scenario_file(events: int, gap_events: int, gap_ms: float) -> str:
    def text(count: int) -> str:
        return ("abcd" * max(count - FRAME_EVENTS, 1))[: CHUNK * max(count - FRAME_EVENTS, 1)]

    scenarios = [
        {
            "name": "long-stream",
            "match": {"model": "bench-long"},
            "response": {"text": text(events), "stream": {"chunk": {"chars": CHUNK}}},
        },
        {
            "name": "paced-stream",
            "match": {"model": "bench-paced"},
            "response": {"text": text(gap_events), "stream": {"chunk": {"chars": CHUNK}, "gap": gap_ms}},
        },
    ]
    return json.dumps({"scenarios": scenarios})  # JSON is YAML


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def one_stream(client: httpx.AsyncClient, model: str) -> list[tuple[float, str, int]]:
    """(arrival time, type, sequence_number) of every event of one stream."""
    arrivals: list[tuple[float, str, int]] = []
    body = {"model": model, "input": "go", "stream": True, "store": False}
    async with client.stream("POST", "/v1/responses", json=body) as response:
        if response.status_code != 200:
            raise RuntimeError(f"status {response.status_code}")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                arrivals.append((time.perf_counter(), event["type"], event["sequence_number"]))
    if not arrivals or arrivals[-1][1] != "response.completed":
        raise RuntimeError(f"stream ended with {arrivals[-1][1] if arrivals else 'nothing'}")
    if [seq for _, _, seq in arrivals] != list(range(len(arrivals))):
        raise RuntimeError("sequence numbers missing or out of order")
    return arrivals


async def many_streams(base_url: str, model: str, count: int) -> tuple[float, list[list[tuple[float, str, int]]], int]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120, headers=KEY) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(one_stream(client, model) for _ in range(count)), return_exceptions=True)
        wall = time.perf_counter() - started
    streams = [result for result in results if isinstance(result, list)]
    errors = [result for result in results if not isinstance(result, list)]
    for error in errors[:3]:
        print(f"  error: {error!r}", file=sys.stderr)
    return wall, streams, len(errors)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--gap", type=float, default=20.0, help="injected gap in ms")
    parser.add_argument("--gap-streams", type=int, default=20)
    parser.add_argument("--gap-events", type=int, default=100)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        scenarios = Path(tmp) / "bench.yaml"
        scenarios.write_text(scenario_file(args.events, args.gap_events, args.gap))
        command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--log-level", "warning"]
        process = subprocess.Popen([*command, "--scenarios", str(scenarios)], stdout=subprocess.DEVNULL)
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    httpx.get(base_url + "/__mock__/health", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            asyncio.run(many_streams(base_url, "bench-long", 4))  # warm-up
            wall, streams, errors = asyncio.run(many_streams(base_url, "bench-long", args.streams))
            events = sum(len(stream) for stream in streams)
            gap_wall, paced, gap_errors = asyncio.run(many_streams(base_url, "bench-paced", args.gap_streams))
        finally:
            process.terminate()
            process.wait(timeout=10)
    per_stream = events // max(len(streams), 1)
    print(f"{args.streams} concurrent streams of {per_stream} events (one server process, one client process)")
    print(f"  completed {len(streams)}/{args.streams}, errors {errors}")
    print(f"  wall {wall:.2f} s, {events / wall:,.0f} events/s, {len(streams) / wall:,.1f} streams/s")
    gaps = [
        (later[0] - earlier[0]) * 1000
        for stream in paced
        for earlier, later in zip(stream[1:], stream[2:], strict=False)  # from response.in_progress on
    ]
    print(f"{args.gap_streams} concurrent streams paced at {args.gap:g} ms, {len(gaps)} gaps measured by the client")
    print(f"  completed {len(paced)}/{args.gap_streams}, errors {gap_errors}, wall {gap_wall:.2f} s")
    if gaps:
        median, p99 = statistics.median(gaps), percentile(gaps, 0.99)
        print(
            f"  gap median {median:.2f} ms ({median - args.gap:+.2f}), p99 {p99:.2f} ms ({p99 - args.gap:+.2f}), "
            f"min {min(gaps):.2f}, max {max(gaps):.2f}"
        )
    return 1 if errors or gap_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
