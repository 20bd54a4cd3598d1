"""Every YAML example of the README's "Faults and timing" section, loaded together on a real server and checked
through the official SDK to behave as the section says."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from mockserver import MockServer, Settings
from mockserver.core.tokens import estimate_tokens
from mockserver.engine.scenarios import ScenarioSet, parse_scenarios

README = Path(__file__).resolve().parents[2] / "README.md"


def section_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Faults and timing\n") : text.index("## Command line\n")]
    return re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture(scope="module")
def client() -> Iterator[openai.OpenAI]:
    scenarios = [s for example in section_examples() for s in parse_scenarios(example, str(README))]
    settings = Settings(port=0, log_level="warning", seed=2)
    with MockServer(settings, ScenarioSet(scenarios)) as server:
        with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=2) as sdk:
            yield sdk


def events_and_error(stream: Any) -> tuple[list[Any], BaseException | None]:
    events: list[Any] = []
    try:
        events.extend(stream)
    except Exception as exc:  # which one is the point
        return events, exc
    return events, None


def create(client: openai.OpenAI, model: str, **options: Any) -> Any:
    stream = options.pop("stream", False)
    return client.with_options(**options).responses.create(model=model, input="hi", stream=stream)


def check_out_of_credit(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        create(client, "gpt-broke")
    assert caught.value.code == "insufficient_quota"


def check_slow_down(client: openai.OpenAI) -> None:
    started = time.perf_counter()
    with pytest.raises(openai.RateLimitError) as caught:
        create(client, "gpt-busy", max_retries=2)
    assert caught.value.message == "Error code: 429 - Slow down."
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert time.perf_counter() - started < 0.2  # not retried


def check_cut_short(client: openai.OpenAI) -> None:
    response = client.responses.create(model="gpt-verbose", input="hi", max_output_tokens=16)
    assert response.status == "incomplete" and response.usage.output_tokens == 16
    assert response.output_text == "Maple trees are deciduous trees known for their lobed leaves and their sap, boiled"


def check_slow_start(client: openai.OpenAI) -> None:
    started = time.perf_counter()
    assert create(client, "gpt-slow").output_text == "Sorry for the wait."
    assert time.perf_counter() - started >= 0.04


def check_human_pace(client: openai.OpenAI) -> None:
    started = time.perf_counter()
    events = list(create(client, "gpt-typing", stream=True))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert deltas == ["Streaming at a", " human pace, three", " words at a", " time."]
    assert time.perf_counter() - started >= 0.03 + 0.002 * (len(events) - 1)


def check_fast_model(client: openai.OpenAI) -> None:
    started = time.perf_counter()
    events = list(create(client, "gpt-fast", stream=True))
    tokens = sum(estimate_tokens(event.delta) for event in events if event.type == "response.output_text.delta")
    assert time.perf_counter() - started >= tokens / 500


def check_thinking(client: openai.OpenAI) -> None:
    types = [event.type for event in create(client, "gpt-thinking", stream=True)]
    assert "keepalive" in types and types[-1] == "response.completed"


def check_quota_mid_stream(client: openai.OpenAI) -> None:
    events, error = events_and_error(create(client, "gpt-quota", stream=True))
    assert len(events) == 2 and type(error) is openai.APIError and error.code == "insufficient_quota"


def check_fails_halfway(client: openai.OpenAI) -> None:
    events, error = events_and_error(create(client, "gpt-crash", stream=True))
    assert error is None and events[-1].type == "response.failed"
    assert events[-1].response.error.message == "The model crashed."


def check_no_terminal_event(client: openai.OpenAI) -> None:
    events, error = events_and_error(create(client, "gpt-truncated-stream", stream=True))
    assert error is None and events[-1].type == "response.output_item.done"


def check_cut_mid_chunk(client: openai.OpenAI) -> None:
    events, error = events_and_error(create(client, "gpt-cut", stream=True))
    assert events and type(error) is openai.APIConnectionError


def check_reset_mid_stream(client: openai.OpenAI) -> None:
    events, error = events_and_error(create(client, "gpt-reset-stream", stream=True))
    assert len(events) == 5 and type(error) is openai.APIConnectionError


def check_broken_line(client: openai.OpenAI) -> None:
    events, error = events_and_error(create(client, "gpt-malformed", stream=True))
    assert len(events) == 3 and isinstance(error, json.JSONDecodeError)


def check_split_writes(client: openai.OpenAI) -> None:
    events = list(create(client, "gpt-fragments", stream=True))
    assert events[-1].response.output_text == "Grüße aus Köln ✓"


def check_out_of_order(client: openai.OpenAI) -> None:
    events = list(create(client, "gpt-disorder", stream=True))
    numbers = [event.sequence_number for event in events]
    assert len(numbers) != len(set(numbers))  # a duplicate
    assert any(later < earlier for earlier, later in zip(numbers, numbers[1:], strict=False))  # a swap
    assert events[2].type == "response.future"


def check_stuck(client: openai.OpenAI) -> None:
    events, error = events_and_error(create(client, "gpt-stuck", stream=True, timeout=0.5))
    assert len(events) == 3 and type(error) is openai.APITimeoutError


def check_lingering(client: openai.OpenAI) -> None:
    events, error = events_and_error(create(client, "gpt-linger", stream=True, timeout=0.5))
    assert events[-1].type == "response.completed" and type(error) is openai.APITimeoutError


def check_flaky(client: openai.OpenAI) -> None:
    outcomes = []
    for _ in range(20):
        try:
            create(client, "gpt-flaky-network")
            outcomes.append("ok")
        except openai.APIError as exc:
            outcomes.append(type(exc).__name__)
    assert {"ok", "APIConnectionError", "InternalServerError"} <= set(outcomes)


CHECKS: dict[str, Callable[[openai.OpenAI], None]] = {
    "out-of-credit": check_out_of_credit,
    "slow-down": check_slow_down,
    "cut-short": check_cut_short,
    "slow-start": check_slow_start,
    "human-pace": check_human_pace,
    "fast-model": check_fast_model,
    "thinking": check_thinking,
    "quota-mid-stream": check_quota_mid_stream,
    "fails-halfway": check_fails_halfway,
    "no-terminal-event": check_no_terminal_event,
    "cut-mid-chunk": check_cut_mid_chunk,
    "reset-mid-stream": check_reset_mid_stream,
    "broken-line": check_broken_line,
    "split-writes": check_split_writes,
    "out-of-order": check_out_of_order,
    "stuck": check_stuck,
    "lingering": check_lingering,
    "flaky": check_flaky,
}


def test_every_example_of_the_section_is_checked() -> None:
    names = [s.name for example in section_examples() for s in parse_scenarios(example, str(README))]
    assert len(section_examples()) >= 5
    assert sorted(names) == sorted(CHECKS)


@pytest.mark.parametrize("name", list(CHECKS))
def test_section_example_behaves_as_documented(client: openai.OpenAI, name: str) -> None:
    CHECKS[name](client)
