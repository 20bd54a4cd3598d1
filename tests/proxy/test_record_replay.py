"""Record and replay, end to end: a second mock server plays the upstream API (`fixtures/scenarios/upstream.yaml`),
the official SDK talks to a recording proxy in front of it, and the recordings are replayed with the upstream gone."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from mockserver import MockServer, Settings
from mockserver.cli import main
from mockserver.proxy.recording import HASH_HEADER
from mockserver.proxy.upstream import SSEEvent
from tests.conftest import FIXTURES, KEY_HEADERS

pytest_plugins = ["pytester"]

UPSTREAM_SCENARIOS = FIXTURES / "scenarios" / "upstream.yaml"
UPSTREAM_KEY = "sk-upstream-0123456789abcdef"
CALLER_KEY = "sk-caller-fedcba9876543210"
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}


@pytest.fixture
def upstream() -> Iterator[MockServer]:
    settings = Settings(port=0, log_level="warning", scenario_paths=(UPSTREAM_SCENARIOS,))
    with MockServer(settings) as server:
        # The first answer of a fresh server is slow, and a paced stream then catches up in a burst: warm it up.
        httpx.post(server.base_url + "/responses", json={"model": "gpt-4.1", "input": "hello", "stream": True})
        server.service.clear_state()
        yield server


@contextmanager
def proxy(upstream: MockServer | None, record: Path, **options: Any) -> Iterator[MockServer]:
    settings = Settings(
        port=0,
        log_level="warning",
        scenario_paths=(),
        upstream=upstream.base_url if upstream is not None else None,
        upstream_key=UPSTREAM_KEY if upstream is not None else None,
        record_file=record,
        **options,
    )
    with MockServer(settings) as server:
        yield server


@contextmanager
def sdk(server: MockServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=CALLER_KEY, max_retries=0, timeout=10) as client:
        yield client


def weather_round_trip(client: openai.OpenAI) -> tuple[Any, Any]:
    """Ask for the weather, run the tool, send its result back (stateless: the whole conversation each time)."""
    question = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.responses.create(model="gpt-4.1", input=question, tools=[WEATHER_TOOL])
    call = first.output[0]
    result = {"type": "function_call_output", "call_id": call.call_id, "output": '{"celsius": 18}'}
    second = client.responses.create(
        model="gpt-4.1", input=[*question, call.model_dump(exclude_none=True), result], tools=[WEATHER_TOOL]
    )
    return first, second


def stream_types(client: openai.OpenAI, model: str, text: str) -> list[str]:
    with client.responses.stream(model=model, input=text) as stream:
        return [event.type for event in stream]


def record_session(client: openai.OpenAI) -> dict[str, Any]:
    """The session every replay test replays: text, a stream, reasoning, a tool round trip and a 429."""
    session: dict[str, Any] = {"hello": client.responses.create(model="gpt-4.1", input="hello there").output_text}
    session["stream"] = stream_types(client, "gpt-slow", "tell me a story")
    session["thinker"] = client.responses.create(model="gpt-thinker", input="2+2?").output_text
    first, second = weather_round_trip(client)
    session["call"] = (first.output[0].name, json.loads(first.output[0].arguments))
    session["weather"] = second.output_text
    with pytest.raises(openai.RateLimitError) as raised:
        client.responses.create(model="gpt-limited", input="anything")
    session["rate_limit"] = raised.value.message
    return session


def scenarios_of(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    scenarios: list[dict[str, Any]] = data["scenarios"]
    return scenarios


def creates(server: MockServer) -> int:
    return len(server.service.journal.filter(path="/v1/responses"))


# ---------------------------------------------------------------- forwarding


def test_a_stream_is_relayed_event_by_event_as_it_arrives(upstream: MockServer, tmp_path: Path) -> None:
    with sdk(upstream) as client:  # the SDK's first stream is slow (imports): not the one measured
        stream_types(client, "gpt-4.1", "hello")
    with proxy(upstream, tmp_path / "session.yaml") as server, sdk(server) as client:
        stream = client.responses.create(model="gpt-slow", input="tell me a story", stream=True)
        arrivals = [(time.time(), event.type) for event in stream]
    sent = upstream.service.journal.last

    assert arrivals[0][1] == "response.created" and arrivals[-1][1] == "response.completed"
    assert sent is not None and sent.finished_at is not None and len(arrivals) > 15
    # The upstream spaces its events 20 ms apart: relayed as they come, most arrive before it has sent its last.
    early = [kind for at, kind in arrivals if at < sent.finished_at]
    assert len(early) > len(arrivals) / 2, (len(early), len(arrivals))


def test_the_upstream_gets_the_configured_key_and_not_the_mock_headers(upstream: MockServer, tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []
    with proxy(upstream, tmp_path / "session.yaml") as server, sdk(server) as client:
        upstream.service.journal.clear()
        client.responses.create(model="gpt-4.1", input="hello", extra_headers={"x-mock-delay-ms": "5"})
        seen = [entry.headers for entry in upstream.service.journal]
        answered = server.service.journal.last

    assert len(seen) == 1 and "x-mock-delay-ms" not in seen[0]
    assert seen[0]["authorization"] == "Bearer ***"  # the journal redacts it; the server saw the upstream key
    assert answered is not None and answered.upstream and answered.upstream_status == 200


def test_an_unreachable_upstream_is_a_502_and_nothing_is_recorded(tmp_path: Path) -> None:
    settings = Settings(port=0, log_level="critical", scenario_paths=(), upstream="http://127.0.0.1:9/v1")
    record = tmp_path / "session.yaml"
    with MockServer(settings.with_overrides(record_file=record)) as server, sdk(server) as client:
        with pytest.raises(openai.InternalServerError) as raised:
            client.responses.create(model="gpt-4.1", input="hello")

    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_unreachable"
    assert not record.exists()


def test_serve_with_an_upstream_needs_httpx(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # as if it were not installed

    assert main(["serve", "--upstream", "http://127.0.0.1:9/v1", "--port", "0"]) == 2
    assert "pip install 'mockserver[proxy]'" in capsys.readouterr().err


# ---------------------------------------------------------------- recording


def test_the_recording_is_readable_yaml_without_keys_or_ids(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "session.yaml"
    with proxy(upstream, record) as server, sdk(server) as client:
        record_session(client)
        recorded = [entry.recorded_as for entry in server.service.journal.filter(path="/v1/responses")]

    text = record.read_text(encoding="utf-8")
    scenarios = scenarios_of(record)
    assert recorded == [scenario["name"] for scenario in scenarios]
    assert text.startswith(f"# Recorded by mockserver from {upstream.base_url} on ")
    assert UPSTREAM_KEY not in text and CALLER_KEY not in text and "authorization" not in text.lower()
    assert not {"id", "created_at", "call_id", "completed_at"} & set(_all_keys(scenarios))

    hello, slow, thinker, call, weather, limited = scenarios
    assert hello["name"] == "recorded-1-hello-there"
    assert hello["match"] == {"model": "gpt-4.1", "json": {"input": "hello there"}}
    assert hello["response"] == {
        "text": "Hello from upstream! How can I help?",
        "usage": {"input_tokens": 12, "output_tokens": 9},
        "model": "gpt-4.1-2025-04-14",
    }
    assert slow["response"]["text"].startswith("Once upon a time")
    assert thinker["response"]["reasoning"] == ["**Counting**\n\nTwo and two make four."]
    assert thinker["response"]["usage"]["reasoning_tokens"] == 24
    assert call["match"]["input"] == {"equals": "What is the weather in Paris?"}
    assert call["response"]["output"] == [
        {"type": "function_call", "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
    ]
    assert weather["match"]["json"]["input[2].output"] == '{"celsius": 18}'
    assert limited["response"] == {
        "error": {
            "status": 429,
            "type": "requests",
            "message": "Slow down, please.",
            "code": "rate_limit_exceeded",
            "retry_after_ms": 5,
            "should_retry": False,
        }
    }
    assert main(["check", str(record)]) == 0


def _all_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _all_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _all_keys(item)


def test_forwarded_responses_are_stored_for_retrieval_and_chains(upstream: MockServer, tmp_path: Path) -> None:
    with proxy(upstream, tmp_path / "session.yaml") as server, sdk(server) as client:
        created = client.responses.create(model="gpt-4.1", input="hello there")
        retrieved = client.responses.retrieve(created.id)
        items = client.responses.input_items.list(created.id)

    assert retrieved.id == created.id and retrieved.output_text == created.output_text
    assert [item.type for item in items.data] == ["message"]


def test_timing_and_redaction_are_recorded_as_asked(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "session.yaml"
    with proxy(upstream, record, record_timing=True, redact=("city",)) as server, sdk(server) as client:
        stream_types(client, "gpt-slow", "tell me a story")
        weather_round_trip(client)

    slow, call, _ = scenarios_of(record)
    assert 10 <= slow["response"]["stream"]["first_event"] < 500
    assert 10 <= slow["response"]["stream"]["gap"] < 200  # the upstream's gap is 20 ms
    assert isinstance(slow["response"]["delay"], int)
    assert call["response"]["output"][0]["arguments"] == {"city": "[redacted]", "unit": "celsius"}


def test_a_streamed_error_event_is_recorded_as_a_fault_and_replayed(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "session.yaml"
    with proxy(upstream, record) as server, sdk(server) as client, pytest.raises(openai.APIError) as recorded:
        list(client.responses.create(model="gpt-quota", input="hi", stream=True))

    (scenario,) = scenarios_of(record)
    assert scenario["response"]["fault"]["error_event"] == {
        "type": "insufficient_quota",
        "code": "insufficient_quota",
        "message": recorded.value.message,
        "after_events": 2,
        "failed": True,
    }
    with proxy(None, record, record_mode="replay") as server, sdk(server) as client:
        with pytest.raises(openai.APIError) as replayed:
            list(client.responses.create(model="gpt-quota", input="hi", stream=True))
    assert (replayed.value.code, replayed.value.message) == (recorded.value.code, recorded.value.message)


def test_every_observer_sees_each_event_even_a_malformed_one(upstream: MockServer, tmp_path: Path) -> None:
    class Watcher:
        def __init__(self) -> None:
            self.calls: list[str] = []
            self.events: list[SSEEvent] = []

        def on_request(self, body: dict[str, Any]) -> None:
            self.calls.append("request")

        def on_response(self, status: int, headers: dict[str, str]) -> None:
            self.calls.append(f"response {status}")

        def on_event(self, event: SSEEvent) -> None:
            self.events.append(event)

        def on_json(self, status: int, body: Any, raw: bytes) -> None:
            self.calls.append("json")

        def on_end(self, error: str | None) -> None:
            self.calls.append(f"end {error}")

    watchers: list[Watcher] = []
    with proxy(upstream, tmp_path / "session.yaml") as server:
        assert server.service.proxy is not None

        def watch(ctx: Any) -> Watcher:
            watchers.append(Watcher())
            return watchers[-1]

        server.service.proxy.observers.append(watch)
        body = {"model": "gpt-malformed", "input": "hi", "stream": True}
        answer = httpx.post(server.base_url + "/responses", json=body, timeout=10, headers=KEY_HEADERS)

    (watcher,) = watchers
    assert answer.status_code == 200 and watcher.calls == ["request", "response 200", "end None"]
    assert [event.json is None for event in watcher.events].count(True) == 1  # the broken one
    assert watcher.events[-1].name == "response.completed"


# ---------------------------------------------------------------- replaying


@pytest.mark.parametrize("rule", ["input", "full_input", "hash"])
def test_replay_with_the_upstream_stopped_gives_the_same_answers(
    upstream: MockServer, tmp_path: Path, rule: str
) -> None:
    record = tmp_path / "session.yaml"
    with proxy(upstream, record, record_match=rule) as server, sdk(server) as client:
        recorded = record_session(client)
    upstream.stop()

    with proxy(None, record, record_mode="replay", record_match=rule) as server, sdk(server) as client:
        replayed = record_session(client)
        with pytest.raises(openai.BadRequestError) as unrecorded:
            client.responses.create(model="gpt-4.1", input="hello where")

    assert replayed == recorded
    assert unrecorded.value.code == "no_recording_matched"
    assert "This request was not recorded" in unrecorded.value.message
    assert "recorded-1-hello-there" in unrecorded.value.message  # the nearest recording


def test_hash_recordings_match_on_the_computed_header(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "session.yaml"
    with proxy(upstream, record, record_match="hash") as server, sdk(server) as client:
        client.responses.create(model="gpt-4.1", input="hello there")

    (scenario,) = scenarios_of(record)
    assert set(scenario["match"]) == {"model", "headers"}
    assert len(scenario["match"]["headers"][HASH_HEADER]) == 16


def test_auto_forwards_only_what_is_not_recorded(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "session.yaml"
    with proxy(upstream, record) as server, sdk(server) as client:
        client.responses.create(model="gpt-4.1", input="hello there")
        client.responses.create(model="gpt-4.1", input="hello there")  # recorded a moment ago: not forwarded
    assert creates(upstream) == 1

    with proxy(upstream, record, record_mode="auto") as server, sdk(server) as client:
        again = client.responses.create(model="gpt-4.1", input="hello there")
        new = client.responses.create(model="gpt-thinker", input="2+2?")
        entries = server.service.journal.filter(path="/v1/responses")

    assert creates(upstream) == 2  # only the new question went upstream
    assert (again.output_text, new.output_text) == ("Hello from upstream! How can I help?", "4")
    assert [(entry.upstream, entry.scenario, entry.recorded_as) for entry in entries] == [
        (False, "recorded-1-hello-there", None),
        (True, None, "recorded-2-2-2"),
    ]
    assert [scenario["name"] for scenario in scenarios_of(record)] == ["recorded-1-hello-there", "recorded-2-2-2"]


def test_record_mode_starts_the_file_anew_and_keeps_repeats_in_order(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "session.yaml"
    with proxy(upstream, record) as server, sdk(server) as client:
        client.responses.create(model="gpt-thinker", input="2+2?")
    upstream.service.engine.add([_scenario("greeting-2", {"input": "hello"}, {"text": "Hello again."}, times=None)])

    with proxy(upstream, record, record_mode="record") as server, sdk(server) as client:
        client.responses.create(model="gpt-4.1", input="hello there")
        upstream.service.engine.clear_added()
        client.responses.create(model="gpt-4.1", input="hello there")

    (scenario,) = scenarios_of(record)
    assert [answer["text"] for answer in scenario["responses"]] == [
        "Hello again.",
        "Hello from upstream! How can I help?",
    ]
    with proxy(None, record, record_mode="replay") as server, sdk(server) as client:
        texts = [client.responses.create(model="gpt-4.1", input="hello there").output_text for _ in range(2)]
    assert texts == ["Hello again.", "Hello from upstream! How can I help?"]


# ---------------------------------------------------------------- verifying


def test_verify_reports_structural_drift_in_the_header_and_the_journal(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "session.yaml"
    with proxy(upstream, record) as server, sdk(server) as client:
        weather_round_trip(client)
        client.responses.create(model="gpt-4.1", input="hello there")
        stream_types(client, "gpt-slow", "tell me a story")
    before = record.read_text(encoding="utf-8")
    # The upstream changes: another tool name and argument keys, and new wording (which is not drift).
    forecast = {"type": "function_call", "name": "get_forecast", "arguments": {"town": "Paris"}}
    upstream.service.engine.add(
        [
            _scenario(
                "drifted-call",
                {"tools": ["get_weather"], "not": {"function_call_output": True}},
                {"output": [forecast]},
            ),
            _scenario("reworded", {"input": "hello"}, {"text": "Hi there, what can I do for you?"}),
            _scenario("now-failing", {"model": "gpt-slow"}, {"text": "Cut short.", "incomplete": "max_output_tokens"}),
        ]
    )

    with proxy(upstream, record, record_mode="verify") as server, sdk(server) as client:
        question = [{"role": "user", "content": "What is the weather in Paris?"}]
        call = client.responses.with_raw_response.create(model="gpt-4.1", input=question, tools=[WEATHER_TOOL])
        hello = client.responses.with_raw_response.create(model="gpt-4.1", input="hello there")
        with client.responses.with_streaming_response.create(
            model="gpt-slow", input="tell me a story", stream=True
        ) as s:
            stream_drift = s.headers.get("x-mock-drift")
            list(s.iter_lines())
        unknown = client.responses.with_raw_response.create(model="gpt-thinker", input="2+2?")
        journal = httpx.get(server.url + "/__mock__/journal?path=/v1/responses").json()["requests"]

    assert call.headers["x-mock-drift"] == ("function_call get_weather(city, unit) -> function_call get_forecast(town)")
    assert call.parse().output[0].name == "get_forecast"  # the client gets the upstream's answer
    assert "x-mock-drift" not in hello.headers and hello.parse().output_text.startswith("Hi there")
    assert stream_drift == "ending completed -> incomplete"
    assert unknown.headers["x-mock-drift"] == "not recorded"
    assert [entry["drift"] for entry in journal] == [
        call.headers["x-mock-drift"],
        None,
        stream_drift,
        "not recorded",
    ]
    assert all(entry["upstream"] for entry in journal)
    assert record.read_text(encoding="utf-8") == before  # verify never writes
    # The drifted upstream is scripted to call a tool the request does not offer, which its own journal reports.
    upstream_findings = [finding for entry in upstream.service.journal for finding in entry.findings]
    assert upstream_findings == [
        "Scenario 'drifted-call' called the function tool 'get_forecast', which the request does not offer (it offers "
        "get_weather); the live model calls only the tools offered."
    ]


def test_verify_compares_the_reasoning_item_a_replay_adds(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "written.yaml"
    record.write_text(
        "scenarios:\n"
        "  - name: thinks\n    match: {model: gpt-5, input: think first}\n    response: {text: Thought.}\n"
        "  - name: silent\n    match: {model: gpt-5, input: answer at once}\n"
        "    response: {text: Said., reasoning: none}\n",
        encoding="utf-8",
    )
    with proxy(upstream, record, record_mode="verify") as server, sdk(server) as client:
        thinks = client.responses.with_raw_response.create(model="gpt-5", input="think first")
        silent = client.responses.with_raw_response.create(model="gpt-5", input="answer at once")
    assert [item.type for item in thinks.parse().output] == ["reasoning", "message"]  # the upstream's answer
    assert "x-mock-drift" not in thinks.headers
    assert silent.headers["x-mock-drift"] == "output item types [message] -> [reasoning, message]"


def _scenario(name: str, match: dict[str, Any], response: dict[str, Any], *, times: int | None = None) -> Any:
    from mockserver.core.yamlfile import YamlDocument
    from mockserver.engine.scenarios import compile_scenario

    raw: dict[str, Any] = {"name": name, "match": match, "response": response, "priority": 10}
    if times is not None:
        raw["times"] = times
    return compile_scenario(raw, (0,), YamlDocument("<test>", [raw]))


# ---------------------------------------------------------------- the pytest plugin


def test_the_pytest_plugin_records_per_test_and_replays_offline(
    pytester: pytest.Pytester, upstream: MockServer
) -> None:
    pytester.makepyfile(
        test_app="""
        def test_greets(mockserver):
            client = mockserver.openai()
            assert client.responses.create(model="gpt-4.1", input="hello").output_text.startswith("Hello from upstream")

        def test_counts(mockserver):
            assert mockserver.openai().responses.create(model="gpt-thinker", input="2+2?").output_text == "4"
        """
    )
    options = ["-p", "no:cacheprovider", "-p", "mockserver", "--mockserver-recordings=recs"]
    pytester.runpytest(
        *options, "--mockserver-record=auto", f"--mockserver-upstream={upstream.base_url}"
    ).assert_outcomes(passed=2)
    files = sorted(path.relative_to(pytester.path).as_posix() for path in (pytester.path / "recs").rglob("*.yaml"))
    assert files == ["recs/test_app/test_counts.yaml", "recs/test_app/test_greets.yaml"]
    assert creates(upstream) == 2
    upstream.stop()

    pytester.runpytest(*options, "--mockserver-record=replay").assert_outcomes(passed=2)


def test_polling_a_forwarded_background_response_asks_the_upstream(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "rec.yaml"
    with proxy(upstream, record, record_mode="record") as server, sdk(server) as client:
        created = client.responses.create(model="gpt-background", input="start the job", background=True)
        assert created.status == "queued"
        seen: list[str] = [str(created.status)]
        deadline = time.monotonic() + 5
        while seen[-1] in ("queued", "in_progress") and time.monotonic() < deadline:
            time.sleep(0.05)
            seen.append(client.responses.retrieve(created.id).status)
        polled = [entry for entry in upstream.service.journal if entry.method == "GET"]

        assert seen[-1] == "completed" and "in_progress" in seen  # the upstream's progress, not a stored snapshot
        assert len(polled) == len(seen) - 1
        finished = client.responses.retrieve(created.id)  # finished: answered from the proxy's store now
        assert finished.output_text == "The long job is done."
        assert len([entry for entry in upstream.service.journal if entry.method == "GET"]) == len(polled)

    # Recorded as it finished, not as first answered: a replay runs the job locally and ends with the same text.
    assert "The long job is done." in record.read_text()
    upstream.stop()
    with proxy(None, record, record_mode="replay") as server, sdk(server) as client:
        replayed = client.responses.create(model="gpt-background", input="start the job", background=True)
        assert replayed.status == "queued"
        deadline = time.monotonic() + 5
        while replayed.status in ("queued", "in_progress") and time.monotonic() < deadline:
            time.sleep(0.05)
            replayed = client.responses.retrieve(replayed.id)
        assert replayed.output_text == "The long job is done."


def test_cancelling_a_forwarded_background_response_cancels_it_upstream(upstream: MockServer, tmp_path: Path) -> None:
    with proxy(upstream, tmp_path / "rec.yaml", record_mode="record") as server, sdk(server) as client:
        created = client.responses.create(model="gpt-background", input="start the job", background=True)
        cancelled = client.responses.cancel(created.id)

        assert cancelled.status == "cancelled"
        assert upstream.service.records.retrieve(created.id)["status"] == "cancelled"
        assert client.responses.retrieve(created.id).status == "cancelled"


def test_a_conversation_through_the_proxy_is_sent_upstream_as_its_items(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "rec.yaml"

    def two_turns(server: MockServer) -> tuple[str, str, int]:
        with sdk(server) as client:
            conversation = client.conversations.create()
            first = client.responses.create(model="gpt-4.1", input="hello there", conversation=conversation.id)
            second = client.responses.create(model="gpt-4.1", input="And hello again", conversation=conversation.id)
            items = client.conversations.items.list(conversation.id)
            return first.output_text, second.output_text, len(items.data)

    with proxy(upstream, record, record_mode="record") as server:
        recorded = two_turns(server)
    sent = [entry.body for entry in upstream.service.journal if entry.path == "/v1/responses"]

    assert recorded == ("Hello from upstream! How can I help?", "Hello from upstream! How can I help?", 4)
    assert all("conversation" not in body for body in sent if isinstance(body, dict))
    second_input = sent[1]["input"] if isinstance(sent[1], dict) else None
    assert [item.get("role") for item in second_input] == ["user", "assistant", "user"]
    assert all("id" not in item for item in second_input)

    upstream.stop()
    with proxy(None, record, record_mode="replay") as server:
        assert two_turns(server) == recorded


def test_auto_continues_a_replayed_response_upstream_with_its_items(upstream: MockServer, tmp_path: Path) -> None:
    record = tmp_path / "rec.yaml"
    with proxy(upstream, record, record_mode="record") as server, sdk(server) as client:
        made_upstream = client.responses.create(model="gpt-4.1", input="hello there")
        client.responses.create(model="gpt-4.1", input="hello, go on", previous_response_id=made_upstream.id)
    chained = upstream.service.journal.last
    assert chained is not None and isinstance(chained.body, dict)
    assert chained.body["previous_response_id"] == made_upstream.id  # the upstream's own: sent as it is
    upstream.service.journal.clear()

    with proxy(upstream, record, record_mode="auto") as server, sdk(server) as client:
        first = client.responses.create(model="gpt-4.1", input="hello there")  # replayed: a local id
        second = client.responses.create(model="gpt-4.1", input="say hello once more", previous_response_id=first.id)
    sent = [entry.body for entry in upstream.service.journal if entry.path == "/v1/responses"]

    assert second.output_text == "Hello from upstream! How can I help?"  # not the upstream's 400 for an unknown id
    (body,) = sent  # the first turn was replayed; only the unrecorded second went upstream
    assert isinstance(body, dict) and "previous_response_id" not in body
    assert [item.get("role") for item in body["input"]] == ["user", "assistant", "user"]
