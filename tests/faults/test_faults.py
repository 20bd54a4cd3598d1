"""Stream and transport faults against a real server, each with the exact exception or event the official SDK
produces. The server is checked after the module: no fault made it answer 500 or log a warning."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import httpx
import openai
import pytest
import uvicorn
from starlette.testclient import TestClient

from mockserver import MockServer, Settings, create_app
from mockserver.engine.scenarios import load_scenarios
from mockserver.faults.hangs import Server
from mockserver.faults.transport import ConnectionFault, find_transport
from mockserver.state.journal import Entry
from tests.conftest import KEY_HEADERS
from tests.fault_server import FAULT_SCENARIOS, FaultServer, fault_server, fresh_fault_server, running_fault_server  # noqa: F401 (fixtures)


def consume(stream: Any) -> tuple[list[Any], BaseException | None]:
    """The events an SDK stream yields, and the exception that ended it (None: it ended cleanly)."""
    events: list[Any] = []
    try:
        for event in stream:
            events.append(event)
    except Exception as exc:  # the point is to see which one
        return events, exc
    return events, None


def cause(error: BaseException | None) -> str:
    """The transport error under an SDK exception, by name (the SDK uses its own copy of httpx)."""
    underlying = error.__cause__ if error is not None else None
    return f"{type(underlying).__name__}: {underlying}"


def raw_sse(fs: FaultServer, scenario: str) -> list[dict[str, Any]]:
    response = httpx.post(
        fs.server.base_url + "/responses",
        json={"model": "gpt-4.1", "input": "hello", "stream": True},
        headers={"x-mock-scenario": scenario},
    )
    return [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]


# ---------------------------------------------------------------- events the stream carries


def test_error_event_is_the_live_nested_shape_and_the_sdk_raises_api_error(fs: FaultServer) -> None:
    events, error = consume(fs.create("error-event", stream=True))

    assert [event.type for event in events] == ["response.created", "response.in_progress"]
    assert type(error) is openai.APIError  # not a status error: the HTTP status was 200
    assert (error.code, error.type, error.param) == ("insufficient_quota", "insufficient_quota", None)
    assert error.message.startswith("You exceeded your current quota")
    fs.check_intact()  # a nested error then response.failed is a valid ending

    error_event, failed = raw_sse(fs, "error-event")[2:]
    assert list(error_event) == ["type", "error", "sequence_number"]
    assert list(error_event["error"]) == ["type", "code", "message", "param"]
    assert (error_event["sequence_number"], failed["sequence_number"]) == (2, 3)
    assert failed["type"] == "response.failed" and failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {"code": "insufficient_quota", "message": error_event["error"]["message"]}
    assert failed["response"]["usage"] is None and failed["response"]["output"] == []


def test_error_event_with_the_documented_flat_fields_too(fs: FaultServer) -> None:
    events, error = consume(fs.create("error-event-flat", stream=True))

    assert len(events) == 2 and type(error) is openai.APIError and error.code == "context_length_exceeded"
    error_event = raw_sse(fs, "error-event-flat")[-1]
    assert list(error_event) == ["type", "code", "error", "message", "param", "sequence_number"]
    assert error_event["code"] == error_event["error"]["code"] == "context_length_exceeded"
    assert error_event["param"] == "input"


def test_response_failed_after_partial_output_ends_the_stream_without_an_exception(fs: FaultServer) -> None:
    events, error = consume(fs.create("failed-midway", stream=True))

    assert error is None
    assert [event.type for event in events][-3:] == [
        "response.output_text.delta",
        "response.output_text.delta",
        "response.failed",
    ]
    assert events[-1].sequence_number == 6
    failed = events[-1].response
    assert failed.status == "failed" and failed.error.code == "server_error"
    assert failed.error.message == "The model crashed."
    with fs.sdk().responses.stream(
        model="gpt-4.1", input="hi", extra_headers={"x-mock-scenario": "failed-midway"}
    ) as s:
        with pytest.raises(RuntimeError, match="Didn't receive a `response.completed` event."):
            s.get_final_response()


def test_clean_end_without_a_terminal_event(fs: FaultServer) -> None:
    events, error = consume(fs.create("truncated-stream", stream=True))

    assert error is None and events[-1].type == "response.output_item.done"
    with fs.sdk().responses.stream(
        model="gpt-4.1", input="hi", extra_headers={"x-mock-scenario": "truncated-stream"}
    ) as s:
        with pytest.raises(RuntimeError, match="Didn't receive a `response.completed` event."):
            s.get_final_response()


def test_malformed_line_makes_the_sdk_raise_json_decode_error(fs: FaultServer) -> None:
    events, error = consume(fs.create("malformed-line", stream=True))

    assert len(events) == 3 and isinstance(error, json.JSONDecodeError)


def test_fragmented_writes_split_lines_and_characters_and_the_sdk_reassembles_them(fs: FaultServer) -> None:
    events, error = consume(fs.create("fragmented", stream=True))

    assert error is None and events[-1].response.output_text == "Ünïcödé split everywhere — ✓"
    fs.check_intact()
    with httpx.stream(
        "POST",
        fs.server.base_url + "/responses",
        json={"model": "gpt-4.1", "input": "hi", "stream": True},
        headers={"x-mock-scenario": "fragmented"},
    ) as response:
        pieces = list(response.iter_raw())
    assert max(len(piece) for piece in pieces) == 3
    assert any(not piece.endswith(b"\n") and b"\n" not in piece for piece in pieces)  # mid-line
    cut_characters = 0
    for piece in pieces:
        try:
            piece.decode()
        except UnicodeDecodeError:
            cut_characters += 1
    assert cut_characters > 0  # some writes end inside a multi-byte UTF-8 character


def test_a_duplicated_event_repeats_its_sequence_number(fs: FaultServer) -> None:
    events, error = consume(fs.create("duplicated", stream=True))

    numbers = [event.sequence_number for event in events]
    assert error is None and numbers[:6] == [0, 1, 2, 3, 4, 4]
    assert events[4].type == events[5].type == "response.output_text.delta"
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert deltas == "TwiceTwice." and events[-1].response.output_text == "Twice."


def test_swapped_events_arrive_out_of_order(fs: FaultServer) -> None:
    events, error = consume(fs.create("swapped", stream=True))

    assert error is None
    assert [event.sequence_number for event in events][:5] == [0, 1, 3, 2, 4]
    assert events[2].type == "response.content_part.added" and events[3].type == "response.output_item.added"
    with fs.sdk().responses.stream(model="gpt-4.1", input="hi", extra_headers={"x-mock-scenario": "swapped"}) as s:
        with pytest.raises(RuntimeError, match="before receiving its output item"):
            s.get_final_response()


def test_an_unknown_event_type_passes_through(fs: FaultServer) -> None:
    events, error = consume(fs.create("unknown-event", stream=True))

    assert error is None and events[2].type == "response.mock_unknown" and events[2].sequence_number == 2
    assert [event.sequence_number for event in events] == list(range(len(events)))
    with fs.sdk().responses.stream(
        model="gpt-4.1", input="hi", extra_headers={"x-mock-scenario": "unknown-event"}
    ) as s:
        assert s.get_final_response().output_text == "A stranger event."


# ---------------------------------------------------------------- the connection mid-stream


def test_reset_mid_stream_raises_api_connection_error_after_the_events_sent(fs: FaultServer) -> None:
    events, error = consume(fs.create("reset-after-events", stream=True, max_retries=2))

    assert len(events) == 5 and type(error) is openai.APIConnectionError
    assert cause(error) == "ReadError: [Errno 104] Connection reset by peer"
    assert len(fs.attempts()) == 1  # never retried: the status was 200


def test_reset_after_a_byte_count(fs: FaultServer) -> None:
    events, error = consume(fs.create("reset-after-bytes", stream=True))

    assert 0 < len(events) < 10 and type(error) is openai.APIConnectionError
    assert cause(error) == "ReadError: [Errno 104] Connection reset by peer"


def test_cut_mid_chunk_leaves_the_chunked_body_unfinished(fs: FaultServer) -> None:
    events, error = consume(fs.create("cut-mid-chunk", stream=True))

    assert events and type(error) is openai.APIConnectionError
    assert cause(error) == (
        "RemoteProtocolError: peer closed connection without sending complete message body (incomplete chunked read)"
    )

    body = b'{"model":"gpt-4.1","input":"hi","stream":true}'
    request = (
        b"POST /v1/responses HTTP/1.1\r\nhost: mock\r\ncontent-type: application/json\r\n"
        b"x-mock-scenario: cut-mid-chunk\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.create_connection(("127.0.0.1", fs.server.port)) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    chunked = received.split(b"\r\n\r\n", 1)[1]
    sizes_and_data = []
    while chunked:
        size_line, _, chunked = chunked.partition(b"\r\n")
        size = int(size_line, 16)
        sizes_and_data.append((size, len(chunked[:size])))
        chunked = chunked[size + 2 :]
    announced, arrived = sizes_and_data[-1]
    assert 0 < arrived < announced  # the last chunk stops inside itself; no terminating 0-size chunk


def test_stall_mid_stream_ends_in_api_timeout_error(fs: FaultServer) -> None:
    started = time.perf_counter()
    events, error = consume(fs.create("stalled", stream=True, timeout=0.5))

    assert len(events) == 3 and type(error) is openai.APITimeoutError
    assert 0.5 <= time.perf_counter() - started < 1.5


def test_connection_held_open_after_the_terminal_event(fs: FaultServer) -> None:
    events, error = consume(fs.create("held-open", stream=True, timeout=0.5))

    # The SDK reads to the end of the body, so the completed response arrives and the read then times out.
    assert events[-1].type == "response.completed" and type(error) is openai.APITimeoutError


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_headers_then_nothing(fs: FaultServer, stream: bool) -> None:
    if stream:
        events, error = consume(fs.create("headers-only", stream=True, timeout=0.5))
        assert events == [] and type(error) is openai.APITimeoutError
    else:
        with pytest.raises(openai.APITimeoutError):
            fs.create("headers-only", timeout=0.5)


# ---------------------------------------------------------------- before any byte (any answer)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("scenario", "underlying"),
    [
        ("reset", "ReadError: [Errno 104] Connection reset by peer"),
        ("empty", "RemoteProtocolError: Server disconnected without sending a response."),
        ("garbage", "RemoteProtocolError: illegal status line"),
    ],
)
def test_transport_faults_raise_api_connection_error(
    fs: FaultServer, scenario: str, underlying: str, stream: bool
) -> None:
    with pytest.raises(openai.APIConnectionError) as caught:
        fs.create(scenario, stream=stream)  # no answer at all: create() raises, streaming or not

    assert type(caught.value) is openai.APIConnectionError
    assert cause(caught.value).startswith(underlying)


def test_sdk_retries_a_reset_before_any_byte(fs: FaultServer) -> None:
    with pytest.raises(openai.APIConnectionError):
        fs.create("reset", max_retries=2)

    assert len(fs.attempts()) == 3


def test_sdk_retries_a_json_body_cut_short_but_not_a_broken_stream(fs: FaultServer) -> None:
    headers = {"x-mock-fault": "{cut: {after_bytes: 200}}"}
    with pytest.raises(openai.APIConnectionError):
        fs.sdk(max_retries=2).responses.create(model="gpt-4.1", input="hi", extra_headers=headers)
    json_attempts = len(fs.attempts())
    _, error = consume(fs.create("cut-mid-chunk", stream=True, max_retries=2))

    assert (json_attempts, len(fs.attempts())) == (3, 1) and type(error) is openai.APIConnectionError


def test_delay_past_the_client_timeout_is_api_timeout_error(fs: FaultServer) -> None:
    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        fs.sdk(timeout=0.2).responses.create(model="gpt-4.1", input="hi", extra_headers={"x-mock-delay-ms": "2000"})

    assert 0.2 <= time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("{reset: {after_bytes: 200}}", openai.APIConnectionError),
        ("{cut: {after_bytes: 200}}", openai.APIConnectionError),
        ("{stall: {after_bytes: 200}}", openai.APITimeoutError),
    ],
)
def test_faults_inside_a_json_body(fs: FaultServer, fault: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        fs.sdk(timeout=0.5).responses.create(model="gpt-4.1", input="hi", extra_headers={"x-mock-fault": fault})


# ---------------------------------------------------------------- per-request headers and probability


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ("reset", openai.APIConnectionError),
        ("empty", openai.APIConnectionError),
        ("garbage", openai.APIConnectionError),
        ("stall", openai.APITimeoutError),
        ("headers_only", openai.APITimeoutError),
        ("error_event", openai.APIError),
        ("{cut: {after_events: 4}}", openai.APIConnectionError),
        ("{reset: {after_events: 4}}", openai.APIConnectionError),
        ("{stall: {after_events: 4}}", openai.APITimeoutError),
        ("malformed", json.JSONDecodeError),
        ("hold", openai.APITimeoutError),
        ("truncate", None),
        ("failed", None),
        ("duplicate", None),
        ("swap", None),
        ("unknown_event", None),
        ("{fragment: 2}", None),
    ],
)
def test_x_mock_fault_header_picks_a_fault_for_one_request(
    fs: FaultServer, fault: str, outcome: type[Exception] | None
) -> None:
    def stream() -> Any:
        headers = {"x-mock-fault": fault}
        return fs.sdk(timeout=0.5).responses.create(model="gpt-4.1", input="hello", stream=True, extra_headers=headers)

    try:
        _, error = consume(stream())
    except Exception as exc:  # a fault before the headers fails create() itself
        error = exc
    assert type(error) is outcome if outcome is not None else error is None


def test_x_mock_fault_http_error_answers_that_error_instead(fs: FaultServer) -> None:
    with pytest.raises(openai.RateLimitError):
        fs.sdk().responses.create(
            model="gpt-4.1", input="hi", extra_headers={"x-mock-fault": "{http_error: rate_limit}"}
        )


def test_probability_is_seeded_and_repeats_from_run_to_run() -> None:
    def outcomes(seed: int) -> list[bool]:
        settings = Settings(port=0, log_level="warning", scenario_paths=(FAULT_SCENARIOS,), seed=seed)
        with (
            MockServer(settings) as server,
            openai.OpenAI(base_url=server.base_url, api_key="sk", max_retries=0) as client,
        ):
            results = []
            for _ in range(16):
                try:
                    client.responses.create(model="m", input="hi", extra_headers={"x-mock-scenario": "flaky"})
                    results.append(True)
                except openai.InternalServerError:
                    results.append(False)
            return results

    first, again, other = outcomes(5), outcomes(5), outcomes(6)
    assert first == again
    assert first != other
    assert 3 <= first.count(False) <= 13  # both outcomes happen at p = 0.5


# ---------------------------------------------------------------- the server itself


def test_stop_returns_promptly_with_a_stalled_stream_open() -> None:
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(FAULT_SCENARIOS,))).start()
    outcome: list[BaseException | None] = []

    def stalled_client() -> None:
        with openai.OpenAI(base_url=server.base_url, api_key="sk", max_retries=0, timeout=30) as client:
            outcome.append(
                consume(
                    client.responses.create(
                        model="m", input="hi", stream=True, extra_headers={"x-mock-scenario": "stalled"}
                    )
                )[1]
            )

    thread = threading.Thread(target=stalled_client)
    thread.start()
    time.sleep(0.3)
    started = time.perf_counter()
    server.stop()
    stopped_in = time.perf_counter() - started
    thread.join(5)

    assert stopped_in < 1.0
    assert type(outcome[0]) is openai.APIConnectionError  # the stall ends with the connection closed


def test_in_process_a_raw_fault_raises_connection_fault() -> None:
    app = create_app(Settings(seed=1), load_scenarios([FAULT_SCENARIOS]))
    with TestClient(app, headers=KEY_HEADERS) as client:
        with pytest.raises(ConnectionFault, match="simulated reset"):
            client.post("/v1/responses", json={"model": "m", "input": "hi"}, headers={"x-mock-scenario": "reset"})
        answer = client.post(
            "/v1/responses", json={"model": "m", "input": "hi"}, headers={"x-mock-scenario": "delayed"}
        )
    assert answer.json()["output"][0]["content"][0]["text"] == "Sorry for the wait."


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_raw_faults_reach_the_socket_under_each_uvicorn_http_implementation(http: str) -> None:
    if http == "httptools":
        pytest.importorskip("httptools")
    app = create_app(Settings(seed=1), load_scenarios([FAULT_SCENARIOS]))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = Server(uvicorn.Config(app, http=http, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.005)
    try:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        with openai.OpenAI(base_url=url, api_key="sk", max_retries=0, timeout=2) as client:
            scenario = {"x-mock-scenario": "reset-after-events"}
            events, error = consume(client.responses.create(model="m", input="hi", stream=True, extra_headers=scenario))
    finally:
        server.should_exit = True
        thread.join(5)

    assert len(events) == 5 and cause(error) == "ReadError: [Errno 104] Connection reset by peer"


def test_the_transport_is_found_through_wrapping_closures() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.transport = TransportLike()

        async def send(self, message: object) -> None:
            pass

    class TransportLike:
        def write(self, data: bytes) -> None: ...
        def close(self) -> None: ...
        def abort(self) -> None: ...
        def get_extra_info(self, name: str, default: object = None) -> object: ...

    cycle = Cycle()

    def wrap(send: Any) -> Any:
        async def wrapped(message: object) -> None:
            await send(message)

        return wrapped

    assert find_transport(wrap(wrap(wrap(cycle.send)))) is cycle.transport
    assert find_transport(wrap(lambda message: None)) is None


# ---------------------------------------------------------------- the journal, in the YAML's words


def finished_entry(fs: FaultServer) -> Entry:
    """The last journal entry once the server has finished with it (the client may see the end first)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entry = fs.server.service.journal.last
        if entry is not None and entry.finished_at is not None:
            return entry
        time.sleep(0.01)
    raise AssertionError("the server never finished the last request")


@pytest.mark.parametrize(
    ("scenario", "fault", "stream_end"),
    [
        ("reset-after-events", "reset", "reset"),
        ("cut-mid-chunk", "cut", "cut"),
        ("error-event", "error_event", "response.failed"),
        ("truncated-stream", "truncate", "no_terminal_event"),
        ("plain", None, "response.completed"),
    ],
)
def test_the_journal_names_faults_and_endings_as_scenario_files_do(
    fs: FaultServer, scenario: str, fault: str | None, stream_end: str
) -> None:
    events, _ = consume(fs.create(scenario, stream=True))
    entry = finished_entry(fs)

    assert (entry.fault, entry.stream_end) == (fault, stream_end)
    assert entry.events >= len(events) > 0  # every event the client read was counted (a cut may lose the last)
    assert entry.to_json()["events"] == entry.events


def test_the_journal_counts_every_event_of_a_whole_stream(fs: FaultServer) -> None:
    events, error = consume(fs.create("plain", stream=True))

    assert error is None and finished_entry(fs).events == len(events)
