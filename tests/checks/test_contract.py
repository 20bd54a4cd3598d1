"""The contract checker (`mockserver.checks.contract`): silent on what the live API and mockserver send, one finding per
deliberate breakage, the allow-list honoured entry by entry."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app, load_scenarios
from mockserver.checks.contract import KNOWN_DRIFT, Finding, StreamChecker, check_request, check_response, summarize
from mockserver.faults.config import builtin_scenarios_dir
from tests.conftest import KEY_HEADERS
from tests.reference import live_capture_files

ROOT = Path(__file__).resolve().parents[2]
E2E_SCENARIOS = ROOT / "fixtures" / "scenarios" / "e2e.yaml"

Event = dict[str, Any]
Named = tuple[str | None, Event]


def parse_sse(text: str) -> list[Named]:
    """(event name, data) of each frame; lenient about the final blank line (one capture lost it)."""
    frames = [frame for frame in text.strip("\n").split("\n\n") if frame]
    parsed: list[Named] = []
    for frame in frames:
        name = None
        data: Event | None = None
        for line in frame.split("\n"):
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
        assert data is not None, frame
        parsed.append((name, data))
    return parsed


def stream_findings(events: list[Named] | list[Event]) -> list[Finding]:
    checker = StreamChecker()
    findings: list[Finding] = []
    for entry in events:
        name, event = entry if isinstance(entry, tuple) else (None, entry)
        findings.extend(checker.feed(event, name))
    return findings + checker.finish()


def renumbered(events: list[Event]) -> list[Event]:
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]


# ---------------------------------------------------------------------------------------------------------------
# The live API: every capture passes
# ---------------------------------------------------------------------------------------------------------------


def _capture_params() -> list[Any]:
    return [pytest.param(path, id=path.name) for path in live_capture_files()]


@pytest.mark.parametrize("path", _capture_params())
def test_live_capture_gives_no_finding(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".json"):
        status = 400 if path.name.startswith("error-") else 200
        assert check_response(status, json.loads(text)) == []
        return
    if path.name.endswith(".sse"):
        events: list[Named] = parse_sse(text)
    else:
        events = [(None, json.loads(line)) for line in text.splitlines() if line.strip()]
    assert len(events) > 3
    assert stream_findings(events) == []


# ---------------------------------------------------------------------------------------------------------------
# mockserver itself: everything it sends for the built-in and end-to-end scenarios passes
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    scenarios = load_scenarios([builtin_scenarios_dir(), E2E_SCENARIOS])
    with TestClient(
        create_app(Settings(seed=3), scenarios), raise_server_exceptions=False, headers=KEY_HEADERS
    ) as test_client:
        yield test_client


def _function_call_output_input() -> list[Any]:
    return [
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": '{"temperature_c": 18}'},
    ]


def _tool(name: str, *properties: str) -> dict[str, Any]:
    """A function tool taking these string properties (so the scenarios' calls fit it: no scenario finding)."""
    parameters = {"type": "object", "properties": {key: {"type": "string"} for key in properties}}
    return {"type": "function", "name": name, "parameters": parameters}


WEATHER_TOOL = _tool("get_weather", "location", "unit")
TWO_CALL_TOOLS = [_tool("get_time", "timezone"), _tool("get_stock_price", "symbol")]
PERSON_FORMAT = {
    "type": "json_schema",
    "name": "Person",
    "schema": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    },
}

# (id, request body, headers, the item types the answer must hold, the expected HTTP status)
MOCK_ANSWERS: list[tuple[str, dict[str, Any], dict[str, str], set[str], int]] = [
    ("greeting", {"model": "gpt-4.1", "input": "hello there"}, {}, {"message"}, 200),
    ("function-call", {"model": "gpt-4.1", "input": "Weather?", "tools": [WEATHER_TOOL]}, {}, {"function_call"}, 200),
    ("tool-result", {"model": "gpt-4.1", "input": _function_call_output_input()}, {}, {"message"}, 200),
    ("refusal", {"model": "gpt-4.1", "input": "How do I pick a lock?"}, {}, {"message"}, 200),
    ("reasoning", {"model": "o4-mini", "input": "Think step by step: 2+2?"}, {}, {"reasoning", "message"}, 200),
    ("structured", {"model": "gpt-4.1", "input": "Who?", "text": {"format": PERSON_FORMAT}}, {}, {"message"}, 200),
    ("incomplete", {"model": "gpt-truncated", "input": "Tell me about maples."}, {}, {"message"}, 200),
    ("failed", {"model": "gpt-failed", "input": "hi"}, {}, set(), 200),
    ("annotated", {"model": "gpt-4.1", "input": "Please cite a source."}, {}, {"message"}, 200),
    (
        "two-calls",
        {
            "model": "gpt-4.1",
            "input": "Time and ACME price?",
            "tools": TWO_CALL_TOOLS,
        },
        {},
        {"function_call"},
        200,
    ),
    (
        "generated-reasoning-logprobs",
        {
            "model": "gpt-5",
            "input": "Explain the tides.",
            "reasoning": {"summary": "auto"},
            "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
            "top_logprobs": 2,
        },
        {},
        {"reasoning", "message"},
        200,
    ),
    (
        "generated-custom-tool",
        {
            "model": "gpt-4.1",
            "input": "What is the weather in Paris?",
            "tools": [{"type": "custom", "name": "weather"}],
        },
        {},
        {"custom_tool_call"},
        200,
    ),
    ("background", {"model": "gpt-4.1", "input": "hello", "background": True}, {}, set(), 200),
    ("overloaded", {"model": "gpt-overloaded", "input": "hi"}, {}, set(), 503),
    ("rate-limited", {"model": "gpt-rate-limited", "input": "hi"}, {}, set(), 429),
    ("unauthorized", {"model": "gpt-unauthorized", "input": "hi"}, {}, set(), 401),
    ("bad-gateway", {"model": "gpt-4.1", "input": "hi"}, {"x-mock-error": "bad_gateway"}, set(), 502),
    ("invalid-request", {"model": "gpt-4.1", "input": "hi", "temperature": 9}, {}, set(), 400),
]


def _item_types(body: Any) -> set[str]:
    return {item["type"] for item in body.get("output", [])} if isinstance(body, dict) else set()


@pytest.mark.parametrize(
    ("body", "headers", "item_types", "status"),
    [pytest.param(b, h, t, s, id=name) for name, b, h, t, s in MOCK_ANSWERS],
)
def test_mockserver_json_answers_give_no_finding(
    client: TestClient, body: dict[str, Any], headers: dict[str, str], item_types: set[str], status: int
) -> None:
    if status < 400:
        assert check_request(body) == []
    answer = client.post("/v1/responses", json=body, headers=headers)
    assert answer.status_code == status
    assert item_types <= _item_types(answer.json())
    assert check_response(answer.status_code, answer.json()) == []
    assert "x-mock-finding" not in answer.headers  # and the scenarios answer what the live API could


STREAM_FAULTS = {
    "error-event": "{error_event: {preset: insufficient_quota}}",
    "error-event-then-failed": "{error_event: {preset: insufficient_quota, failed: true}}",
    "error-event-flat": "{error_event: {preset: server_error, flat: true}}",
    "failed-midway": "{failed: {after_events: 5}}",
}


@pytest.mark.parametrize(
    ("body", "headers", "item_types"),
    [pytest.param(b, h, t, id=name) for name, b, h, t, s in MOCK_ANSWERS if s == 200 and "background" not in b]
    + [
        pytest.param({"model": "gpt-4.1", "input": "hello"}, {"x-mock-fault": fault}, set(), id=name)
        for name, fault in STREAM_FAULTS.items()
    ]
    + [
        pytest.param(
            {"model": "gpt-4.1", "input": "hello"},
            {"x-mock-stream": "{gap: 12, keepalive: 5, chunk: {words: 2}}"},
            {"message"},
            id="keepalives",
        )
    ],
)
def test_mockserver_streams_give_no_finding(
    client: TestClient, body: dict[str, Any], headers: dict[str, str], item_types: set[str]
) -> None:
    answer = client.post("/v1/responses", json={**body, "stream": True}, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(answer.text)
    final = events[-1][1].get("response", {})
    assert item_types <= _item_types(final)
    assert stream_findings(events) == []
    assert "x-mock-finding" not in answer.headers
    if "keepalive" in headers.get("x-mock-stream", ""):
        assert any(event["type"] == "keepalive" for _, event in events)
    if "fault" in str(headers):
        assert {"error", "response.failed"} & {event["type"] for _, event in events}


# ---------------------------------------------------------------------------------------------------------------
# Deliberate breakages: exactly one finding each, at the right place
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def text_response(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = client.post(
        "/v1/responses", json={"model": "gpt-4.1", "input": "Please cite a source."}
    ).json()
    assert body["output"][0]["content"][0]["annotations"]
    return body


@pytest.fixture(scope="module")
def text_stream(client: TestClient) -> list[Event]:
    answer = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "hello there", "stream": True})
    events = [event for _, event in parse_sse(answer.text)]
    assert [e["type"] for e in events].count("response.output_text.delta") >= 3
    return events


@pytest.fixture(scope="module")
def calls_stream(client: TestClient) -> list[Event]:
    body = {"model": "gpt-4.1", "input": "hi", "tools": TWO_CALL_TOOLS, "stream": True}
    answer = client.post("/v1/responses", json=body)
    return [event for _, event in parse_sse(answer.text)]


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def _index_of(events: list[Event], event_type: str, nth: int = 0) -> int:
    return [i for i, event in enumerate(events) if event["type"] == event_type][nth]


def test_a_wrong_type_deep_in_an_item(text_response: dict[str, Any]) -> None:
    broken = copy.deepcopy(text_response)
    broken["output"][0]["content"][0]["annotations"][0]["start_index"] = "4"
    finding = _only(check_response(200, broken))
    assert (finding.where, finding.path) == ("response", "output[0].content[0].annotations[0].start_index")
    assert finding.message == "expected an integer, got a string"


def test_a_missing_required_key(text_response: dict[str, Any]) -> None:
    broken = copy.deepcopy(text_response)
    del broken["output"][0]["status"]
    finding = _only(check_response(200, broken))
    assert (finding.where, finding.path) == ("response", "output[0].status")
    assert "'status'" in finding.message and "missing" in finding.message


def test_an_unknown_item_type(text_response: dict[str, Any]) -> None:
    broken = copy.deepcopy(text_response)
    broken["output"][0]["type"] = "hologram"
    finding = _only(check_response(200, broken))
    assert (finding.where, finding.path) == ("response", "output[0].type")
    assert finding.message == 'unknown output item type "hologram"'


def test_a_wrong_id_prefix_and_object(text_response: dict[str, Any]) -> None:
    broken = {**text_response, "id": "chatcmpl_1", "object": "chat.completion"}
    findings = {finding.path: finding.message for finding in check_response(200, broken)}
    assert findings == {
        "id": "expected an id starting with 'resp_', got \"chatcmpl_1\"",
        "object": 'expected "response", got "chat.completion"',
    }


def test_an_unknown_event_type(text_stream: list[Event]) -> None:
    at = _index_of(text_stream, "response.output_text.delta")
    broken = renumbered([*text_stream[:at], {"type": "response.hologram", "sequence_number": 0}, *text_stream[at:]])
    finding = _only(stream_findings(broken))
    assert (finding.where, finding.path) == (f"event {at} response.hologram", "type")
    assert finding.message == 'unknown event type "response.hologram"'


def test_a_wrong_type_in_an_event(text_stream: list[Event]) -> None:
    broken = copy.deepcopy(text_stream)
    at = _index_of(broken, "response.output_text.delta")
    broken[at]["logprobs"] = None
    finding = _only(stream_findings(broken))
    assert (finding.where, finding.path) == (f"event {at} response.output_text.delta", "logprobs")
    assert finding.message == "expected an array, got null"


def test_a_sequence_number_that_skips(text_stream: list[Event]) -> None:
    broken = [{**e, "sequence_number": e["sequence_number"] + (1 if i >= 4 else 0)} for i, e in enumerate(text_stream)]
    finding = _only(stream_findings(broken))
    assert (finding.where, finding.path) == (f"event 4 {broken[4]['type']}", "sequence_number")
    assert finding.message == "sequence_number 5, expected 4 (sequence numbers rise by 1)"


def test_a_delta_before_its_item_was_added(calls_stream: list[Event]) -> None:
    added = _index_of(calls_stream, "response.output_item.added", 1)
    delta = next(i for i in range(added, len(calls_stream)) if calls_stream[i].get("delta") is not None)
    assert calls_stream[delta]["output_index"] == 1
    moved = [*calls_stream[:added], calls_stream[delta], *calls_stream[added:delta], *calls_stream[delta + 1 :]]
    finding = _only(stream_findings(renumbered(moved)))
    assert (finding.where, finding.path) == (f"event {added} response.function_call_arguments.delta", "output_index")
    assert finding.message == (
        "response.function_call_arguments.delta for output_index 1 before its response.output_item.added"
    )


def test_a_delta_before_its_content_part(text_stream: list[Event]) -> None:
    part = _index_of(text_stream, "response.content_part.added")
    delta = text_stream[part + 1]
    assert delta["type"] == "response.output_text.delta"
    swapped = renumbered([*text_stream[:part], delta, text_stream[part], *text_stream[part + 2 :]])
    finding = _only(stream_findings(swapped))
    assert (finding.where, finding.path) == (f"event {part} response.output_text.delta", "content_index")
    assert "before its response.content_part.added" in finding.message


def test_two_terminal_events(text_stream: list[Event]) -> None:
    broken = renumbered([*text_stream, text_stream[-1]])
    finding = _only(stream_findings(broken))
    assert (finding.where, finding.path) == (f"event {len(text_stream)} response.completed", "")
    assert finding.message == (
        f"response.completed after the end of the stream (response.completed at event {len(text_stream) - 1}); "
        "nothing may follow it"
    )


def test_a_stream_without_terminal_event(text_stream: list[Event]) -> None:
    checker = StreamChecker()
    assert [f for event in text_stream[:-1] for f in checker.feed(event)] == []
    finding = _only(checker.finish())
    assert (finding.where, finding.path) == ("stream", "")
    assert "without a terminal event" in finding.message


def test_deltas_that_do_not_add_up(text_stream: list[Event]) -> None:
    broken = copy.deepcopy(text_stream)
    broken[_index_of(broken, "response.output_text.delta", 1)]["delta"] = " XYZ"
    done = _index_of(broken, "response.output_text.done")
    finding = _only(stream_findings(broken))
    assert (finding.where, finding.path) == (f"event {done} response.output_text.done", "text")
    assert "is not its deltas joined" in finding.message and "XYZ" in finding.message


def test_a_terminal_status_that_does_not_match_its_event(text_stream: list[Event]) -> None:
    broken = copy.deepcopy(text_stream)
    broken[-1]["response"]["status"] = "incomplete"
    finding = _only(stream_findings(broken))
    assert (finding.where, finding.path) == (f"event {len(broken) - 1} response.completed", "response.status")
    assert finding.message == "response.completed carries status 'incomplete', expected 'completed'"


def test_a_stream_that_does_not_start_with_created(text_stream: list[Event]) -> None:
    finding = _only(stream_findings(renumbered(text_stream[1:])))
    assert (finding.where, finding.path) == ("event 0 response.in_progress", "type")
    assert finding.message == "the stream must start with response.created, not response.in_progress"


def test_the_sse_event_name_must_be_the_type(text_stream: list[Event]) -> None:
    named: list[Named] = [(event["type"], event) for event in text_stream]
    named[1] = ("response.created", named[1][1])
    finding = _only(stream_findings(named))
    assert (finding.where, finding.path) == ("event 1 response.in_progress", "type")


def test_a_bad_error_envelope() -> None:
    finding = _only(check_response(429, {"error": {"message": "Slow down.", "type": "requests", "param": None}}))
    assert (finding.where, finding.path) == ("response", "error.code")
    assert finding.message == "the required key 'code' is missing"
    finding = _only(check_response(500, {"message": "oops"}))
    assert (finding.path, finding.message) == ("error", "the required key 'error' is missing")


def test_a_request_with_an_unknown_parameter() -> None:
    finding = _only(check_request({"model": "gpt-4.1", "input": "hi", "temprature": 0.2}))
    assert finding == Finding("request", "temprature", "Unknown parameter: 'temprature'.")


def test_a_request_lists_every_problem_once() -> None:
    findings = check_request({"model": "gpt-4.1", "input": [{"role": "user"}], "foo": 1, "temperature": "hot"})
    assert [finding.path for finding in findings] == ["foo", "input[0].content", "temperature"]


def test_other_statuses_and_shapes() -> None:
    assert _only(check_response(302, {})).message == "HTTP status 302 is neither a success (2xx) nor an error (>= 400)"
    assert _only(check_response(200, [])).message == "expected an object, got an array"
    assert _only(StreamChecker().finish()).message == "the stream has no events"


# ---------------------------------------------------------------------------------------------------------------
# KNOWN_DRIFT: each entry is excused, and only that
# ---------------------------------------------------------------------------------------------------------------


def _lifecycle(event_type: str, response: dict[str, Any]) -> Event:
    return {"type": event_type, "response": response, "sequence_number": 0}


def _failed_quota_stream(text_response: dict[str, Any]) -> list[Event]:
    snapshot = {**text_response, "status": "in_progress", "output": [], "usage": None, "completed_at": None}
    failed = {
        **snapshot,
        "status": "failed",
        "error": {"code": "insufficient_quota", "message": "You exceeded your current quota."},
    }
    error = {"type": "insufficient_quota", "code": "insufficient_quota", "message": "Quota.", "param": None}
    return renumbered(
        [
            _lifecycle("response.created", snapshot),
            _lifecycle("response.in_progress", snapshot),
            {"type": "error", "error": error, "sequence_number": 0},
            _lifecycle("response.failed", failed),
        ]
    )


DriftExample = Callable[[dict[str, Any], list[Event], list[Event]], list[Finding]]


def _without_cache_write_tokens(response: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(response)
    del broken["usage"]["input_tokens_details"]["cache_write_tokens"]
    return broken


def _keepalives_between(events: list[Event]) -> list[Event]:
    keepalive = {"type": "keepalive", "sequence_number": 0}
    return renumbered([events[0], keepalive, *events[1:-1], keepalive, events[-1]])


def _arguments_done_without_name(calls: list[Event]) -> list[Event]:
    events = copy.deepcopy(calls)
    for event in events:
        if event["type"] == "response.function_call_arguments.done":
            event.pop("name", None)  # mockserver already leaves it out, as the live API does
    return events


DRIFT_EXAMPLES: dict[str, DriftExample] = {
    "response-user-null": lambda response, _, __: check_response(200, {**response, "user": None}),
    "response-usage-null-while-unfinished": lambda response, _, __: check_response(
        200, {**response, "status": "in_progress", "usage": None, "completed_at": None}
    ),
    "usage-without-cache-write-tokens": lambda response, _, __: check_response(
        200, _without_cache_write_tokens(response)
    ),
    "response-error-code-insufficient-quota": lambda response, _, __: stream_findings(_failed_quota_stream(response)),
    "error-event-nested": lambda response, _, __: stream_findings(_failed_quota_stream(response)[:3]),
    "error-event-then-response-failed": lambda response, _, __: stream_findings(_failed_quota_stream(response)),
    "function-call-arguments-done-without-name": lambda _, __, calls: stream_findings(
        _arguments_done_without_name(calls)
    ),
    "keepalive-event": lambda _, text, __: stream_findings(_keepalives_between(text)),
    "cdn-gateway-error-envelope": lambda _, __, ___: check_response(
        502, {"error": {"code": 502, "message": "Bad gateway.", "param": None, "type": "cf_bad_gateway"}}
    ),
}


def test_every_known_drift_has_an_example() -> None:
    assert set(DRIFT_EXAMPLES) == {drift.name for drift in KNOWN_DRIFT}
    assert all(drift.reason.strip() for drift in KNOWN_DRIFT)


@pytest.mark.parametrize("name", sorted(DRIFT_EXAMPLES))
def test_known_drift_gives_no_finding(
    name: str, text_response: dict[str, Any], text_stream: list[Event], calls_stream: list[Event]
) -> None:
    assert DRIFT_EXAMPLES[name](text_response, text_stream, calls_stream) == []


def test_known_drift_excuses_only_itself(text_response: dict[str, Any], text_stream: list[Event]) -> None:
    assert _only(check_response(200, {**text_response, "user": 7})).path == "user"
    assert _only(check_response(200, {**text_response, "usage": None})).path == "usage"  # completed: usage needed
    quota = _failed_quota_stream(text_response)
    quota[3]["response"]["error"]["code"] = "out_of_luck"
    assert _only(stream_findings(quota)).path == "response.error.code"
    quota = _failed_quota_stream(text_response)
    del quota[2]["error"]["param"]
    assert _only(stream_findings(quota)).path == "error.param"
    quota = _failed_quota_stream(text_response)
    assert _only(stream_findings([*quota, {**quota[3], "sequence_number": 4}])).where == "event 4 response.failed"
    keepalive = _keepalives_between(text_stream)
    keepalive[1]["sequence_number"] = "1"
    assert _only(stream_findings(keepalive)).where == "event 1 keepalive"
    cdn = {"error": {"code": 502, "message": "Bad gateway.", "param": None, "type": "server_error"}}
    assert _only(check_response(502, cdn)).path == "error.code"


# ---------------------------------------------------------------------------------------------------------------
# summarize
# ---------------------------------------------------------------------------------------------------------------


def test_summarize_is_one_bounded_ascii_line() -> None:
    findings = [
        Finding(f"event {n} response.output_text.delta", "text", f'text "Grüße ✓\nline\r{"x" * 300}" wrong')
        for n in range(5)
    ]
    line = summarize(findings)
    assert line.isascii() and line.isprintable() and "\n" not in line and "\r" not in line
    assert len(line) <= 400
    assert line.startswith("5 contract findings: event 0 response.output_text.delta at text: ")
    assert line.endswith("(+2 more)")
    assert summarize(findings, limit=1, max_length=80).endswith("(+4 more)")
    assert len(summarize(findings, max_length=80)) <= 80
    assert summarize([]) == "no contract findings"
    assert summarize([Finding("stream", "", "no terminal event")]) == "1 contract finding: stream: no terminal event"


# ---------------------------------------------------------------------------------------------------------------
# The generated fast path agrees with the detailed validator
# ---------------------------------------------------------------------------------------------------------------


OTHER_VALUES: tuple[object, ...] = (None, True, 1, -1, 1.5, "s", [], {}, [{"token": 1}])


def _mutations(event: Event) -> Iterator[Event]:
    """The event with each member but `type` (which picks the check) removed or of another type."""
    for key in sorted(set(event) - {"type"}):
        yield {k: v for k, v in event.items() if k != key}
        for value in OTHER_VALUES:
            yield {**event, key: value}


def test_fast_event_checks_agree_with_the_detailed_validator(
    text_stream: list[Event], calls_stream: list[Event]
) -> None:
    from mockserver.checks.contract_schema import _contract
    from mockserver.checks.contract_schema import fast_event_check as _fast_event_check

    detailed = _contract().validators["event"]
    samples = {event["type"]: event for event in [*text_stream, *calls_stream]}
    checked = 0
    for event_type, event in samples.items():
        fast = _fast_event_check(event_type)
        if fast is None:
            continue
        for mutated in _mutations(event):
            assert fast(mutated) == detailed.is_valid(mutated), mutated
            checked += 1
    assert checked > 150


def test_the_schema_file_is_json_schema() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "mockserver" / "data" / "response_contract.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    for group in schema["dispatch"].values():
        for branch in group["types"].values():
            Draft202012Validator.check_schema(branch)
