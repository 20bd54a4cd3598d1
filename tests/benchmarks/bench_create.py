"""What one create costs the server, in-process: the ASGI app driven in one event loop, no socket, no client.

    python -m tests.benchmarks.bench_create [--requests 1000] [--rounds 5]

Prints the median microseconds per request of each kind over the rounds: every check the server makes (schema,
model rules, checks across fields, findings), the scenario's answer, the store and the journal, without the HTTP
stack (see `bench_http` for that). The kinds: a text create, and a create offering two strict function tools that a
scenario answers with a call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from mockserver import Settings, create_app, load_scenarios

SCENARIOS = """\
scenarios:
  - name: call
    match: {tools: [get_weather]}
    response:
      output: [{type: function_call, name: get_weather, arguments: {city: Paris}}]
  - name: text
    response: Hello there.
"""
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
CLOCK = {
    "type": "function",
    "name": "get_time",
    "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
}
KINDS: dict[str, dict[str, Any]] = {
    "text": {"model": "gpt-4.1", "input": "hello"},
    "two strict tools, answered with a call": {"model": "gpt-4.1", "input": "weather?", "tools": [WEATHER, CLOCK]},
}


async def create(app: ASGIApp, body: bytes) -> int:
    headers = [(b"content-type", b"application/json"), (b"authorization", b"Bearer sk-bench")]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/responses", "raw_path": b"/v1/responses", "query_string": b"", "root_path": "",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    received = False
    status = 0

    async def receive() -> Message:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client stays: no disconnect
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(app: ASGIApp, body: bytes, requests: int, rounds: int) -> float:
    for _ in range(50):
        assert await create(app, body) == 200
    per_round = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            await create(app, body)
        per_round.append((time.perf_counter() - started) / requests * 1e6)
    return statistics.median(per_round)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(SCENARIOS)
        app = create_app(Settings(scenario_paths=(path,)), load_scenarios([path]))
    for kind, body in KINDS.items():
        micros = asyncio.run(measure(app, json.dumps(body).encode(), args.requests, args.rounds))
        print(f"{kind}: {micros:.0f} µs per request")


if __name__ == "__main__":
    main()
