"""Timing and shape of answers: delays, stream pacing (fixed, random, by tokens), delta chunking, keepalives, the
max_output_tokens cut, and where a delivery comes from (command line, scenario, request headers)."""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver import MockServer, Settings
from mockserver.cli import main
from mockserver.core.errors import ScenarioFileError
from mockserver.core.tokens import estimate_tokens
from mockserver.engine.scenarios import parse_scenarios
from mockserver.faults.config import settings_from_env
from mockserver.faults.fault_specs import compile_delivery
from mockserver.faults.faults import At, Delivery, Reset, Stall
from mockserver.faults.shaping import Chunking, StreamShape
from mockserver.faults.timing import Fixed, LogNormal, Schedule, Uniform
from mockserver.render.streaming import split_deltas
from tests.conftest import KEY_HEADERS
from tests.fault_server import FaultServer, fault_server, fresh_fault_server, running_fault_server  # noqa: F401 (fixtures)


@dataclass
class Arrivals:
    """When a streamed request was sent, when its headers came and when each event came (perf_counter s)."""

    sent: float
    headers: float
    events: list[float]


def arrivals(url: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Arrivals:
    body = {"model": "gpt-4.1", "input": "hello", **(body or {}), "stream": True}
    with httpx.Client(headers=KEY_HEADERS) as client:
        sent = time.perf_counter()
        with client.stream("POST", url + "/responses", json=body, headers=headers) as response:
            seen = Arrivals(sent, time.perf_counter(), [])
            for line in response.iter_lines():
                if line.startswith("data: "):
                    seen.events.append(time.perf_counter())
    return seen


def gaps_ms(times: list[float]) -> list[float]:
    return sorted((later - earlier) * 1000 for earlier, later in zip(times, times[1:], strict=False))


# ---------------------------------------------------------------- stream pacing


def test_stream_gaps_are_accurate_and_do_not_drift(fs: FaultServer) -> None:
    times = arrivals(fs.server.base_url, {"x-mock-scenario": "long-text", "x-mock-stream": "{gap: 10}"}).events
    gaps = gaps_ms(times)

    # Behaviour only, with slack for a loaded machine; the precise figures are benchmarks/bench_streams.py's job.
    assert len(gaps) >= 30
    assert abs(statistics.median(gaps) - 10) <= 3
    assert abs((times[-1] - times[0]) * 1000 - 10 * len(gaps)) <= 15  # the schedule is absolute: no drift


def test_first_event_waits_after_the_headers_then_gaps_follow(fs: FaultServer) -> None:
    seen = arrivals(fs.server.base_url, {"x-mock-scenario": "paced"})

    assert seen.headers - seen.sent < 0.02  # the headers come at once
    assert seen.events[0] - seen.headers >= 0.039  # first_event: 40 ms
    assert abs(statistics.median(gaps_ms(seen.events)) - 4) <= 2
    events = list(fs.create("paced", stream=True))
    assert events[0].type == "response.created" and events[-1].response.output_text.startswith("One two")
    fs.check_intact()


@pytest.mark.parametrize(("scenario", "low", "high"), [("jittered", 1, 3), ("long-tailed", 0.5, 8)])
def test_random_gaps_stay_in_their_range(fs: FaultServer, scenario: str, low: float, high: float) -> None:
    times = arrivals(fs.server.base_url, {"x-mock-scenario": scenario}).events
    total = (times[-1] - times[0]) * 1000
    count = len(times) - 1

    assert count * low - 2 <= total <= count * high + 5
    fs.check_intact()


def test_tokens_per_second_paces_the_deltas(fs: FaultServer) -> None:
    events = list(fs.create("token-paced", stream=True))
    times = arrivals(fs.server.base_url, {"x-mock-scenario": "token-paced"}).events
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    expected = sum(estimate_tokens(delta) for delta in deltas) / 500

    assert abs((times[-1] - times[0]) - expected) <= 0.005


def test_keepalive_events_fill_long_pauses_and_take_sequence_numbers(fs: FaultServer) -> None:
    events = list(fs.create("keepalive", stream=True))
    types = [event.type for event in events]

    assert "keepalive" in types and types[0] == "response.created" and types[-1] == "response.completed"
    assert types.count("keepalive") >= types.count("response.output_text.delta")
    assert [event.sequence_number for event in events] == list(range(len(events)))
    raw = httpx.post(
        fs.server.base_url + "/responses",
        json={"model": "m", "input": "hi", "stream": True},
        headers={"x-mock-scenario": "keepalive"},
    ).text
    assert 'event: keepalive\ndata: {"type":"keepalive","sequence_number":1}\n\n' in raw
    with fs.sdk().responses.stream(model="m", input="hi", extra_headers={"x-mock-scenario": "keepalive"}) as stream:
        assert stream.get_final_response().output_text == "Thinking done."


def test_a_stall_with_keepalives_never_times_out_the_client(fs: FaultServer) -> None:
    headers = {"x-mock-fault": "{stall: {after_events: 2}}", "x-mock-stream": "{keepalive: 20}"}
    types = []
    with fs.sdk(timeout=0.1).responses.create(
        model="gpt-4.1", input="hi", stream=True, extra_headers=headers
    ) as stream:
        for event in stream:  # each keepalive resets the read timeout: the client has to give up by itself
            types.append(event.type)
            if len(types) == 12:
                break

    assert types[:2] == ["response.created", "response.in_progress"] and set(types[2:]) == {"keepalive"}


# ---------------------------------------------------------------- delta chunking


@given(st.text(), st.integers(1, 6))
def test_chunked_deltas_add_up_to_the_text(text: str, size: int) -> None:
    for pieces in (split_deltas(text, chars=size), split_deltas(text, words=size)):
        assert "".join(pieces) == text
        assert all(pieces) or text == ""


def test_chunks_by_characters_and_words() -> None:
    assert split_deltas("Héllo wörld", chars=4) == ["Héll", "o wö", "rld"]
    assert split_deltas("Hello world, how are you today? ", words=2) == ["Hello world,", " how are", " you today? "]
    assert split_deltas("Hello, World!") == ["Hello", ",", " World", "!"]  # the default is unchanged


@pytest.mark.parametrize(
    ("scenario", "deltas"),
    [
        ("chunked-chars", ["Héll", "o wö", "rld,", " how", " are", " you", "?"]),
        ("chunked-words", ["Hello world,", " how are", " you today?"]),
    ],
)
def test_chunking_through_the_sdk(fs: FaultServer, scenario: str, deltas: list[str]) -> None:
    events = list(fs.create(scenario, stream=True))

    assert [event.delta for event in events if event.type == "response.output_text.delta"] == deltas
    fs.check_intact()


# ---------------------------------------------------------------- delays


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_delay_holds_back_the_whole_answer(fs: FaultServer, stream: bool) -> None:
    started = time.perf_counter()
    answer = fs.create("delayed", stream=stream)
    answered_in = time.perf_counter() - started
    text = [event for event in answer][-1].response.output_text if stream else answer.output_text

    assert text == "Sorry for the wait." and answered_in >= 0.06  # headers included: time to first byte
    fs.check_intact()


def test_request_headers_set_delay_and_stream_shape(fs: FaultServer) -> None:
    started = time.perf_counter()
    events = list(
        fs.sdk().responses.create(
            model="gpt-4.1",
            input="hi",
            stream=True,
            extra_headers={"x-mock-delay-ms": "40", "x-mock-stream": "{chunk: {words: 3}, gap: 1}"},
        )
    )

    assert time.perf_counter() - started >= 0.04
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert deltas == ["Hello! How can", " I help you", " today? Ask me", " anything at all."]


def test_header_beats_scenario_beats_server_default() -> None:
    base = Delivery(delay=Fixed(50), stream=StreamShape(gap=Fixed(20), keepalive=1000.0))
    scenario = Delivery(stream=StreamShape(gap=Fixed(5)), faults=())
    header = Delivery(delay=Fixed(0))

    merged = header.over(scenario.over(base))
    assert merged == Delivery(delay=Fixed(0), stream=StreamShape(gap=Fixed(5), keepalive=1000.0), faults=())


# ---------------------------------------------------------------- server-wide defaults


def test_server_defaults_delay_every_answer_and_pace_every_stream() -> None:
    settings = Settings(port=0, log_level="warning", delay_ms=30, stream_gap_ms=5)
    with MockServer(settings) as server:
        seen = arrivals(server.base_url, {})

    assert seen.headers - seen.sent >= 0.03
    assert abs(statistics.median(gaps_ms(seen.events)) - 5) <= 2


def test_server_default_fault_applies_unless_a_request_says_otherwise() -> None:
    settings = Settings(port=0, log_level="warning", fault="{http_error: overloaded}")
    with MockServer(settings) as server:
        faulty = httpx.post(
            server.base_url + "/responses", json={"model": "gpt-4.1", "input": "hi"}, headers=KEY_HEADERS
        )
        spared = httpx.post(
            server.base_url + "/responses",
            json={"model": "gpt-4.1", "input": "hi"},
            headers={"x-mock-fault": "[]", **KEY_HEADERS},
        )

    assert faulty.status_code == 503 and spared.status_code == 200


def test_delivery_defaults_from_the_command_line_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[Settings] = []

    def serve(settings: Settings, scenarios: object) -> int:
        captured.append(settings)
        return 0

    monkeypatch.setattr("mockserver.cli.serve", serve)
    monkeypatch.setenv("MOCKSERVER_KEEPALIVE_MS", "15000")
    monkeypatch.setenv("MOCKSERVER_DELAY_MS", "10")

    argv = ["serve", "--delay", "50", "--stream-gap", "20", "--first-event", "300", "--tokens-per-second", "40"]
    assert main([*argv, "--fault", "{reset: {}, probability: 0.1}"]) == 0

    (settings,) = captured
    assert (settings.delay_ms, settings.stream_gap_ms, settings.first_event_ms) == (50, 20, 300)
    assert (settings.tokens_per_second, settings.keepalive_ms) == (40, 15000)
    assert settings.fault == "{reset: {}, probability: 0.1}"


def test_delivery_settings_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    env = settings_from_env({"MOCKSERVER_STREAM_GAP_MS": "2.5", "MOCKSERVER_FAULT": "stall"})
    assert (env.stream_gap_ms, env.fault) == (2.5, "stall")
    with pytest.raises(ValueError, match="MOCKSERVER_DELAY_MS must be a number"):
        settings_from_env({"MOCKSERVER_DELAY_MS": "soon"})
    with pytest.raises(ValueError, match="keepalive_ms must be above 0"):
        Settings(keepalive_ms=0)
    assert main(["serve", "--fault", "{rest: {}}"]) == 2
    assert "unknown fault 'rest' (did you mean 'reset'?)" in capsys.readouterr().err


# ---------------------------------------------------------------- the max_output_tokens cut


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_incomplete_text_is_cut_where_max_output_tokens_runs_out(fs: FaultServer, stream: bool) -> None:
    answer = fs.sdk().responses.create(
        model="gpt-4.1",
        input="hi",
        max_output_tokens=16,
        stream=stream,
        extra_headers={"x-mock-scenario": "long-incomplete"},
    )
    if stream:
        events = list(answer)
        response = events[-1].response
        assert events[-1].type == "response.incomplete"
        assert "".join(str(e.delta) for e in events if e.type == "response.output_text.delta") == response.output_text
    else:
        response = answer

    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert (
        response.output_text == "Maple trees are deciduous trees known for their lobed leaves, their winged seeds and"
    )
    assert response.usage.output_tokens == 16
    assert response.output[0].status == "incomplete"
    fs.check_intact()


def test_without_a_budget_the_whole_text_comes(fs: FaultServer) -> None:
    response = fs.create("long-incomplete")

    assert response.status == "incomplete" and response.output_text.endswith("north-eastern United States.")


def test_a_budget_spent_on_reasoning_leaves_no_message(fs: FaultServer) -> None:
    response = fs.sdk().responses.create(
        model="gpt-5", input="hi", max_output_tokens=16, extra_headers={"x-mock-scenario": "reasoning-incomplete"}
    )

    assert [item.type for item in response.output] == ["reasoning"] and response.output_text == ""
    assert response.status == "incomplete"


# ---------------------------------------------------------------- the schedule and the vocabulary


def test_schedule_times_are_absolute() -> None:
    schedule = Schedule(100.0, random.Random(1), first_event=Fixed(300), gap=Fixed(20))
    due = [schedule.due({"type": "x"}) for _ in range(4)]

    assert due == pytest.approx([100.3, 100.32, 100.34, 100.36])


def test_tokens_per_second_times_only_the_deltas() -> None:
    schedule = Schedule(0.0, random.Random(1), tokens_per_second=100)
    due = [
        schedule.due({"type": "response.created"}),
        schedule.due({"type": "response.output_text.delta", "delta": "Hello there"}),
        schedule.due({"type": "response.output_text.done", "text": "Hello there"}),
    ]

    tokens = estimate_tokens("Hello there")
    assert tokens == 2  # " there" and "Hello": one token each
    assert due == pytest.approx([0.0, tokens / 100, tokens / 100])


def test_random_durations_repeat_with_the_seed() -> None:
    for duration in (Uniform(10, 30), LogNormal(20, 0.5)):
        first = [duration.draw(random.Random(4)) for _ in range(3)]
        assert first == [duration.draw(random.Random(4)) for _ in range(3)]
    draws = [Uniform(10, 30).draw(random.Random(seed)) for seed in range(200)]
    assert min(draws) >= 10 and max(draws) <= 30
    lognormal = sorted(LogNormal(20, 0.5).draw(random.Random(seed)) for seed in range(401))
    assert 17 <= lognormal[200] <= 23


def test_delivery_keys_compile() -> None:
    delivery = compile_delivery(
        {
            "delay": {"uniform": [10, 20]},
            "stream": {"gap": 5, "chunk": {"chars": 3}, "keepalive": 100, "tokens_per_second": 30},
            "fault": [{"reset": {"after_events": 3}, "probability": 0.25}, "headers_only"],
        },
        (),
    )

    assert delivery.delay == Uniform(10, 20)
    assert delivery.stream == StreamShape(gap=Fixed(5), chunk=Chunking("chars", 3), keepalive=100, tokens_per_second=30)
    assert delivery.faults is not None
    assert [(i.fault, i.probability) for i in delivery.faults] == [
        (Reset(At(events=3)), 0.25),
        (Stall(At(events=0)), 1),
    ]


@pytest.mark.parametrize(
    ("response", "where", "problem"),
    [
        ("stream: {gapp: 3}", "5:16", "unknown stream key 'gapp' (did you mean 'gap'?)"),
        ("delay: -1", "5:7", "a duration is milliseconds"),
        ("delay: {uniform: [30, 10]}", "5:15", "uniform bounds must be [low, high]"),
        ("delay: {lognormal: {median: 0, sigma: 1}}", "5:27", "a lognormal median must be above 0"),
        ("stream: {chunk: {lines: 2}}", "5:16", "chunk takes {chars: N} or {words: N}"),
        ("stream: {keepalive: 0}", "5:16", "keepalive takes a number above 0"),
        ("fault: {reset: {after_events: 2, after_bytes: 9}}", "5:40", "give after_events or after_bytes, not both"),
        ("fault: {reset: 3}", "5:15", "this fault takes a mapping of after_events, after_bytes"),
        ("fault: {stall: {}, probability: 2}", "5:26", "probability is a number from 0 to 1"),
        ("fault: {stall: {}, reset: {}}", "5:7", "one fault per entry"),
        ("fault: [truncate, {fragment: {bytes: 0}}]", "5:37", "bytes takes a whole number of at least 1"),
        ("fault: {error_event: {preset: nope}}", "5:29", "unknown error preset 'nope'"),
        ("fault: {empty: {after_events: 1}}", "5:23", "this fault takes no parameters"),
    ],
)
def test_delivery_problems_are_reported_at_their_line_and_column(response: str, where: str, problem: str) -> None:
    text = f"scenarios:\n  - name: s\n    response:\n      text: hi\n      {response}\n"
    with pytest.raises(ScenarioFileError) as caught:
        parse_scenarios(text, "s.yaml")

    assert str(caught.value).startswith(f"s.yaml:{where}: {problem}"), str(caught.value)
