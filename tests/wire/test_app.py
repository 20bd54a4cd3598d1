"""The HTTP surface in-process: body handling, error envelopes, headers, scenario selection, defaults."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from httpx import Response
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.engine.scenarios import ScenarioSet, parse_scenarios
from tests.conftest import KEY_HEADERS

HELLO = {"model": "gpt-4.1", "input": "hello"}


def error_of(response: Response) -> dict[str, object]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    error: dict[str, object] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_every_answer_carries_the_live_headers(client: TestClient) -> None:
    for response in (client.post("/v1/responses", json=HELLO), client.get("/v1/nothing-here")):
        assert response.headers["x-request-id"].startswith("req_") and len(response.headers["x-request-id"]) == 36
        assert response.headers["openai-processing-ms"].isdigit()
        assert response.headers["openai-version"] == "2020-10-01"
        for name in ("limit-requests", "limit-tokens", "remaining-requests", "remaining-tokens", "reset-requests"):
            assert response.headers[f"x-ratelimit-{name}"]


def test_request_ids_differ(client: TestClient) -> None:
    ids = {client.post("/v1/responses", json=HELLO).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("content", "headers", "status", "code", "message_part"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, None, "could not parse the JSON body"),
        (b"", {"content-type": "application/json"}, 400, None, "could not parse the JSON body"),
        (b'{"model": NaN}', {"content-type": "application/json"}, 400, None, "could not parse the JSON body"),
        (b"\xff\xfe", {"content-type": "application/json"}, 400, None, "could not parse the JSON body"),
        (
            b"[1, 2]",
            {"content-type": "application/json"},
            400,
            "invalid_type",
            "expected a JSON object, but got an array",
        ),
        (b'"text"', {"content-type": "application/json"}, 400, "invalid_type", "but got a string instead"),
        (
            b"model=gpt-4.1",
            {"content-type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_content_type",
            "Unsupported content type",
        ),
        (b"{}", {"content-type": "text/plain"}, 415, "unsupported_content_type", "only accepts 'application/json'"),
    ],
)
def test_body_problems_get_their_own_error(
    client: TestClient, content: bytes, headers: dict[str, str], status: int, code: str | None, message_part: str
) -> None:
    response = client.post("/v1/responses", content=content, headers=headers)

    assert response.status_code == status
    error = error_of(response)
    assert error["type"] == "invalid_request_error" and error["code"] == code
    assert message_part in str(error["message"])


def test_malformed_json_error_names_the_position(client: TestClient) -> None:
    response = client.post(
        "/v1/responses", content=b'{"model": "gpt-4.1",}', headers={"content-type": "application/json"}
    )
    assert "line 1 column 21" in str(error_of(response)["message"])


def test_oversized_body_is_413_and_names_the_limit() -> None:
    app = create_app(Settings(max_body_bytes=1000), ScenarioSet())
    with TestClient(app, headers=KEY_HEADERS) as small:
        big = json.dumps({"model": "gpt-4.1", "input": "x" * 2000})
        response = small.post("/v1/responses", content=big, headers={"content-type": "application/json"})
        ok = small.post("/v1/responses", json=HELLO)

    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "request_too_large" and "1000 bytes" in str(error["message"])
    assert ok.status_code == 200


def test_oversized_chunked_body_is_413() -> None:
    app = create_app(Settings(max_body_bytes=1000), ScenarioSet())

    def chunks():
        for _ in range(30):
            yield b" " * 100

    with TestClient(app, headers=KEY_HEADERS) as small:
        response = small.post("/v1/responses", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_unknown_route_and_method_get_the_api_404(client: TestClient) -> None:
    missing = client.post("/v1/chat/completion", json={})
    wrong_method = client.get("/v1/responses")

    assert missing.status_code == 404
    assert error_of(missing)["message"] == "Invalid URL (POST /v1/chat/completion)"
    assert wrong_method.status_code == 405
    assert error_of(wrong_method)["message"] == "Invalid URL (GET /v1/responses)"


def test_unknown_forced_scenario_lists_the_known_ones(client: TestClient) -> None:
    response = client.post("/v1/responses", json=HELLO, headers={"x-mock-scenario": "nope"})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "unknown_scenario"
    assert "'nope'" in str(error["message"]) and "greeting" in str(error["message"])


def test_forced_scenario_wins_over_match(client: TestClient) -> None:
    response = client.post("/v1/responses", json=HELLO, headers={"x-mock-scenario": "overloaded"})
    assert response.status_code == 503
    assert response.headers["retry-after-ms"] == "1"


def test_rate_limit_scenario_sets_its_retry_hint(client: TestClient) -> None:
    response = client.post("/v1/responses", json={"model": "gpt-rate-limited", "input": "x"})

    assert response.status_code == 429
    assert response.headers["retry-after-ms"] == "20"
    assert error_of(response)["code"] == "rate_limit_exceeded"


def test_default_responder_is_deterministic_and_quotes_the_user(client: TestClient) -> None:
    body = {"model": "gpt-4.1", "input": "What is the capital of Peru?"}
    first = client.post("/v1/responses", json=body).json()
    second = client.post("/v1/responses", json=body).json()

    text = first["output"][0]["content"][0]["text"]
    assert text == second["output"][0]["content"][0]["text"]
    assert "What is the capital of Peru?" in text
    assert first["id"] != second["id"]


def test_default_responder_answers_json_schema_requests_with_fitting_json(client: TestClient) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "level": {"type": "string", "enum": ["low", "high"]},
            "score": {"type": ["number", "null"], "minimum": 3},
        },
        "required": ["title", "tags", "level", "score"],
        "additionalProperties": False,
    }
    body = {**HELLO, "input": "Summarise.", "text": {"format": {"type": "json_schema", "name": "s", "schema": schema}}}
    first = client.post("/v1/responses", json=body).json()["output"][0]["content"][0]["text"]
    again = client.post("/v1/responses", json=body).json()["output"][0]["content"][0]["text"]

    jsonschema.Draft202012Validator(schema).validate(json.loads(first))
    assert first == again


def test_reasoning_models_get_a_reasoning_item_by_default(client: TestClient) -> None:
    response = client.post("/v1/responses", json={"model": "o4-mini", "input": "Anything."}).json()

    assert [item["type"] for item in response["output"]] == ["reasoning", "message"]
    assert response["reasoning"]["effort"] == "medium"
    assert response["usage"]["output_tokens_details"]["reasoning_tokens"] > 0


def test_response_has_the_live_key_set(client: TestClient) -> None:
    body = client.post("/v1/responses", json=HELLO).json()

    assert list(body)[:4] == ["id", "object", "created_at", "status"]
    assert list(body)[-1] == "metadata"
    expected = {
        "background", "billing", "completed_at", "error", "frequency_penalty", "incomplete_details", "instructions",
        "max_output_tokens", "max_tool_calls", "model", "moderation", "output", "parallel_tool_calls",
        "presence_penalty", "previous_response_id", "prompt_cache_key", "prompt_cache_retention", "reasoning",
        "safety_identifier", "service_tier", "store", "temperature", "text", "tool_choice", "tool_usage", "tools",
        "top_logprobs", "top_p", "truncation", "usage", "user",
    }  # fmt: skip
    assert expected <= set(body)
    assert body["id"][5:23] == body["output"][0]["id"][4:22], "items share the response's hex segment"
    assert int(body["id"][23:31], 16) == body["created_at"]


def test_function_tools_are_echoed_as_the_live_api_does(client: TestClient) -> None:
    tool = {"type": "function", "name": "add", "parameters": {"type": "object", "properties": {}}}
    body = client.post("/v1/responses", json={**HELLO, "tools": [tool]}).json()

    assert body["tools"] == [
        {
            "type": "function",
            "description": None,
            "name": "add",
            "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
            "strict": True,
            "output_schema": None,
        }
    ]


def test_conversation_is_echoed_as_an_object(client: TestClient) -> None:
    conversation = client.post("/v1/conversations", json={}).json()["id"]
    body = client.post("/v1/responses", json={**HELLO, "conversation": conversation}).json()
    missing = client.post("/v1/responses", json={**HELLO, "conversation": {"id": "conv_123"}})

    assert body["conversation"] == {"id": conversation}
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Conversation with id 'conv_123' not found."


def test_stream_decided_by_body_not_accept_header(client: TestClient) -> None:
    streamed = client.post("/v1/responses", json={**HELLO, "stream": True}, headers={"accept": "application/json"})
    plain = client.post("/v1/responses", json=HELLO, headers={"accept": "text/event-stream"})

    assert streamed.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert plain.headers["content-type"] == "application/json"


def test_obfuscation_can_be_turned_off(client: TestClient) -> None:
    on = client.post("/v1/responses", json={**HELLO, "stream": True}).text
    off = client.post(
        "/v1/responses", json={**HELLO, "stream": True, "stream_options": {"include_obfuscation": False}}
    ).text

    assert '"obfuscation"' in on
    assert '"obfuscation"' not in off


def test_in_progress_events_report_auto_tier_and_final_reports_default(client: TestClient) -> None:
    lines = client.post("/v1/responses", json={**HELLO, "stream": True}).text.splitlines()
    events = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]

    assert events[0]["response"]["service_tier"] == "auto"
    assert events[-1]["response"]["service_tier"] == "default"
    assert "billing" not in events[-1]["response"]


def test_seeded_ids_repeat_across_apps() -> None:
    scenarios = parse_scenarios("scenarios: [{name: a, response: {text: hi}}]")

    def first_id() -> str:
        # Ids embed their creation time: one clock for both apps, so a second boundary between them cannot matter.
        app = create_app(Settings(seed=42), ScenarioSet(scenarios), clock=lambda: 1_800_000_000.0)
        with TestClient(app, headers=KEY_HEADERS) as seeded:
            return str(seeded.post("/v1/responses", json=HELLO).json()["id"])

    assert first_id() == first_id()


def test_injected_clock_sets_timestamps() -> None:
    app = create_app(Settings(), ScenarioSet(), clock=lambda: 1_800_000_000.7)
    with TestClient(app, headers=KEY_HEADERS) as clocked:
        body = clocked.post("/v1/responses", json=HELLO).json()
    assert body["created_at"] == body["completed_at"] == 1_800_000_000


def test_a_schema_the_responder_cannot_read_is_a_400_not_a_500(client: TestClient) -> None:
    broken = {"type": "object", "properties": {"a": {"type": "string"}}, "required": 5}
    body = {
        "model": "gpt-4.1",
        "input": "Fill it in.",
        "text": {"format": {"type": "json_schema", "name": "s", "schema": broken}},
    }
    answer = client.post("/v1/responses", json=body)

    assert answer.status_code == 400
    error = error_of(answer)
    assert error["param"] == "text.format.schema" and error["code"] == "invalid_json_schema"
    assert str(error["message"]).startswith("Invalid schema for response_format 's': ")
