"""HTTP errors: the preset catalogue, the `error:` forms, the headers that steer SDK retries, and the exception
the official SDK raises for each, against a real server."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from mockserver.core.errors import InvalidSpec
from mockserver.faults.http_errors import PRESETS, compile_error, error_body
from tests.fault_server import FAULT_SCENARIOS, FaultServer, fault_server, fresh_fault_server, running_fault_server  # noqa: F401 (fixtures)
from tests.reference import live_captures_dir, reference_file

SDK_EXCEPTION = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    403: openai.PermissionDeniedError,
    404: openai.NotFoundError,
    409: openai.ConflictError,
    422: openai.UnprocessableEntityError,
    429: openai.RateLimitError,
    500: openai.InternalServerError,
    502: openai.InternalServerError,
    503: openai.InternalServerError,
    504: openai.InternalServerError,
}


def test_the_catalogue_covers_every_status_the_sdk_maps() -> None:
    assert {preset.status for preset in PRESETS.values()} == set(SDK_EXCEPTION)
    assert set(PRESETS) == {
        "bad_request",
        "context_length_exceeded",
        "model_not_found",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "unprocessable",
        "rate_limit",
        "rate_limit_tokens",
        "insufficient_quota",
        "server_error",
        "bad_gateway",
        "overloaded",
        "gateway_timeout",
    }
    for name in PRESETS:
        assert f"name: error-{name}," in FAULT_SCENARIOS.read_text(encoding="utf-8")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_raises_the_sdk_exception_of_its_status(fs: FaultServer, name: str, stream: bool) -> None:
    preset = PRESETS[name]
    with pytest.raises(SDK_EXCEPTION[preset.status]) as caught:
        fs.create(f"error-{name}", stream=stream)

    error = caught.value
    assert error.status_code == preset.status
    assert isinstance(error.body, dict) and error.body["type"] == preset.type
    assert error.request_id is not None and error.request_id.startswith("req_")
    if preset.type.startswith("cf_"):
        # Cloudflare's own envelope: the status as an integer code, keys in alphabetical order.
        assert list(error.body) == ["code", "message", "param", "type"] and error.body["code"] == preset.status
    else:
        assert (error.code, error.param) == (preset.code, preset.param)
        fs.check_intact()
    assert error.message == f"Error code: {preset.status} - {preset.message.replace('{model}', 'gpt-4.1')}"


def test_model_not_found_names_the_requested_model(fs: FaultServer) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        fs.sdk().responses.create(
            model="gpt-nope", input="hi", extra_headers={"x-mock-scenario": "error-model_not_found"}
        )

    assert caught.value.body == {
        "message": "The requested model 'gpt-nope' does not exist.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


def test_insufficient_quota_is_the_live_body() -> None:
    capture = reference_file(live_captures_dir() / "error-insufficient-quota.json")
    live = json.loads(capture.read_text(encoding="utf-8"))

    assert error_body(compile_error("insufficient_quota", ())) == live


def test_rate_limit_headers_say_the_limit_is_spent(fs: FaultServer) -> None:
    with pytest.raises(openai.RateLimitError) as requests_limit:
        fs.create("error-rate_limit")
    with pytest.raises(openai.RateLimitError) as tokens_limit:
        fs.create("error-rate_limit_tokens")

    headers = requests_limit.value.response.headers
    assert headers.get_list("x-ratelimit-remaining-requests") == ["0"]  # replaces the usual 9999, not beside it
    assert (headers["x-ratelimit-reset-requests"], headers["retry-after-ms"]) == ("6ms", "1")
    assert headers["x-ratelimit-limit-requests"] == "10000"
    assert (requests_limit.value.body["type"], requests_limit.value.code) == ("requests", "rate_limit_exceeded")
    assert "on requests per min (RPM): Limit 10000, Used 10000" in requests_limit.value.message
    assert tokens_limit.value.response.headers.get_list("x-ratelimit-remaining-tokens") == ["0"]
    assert tokens_limit.value.body["type"] == "tokens"


def test_sdk_retries_429_and_5xx_quickly_then_raises(fs: FaultServer) -> None:
    started = time.perf_counter()
    with pytest.raises(openai.RateLimitError):
        fs.create("error-rate_limit", max_retries=2)
    with pytest.raises(openai.InternalServerError):
        fs.create("error-overloaded", max_retries=2)

    assert [attempt.status for attempt in fs.attempts()] == [429] * 3 + [503] * 3
    assert time.perf_counter() - started < 1.0  # retry-after-ms: 1, not the SDK's 0.5 s back-off


def test_retry_headers_can_be_set_and_x_should_retry_false_stops_retries(fs: FaultServer) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        fs.create("error-overridden", max_retries=2)

    assert len(fs.attempts()) == 1
    headers = caught.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"], headers["x-should-retry"]) == ("1", "2", "false")
    assert caught.value.message == "Error code: 429 - Slow down."
    assert caught.value.code == "rate_limit_exceeded"  # the rest of the preset stays


def test_the_long_form_sets_every_field(fs: FaultServer) -> None:
    with pytest.raises(openai.ConflictError) as caught:
        fs.create("error-written-out")

    assert caught.value.body == {
        "message": "Another request is using this conversation.",
        "type": "invalid_request_error",
        "param": "input",
        "code": "conflict_detected",
    }
    assert caught.value.response.headers["x-custom"] == "yes"
    assert "retry-after-ms" not in caught.value.response.headers


def test_a_delayed_error(fs: FaultServer) -> None:
    started = time.perf_counter()
    with pytest.raises(openai.InternalServerError):
        fs.create("error-delayed")

    assert time.perf_counter() - started >= 0.03


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        ("insufficient_quota", 429, "insufficient_quota"),
        ("503", 503, None),
        ("{preset: context_length_exceeded, message: Too long.}", 400, "context_length_exceeded"),
        ("{status: 418, message: I am a teapot.}", 418, None),
    ],
)
def test_x_mock_error_header_answers_with_that_error(
    fs: FaultServer, header: str, status: int, code: str | None
) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        fs.sdk().responses.create(model="gpt-4.1", input="hello", extra_headers={"x-mock-error": header})

    assert (caught.value.status_code, caught.value.code) == (status, code)


def test_a_bad_mock_header_is_a_400_that_names_it(fs: FaultServer) -> None:
    for name, value, problem in [
        ("x-mock-error", "rate_limited", "unknown error preset 'rate_limited' (did you mean 'rate_limit'?)"),
        ("x-mock-error", "{status: 200}", "error status must be an HTTP error code from 400 to 599"),
        ("x-mock-fault", "{reset: {after: 3}}", "unknown parameter 'after'"),
        ("x-mock-delay-ms", "soon", "give a number of milliseconds"),
        ("x-mock-stream", "{gap: [1", "not valid YAML"),
    ]:
        response = httpx.post(
            fs.server.base_url + "/responses", json={"model": "gpt-4.1", "input": "hi"}, headers={name: value}
        )
        assert response.status_code == 400, (name, value)
        error = response.json()["error"]
        assert error["code"] == "invalid_mock_header"
        assert error["message"].startswith(f"Invalid {name} header: {problem}"), error["message"]


# ---------------------------------------------------------------- compiling the forms


def test_error_forms_compile_to_the_same_reply() -> None:
    by_name = compile_error("overloaded", ())
    by_status = compile_error(503, ())
    by_preset = compile_error({"preset": "overloaded"}, ())

    assert by_name == by_status == by_preset
    assert (by_name.status, by_name.type, by_name.headers) == (503, "server_error", {"retry-after-ms": "1"})
    assert compile_error({"status": 503, "message": "Busy."}, ()).message == "Busy."
    assert compile_error({"status": 418}, ()).message == "HTTP 418"


@pytest.mark.parametrize(
    ("raw", "where", "problem"),
    [
        ("nope", ("error", "preset"), "unknown error preset 'nope'"),
        ({"preset": "rate_limit", "mesage": "x"}, ("error", "mesage"), "unknown error key 'mesage' (did you mean"),
        ({"status": 302}, ("error", "status"), "error status must be an HTTP error code"),
        ({"should_retry": "no"}, ("error", "should_retry"), "should_retry takes true or false"),
        ({"message": 3}, ("error", "message"), "message takes a string"),
        ({"headers": ["x"]}, ("error", "headers"), "headers takes a mapping"),
        ([1], ("error",), "error takes a preset name"),
    ],
)
def test_error_problems_name_the_key(raw: object, where: tuple[str, ...], problem: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        compile_error(raw, ("error",))

    assert caught.value.where == where
    assert caught.value.problem.startswith(problem)
