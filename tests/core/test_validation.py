"""Request-body validation of `POST /v1/responses`: bad bodies get the live API's 400s, good bodies pass."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]

from mockserver.core import fastcheck
from mockserver.core.errors import APIError
from mockserver.core.validation import PROFILES, _compiled, request_schema, validate_create_request
from tests.reference import live_captures_dir, reference_dir, reference_file

DELETE = object()
FN_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def body(**fields: Any) -> dict[str, Any]:
    """`{"model": "gpt-4.1", "input": "hi"}` with `fields` set (or removed with DELETE)."""
    result: dict[str, Any] = {"model": "gpt-4.1", "input": "hi"}
    for key, value in fields.items():
        if value is DELETE:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def rejection(profile: str, request: dict[str, Any]) -> APIError:
    with pytest.raises(APIError) as caught:
        validate_create_request(request, profile)
    return caught.value


ITEM_TYPES = (
    "'additional_tools', 'apply_patch_call', 'apply_patch_call_output', 'code_interpreter_call', 'compaction', "
    "'compaction_trigger', 'computer_call', 'computer_call_output', 'custom_tool_call', 'custom_tool_call_output', "
    "'file_search_call', 'function_call', 'function_call_output', 'image_generation_call', 'item_reference', "
    "'local_shell_call', 'local_shell_call_output', 'mcp_approval_request', 'mcp_approval_response', 'mcp_call', "
    "'mcp_list_tools', 'message', 'program', 'program_output', 'reasoning', 'shell_call', 'shell_call_output', "
    "'tool_search_call', 'tool_search_output', and 'web_search_call'"
)
INCLUDES = (
    "'file_search_call.results', 'web_search_call.results', 'web_search_call.action.sources', "
    "'message.input_image.image_url', 'computer_call_output.output.image_url', 'code_interpreter_call.outputs', "
    "'reasoning.encrypted_content', and 'message.output_text.logprobs'"
)
NAME_PATTERN = "string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."

# (profile, body, param, code, message)
BAD: list[Any] = [
    # unknown parameters, at the top and nested
    pytest.param("openai", body(foo=1), "foo", "unknown_parameter", "Unknown parameter: 'foo'.", id="unknown-top"),
    pytest.param(
        "openai", body(max_tokens=16), "max_tokens", "unknown_parameter", "Unknown parameter: 'max_tokens'.", id="chat"
    ),
    pytest.param(
        "openai",
        body(input=[{"role": "user", "content": "hi", "foo": 1}]),
        "input[0].foo",
        "unknown_parameter",
        "Unknown parameter: 'input[0].foo'.",
        id="unknown-in-item",
    ),
    pytest.param(
        "openai",
        body(input=[{"role": "user", "content": [{"type": "input_text", "text": "x", "cache_control": {}}]}]),
        "input[0].content[0].cache_control",
        "unknown_parameter",
        "Unknown parameter: 'input[0].content[0].cache_control'.",
        id="unknown-in-content-part",
    ),
    pytest.param(
        "openai",
        body(stream_options={"include_usage": True}),
        "stream_options.include_usage",
        "unknown_parameter",
        "Unknown parameter: 'stream_options.include_usage'.",
        id="unknown-stream-option",
    ),
    pytest.param(
        "openai",
        body(text={"zzz": 1}),
        "text.zzz",
        "unknown_parameter",
        "Unknown parameter: 'text.zzz'.",
        id="unknown-in-text",
    ),
    pytest.param(
        "openai",
        body(tools=[{**FN_TOOL, "function": {}}]),
        "tools[0].function",
        "unknown_parameter",
        "Unknown parameter: 'tools[0].function'.",
        id="unknown-in-tool",
    ),
    pytest.param(
        "openai",
        body(input=[{"role": "user", "content": "x", "foo": 1}], bar=2),
        "bar",
        "unknown_parameter",
        "Unknown parameter: 'bar'.",
        id="order-unknown-top-before-item",
    ),
    # missing required parameters
    pytest.param(
        "openai",
        body(model=DELETE),
        "model",
        "missing_required_parameter",
        "Missing required parameter: 'model'.",
        id="no-model",
    ),
    pytest.param(
        "openai",
        body(model=DELETE, foo=1),
        "model",
        "missing_required_parameter",
        "Missing required parameter: 'model'.",
        id="order-no-model-before-unknown",
    ),
    pytest.param(
        "openai",
        body(model=DELETE, prompt=None),
        "model",
        "missing_required_parameter",
        "Missing required parameter: 'model'.",
        id="no-model-null-prompt",
    ),
    pytest.param(
        "openai",
        body(input=[{"role": "user"}]),
        "input[0].content",
        "missing_required_parameter",
        "Missing required parameter: 'input[0].content'.",
        id="no-content",
    ),
    pytest.param(
        "openai",
        body(input=[{"type": "function_call_output"}]),
        "input[0].output",
        "missing_required_parameter",
        "Missing required parameter: 'input[0].output'.",
        id="no-output",
    ),
    pytest.param(
        "openai",
        body(input=[{"type": "function_call", "call_id": "call_1", "name": "f"}]),
        "input[0].arguments",
        "missing_required_parameter",
        "Missing required parameter: 'input[0].arguments'.",
        id="no-arguments",
    ),
    pytest.param(
        "openai",
        body(input=[{"type": "reasoning", "id": "rs_1"}]),
        "input[0].summary",
        "missing_required_parameter",
        "Missing required parameter: 'input[0].summary'.",
        id="no-reasoning-summary",
    ),
    pytest.param(
        "openai",
        body(input=[{"type": "custom_tool_call_output", "output": "x"}]),
        "input[0].call_id",
        "missing_required_parameter",
        "Missing required parameter: 'input[0].call_id'.",
        id="no-custom-call-id",
    ),
    pytest.param(
        "openai",
        body(input=[{"type": "mcp_approval_response", "approve": True}]),
        "input[0].approval_request_id",
        "missing_required_parameter",
        "Missing required parameter: 'input[0].approval_request_id'.",
        id="no-approval-request-id",
    ),
    pytest.param(
        "openai",
        body(input=[{"role": "user", "content": [{"type": "input_text"}]}]),
        "input[0].content[0].text",
        "missing_required_parameter",
        "Missing required parameter: 'input[0].content[0].text'.",
        id="no-part-text",
    ),
    pytest.param(
        "openai",
        body(tools=[{}]),
        "tools[0].type",
        "missing_required_parameter",
        "Missing required parameter: 'tools[0].type'.",
        id="no-tool-type",
    ),
    pytest.param(
        "openai",
        body(tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        "tools[0].name",
        "missing_required_parameter",
        "Missing required parameter: 'tools[0].name'.",
        id="chat-shaped-tool",
    ),
    pytest.param(
        "openai",
        body(tools=[{"type": "function", "name": "f"}]),
        "tools[0].parameters",
        "missing_required_parameter",
        "Missing required parameter: 'tools[0].parameters'.",
        id="no-parameters",
    ),
    pytest.param(
        "openai",
        body(tools=[{"type": "custom"}]),
        "tools[0].name",
        "missing_required_parameter",
        "Missing required parameter: 'tools[0].name'.",
        id="custom-no-name",
    ),
    pytest.param(
        "openai",
        body(tools=[{"type": "mcp"}]),
        "tools[0].server_label",
        "missing_required_parameter",
        "Missing required parameter: 'tools[0].server_label'.",
        id="mcp-no-label",
    ),
    pytest.param(
        "openai",
        body(text={"format": {"type": "json_schema", "schema": {}}}),
        "text.format.name",
        "missing_required_parameter",
        "Missing required parameter: 'text.format.name'.",
        id="json-schema-no-name",
    ),
    pytest.param(
        "openai",
        body(tool_choice={"type": "function"}),
        "tool_choice.name",
        "missing_required_parameter",
        "Missing required parameter: 'tool_choice.name'.",
        id="tool-choice-no-name",
    ),
    # wrong types
    pytest.param(
        "openai",
        body(temperature="hot"),
        "temperature",
        "invalid_type",
        "Invalid type for 'temperature': expected a decimal, but got a string instead.",
        id="temperature-string",
    ),
    pytest.param(
        "openai",
        body(temperature=True),
        "temperature",
        "invalid_type",
        "Invalid type for 'temperature': expected a decimal, but got a boolean instead.",
        id="temperature-bool",
    ),
    pytest.param(
        "openai",
        body(max_output_tokens=100.5),
        "max_output_tokens",
        "invalid_type",
        "Invalid type for 'max_output_tokens': expected an integer, but got a decimal number instead.",
        id="max-output-tokens-decimal",
    ),
    pytest.param(
        "openai",
        body(model=7),
        "model",
        "invalid_type",
        "Invalid type for 'model': expected a string, but got an integer instead.",
        id="model-int",
    ),
    pytest.param(
        "openai",
        body(input={"a": 1}),
        "input",
        "invalid_type",
        "Invalid type for 'input': expected one of a string or array of input items, but got an object instead.",
        id="input-object",
    ),
    pytest.param(
        "openai",
        body(input=[None]),
        "input[0]",
        "invalid_type",
        "Invalid type for 'input[0]': expected an input item, but got null instead.",
        id="input-item-null",
    ),
    pytest.param(
        "openai",
        body(input=[{"role": "user", "content": 5}]),
        "input[0].content",
        "invalid_type",
        "Invalid type for 'input[0].content': expected one of a string or array of content parts, "
        "but got an integer instead.",
        id="content-int",
    ),
    pytest.param(
        "openai",
        body(stream="yes"),
        "stream",
        "invalid_type",
        "Invalid type for 'stream': expected a boolean, but got a string instead.",
        id="stream-string",
    ),
    pytest.param(
        "openai",
        body(reasoning="low"),
        "reasoning",
        "invalid_type",
        "Invalid type for 'reasoning': expected an object, but got a string instead.",
        id="reasoning-string",
    ),
    pytest.param(
        "openai",
        body(tools="x"),
        "tools",
        "invalid_type",
        "Invalid type for 'tools': expected an array of tools, but got a string instead.",
        id="tools-string",
    ),
    pytest.param(
        "openai",
        body(metadata="x"),
        "metadata",
        "invalid_type",
        "Invalid type for 'metadata': expected a metadata object, but got a string instead.",
        id="metadata-string",
    ),
    pytest.param(
        "openai",
        body(metadata={"a": 1}),
        "metadata.a",
        "invalid_type",
        "Invalid type for 'metadata.a': expected a string, but got an integer instead.",
        id="metadata-value-int",
    ),
    pytest.param(
        "openai",
        body(truncation={"a": 1}),
        "truncation",
        "invalid_type",
        "Invalid type for 'truncation': expected one of 'auto' or 'disabled', but got an object instead.",
        id="truncation-object",
    ),
    pytest.param(
        "openai",
        body(tool_choice=7),
        "tool_choice",
        "invalid_type",
        "Invalid type for 'tool_choice': expected one of an object or 'none', 'auto', or 'required', "
        "but got an integer instead.",
        id="tool-choice-int",
    ),
    pytest.param(
        "openai",
        body(input=[{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}]),
        "input[0].arguments",
        "invalid_type",
        "Invalid type for 'input[0].arguments': expected a string, but got an object instead.",
        id="arguments-object",
    ),
    pytest.param(
        "openai",
        body(input=7, truncation="bogus"),
        "input",
        "invalid_type",
        "Invalid type for 'input': expected one of a string or array of input items, but got an integer instead.",
        id="order-input-before-truncation",
    ),
    pytest.param(
        "openai",
        body(metadata="x", text="x"),
        "metadata",
        "invalid_type",
        "Invalid type for 'metadata': expected a metadata object, but got a string instead.",
        id="order-metadata-before-text",
    ),
    # enums
    pytest.param(
        "openai",
        body(truncation="foo"),
        "truncation",
        "invalid_value",
        "Invalid value: 'foo'. Supported values are: 'auto' and 'disabled'.",
        id="truncation",
    ),
    pytest.param(
        "openai",
        body(reasoning={"effort": "bogus"}),
        "reasoning.effort",
        "invalid_value",
        "Invalid value: 'bogus'. Supported values are: 'none', 'minimal', 'low', 'medium', 'high', 'xhigh', and 'max'.",
        id="effort",
    ),
    pytest.param(
        "openai",
        body(text={"verbosity": "loud"}),
        "text.verbosity",
        "invalid_value",
        "Invalid value: 'loud'. Supported values are: 'low', 'medium', and 'high'.",
        id="verbosity",
    ),
    pytest.param(
        "openai",
        body(text={"format": {"type": "xml"}}),
        "text.format.type",
        "invalid_value",
        "Invalid value: 'xml'. Supported values are: 'text', 'json_schema', and 'json_object'.",
        id="format-type",
    ),
    pytest.param(
        "openai",
        body(include=["bogus.thing"]),
        "include[0]",
        "invalid_value",
        f"Invalid value: 'bogus.thing'. Supported values are: {INCLUDES}.",
        id="include",
    ),
    pytest.param(
        "openai",
        body(tool_choice="sometimes"),
        "tool_choice",
        "invalid_value",
        "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'.",
        id="tool-choice-string",
    ),
    pytest.param(
        "openai",
        body(input=[{"type": "bogus"}]),
        "input[0]",
        "invalid_value",
        f"Invalid value: 'bogus'. Supported values are: {ITEM_TYPES}.",
        id="item-type",
    ),
    pytest.param(
        "openai",
        body(input=[{"role": "bogus", "content": "hi"}]),
        "input[0]",
        "invalid_value",
        "Invalid value: 'bogus'. Supported values are: 'user', 'assistant', 'system', and 'developer'.",
        id="role",
    ),
    pytest.param(
        "openai",
        body(input=[{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]),
        "input[0].content[0]",
        "invalid_value",
        "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.",
        id="assistant-input-part",
    ),
    pytest.param(
        "openai",
        body(input=[{"role": "user", "content": [{"type": "output_text", "text": "x"}]}]),
        "input[0].content[0]",
        "invalid_value",
        "Invalid value: 'output_text'. Supported values are: 'input_text', 'input_image', and 'input_file'.",
        id="user-output-part",
    ),
    pytest.param(
        "openai",
        body(tools=[{"type": "calculator"}]),
        "tools[0].type",
        "invalid_value",
        "Invalid value: 'calculator'. Supported values are: 'function', 'custom', 'file_search', 'computer', "
        "'computer_use_preview', 'web_search', 'web_search_2025_08_26', 'web_search_preview', "
        "'web_search_preview_2025_03_11', 'mcp', 'code_interpreter', 'image_generation', 'local_shell', 'shell', "
        "'apply_patch', 'namespace', 'tool_search', and 'programmatic_tool_calling'.",
        id="tool-type",
    ),
    pytest.param(
        "openai",
        body(service_tier="bogus"),
        "service_tier",
        "invalid_value",
        "Invalid value: 'bogus'. Supported values are: 'auto', 'default', 'flex', 'scale', 'priority', 'fast', "
        "and 'ultrafast'.",
        id="service-tier",
    ),
    pytest.param(
        "openai",
        body(tools=[{**FN_TOOL, "name": "get.weather"}]),
        "tools[0].name",
        "invalid_value",
        f"Invalid 'tools[0].name': {NAME_PATTERN}",
        id="tool-name-pattern",
    ),
    pytest.param(
        "openai",
        body(text={"format": {"type": "json_schema", "name": "my schema", "schema": {}}}),
        "text.format.name",
        "invalid_value",
        f"Invalid 'text.format.name': {NAME_PATTERN}",
        id="format-name-pattern",
    ),
    # ranges
    pytest.param(
        "openai",
        body(temperature=2.1),
        "temperature",
        "decimal_above_max_value",
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.1 instead.",
        id="temperature-high",
    ),
    pytest.param(
        "openai",
        body(temperature=-1),
        "temperature",
        "decimal_below_min_value",
        "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got -1 instead.",
        id="temperature-low",
    ),
    pytest.param(
        "openai",
        body(top_p=1.5),
        "top_p",
        "decimal_above_max_value",
        "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got 1.5 instead.",
        id="top-p-high",
    ),
    pytest.param(
        "openai",
        body(max_output_tokens=10),
        "max_output_tokens",
        "integer_below_min_value",
        "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 10 instead.",
        id="max-output-tokens-low",
    ),
    pytest.param(
        "openai",
        body(top_logprobs=21),
        "top_logprobs",
        "integer_above_max_value",
        "Invalid 'top_logprobs': integer above maximum value. Expected a value <= 20, but got 21 instead.",
        id="top-logprobs-high",
    ),
    pytest.param(
        "openai",
        body(context_management=[{"type": "compaction", "compact_threshold": 999}]),
        "context_management[0].compact_threshold",
        "integer_below_min_value",
        "Invalid 'context_management[0].compact_threshold': integer below minimum value. "
        "Expected a value >= 1000, but got 999 instead.",
        id="compact-threshold-low",
    ),
    # lengths and sizes
    pytest.param(
        "openai",
        body(metadata={"key": "x" * 600}),
        "metadata.key",
        "string_above_max_length",
        "Invalid 'metadata.key': string too long. Expected a string with maximum length 512, "
        "but got a string with length 600 instead.",
        id="metadata-value-long",
    ),
    pytest.param(
        "openai",
        body(metadata={"k" * 70: "v"}),
        "metadata",
        "string_above_max_length",
        "Invalid key in 'metadata': string too long. Expected a string with maximum length 64, "
        "but got a string with length 70 instead.",
        id="metadata-key-long",
    ),
    pytest.param(
        "openai",
        body(metadata={f"k{i}": "v" for i in range(17)}),
        "metadata",
        "object_above_max_properties",
        "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, "
        "but got an object with 17 properties instead.",
        id="metadata-17-pairs",
    ),
    pytest.param(
        "openai",
        body(safety_identifier="u" * 65),
        "safety_identifier",
        "string_above_max_length",
        "Invalid 'safety_identifier': string too long. Expected a string with maximum length 64, "
        "but got a string with length 65 instead.",
        id="safety-identifier-long",
    ),
    pytest.param(
        "openai",
        body(tools=[{**FN_TOOL, "name": f"f{i}"} for i in range(129)]),
        "tools",
        "array_above_max_length",
        "Invalid 'tools': array too long. Expected an array with maximum length 128, "
        "but got an array with length 129 instead.",
        id="tools-129",
    ),
    pytest.param(
        "openai",
        body(context_management=[]),
        "context_management",
        "array_below_min_length",
        "Invalid 'context_management': array too short. Expected an array with minimum length 1, "
        "but got an array with length 0 instead.",
        id="context-management-empty",
    ),
    # state parameters
    pytest.param(
        "openai",
        body(previous_response_id="resp_1", conversation="conv_1"),
        None,
        "mutually_exclusive_parameters",
        "Mutually exclusive parameters: 'previous_response_id' and 'conversation'. "
        "Ensure you are only providing one of: 'previous_response_id' or 'conversation'.",
        id="previous-and-conversation",
    ),
    # the compatible profile
    pytest.param(
        "compatible",
        body(model=DELETE),
        "model",
        "missing_required_parameter",
        "Missing required parameter: 'model'.",
        id="compatible-no-model",
    ),
    pytest.param(
        "compatible",
        body(input=DELETE),
        "input",
        "missing_required_parameter",
        "Missing required parameter: 'input'.",
        id="compatible-no-input",
    ),
    pytest.param(
        "compatible",
        body(model=DELETE, input=DELETE),
        "model",
        "missing_required_parameter",
        "Missing required parameter: 'model'.",
        id="compatible-model-first",
    ),
    pytest.param(
        "compatible",
        body(model=""),
        "model",
        "string_below_min_length",
        "Invalid 'model': string too short. Expected a string with minimum length 1, "
        "but got a string with length 0 instead.",
        id="compatible-empty-model",
    ),
    pytest.param(
        "compatible",
        body(model="m" * 256),
        "model",
        "string_above_max_length",
        "Invalid 'model': string too long. Expected a string with maximum length 255, "
        "but got a string with length 256 instead.",
        id="compatible-long-model",
    ),
    pytest.param(
        "compatible",
        body(instructions="x" * 32001),
        "instructions",
        "string_above_max_length",
        "Invalid 'instructions': string too long. Expected a string with maximum length 32000, "
        "but got a string with length 32001 instead.",
        id="compatible-long-instructions",
    ),
    pytest.param(
        "compatible",
        body(max_output_tokens=0),
        "max_output_tokens",
        "integer_below_min_value",
        "Invalid 'max_output_tokens': integer below minimum value. Expected a value > 0, but got 0 instead.",
        id="compatible-max-output-tokens-0",
    ),
    pytest.param(
        "compatible",
        body(tools=[{"type": "web_search"}]),
        "tools[0].type",
        "invalid_value",
        "Invalid value: 'web_search'. Supported values are: 'function'.",
        id="compatible-hosted-tool",
    ),
    pytest.param(
        "compatible",
        body(tool_choice={"type": "function", "name": "get_weather"}),
        "tool_choice",
        "invalid_type",
        "Invalid type for 'tool_choice': expected one of 'auto', 'none', or 'required', but got an object instead.",
        id="compatible-tool-choice-object",
    ),
    pytest.param(
        "compatible",
        body(store=False),
        "store",
        "unknown_parameter",
        "Unknown parameter: 'store'.",
        id="compatible-undocumented-parameter",
    ),
    pytest.param(
        "compatible",
        body(reasoning={"effort": "low", "context": "auto"}),
        "reasoning.context",
        "unknown_parameter",
        "Unknown parameter: 'reasoning.context'.",
        id="compatible-reasoning-context",
    ),
    pytest.param(
        "compatible",
        body(parallel_tool_calls=None),
        "parallel_tool_calls",
        "invalid_type",
        "Invalid type for 'parallel_tool_calls': expected a boolean, but got null instead.",
        id="compatible-parallel-null",
    ),
    pytest.param(
        "compatible",
        body(temperature=2.5),
        "temperature",
        "decimal_above_max_value",
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.",
        id="compatible-temperature",
    ),
]


@pytest.mark.parametrize(("profile", "request_body", "param", "code", "message"), BAD)
def test_bad_request_is_a_400_like_the_api(profile, request_body, param, code, message):
    error = rejection(profile, request_body)
    assert (error.status, error.param, error.code, error.message) == (400, param, code, message)
    assert error.body() == {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


def test_bad_rows_cover_every_rule():
    codes = {row.values[3] for row in BAD}
    assert codes >= {
        "unknown_parameter",
        "missing_required_parameter",
        "invalid_type",
        "invalid_value",
        "decimal_above_max_value",
        "decimal_below_min_value",
        "integer_below_min_value",
        "integer_above_max_value",
        "string_above_max_length",
        "string_below_min_length",
        "object_above_max_properties",
        "array_above_max_length",
        "array_below_min_length",
        "mutually_exclusive_parameters",
    }
    assert {row.values[0] for row in BAD} == set(PROFILES)


def test_matches_the_live_capture_of_a_bad_temperature():
    capture = reference_file(live_captures_dir() / "error-400-invalid-temperature.pydantic.json")
    live = json.loads(capture.read_text(encoding="utf-8"))
    assert rejection("openai", body(temperature=-1)).body() == live


# --- bodies that must pass ----------------------------------------------------------------------------------------

OUTPUT_TEXT = {"type": "output_text", "text": "Sunny.", "annotations": [], "logprobs": []}
INPUT_ITEMS: dict[str, dict[str, Any]] = {
    "easy-message": {"role": "user", "content": "hi"},
    "easy-message-typed": {"type": "message", "role": "developer", "content": "Be brief."},
    "message-parts": {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
            {"type": "input_image", "file_id": "file-1"},
            {"type": "input_file", "file_id": "file-2", "filename": "a.pdf"},
            {"type": "input_file", "file_data": "data:application/pdf;base64,AAAA", "filename": "b.pdf"},
        ],
        "status": "completed",
    },
    "assistant-replay": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "phase": "final_answer",
        "content": [OUTPUT_TEXT, {"type": "refusal", "refusal": "No."}],
    },
    "assistant-string": {"role": "assistant", "content": "Earlier answer."},
    "function_call": {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
        "status": "completed",
    },
    "function_call_output": {"type": "function_call_output", "call_id": "call_1", "output": '{"temp":21}'},
    "function_call_output-parts": {
        "type": "function_call_output",
        "call_id": "call_1",
        "output": [{"type": "input_text", "text": "21 degrees"}],
    },
    "reasoning": {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "Thinking."}],
        "encrypted_content": "gAAAA",
    },
    "item_reference": {"type": "item_reference", "id": "msg_0"},
    "item_reference-untyped": {"id": "msg_0"},
    "item_reference-null-type": {"type": None, "id": "msg_0"},
    "custom_tool_call": {"type": "custom_tool_call", "call_id": "call_2", "name": "apply_patch", "input": "*** Begin"},
    "custom_tool_call_output": {"type": "custom_tool_call_output", "call_id": "call_2", "output": "done"},
    "compaction": {"type": "compaction", "encrypted_content": "gAAAA"},
    "compaction_trigger": {"type": "compaction_trigger"},
    "file_search_call": {"type": "file_search_call", "id": "fs_1", "queries": ["q"], "status": "completed"},
    "computer_call": {
        "type": "computer_call",
        "id": "cu_1",
        "call_id": "call_3",
        "pending_safety_checks": [],
        "status": "completed",
        "action": {"type": "screenshot"},
    },
    "computer_call_output": {
        "type": "computer_call_output",
        "call_id": "call_3",
        "output": {"type": "computer_screenshot", "image_url": "https://example.com/s.png"},
    },
    "web_search_call": {
        "type": "web_search_call",
        "id": "ws_1",
        "status": "completed",
        "action": {"type": "search", "query": "weather"},
    },
    "tool_search_call": {"type": "tool_search_call", "arguments": {}},
    "tool_search_output": {"type": "tool_search_output", "tools": [FN_TOOL]},
    "additional_tools": {"type": "additional_tools", "role": "developer", "tools": [FN_TOOL]},
    "image_generation_call": {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": None},
    "code_interpreter_call": {
        "type": "code_interpreter_call",
        "id": "ci_1",
        "status": "completed",
        "container_id": "cntr_1",
        "code": "print(1)",
        "outputs": None,
    },
    "local_shell_call": {
        "type": "local_shell_call",
        "id": "lsh_1",
        "call_id": "call_4",
        "status": "completed",
        "action": {"type": "exec", "command": ["ls"], "env": {}},
    },
    "local_shell_call_output": {"type": "local_shell_call_output", "id": "lsh_1", "output": "a.txt"},
    "shell_call": {"type": "shell_call", "call_id": "call_5", "action": {"commands": ["ls"]}},
    "shell_call_output": {"type": "shell_call_output", "call_id": "call_5", "output": []},
    "apply_patch_call": {
        "type": "apply_patch_call",
        "call_id": "call_6",
        "status": "completed",
        "operation": {"type": "delete_file", "path": "a.txt"},
    },
    "apply_patch_call_output": {"type": "apply_patch_call_output", "call_id": "call_6", "status": "completed"},
    "mcp_list_tools": {"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "s", "tools": []},
    "mcp_approval_request": {
        "type": "mcp_approval_request",
        "id": "mcpr_1",
        "server_label": "s",
        "name": "t",
        "arguments": "{}",
    },
    "mcp_approval_response": {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True},
    "mcp_call": {"type": "mcp_call", "id": "mcp_1", "server_label": "s", "name": "t", "arguments": "{}"},
    "program": {"type": "program", "id": "p_1", "call_id": "call_7", "code": "x", "fingerprint": "f"},
    "program_output": {
        "type": "program_output",
        "id": "po_1",
        "call_id": "call_7",
        "result": "1",
        "status": "completed",
    },
}
TOOLS: dict[str, dict[str, Any]] = {
    "function": FN_TOOL,
    "function-strict": {**FN_TOOL, "strict": True, "defer_loading": False},
    "function-null-parameters": {"type": "function", "name": "ping", "parameters": None, "strict": None},
    "custom": {"type": "custom", "name": "apply_patch", "description": "Edit files"},
    "custom-grammar": {
        "type": "custom",
        "name": "sql",
        "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
    },
    "file_search": {"type": "file_search", "vector_store_ids": ["vs_1"], "max_num_results": 5},
    "computer": {"type": "computer"},
    "computer_use_preview": {
        "type": "computer_use_preview",
        "environment": "browser",
        "display_width": 1024,
        "display_height": 768,
    },
    "web_search": {"type": "web_search", "search_context_size": "low"},
    "web_search_2025_08_26": {"type": "web_search_2025_08_26"},
    "web_search_preview": {"type": "web_search_preview", "user_location": {"type": "approximate", "city": "Paris"}},
    "web_search_preview_2025_03_11": {"type": "web_search_preview_2025_03_11"},
    "mcp": {
        "type": "mcp",
        "server_label": "deepwiki",
        "server_url": "https://mcp.example.com",
        "require_approval": "never",
    },
    "code_interpreter": {"type": "code_interpreter", "container": {"type": "auto"}},
    "code_interpreter-id": {"type": "code_interpreter", "container": "cntr_1"},
    "image_generation": {"type": "image_generation", "quality": "low"},
    "local_shell": {"type": "local_shell"},
    "shell": {"type": "shell"},
    "apply_patch": {"type": "apply_patch"},
    "namespace": {"type": "namespace", "name": "weather", "description": "Weather tools", "tools": [FN_TOOL]},
    "tool_search": {"type": "tool_search"},
    "programmatic_tool_calling": {"type": "programmatic_tool_calling"},
}
TOOL_CHOICES: dict[str, Any] = {
    "none": "none",
    "auto": "auto",
    "required": "required",
    "function": {"type": "function", "name": "get_weather"},
    "custom": {"type": "custom", "name": "apply_patch"},
    "mcp": {"type": "mcp", "server_label": "deepwiki", "name": None},
    "allowed_tools": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_weather"}]},
    "hosted": {"type": "web_search_preview"},
    "computer_use": {"type": "computer_use"},
    "apply_patch": {"type": "apply_patch"},
    "shell": {"type": "shell"},
    "programmatic_tool_calling": {"type": "programmatic_tool_calling"},
}
TEXT_FORMATS: dict[str, Any] = {
    "text": {"format": {"type": "text"}},
    "json_object": {"format": {"type": "json_object"}, "verbosity": "low"},
    "json_schema": {
        "format": {
            "type": "json_schema",
            "name": "weather-report_1",
            "schema": {"type": "object", "properties": {"t": {"type": "number"}}},
            "description": "A report",
            "strict": None,
        }
    },
    "verbosity-only": {"verbosity": None},
}
NULLABLE = (
    "previous_response_id conversation prompt moderation include metadata temperature top_p parallel_tool_calls "
    "stream stream_options background max_output_tokens max_tool_calls reasoning safety_identifier prompt_cache_key "
    "prompt_cache_retention truncation instructions store service_tier top_logprobs context_management"
).split()
EVERYTHING = body(
    input=[INPUT_ITEMS["easy-message"]],
    instructions="Be brief.",
    previous_response_id="resp_1",
    stream=True,
    stream_options={"include_obfuscation": False},
    background=False,
    store=True,
    include=["reasoning.encrypted_content", "message.output_text.logprobs"],
    max_output_tokens=16,
    max_tool_calls=3,
    temperature=0,
    top_p=1,
    top_logprobs=20,
    parallel_tool_calls=False,
    tools=[FN_TOOL],
    tool_choice="auto",
    text={"format": {"type": "text"}, "verbosity": "high"},
    reasoning={"effort": "xhigh", "summary": "auto", "generate_summary": "concise", "mode": "pro", "context": "auto"},
    truncation="auto",
    metadata={"k" * 64: "v" * 512, **{f"k{i}": "v" for i in range(15)}},
    service_tier="flex",
    prompt={
        "id": "pmpt_1",
        "version": "2",
        "variables": {"city": "Paris", "pic": {"type": "input_image", "file_id": "f"}},
    },
    prompt_cache_key="key",
    prompt_cache_retention="24h",
    prompt_cache_options={"ttl": "30m", "mode": "explicit"},
    safety_identifier="u" * 64,
    user="user-1",
    context_management=[{"type": "compaction", "compact_threshold": 1000}],
    moderation={"model": "omni-moderation-latest", "policy": {"input": {"mode": "block"}, "output": None}},
    access_programs={"cyber": "standard"},
    background_options={"completion_window": "soonest"},
    image={"context_compression": "auto"},
)

GOOD: list[Any] = [
    pytest.param("openai", {"model": "gpt-4.1", "input": "hi"}, id="minimal"),
    pytest.param("openai", {"prompt": {"id": "pmpt_1"}}, id="model-from-prompt"),
    pytest.param("openai", {"model": "gpt-4.1", "conversation": {"id": "conv_1"}}, id="conversation-object"),
    pytest.param("openai", body(input=list(INPUT_ITEMS.values())), id="all-input-items"),
    pytest.param("openai", body(tools=list(TOOLS.values())), id="all-tools"),
    pytest.param("openai", body(input=[]), id="empty-items"),
    pytest.param("openai", EVERYTHING, id="every-parameter"),
    pytest.param("openai", body(temperature=2, top_p=0, max_output_tokens=16.0), id="bounds-inclusive"),
    *(pytest.param("openai", body(input=[item]), id=f"item-{name}") for name, item in INPUT_ITEMS.items()),
    *(pytest.param("openai", body(tools=[tool]), id=f"tool-{name}") for name, tool in TOOLS.items()),
    *(
        pytest.param("openai", body(tool_choice=choice), id=f"tool-choice-{name}")
        for name, choice in TOOL_CHOICES.items()
    ),
    *(pytest.param("openai", body(text=text), id=f"text-{name}") for name, text in TEXT_FORMATS.items()),
    *(pytest.param("openai", body(**{field: None}), id=f"null-{field}") for field in NULLABLE),
    pytest.param("openai", body(**dict.fromkeys(NULLABLE, None)), id="null-all"),
    pytest.param(
        "openai",
        body(reasoning={key: None for key in ("effort", "summary", "generate_summary", "context")}),
        id="null-reasoning-members",
    ),
    pytest.param("compatible", {"model": "gpt-4.1", "input": "hi"}, id="compatible-minimal"),
    pytest.param(
        "compatible",
        body(
            instructions="x" * 32000,
            max_output_tokens=1,
            temperature=0.7,
            top_p=0.9,
            tools=[FN_TOOL],
            tool_choice="required",
            parallel_tool_calls=True,
            stream=None,
            text={"type": "text"},
            reasoning={"effort": "medium", "summary": "auto"},
        ),
        id="compatible-documented-fields",
    ),
    pytest.param(
        "compatible", body(tools=None, text={"format": {"type": "json_object"}}), id="compatible-official-text"
    ),
    pytest.param(
        "compatible", body(input=[INPUT_ITEMS["reasoning"], INPUT_ITEMS["easy-message"]]), id="compatible-items"
    ),
]


@pytest.mark.parametrize(("profile", "request_body"), GOOD)
def test_valid_body_passes(profile, request_body):
    validate_create_request(request_body, profile)


def test_nullable_list_is_the_schemas():
    properties = request_schema()["properties"]
    nullable = {name for name, spec in properties.items() if "null" in spec.get("type", [])}
    nullable |= {name for name, spec in properties.items() if "$ref" in spec and "null" in _def(spec)["type"]}
    assert nullable == set(NULLABLE)


def _def(spec: dict[str, Any]) -> dict[str, Any]:
    target: dict[str, Any] = request_schema()["$defs"][spec["$ref"].rsplit("/", 1)[1]]
    return target


class Weather(pydantic.BaseModel):
    city: str
    degrees: float


def sdk_bodies() -> list[dict[str, Any]]:
    """The bodies the official SDK sends for `responses.parse(text_format=...)` and `responses.create(...)`."""
    sent: list[dict[str, Any]] = []

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            sent.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            answer = b'{"error":{"message":"captured","type":"invalid_request_error","param":null,"code":null}}'
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = openai.OpenAI(api_key="sk-test", base_url=f"http://127.0.0.1:{server.server_port}/v1", max_retries=0)
        with pytest.raises(openai.BadRequestError):
            client.responses.parse(model="gpt-4.1", input="Weather in Paris?", text_format=Weather)
        with pytest.raises(openai.BadRequestError):
            client.responses.create(
                model="gpt-4.1",
                input=[{"role": "user", "content": "hi"}],
                instructions="Be brief.",
                temperature=0.2,
                tools=[FN_TOOL],
                metadata={"run": "1"},
                stream=True,
            )
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join()
    return sent


def test_sdk_bodies_pass():
    parse_body, create_body = sdk_bodies()
    assert parse_body["text"]["format"]["type"] == "json_schema"
    assert parse_body["text"]["format"]["strict"] is True
    validate_create_request(parse_body)
    validate_create_request(create_body)


def test_seed_page_example_passes_the_compatible_profile():
    page = reference_file(reference_dir() / "seed-compatible-responses-api.txt")
    found = re.search(r"--data '\n(.*?)\n'", page.read_text(encoding="utf-8"), re.S)
    assert found, "the page's curl example moved"
    example = json.loads(found.group(1).replace('"<string>"', '"get_weather"'))
    validate_create_request(example, "compatible")
    with pytest.raises(APIError, match="Unknown parameter: 'text.type'"):
        validate_create_request(example, "openai")


def test_unknown_profile_is_a_value_error():
    assert PROFILES == ("openai", "compatible")
    with pytest.raises(ValueError, match="unknown validation profile 'strict'"):
        validate_create_request(body(), "strict")


# --- properties ---------------------------------------------------------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers(-50, 50) | st.floats(-3, 3) | st.text(max_size=6)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
known_items = st.sampled_from(list(INPUT_ITEMS.values()))
item = known_items | st.builds(
    lambda i, k, v: {**i, k: v},
    known_items,
    st.sampled_from(["type", "role", "content", "call_id", "id", "output", "zz"]),
    json_value,
)
valid_ish = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["gpt-4.1", "gpt-5", ""]) | json_leaf,
        "input": st.text(max_size=5) | st.lists(item, max_size=4) | json_leaf,
        "instructions": st.text(max_size=5) | json_leaf,
        "temperature": st.floats(-1, 3) | st.just(float("nan")) | json_leaf,
        "top_p": st.floats(allow_nan=True, allow_infinity=True) | json_leaf,
        "max_output_tokens": st.integers(-5, 40) | json_leaf,
        "top_logprobs": st.integers(-2, 25) | json_leaf,
        "tools": st.lists(
            st.sampled_from(list(TOOLS.values()))
            | st.dictionaries(st.sampled_from(["type", "name", "parameters"]), json_value),
            max_size=3,
        )
        | json_leaf,
        "tool_choice": st.sampled_from(list(TOOL_CHOICES.values())) | json_value,
        "text": st.sampled_from(list(TEXT_FORMATS.values())) | json_value,
        "metadata": st.dictionaries(st.text(max_size=70), st.text(max_size=3) | json_leaf, max_size=18) | json_leaf,
        "truncation": st.sampled_from(["auto", "disabled", "bogus", None]),
        "previous_response_id": st.sampled_from(["resp_1", None]),
        "conversation": st.sampled_from(["conv_1", {"id": "conv_1"}, None]) | json_value,
        "reasoning": st.dictionaries(st.sampled_from(["effort", "summary", "mode", "zz"]), json_leaf, max_size=2)
        | json_leaf,
        "store": json_leaf,
        "include": st.lists(st.sampled_from(["reasoning.encrypted_content", "bogus"]), max_size=2) | json_leaf,
        "zzz": json_value,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request_body=valid_ish, profile=st.sampled_from(PROFILES))
def test_validation_answers_every_body_with_nothing_or_a_400(request_body, profile):
    plain = Draft202012Validator(request_schema(profile))
    try:
        validate_create_request(request_body, profile)
    except APIError as error:
        assert (error.status, error.type) == (400, "invalid_request_error")
        assert error.message and error.code
        if error.code == "mutually_exclusive_parameters":
            assert error.param is None
            assert plain.is_valid(request_body)
        else:
            assert error.param, error
            assert not plain.is_valid(request_body)
    else:
        assert plain.is_valid(request_body)


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=150, deadline=None)
@given(request_body=valid_ish)
def test_compiled_validator_finds_the_plain_validators_errors(profile, request_body):
    """The compiled dispatch is an optimisation: it must report exactly what a plain validator reports."""
    plain = Draft202012Validator(request_schema(profile))

    def found(validator: Any) -> list[tuple[str, str, str]]:
        return sorted(
            (json.dumps(list(e.absolute_path)), str(e.validator), e.message)
            for e in validator.iter_errors(request_body)
        )

    assert found(_compiled(profile).validator) == found(plain)


@pytest.mark.parametrize("profile", PROFILES)
def test_shipped_schemas_are_valid_json_schema(profile: str) -> None:
    Draft202012Validator.check_schema(request_schema(profile))


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=200, deadline=None)
@given(request_body=valid_ish)
def test_fast_check_agrees_with_the_detailed_validator(profile, request_body):
    """Valid bodies skip the detailed validator when the fast one says so: the two must agree on every body."""
    fastcheck.build(profile, request_schema(profile))
    assert fastcheck.is_valid(profile, request_body) == _compiled(profile).validator.is_valid(request_body)


@pytest.mark.parametrize(
    ("profile", "request_body"), [pytest.param(*row.values[:2], id=row.id) for row in [*BAD, *GOOD]]
)
def test_fast_check_agrees_on_every_table_row(profile: str, request_body: dict[str, Any]) -> None:
    fastcheck.build(profile, request_schema(profile))
    assert fastcheck.is_valid(profile, request_body) == _compiled(profile).validator.is_valid(request_body)
