"""Request validation cost: a typical create body, through the compiled fast validator and the detailed one.

    python -m tests.benchmarks.bench_validation [--repeat 20000]

Valid bodies pass through a validator compiled from the request schema (fastjsonschema); the detailed validator
(jsonschema, which words the API's 400s) runs only when that one says no, or before it is built.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

from mockserver.core import validation
from mockserver.core.validation import build_fast_validator, validate_create_request

BODIES: dict[str, dict[str, Any]] = {
    "text": {"model": "gpt-4.1", "input": "Write a haiku about the sea."},
    "chat with instructions": {
        "model": "gpt-5",
        "instructions": "You are terse.",
        "input": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi."},
            {"role": "user", "content": [{"type": "input_text", "text": "What is 2 + 2?"}]},
        ],
        "temperature": 0.2,
        "max_output_tokens": 200,
        "metadata": {"suite": "bench"},
    },
    "two function tools": {
        "model": "gpt-4.1",
        "input": "What is the weather in Paris?",
        "tools": [
            {
                "type": "function",
                "name": name,
                "description": "Look something up.",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                    "required": ["location", "unit"],
                    "additionalProperties": False,
                },
                "strict": True,
            }
            for name in ("get_weather", "get_time")
        ],
        "tool_choice": "auto",
    },
    "json_schema output": {
        "model": "gpt-4.1",
        "input": "Describe a person.",
        "text": {
            "format": {
                "type": "json_schema",
                "name": "person",
                "strict": True,
                "schema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                    "required": ["name", "age"],
                    "additionalProperties": False,
                },
            }
        },
    },
}


def per_call_us(call: Callable[[], None], repeat: int) -> float:
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            call()
        rounds.append((time.perf_counter() - started) / repeat * 1e6)
    return statistics.median(rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20000)
    args = parser.parse_args()
    detailed = validation._compiled("openai").validator  # what answers before the fast one is built
    build_fast_validator()
    print(f"{'body':<26} {'fast path µs':>13} {'detailed µs':>12}")
    for name, body in BODIES.items():
        fast = per_call_us(functools.partial(validate_create_request, body), args.repeat)
        slow = per_call_us(functools.partial(detailed.validate, body), max(1, args.repeat // 20))
        print(f"{name:<26} {fast:>13.1f} {slow:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
