"""What the contract checks cost: per streamed event, and per JSON Response object.

    python -m tests.benchmarks.bench_contract [--events 2000] [--repeat 5]

The stream is one mockserver sends for a long text (cut into about `--events` deltas), checked by a fresh
`StreamChecker` each round; the JSON answer is that stream's final Response object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.checks.contract import StreamChecker, check_response


def long_stream(events: int) -> list[dict[str, object]]:
    text = " ".join(f"word{number % 97}" for number in range(events))
    scenarios_yaml = json.dumps({"scenarios": [{"name": "long", "response": {"text": text}}]})
    from mockserver.engine.scenarios import ScenarioSet, parse_scenarios

    app = create_app(Settings(seed=1), ScenarioSet(parse_scenarios(scenarios_yaml, "bench.yaml")))
    with TestClient(app, headers={"authorization": "Bearer sk-test"}) as client:
        body = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "go", "stream": True}).text
    return [json.loads(block.split("data: ", 1)[1]) for block in body.strip().split("\n\n")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    events = long_stream(args.events)
    final = events[-1]["response"]
    rounds = []
    for _ in range(args.repeat):
        checker = StreamChecker()
        started = time.perf_counter()
        findings = [finding for event in events for finding in checker.feed(event)] + checker.finish()
        rounds.append((time.perf_counter() - started) / len(events) * 1e6)
        assert findings == [], findings[:3]
    check_response(200, final)  # compiled on first use
    started = time.perf_counter()
    for _ in range(200):
        check_response(200, final)
    per_response = (time.perf_counter() - started) / 200 * 1e6
    print(f"stream of {len(events)} events: {statistics.median(rounds):.1f} µs an event (median of {args.repeat})")
    print(f"JSON Response object: {per_response:.0f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
