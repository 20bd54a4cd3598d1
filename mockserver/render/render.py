"""Build the `Response` object the live API sends, from a request and a `ModelReply`.

Keys come in the live API's order (2026): `id, object, created_at, status`, then alphabetical, `metadata` last.
Every field the live API writes is written, with `null` where it has no value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from ..core.context import RequestContext
from ..core.ids import ResponseIds
from ..core.models import DEFAULT_MODEL, default_effort, is_reasoning_model, reported_model
from ..core.tokens import count_input_tokens, estimate_tokens
from ..core.types import JSON, JSONObject
from ..engine.budget import within_budget
from ..engine.output_items import item_keys, item_types
from ..engine.reasoning import live_output
from ..faults.replies import ModelReply
from .logprobs import LOGPROBS_INCLUDE, text_logprobs

_TOOL_USAGE: JSONObject = {
    "image_gen": {
        "input_tokens": 0,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
        "output_tokens": 0,
        "output_tokens_details": {"image_tokens": 0, "text_tokens": 0},
        "total_tokens": 0,
    },
    "web_search": {"num_requests": 0},
}


# The id prefixes the live API gives these item types.
ITEM_ID_PREFIXES = {
    "custom_tool_call": "ctc",
    "web_search_call": "ws",
    "file_search_call": "fs",
    "code_interpreter_call": "ci",
    "image_generation_call": "ig",
    "local_shell_call": "lsh",
    "mcp_call": "mcp",
    "mcp_list_tools": "mcpl",
    "mcp_approval_request": "mcpr",
    "tool_search_call": "tsc",
    "compaction": "cmp",
}


@dataclass(frozen=True)
class Timing:
    """When the response was created and, if it finished, completed (integer Unix seconds)."""

    created_at: int
    completed_at: int


def build_response(
    ctx: RequestContext, reply: ModelReply, ids: ResponseIds, timing: Timing, *, billing: bool = True
) -> JSONObject:
    """The final Response object for `reply` (`billing` appears only in non-streamed bodies, as on the wire)."""
    body = ctx.body
    output = [_render_item(item, ids, ctx) for item in live_output(reply, ctx)]
    if reply.status == "incomplete" and reply.incomplete_reason != "content_filter":
        output = within_budget(output, body.get("max_output_tokens"))
    if reply.status == "incomplete" and output:
        output[-1]["status"] = "incomplete"
    if LOGPROBS_INCLUDE in (body.get("include") or ()):
        top = body.get("top_logprobs")
        output = [_with_logprobs(item, top if isinstance(top, int) else 0) for item in output]
    response: JSONObject = {
        "id": ids.response_id,
        "object": "response",
        "created_at": timing.created_at,
        "status": reply.status,
        "background": bool(body.get("background")),
    }
    if billing:
        response["billing"] = {"payer": "developer"}
    response["completed_at"] = timing.completed_at if reply.status == "completed" else None
    if body.get("conversation") is not None:
        conversation = body["conversation"]
        response["conversation"] = {"id": conversation["id"] if isinstance(conversation, dict) else conversation}
    response["error"] = dict(reply.error) if reply.status == "failed" and reply.error else None
    response["frequency_penalty"] = 0.0
    response["incomplete_details"] = (
        {"reason": reply.incomplete_reason or "max_output_tokens"} if reply.status == "incomplete" else None
    )
    response["instructions"] = body.get("instructions")
    response["max_output_tokens"] = body.get("max_output_tokens")
    response["max_tool_calls"] = body.get("max_tool_calls")
    # A request without `model` names a stored prompt, whose model the mock cannot know: it answers as the
    # catalog's default model rather than `null`, which no SDK parses.
    response["model"] = reply.model or reported_model(ctx.model or DEFAULT_MODEL)
    response["moderation"] = None
    response["output"] = output
    response["parallel_tool_calls"] = _default(body.get("parallel_tool_calls"), True)
    response["presence_penalty"] = 0.0
    response["previous_response_id"] = body.get("previous_response_id")
    if body.get("prompt") is not None:
        response["prompt"] = body["prompt"]
    response["prompt_cache_key"] = body.get("prompt_cache_key")
    response["prompt_cache_retention"] = body.get("prompt_cache_retention")
    response["reasoning"] = _echo_reasoning(ctx)
    response["safety_identifier"] = body.get("safety_identifier")
    response["service_tier"] = _resolved_service_tier(body.get("service_tier"))
    response["store"] = _default(body.get("store"), True)
    response["temperature"] = _default(body.get("temperature"), 1.0)
    response["text"] = _echo_text(body.get("text"))
    response["tool_choice"] = _default(body.get("tool_choice"), "auto")
    response["tool_usage"] = _TOOL_USAGE  # never mutated, so shared
    response["tools"] = [_echo_tool(tool) for tool in body.get("tools") or ()]
    response["top_logprobs"] = _default(body.get("top_logprobs"), 0)
    response["top_p"] = _default(body.get("top_p"), 1.0)
    response["truncation"] = _default(body.get("truncation"), "disabled")
    response["usage"] = None if reply.status == "failed" else _usage(ctx, output, reply.usage)
    response["user"] = body.get("user")
    response["metadata"] = _default(body.get("metadata"), {})
    return response


def in_progress_snapshot(final: JSONObject, request_service_tier: JSON) -> JSONObject:
    """The Response as `response.created` / `response.in_progress` carry it: no output, no usage yet."""
    snapshot = dict(final)
    snapshot.pop("billing", None)
    snapshot.update(
        status="in_progress",
        completed_at=None,
        error=None,
        incomplete_details=None,
        output=[],
        service_tier=request_service_tier if isinstance(request_service_tier, str) else "auto",
        usage=None,
    )
    return snapshot


def _default(value: JSON, default: JSON) -> JSON:
    return default if value is None else value


def _resolved_service_tier(requested: JSON) -> str:
    # The live API reports the tier it used: "auto" resolves to "default".
    return requested if isinstance(requested, str) and requested != "auto" else "default"


def _echo_reasoning(ctx: RequestContext) -> JSONObject:
    given = ctx.body.get("reasoning")
    given = given if isinstance(given, dict) else {}
    reasoning = is_reasoning_model(ctx.model)
    echoed: JSONObject = {
        "context": given.get("context", "all_turns" if reasoning else None),
        "effort": given.get("effort", default_effort(ctx.model)),
    }
    if reasoning or "mode" in given:
        echoed["mode"] = given.get("mode", "standard")
    echoed["summary"] = given.get("summary", given.get("generate_summary"))
    return echoed


def _echo_text(text: JSON) -> JSONObject:
    text = text if isinstance(text, dict) else {}
    fmt = text.get("format")
    if not isinstance(fmt, dict):
        fmt = {"type": "text"}
    elif fmt.get("type") == "json_schema":
        echoed: JSONObject = {"type": "json_schema"}
        if fmt.get("description") is not None:
            echoed["description"] = fmt["description"]
        echoed.update(name=fmt.get("name"), schema=fmt.get("schema"), strict=_default(fmt.get("strict"), False))
        fmt = echoed
    return {"format": fmt, "verbosity": _default(text.get("verbosity"), "medium")}


def _echo_tool(tool: JSON) -> JSON:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return tool
    # Function tools are strict unless the request says otherwise; strict schemas forbid extra properties.
    strict = _default(tool.get("strict"), True)
    parameters = tool.get("parameters")
    if strict and isinstance(parameters, dict) and parameters.get("type") == "object":
        parameters = {**parameters, "additionalProperties": parameters.get("additionalProperties", False)}
    echoed: JSONObject = {
        "type": "function",
        "description": tool.get("description"),
        "name": tool.get("name"),
        "parameters": parameters,
        "strict": strict,
    }
    if "defer_loading" in tool:
        echoed["defer_loading"] = tool["defer_loading"]
    echoed["output_schema"] = tool.get("output_schema")
    return echoed


def _render_item(spec: JSONObject, ids: ResponseIds, ctx: RequestContext) -> JSONObject:
    kind = spec["type"]
    if kind == "message":
        item: JSONObject = {
            "id": spec.get("id") or ids.new("msg"),
            "type": "message",
            "status": "completed",
            "content": [_render_part(part) for part in spec["content"]],
        }
        if spec.get("phase") is not None:
            item["phase"] = spec["phase"]
        item["role"] = "assistant"
        return item
    if kind == "function_call":
        return {
            "id": spec.get("id") or ids.new("fc"),
            "type": "function_call",
            "status": "completed",
            "arguments": spec["arguments"],
            "call_id": spec.get("call_id") or ids.call_id(),
            "name": spec["name"],
        }
    if kind == "custom_tool_call" and isinstance(spec.get("input"), str) and isinstance(spec.get("name"), str):
        # No `status`: the SDK's ResponseCustomToolCall has none (unlike a function call).
        item = {"id": spec.get("id") or ids.new("ctc"), "type": "custom_tool_call"}
        item.update(call_id=spec.get("call_id") or ids.call_id(), input=spec["input"], name=spec["name"])
        return item
    if kind == "reasoning":
        # `content: []` as on the 2026 wire (`stream-reasoning-summary-gpt-5.6-sol.rig.sse`): OpenAI's models send
        # no raw reasoning text.
        item = {"id": spec.get("id") or ids.new("rs"), "type": "reasoning", "content": []}
        if "reasoning.encrypted_content" in (ctx.body.get("include") or ()):
            item["encrypted_content"] = fake_encrypted_content(item["id"])
        item["summary"] = [{"type": "summary_text", "text": text} for text in spec.get("summary", ())]
        return item
    # Any other item type is sent as written in the scenario, with what the server makes of every item when the
    # scenario leaves it out and the type has it: an id (of the live API's prefix), a call_id, the status.
    item = {"id": ids.new(ITEM_ID_PREFIXES.get(kind, kind.split("_")[0][:3])), **spec}
    keys = item_keys(kind) if kind in item_types() else ()
    if "call_id" in keys and "call_id" not in item:
        item["call_id"] = ids.call_id()
    if "status" in keys and "status" not in item:
        item["status"] = "completed"
    return item


def _with_logprobs(item: JSONObject, top: int) -> JSONObject:
    """A message whose `output_text` parts carry log probabilities (those a scenario wrote are kept)."""
    if item["type"] != "message":
        return item
    parts = [
        {**part, "logprobs": text_logprobs(part["text"], top)}
        if part["type"] == "output_text" and not part.get("logprobs")
        else part
        for part in item["content"]
    ]
    return {**item, "content": parts}


def _render_part(part: JSONObject) -> JSONObject:
    if part["type"] == "refusal":
        return {"type": "refusal", "refusal": part["refusal"]}
    return {
        "type": "output_text",
        "annotations": list(part.get("annotations", ())),
        "logprobs": list(part.get("logprobs", ())),
        "text": part["text"],
    }


_FERNET_VERSION = b"\x80"
_FERNET_TIME = (1_750_000_000).to_bytes(8, "big")  # fixed, so the same item id always gives the same bytes
_FERNET_KEY = b"mockserver reasoning"


def fake_encrypted_content(item_id: str) -> str:
    """A blob shaped like the live API's Fernet tokens (version, time, IV, ciphertext, HMAC; base64url, starting
    "gAAAAAB"), opaque to a client but carrying the item id, which `encrypted_item_id` reads back."""
    plain = item_id.encode()
    iv = hashlib.sha256(b"iv:" + plain).digest()[:16]
    body = _FERNET_VERSION + _FERNET_TIME + iv + _xor(plain, iv)
    return base64.urlsafe_b64encode(body + hmac.digest(_FERNET_KEY, body, "sha256")).decode()


def encrypted_item_id(blob: str) -> str | None:
    """The id of the reasoning item a blob from `fake_encrypted_content` was made for; `None` for any other blob."""
    try:
        raw = base64.urlsafe_b64decode(blob.encode())
    except (ValueError, UnicodeEncodeError):
        return None
    body, tag = raw[:-32], raw[-32:]
    if (
        len(body) < 25
        or not body.startswith(_FERNET_VERSION)
        or not hmac.compare_digest(tag, hmac.digest(_FERNET_KEY, body, "sha256"))
    ):
        return None
    iv = body[9:25]
    try:
        return _xor(body[25:], iv).decode()
    except UnicodeDecodeError:
        return None


def _xor(data: bytes, iv: bytes) -> bytes:
    stream = b""
    counter = 0
    while len(stream) < len(data):
        stream += hashlib.sha256(_FERNET_KEY + iv + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


def output_item_text(item: JSONObject) -> str:
    """The visible text an output item carries (message text or refusal, call arguments)."""
    if item["type"] == "message":
        return "".join(part.get("text") or part.get("refusal") or "" for part in item["content"])
    if item["type"] == "function_call":
        return str(item["arguments"])
    return ""


def _usage(ctx: RequestContext, output: list[JSONObject], override: JSONObject | None) -> JSONObject:
    visible = sum(estimate_tokens(output_item_text(item)) for item in output)
    reasoning = sum(
        16 + 2 * estimate_tokens(" ".join(part["text"] for part in item["summary"]))
        for item in output
        if item["type"] == "reasoning"
    )
    figures = {
        "input_tokens": count_input_tokens(ctx.body, ctx.history),
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": visible + reasoning,
        "reasoning_tokens": reasoning,
    }
    figures.update(override or {})
    if override and "reasoning_tokens" not in override:
        # A scenario's `output_tokens` counts the reasoning item a reasoning model's answer gets, too.
        figures["reasoning_tokens"] = min(figures["reasoning_tokens"], figures["output_tokens"])
    return {
        "input_tokens": figures["input_tokens"],
        "input_tokens_details": {
            "cache_write_tokens": figures["cache_write_tokens"],
            "cached_tokens": figures["cached_tokens"],
        },
        "output_tokens": figures["output_tokens"],
        "output_tokens_details": {"reasoning_tokens": figures["reasoning_tokens"]},
        "total_tokens": figures.get("total_tokens", figures["input_tokens"] + figures["output_tokens"]),
    }
