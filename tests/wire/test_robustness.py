"""Nothing a client sends makes the server answer 5xx or hang; a bad scenario file fails with `file:line`.

Property-based (hypothesis): create bodies start from valid ones and are mutated one way (a field set to a value of
another type, a required key dropped, an unknown key added, huge strings and arrays, deep nesting, NaN-looking strings,
unicode); raw bodies are random bytes, truncated JSON, wrong content types and oversized bodies; the other endpoints
get random ids and query values. Every answer must be 200 or a 4xx in the API's error envelope, within a timeout.
Most run in-process (`TestClient`); a few run over a real socket (`MockServer`), where lying lengths can be sent.
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import socket
import string
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import MockServer, Settings, create_app, load_scenarios
from mockserver.core.errors import ScenarioFileError
from mockserver.core.validation import request_schema
from mockserver.engine.matching import MATCH_KEYS
from mockserver.engine.response_spec import REPLY_KEYS
from mockserver.engine.scenarios import SCENARIO_KEYS, parse_scenarios
from mockserver.faults.config import builtin_scenarios_dir
from tests.conftest import KEY_HEADERS

TIMEOUT = 10.0  # seconds for any one request: a hang fails the test instead of blocking it
SMALL_LIMIT = 4096  # max_body_bytes of the in-process app, so oversized bodies stay cheap to generate
PROPERTIES = sorted(request_schema()["properties"])
EXAMPLES = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

VALID_BODIES: list[dict[str, Any]] = [
    {"model": "gpt-4.1", "input": "hello there"},
    {"model": "gpt-4.1", "input": "hello", "stream": True},
    {"model": "gpt-4.1-mini", "input": [{"role": "user", "content": "What is 2 + 2?"}], "temperature": 0.5},
    {
        "model": "gpt-4.1",
        "instructions": "Be brief.",
        "input": [
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": [{"type": "input_text", "text": "Where is my invoice?"}]},
        ],
        "metadata": {"suite": "robustness"},
        "max_output_tokens": 200,
    },
    {
        "model": "gpt-4.1",
        "input": "What's the weather in Paris?",
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
            }
        ],
        "tool_choice": "auto",
    },
    {
        "model": "gpt-5",
        "input": "A person, please.",
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
        "reasoning": {"effort": "low"},
    },
    {
        "model": "gpt-4.1",
        "input": [
            {"role": "user", "content": "Where is order 7?"},
            {"type": "function_call", "call_id": "call_1", "name": "lookup_order", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "shipped yesterday"},
        ],
        "stream": True,
        "stream_options": {"include_obfuscation": False},
    },
    {"model": "gpt-4.1", "input": "hi", "store": False, "top_p": 0.9, "parallel_tool_calls": False},
]

NAN_LIKE = ["NaN", "nan", "-Infinity", "Infinity", "1e999", "-0", "null", "true", "0x10", "", " ", "\x00", "\ufeff"]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(NAN_LIKE)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
huge_values = st.sampled_from(
    [
        "x" * 100_000,
        "é✓🙂" * 20_000,
        list(range(20_000)),
        [{"role": "user", "content": "hi"}] * 5_000,
        {f"k{i}": "v" for i in range(5_000)},
        10**400,
        -(10**400),
        1e308,
    ]
)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


deep_values = st.integers(min_value=1, max_value=2_000).map(nested)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a member or item inside `value`."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


def set_at(body: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        body = body[part]
    body[path[-1]] = value


def drop_at(body: Any, path: tuple[Any, ...]) -> None:
    for part in path[:-1]:
        body = body[part]
    del body[path[-1]]


@st.composite
def mutated_bodies(draw: st.DrawFn) -> Any:
    """A valid body changed one way."""
    body = copy.deepcopy(draw(st.sampled_from(VALID_BODIES)))
    kind = draw(st.sampled_from(["replace", "drop", "unknown", "property", "huge", "deep", "nan"]))
    where = sorted(paths(body), key=repr)
    if kind == "replace":
        set_at(body, draw(st.sampled_from(where)), draw(json_values))
    elif kind == "drop":
        drop_at(body, draw(st.sampled_from(where)))
    elif kind == "unknown":
        path = draw(st.sampled_from([(), *(p for p in where if isinstance(p[-1], str))]))
        target = body
        for part in path:
            target = target[part]
        if isinstance(target, dict):
            target[draw(st.text(min_size=1, max_size=20))] = draw(json_values)
        else:
            body[draw(st.text(min_size=1, max_size=20))] = draw(json_values)
    elif kind == "property":  # any parameter of the schema, with any value
        body[draw(st.sampled_from(PROPERTIES))] = draw(json_values | huge_values)
    elif kind == "huge":
        set_at(body, draw(st.sampled_from(where)), draw(huge_values))
    elif kind == "deep":
        set_at(body, draw(st.sampled_from(where)), draw(deep_values))
    else:
        set_at(body, draw(st.sampled_from(where)), draw(st.sampled_from(NAN_LIKE)))
    return body


def encode(body: Any) -> bytes:
    """JSON as a client would send it; bodies too deep for the json module are written by hand."""
    try:
        return json.dumps(body).encode()
    except RecursionError:
        return b'{"model": "gpt-4.1", "input": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"


def assert_envelope(response: Any) -> None:
    """200, or a 4xx whose body is the API's error envelope."""
    assert response.status_code == 200 or 400 <= response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) >= {"message", "type", "param", "code"}, error
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["type"], str)


@pytest.fixture(scope="module")
def call() -> Iterator[Callable[..., Any]]:
    """Sends one request in-process, failing after TIMEOUT seconds rather than hanging."""
    scenarios = load_scenarios([builtin_scenarios_dir()])
    app = create_app(Settings(seed=3, max_body_bytes=SMALL_LIMIT * 64), scenarios)
    pool = concurrent.futures.ThreadPoolExecutor(1)
    with TestClient(app, raise_server_exceptions=True, headers=KEY_HEADERS) as client:

        def send(method: str, url: str, **kwargs: Any) -> Any:  # starlette's TestClient answers with httpx2's Response
            future = pool.submit(client.request, method, url, **kwargs)
            try:
                return future.result(timeout=TIMEOUT)
            except concurrent.futures.TimeoutError:
                pytest.fail(f"{method} {url} got no answer within {TIMEOUT} s")

        yield send
    pool.shutdown(wait=False, cancel_futures=True)  # a hung request has failed its test already


@pytest.fixture(scope="module")
def small_call() -> Iterator[Callable[..., Any]]:
    """As `call`, with a small body limit."""
    app = create_app(Settings(seed=3, max_body_bytes=SMALL_LIMIT), load_scenarios([builtin_scenarios_dir()]))
    with TestClient(app, raise_server_exceptions=True, headers=KEY_HEADERS) as client:
        yield client.request


JSON_HEADERS = {"content-type": "application/json"}


@EXAMPLES
@given(body=mutated_bodies())
def test_mutated_bodies_get_200_or_a_4xx_envelope(call, body):
    response = call("POST", "/v1/responses", content=encode(body), headers=JSON_HEADERS)
    assert_envelope(response)


@settings(max_examples=30, deadline=None)
@given(body=st.sampled_from(VALID_BODIES))
def test_valid_bodies_get_200(call, body):
    response = call("POST", "/v1/responses", content=json.dumps(body).encode(), headers=JSON_HEADERS)
    assert response.status_code == 200, response.text


@EXAMPLES
@given(body=mutated_bodies())
def test_mutated_bodies_on_other_posts(call, body):
    for path in ("/v1/responses/input_tokens", "/__mock__/explain", "/v1/conversations"):
        assert_envelope(call("POST", path, content=encode(body), headers=JSON_HEADERS))


def truncations(raw: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(min_value=0, max_value=len(raw) - 1).map(lambda cut: raw[:cut])


raw_bodies = (
    st.binary(max_size=300)
    | st.sampled_from([json.dumps(body).encode() for body in VALID_BODIES]).flatmap(truncations)
    | st.sampled_from([b"NaN", b"[]", b"null", b"1", b'"text"', b"\xff\xfe{}", b'{"model": "\xff"}', b"{" * 100_000])
    | st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass"))
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/merge-patch+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
        "application/json; charset=latin-1",
        "ÿ/ÿ",
    ]
)


@EXAMPLES
@given(raw=raw_bodies, content_type=content_types)
def test_raw_bodies_get_a_4xx_envelope(call, raw, content_type):
    for path in ("/v1/responses", "/v1/responses/input_tokens"):
        response = call("POST", path, content=raw, headers={"content-type": content_type.encode("latin-1")})
        assert_envelope(response)


@settings(max_examples=15, deadline=None)
@given(size=st.integers(min_value=SMALL_LIMIT + 1, max_value=SMALL_LIMIT * 8), chunked=st.booleans())
def test_bodies_past_the_limit_get_413(small_call, size, chunked):
    raw = b'{"model": "gpt-4.1", "input": "' + b"x" * size + b'"}'
    content: Any = iter([raw[i : i + 1000] for i in range(0, len(raw), 1000)]) if chunked else raw
    response = small_call("POST", "/v1/responses", content=content, headers=JSON_HEADERS)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "request_too_large"


ids = st.text(min_size=1, max_size=60) | st.sampled_from(["resp_", "resp_" + "0" * 50, "..", "%00", "msg_1"])
query_values = st.text(max_size=20) | st.sampled_from(
    ["abc", "-1", "0", "101", "1e3", "sideways", "unknown", "true", "TRUE", "2" * 40]
)
query_keys = st.sampled_from(["limit", "order", "after", "before", "stream", "starting_after", "include[]", "x"])


@EXAMPLES
@given(
    response_id=ids,
    query=st.dictionaries(query_keys, query_values, max_size=4),
    endpoint=st.sampled_from(
        [("GET", ""), ("DELETE", ""), ("POST", "/cancel"), ("GET", "/input_items"), ("PUT", ""), ("PATCH", "/cancel")]
    ),
)
def test_other_endpoints_with_random_ids_and_queries(call, response_id, query, endpoint):
    method, suffix = endpoint
    url = f"/v1/responses/{quote(response_id, safe='')}{suffix}"
    response = call(method, url, params=query)
    assert_envelope(response)
    assert response.status_code != 200 or method in ("GET", "DELETE", "POST")


def test_stored_response_endpoints_with_bad_queries(call):
    created = call("POST", "/v1/responses", json={"model": "gpt-4.1", "input": "hello"}).json()
    base = f"/v1/responses/{created['id']}"
    for query in ({"limit": "abc"}, {"limit": "0"}, {"limit": "1000"}, {"order": "sideways"}):
        response = call("GET", base + "/input_items", params=query)
        assert response.status_code == 400, response.text
        assert_envelope(response)
    for query in ({"after": "unknown"}, {"before": "unknown"}, {"order": "asc", "limit": "1"}):
        assert_envelope(call("GET", base + "/input_items", params=query))
    for query in ({"stream": "maybe"}, {"stream": "true", "starting_after": "abc"}, {"stream": "true"}):
        assert_envelope(call("GET", base, params=query))
    assert_envelope(call("POST", base + "/cancel"))
    assert call("DELETE", base).status_code == 200
    assert call("GET", base).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/nothing", 404), ("POST", "/v2/responses", 404), ("PUT", "/v1/responses", 405), ("GET", "/", 404)],
)
def test_unknown_paths_and_methods_get_the_api_shapes(call, method, path, status):
    response = call(method, path)
    assert response.status_code == status
    assert response.json()["error"]["message"] == f"Invalid URL ({method} {path})"


# ---------------------------------------------------------------- over a real socket


@pytest.fixture(scope="module")
def real_server() -> Iterator[MockServer]:
    settings_ = Settings(port=0, log_level="critical", seed=5, max_body_bytes=SMALL_LIMIT * 64)
    with MockServer(settings_) as server:
        yield server


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=mutated_bodies())
def test_mutated_bodies_over_a_socket(real_server, body):
    with httpx.Client(base_url=real_server.url, timeout=TIMEOUT, headers=KEY_HEADERS) as client:
        assert_envelope(client.post("/v1/responses", content=encode(body), headers=JSON_HEADERS))


def raw_exchange(server: MockServer, request: bytes, *, shut: bool = True) -> bytes:
    """Sends bytes as they are and reads the answer until the server closes or goes quiet."""
    assert server.port is not None
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        if shut:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if not shut and complete(answer):
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def complete(answer: bytes) -> bool:
    """Whether `answer` holds a whole response with a `content-length`."""
    head, found, body = answer.partition(b"\r\n\r\n")
    for line in head.lower().split(b"\r\n"):
        if found and line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_a_declared_100_mb_body_is_refused_before_it_is_read(real_server):
    head = (
        b"POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-test\r\ncontent-type: application/json\r\n"
        b"content-length: 104857600\r\n\r\n"
    )  # and no byte of the body: the answer must not wait for it (sending a few would race the server's RST)
    answer = raw_exchange(real_server, head, shut=False)
    assert status_of(answer) == 413, answer[:300]
    assert b"request_too_large" in answer


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "gpt-4.1", "input": "\xff\xfe"}',  # invalid UTF-8
        b'{"model": "gpt-4.1", "input": "hi"',  # truncated
        b"[" * 50_000,  # deeply nested
        b'{"model": "gpt-4.1", "input": "hi", "temperature": 1' + b"0" * 5_000 + b"}",  # a huge number
    ],
)
def test_bad_bytes_over_a_socket(real_server, body):
    request = (
        b"POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-test\r\n"
        b"content-type: application/json\r\nconnection: close\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    answer = raw_exchange(real_server, request)
    assert status_of(answer) == 400, answer[:300]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["type"] == "invalid_request_error"


def test_a_content_length_shorter_than_the_body(real_server):
    body = b'{"model": "gpt-4.1", "input": "hello there"}'
    request = (
        b"POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-test\r\n"
        b"content-type: application/json\r\nconnection: close\r\n"
        b"content-length: 10\r\n\r\n" + body
    )
    answer = raw_exchange(real_server, request)
    assert status_of(answer) == 400, answer[:300]


# ---------------------------------------------------------------- scenario files

scenario_texts = st.text(alphabet=string.ascii_letters + string.digits + " {}%#:-_.\n'\"é", max_size=30)
scenario_values = st.recursive(
    json_scalars | scenario_texts,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from([*MATCH_KEYS, *REPLY_KEYS, "contains", "regex", "status", "after_events", "gap"]), inner
        )
    ),
    max_leaves=10,
)
scenario_mappings = st.dictionaries(st.sampled_from([*SCENARIO_KEYS, "unknown"]), scenario_values, max_size=6)


@st.composite
def scenario_documents(draw: st.DrawFn) -> str:
    scenarios = draw(st.lists(scenario_mappings, max_size=3))
    for index, scenario in enumerate(scenarios):
        if draw(st.booleans()):
            scenario["name"] = f"s{index}"
        if draw(st.booleans()):
            scenario["response"] = draw(scenario_texts | st.dictionaries(st.sampled_from(REPLY_KEYS), scenario_values))
    top: Any = draw(st.sampled_from([{"scenarios": scenarios}, scenarios, {"scenarios": scenarios, "x": 1}]))
    text = yaml.safe_dump(top, allow_unicode=True, sort_keys=False)
    if draw(st.booleans()):  # sometimes broken YAML
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))] + draw(st.sampled_from(["", ":", "[", "\t"]))
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=scenario_documents())
def test_scenario_files_load_or_fail_with_file_and_line(text):
    try:
        parse_scenarios(text, "generated.yaml")
    except ScenarioFileError as exc:
        assert str(exc).startswith("generated.yaml:"), str(exc)
        assert exc.line is not None and str(exc).split(":")[1].isdigit(), str(exc)


# ---------------------------------------------------------------- regressions found by the tests above


@pytest.mark.parametrize("depth", [900, 960, 980, 100_000])
def test_bodies_nested_too_deep_to_answer_get_a_400(call, depth):
    deep = b'{"a":' * depth + b"{}" + b"}" * depth if depth < 10_000 else b"[" * depth
    raw = b'{"model": "gpt-4.1", "input": "hi", "tools": [{"type": "function", "name": "f", "parameters": ' + deep
    response = call("POST", "/v1/responses", content=raw + b"}]}", headers=JSON_HEADERS)
    assert response.status_code == 400, response.text
    assert "more than 100 levels deep" in response.json()["error"]["message"]


def test_a_body_nested_within_the_limit_is_answered(call):
    parameters: Any = {"type": "object"}
    for _ in range(40):
        parameters = {"type": "object", "properties": {"a": parameters}}
    body = {"model": "gpt-4.1", "input": "hi", "tools": [{"type": "function", "name": "f", "parameters": parameters}]}
    assert call("POST", "/v1/responses", json=body).status_code == 200


def test_a_stored_document_costs_its_size():
    """orjson's bytes keep their write buffer's capacity (16 KiB for 2 KB); the store keeps exact-size copies."""
    import tracemalloc

    from mockserver.state.store import MemoryStore

    store = MemoryStore(max_documents=1_000)
    document = {"id": "resp_1", "output": [{"text": "x" * 1_500}], "usage": None}
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for index in range(200):
            store.put("response", f"resp_{index}", document)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown / 200 < 3_000, grown / 200


# ---------------------------------------------------------------- a client leaving mid-stream


@pytest.fixture(scope="module")
def recorded_server() -> Iterator[tuple[MockServer, Any]]:
    from tests.conftest import FIXTURES, RecordingApp

    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(FIXTURES / "scenarios" / "faults.yaml",)))
    recorder = RecordingApp(server.app)
    server.app = recorder  # type: ignore[assignment]
    with server:
        yield server, recorder


def stream_request(headers: dict[str, str]) -> bytes:
    body = json.dumps({"model": "gpt-4.1", "input": "hi", "stream": True}).encode()
    lines = [
        "POST /v1/responses HTTP/1.1",
        "host: x",
        "authorization: Bearer sk-test",
        "content-type: application/json",
        f"content-length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("how", ["close", "reset"])
def test_a_client_leaving_mid_stream_stops_the_generation(recorded_server, how):
    server, recorder = recorded_server
    scenario = {"x-mock-scenario": "long-text"}
    assert server.port is not None
    recorder.exchanges.clear()
    raw_exchange(server, stream_request({**scenario, "connection": "close"}))
    total = bytes(recorder.exchanges[-1].body).count(b"event: ")

    recorder.exchanges.clear()
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(stream_request({**scenario, "x-mock-stream": "{gap: 50}"}))
        received = b""
        while received.count(b"event: ") < 3:
            received += sock.recv(65536)
        if how == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    left_at = time.monotonic()
    entry = server.service.journal.last
    while entry.finished_at is None and time.monotonic() - left_at < 5:
        time.sleep(0.01)
    stopped_after = time.monotonic() - left_at
    sent = bytes(recorder.exchanges[-1].body).count(b"event: ")
    time.sleep(0.3)

    assert total > 30 and stopped_after < 0.5, (total, stopped_after)  # the whole stream would take 1.5 s more
    assert entry.stream_end == "client_disconnected"
    assert 3 <= sent < 6 < total, (sent, total)
    assert bytes(recorder.exchanges[-1].body).count(b"event: ") == sent  # and nothing since


# ---------------------------------------------------------------- a body trickling in


@pytest.fixture(scope="module")
def impatient_server() -> Iterator[MockServer]:
    with MockServer(Settings(port=0, log_level="warning", body_timeout_s=0.5)) as server:
        yield server


def trickle(server: MockServer, body: bytes, pause: float, extra: bytes = b"") -> tuple[bytes, float]:
    """Sends the body a few bytes at a time, `pause` seconds apart; returns the answer and when it came."""
    assert server.port is not None
    head = (
        b"POST /v1/responses HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-test\r\ncontent-type: application/json\r\n"
        + extra
        + f"content-length: {len(body)}\r\n\r\n".encode()
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(head)
        answer = b""
        for offset in range(0, len(body), 4):
            try:
                sock.sendall(body[offset : offset + 4])
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(pause)
            sock.setblocking(False)
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if answer:
                break
        try:
            while chunk := sock.recv(65536):  # the server closes the connection after its answer
                answer += chunk
        except ConnectionResetError:
            pass
    return answer, time.monotonic() - started


def test_a_body_trickling_in_gets_408_and_the_connection_closed(impatient_server):
    body = json.dumps({"model": "gpt-4.1", "input": "a slow client"}).encode()
    answer, took = trickle(impatient_server, body, pause=0.1)  # 4 bytes every 0.1 s: 1.3 s for the whole body

    assert status_of(answer) == 408, answer[:300]
    head, _, content = answer.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    assert json.loads(content) == {
        "error": {
            "message": "The request body was not received within 0.5 seconds.",
            "type": "invalid_request_error",
            "param": None,
            "code": "request_timeout",
        }
    }
    assert took < 1.2, took  # answered at the bound, and the read loop above ended: the server closed


def test_a_slow_body_within_the_bound_is_answered(impatient_server):
    body = json.dumps({"model": "gpt-4.1", "input": "hi"}).encode()
    answer, _ = trickle(impatient_server, body, pause=0.02, extra=b"connection: close\r\n")  # about 0.2 s

    assert status_of(answer) == 200, answer[:300]


# ---------------------------------------------------------------- reloading scenarios under load

RELOAD_FILLERS = 40


def versioned_scenarios(version: int) -> str:
    """Version N: `a` and `z` answer with N; fillers between them make the file long enough to be read mid-write."""
    fillers = "".join(
        f"  - {{name: f{i}, match: {{model: never-{version}}}, response: 'filler {version}'}}\n"
        for i in range(RELOAD_FILLERS)
    )
    return (
        "scenarios:\n"
        f"  - {{name: a, match: {{input: {{contains: alpha}}}}, response: 'a {version}'}}\n"
        + fillers
        + f"  - {{name: z, response: 'z {version}'}}\n"
    )


@pytest.mark.parametrize("write", ["replace", "in_place"])
def test_reloading_under_load_never_serves_a_half_loaded_set(tmp_path, write):
    import asyncio
    import os

    from mockserver.wire.watch import ScenarioWatch
    from tests.benchmarks.bench_soak import LoopProbe

    path = tmp_path / "scenarios.yaml"
    path.write_text(versioned_scenarios(0))
    server = MockServer(Settings(port=0, log_level="warning", scenario_paths=(path,)))
    probe = LoopProbe(server.app)
    server.app = probe  # type: ignore[assignment]
    stop = threading.Event()

    async def watch_tightly() -> None:  # what `serve --watch` does every 0.5 s, far more often
        # Settled for 0.15 s (not 0.5): in this one process the writer may wait ~50 ms for the GIL mid-write.
        watcher = ScenarioWatch(server.service.engine, (path,), settle=0.15)
        while not stop.is_set():
            watcher.poll()
            await asyncio.sleep(0.001)

    def rewrite() -> None:
        for version in range(1, 200):
            text = versioned_scenarios(version)
            if write == "replace":  # how editors and `git checkout` usually write: a new file renamed over the old
                (tmp_path / "next.tmp").write_text(text)
                os.replace(tmp_path / "next.tmp", path)
            else:
                path.write_text(text)
            time.sleep(0.002 if version % 25 else 0.3)  # now and then a pause long enough to reload
            if stop.is_set():
                return

    problems: list[str] = []
    newest: list[int] = []

    def fire(number: int) -> None:
        seen = 0
        with httpx.Client(base_url=server.url, timeout=TIMEOUT, headers=KEY_HEADERS) as client:
            while not stop.is_set():
                header = {"x-mock-scenario": "a"} if number % 2 else {}
                response = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "zzz"}, headers=header)
                text = response.json()["output"][0]["content"][0]["text"] if response.status_code == 200 else ""
                name, _, version = text.partition(" ")
                if name != ("a" if header else "z") or not version.isdigit() or int(version) < seen:
                    problems.append(f"{response.status_code} {response.text[:200]} after version {seen}")
                    return
                seen = int(version)
            newest.append(seen)

    with server:
        httpx.get(server.url + "/__mock__/health").raise_for_status()  # the probe now knows the loop
        assert probe.loop is not None
        watcher = asyncio.run_coroutine_threadsafe(watch_tightly(), probe.loop)
        clients = [threading.Thread(target=fire, args=(number,)) for number in range(8)]
        for thread in clients:
            thread.start()
        rewrite()
        stop.set()
        for thread in clients:
            thread.join(TIMEOUT)
        watcher.result(TIMEOUT)

    assert problems == [], problems[:5]
    assert max(newest) >= 100  # the files were reloaded many times under load
