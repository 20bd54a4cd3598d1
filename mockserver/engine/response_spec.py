"""A scenario's `response:` block compiled into a `Reply` (the short forms, the full `output` form, HTTP errors).

response: {text: "Hi!"}                                  one message
response: {reasoning: ["…"], text: "4"}                  a reasoning summary, then the message
response: {reasoning: none, text: "4"}                   no reasoning item, even on a reasoning model
response: {output: [{type: function_call, name: f, arguments: {a: 1}}]}
response: {text: "The history of", incomplete: max_output_tokens}
response: {error: rate_limit}                            an HTTP error (see http_errors)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeAlias

from ..core.context import RequestContext
from ..core.errors import InvalidSpec, unknown_key_message
from ..core.types import JSON, JSONObject, Where
from ..faults.fault_specs import DELIVERY_KEYS, compile_delivery
from ..faults.faults import Delivery
from ..faults.http_errors import compile_error
from ..faults.replies import BackgroundTiming, ModelReply, Reply, ResponseStatus
from .hosted import REPLY_SHORTHANDS
from .includes import load_response_file
from .output_items import check_item_keys, check_item_values
from .reasoning import NO_REASONING
from .responder import default_reply
from .templates import TemplatedReply, has_templates, templated_reply

REPLY_KEYS = (
    "generate",
    "file",
    "text",
    "refusal",
    "reasoning",
    "output",
    "error",
    "status",
    "incomplete",
    "failed",
    "usage",
    "model",
    "phase",
    "background",
    *REPLY_SHORTHANDS,
    *DELIVERY_KEYS,
)


@dataclass(frozen=True)
class GeneratedReply:
    """`generate: true`: the default responder answers (as with no scenario), with this delivery and seed."""

    seed: int | None
    delivery: Delivery

    def render(self, ctx: RequestContext, call: int, scenario: str) -> Reply:
        return replace(default_reply(ctx, self.seed), delivery=self.delivery)


ReplySource: TypeAlias = Reply | TemplatedReply | GeneratedReply
_MAX_INCLUDE_DEPTH = 5


def compile_response(raw: JSON, where: Where, base_dir: Path) -> ReplySource:
    """A `response` block as written in a scenario file: with `file` includes and templates resolved or prepared."""
    raw = _with_includes(raw, where, base_dir)
    if isinstance(raw, Mapping) and "generate" in raw:
        return _generated(raw, where)
    if has_templates(raw):
        return templated_reply(raw, where, compile_reply)
    return compile_reply(raw, where)


def _with_includes(raw: JSON, where: Where, base_dir: Path, depth: int = 0) -> JSON:
    if not isinstance(raw, Mapping) or "file" not in raw:
        return raw
    if depth >= _MAX_INCLUDE_DEPTH:
        raise InvalidSpec((*where, "file"), f"files include each other more than {_MAX_INCLUDE_DEPTH} levels deep")
    included, document = load_response_file(raw["file"], base_dir, (*where, "file"))
    included = _with_includes(included, (), Path(document.filename).parent, depth + 1)
    if not has_templates(included):
        try:
            compile_reply(included, ())
        except InvalidSpec as exc:
            listed = isinstance(document.data, list) and exc.where[:1] == ("output",)  # a file holding the list
            raise document.error(exc.where[1:] if listed else exc.where, exc.problem) from None
    return {**included, **{key: value for key, value in raw.items() if key != "file"}}


def _generated(raw: Mapping[str, JSON], where: Where) -> GeneratedReply:
    spec = raw["generate"]
    others = [key for key in raw if key not in ("generate", *DELIVERY_KEYS)]
    if others:
        raise InvalidSpec((*where, others[0]), "a generated response takes only delay, stream and fault beside it")
    if spec is True:
        seed = None
    elif isinstance(spec, Mapping) and set(spec) <= {"seed"} and isinstance(spec.get("seed"), int | None):
        seed = spec.get("seed")
    else:
        raise InvalidSpec((*where, "generate"), "generate takes true or {seed: N}")
    return GeneratedReply(seed, compile_delivery(raw, where))


def compile_reply(raw: JSON, where: Where) -> Reply:
    """A `response` block (without includes or templates) compiled into the reply it describes."""
    if isinstance(raw, str):
        raw = {"text": raw}
    if not isinstance(raw, Mapping):
        raise InvalidSpec(where, "response must be a mapping (text, output, error, …) or a string")
    unknown = sorted(set(raw) - set(REPLY_KEYS))
    if unknown:
        raise InvalidSpec((*where, unknown[0]), unknown_key_message("response key", unknown[0], REPLY_KEYS))
    delivery = compile_delivery(raw, where)
    if "error" in raw:
        others = sorted(set(raw) - {"error", *DELIVERY_KEYS})
        if others:
            raise InvalidSpec((*where, others[0]), "an 'error' response is an HTTP error and takes no other keys")
        return replace(compile_error(raw["error"], (*where, "error")), delivery=delivery)
    output = _compile_output(raw, where)
    adds_reasoning = raw.get("reasoning") != NO_REASONING
    if not adds_reasoning and any(item["type"] == "reasoning" for item in output):
        raise InvalidSpec((*where, "reasoning"), "'reasoning: none' says no reasoning item, but output has one")
    status, incomplete_reason, failure = _compile_status(raw, where)
    usage = raw.get("usage")
    if usage is not None and not (
        isinstance(usage, Mapping) and all(isinstance(v, int) and not isinstance(v, bool) for v in usage.values())
    ):
        raise InvalidSpec((*where, "usage"), "usage takes token counts, e.g. {input_tokens: 12, output_tokens: 30}")
    model = raw.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidSpec((*where, "model"), "model takes a string")
    return ModelReply(
        output=output,
        status=status,
        incomplete_reason=incomplete_reason,
        error=failure,
        usage=dict(usage) if usage else None,
        model=model,
        delivery=delivery,
        background=_background(raw.get("background"), (*where, "background")),
        adds_reasoning=adds_reasoning,
    )


def _background(spec: JSON, where: Where) -> BackgroundTiming | None:
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or not set(spec) <= {"queue_ms", "run_ms"}:
        raise InvalidSpec(where, "background takes {queue_ms, run_ms}: how long a background response queues and runs")
    for key, value in spec.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidSpec((*where, key), f"{key} takes a whole number of milliseconds")
    return BackgroundTiming(**{key: int(value) for key, value in spec.items()})


def _compile_output(raw: Mapping[str, JSON], where: Where) -> tuple[JSONObject, ...]:
    shorthands = [key for key in ("text", "refusal") if key in raw]
    if "output" in raw and shorthands:
        raise InvalidSpec((*where, shorthands[0]), "give either 'output' or the short forms 'text'/'refusal', not both")
    if "output" in raw:
        if raw.get("reasoning", NO_REASONING) != NO_REASONING:
            raise InvalidSpec((*where, "reasoning"), "with 'output', write the reasoning item inside the output list")
        items = raw["output"]
        if not isinstance(items, list):
            raise InvalidSpec((*where, "output"), "output must be a list of output items")
        return tuple(_compile_item(item, (*where, "output", i)) for i, item in enumerate(items))
    output: list[JSONObject] = []
    if raw.get("reasoning", NO_REASONING) != NO_REASONING:
        output.append(_compile_item({"type": "reasoning", "summary": raw["reasoning"]}, (*where, "reasoning")))
    for key in (key for key in raw if key in REPLY_SHORTHANDS):  # a hosted tool's items, before the message
        output.extend(REPLY_SHORTHANDS[key](raw[key], (*where, key)))
    parts: list[JSONObject] = []
    if "text" in raw:
        parts.append(_text_part(raw["text"], (*where, "text")))
    if "refusal" in raw:
        parts.append(_refusal_part(raw["refusal"], (*where, "refusal")))
    if parts:
        message: JSONObject = {"type": "message", "content": parts}
        if raw.get("phase") is not None:
            message["phase"] = raw["phase"]
        output.append(message)
    return tuple(output)


def _text_part(text: JSON, where: Where, annotations: JSON = None) -> JSONObject:
    if not isinstance(text, str):
        raise InvalidSpec(where, "text must be a string")
    if annotations is not None and not (
        isinstance(annotations, list) and all(isinstance(a, dict) for a in annotations)
    ):
        raise InvalidSpec(where, "annotations must be a list of annotation objects")
    return {"type": "output_text", "text": text, "annotations": list(annotations or ())}


def _refusal_part(refusal: JSON, where: Where) -> JSONObject:
    if not isinstance(refusal, str):
        raise InvalidSpec(where, "refusal must be a string")
    return {"type": "refusal", "refusal": refusal}


def _compile_item(raw: JSON, where: Where) -> JSONObject:
    kind, item = check_item_keys(raw, where)
    compiled = _compiled_item(kind, item, where)
    check_item_values(item, where)
    return compiled


def _compiled_item(kind: str, raw: Mapping[str, JSON], where: Where) -> JSONObject:
    if kind == "message":
        return _compile_message(raw, where)
    if kind == "refusal":
        return {"type": "message", "content": [_refusal_part(raw.get("refusal"), (*where, "refusal"))]}
    if kind == "function_call":
        return _compile_function_call(raw, where)
    if kind == "reasoning":
        return {"type": "reasoning", "summary": _summary_texts(raw.get("summary", []), (*where, "summary"))}
    return dict(raw)


def _summary_texts(summary: JSON, where: Where) -> list[str]:
    """A reasoning summary as its texts: given as a string, a list of strings or, as the API sends it, a list of
    {type: summary_text, text}."""
    parts = [summary] if isinstance(summary, str) else summary
    if isinstance(parts, list):
        texts = [part.get("text") if isinstance(part, Mapping) else part for part in parts]
        if all(isinstance(text, str) for text in texts):
            return [str(text) for text in texts]
    raise InvalidSpec(where, "a reasoning summary is a string or a list of strings")


def _compile_message(raw: Mapping[str, JSON], where: Where) -> JSONObject:
    if "text" in raw:
        parts = [_text_part(raw["text"], (*where, "text"), raw.get("annotations"))]
    elif isinstance(raw.get("content"), list):
        parts = []
        for index, part in enumerate(raw["content"]):
            part_where = (*where, "content", index)
            if isinstance(part, str):
                parts.append(_text_part(part, part_where))
            elif isinstance(part, Mapping) and part.get("type") == "refusal":
                parts.append(_refusal_part(part.get("refusal"), part_where))
            elif isinstance(part, Mapping) and part.get("type", "output_text") == "output_text":
                parts.append(_text_part(part.get("text"), part_where, part.get("annotations")))
            else:
                raise InvalidSpec(
                    part_where, "a content part is a string, {type: output_text, text} or {type: refusal}"
                )
    else:
        raise InvalidSpec(where, "a message needs 'text' or a 'content' list")
    message: JSONObject = {"type": "message", "content": parts}
    if raw.get("phase") is not None:
        message["phase"] = raw["phase"]
    return message


def _compile_function_call(raw: Mapping[str, JSON], where: Where) -> JSONObject:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidSpec(where, "a function_call needs a 'name'")
    arguments = raw.get("arguments", {})
    if isinstance(arguments, Mapping | list):
        arguments = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    elif isinstance(arguments, str):
        try:
            json.loads(arguments)
        except ValueError:
            raise InvalidSpec((*where, "arguments"), "arguments given as a string must be valid JSON") from None
    else:
        raise InvalidSpec((*where, "arguments"), "arguments is a mapping or a JSON string")
    call: JSONObject = {"type": "function_call", "name": name, "arguments": arguments}
    if raw.get("call_id") is not None:
        call["call_id"] = str(raw["call_id"])
    return call


def _compile_status(raw: Mapping[str, JSON], where: Where) -> tuple[ResponseStatus, str | None, JSONObject | None]:
    status: ResponseStatus = raw.get("status", "completed")
    if "incomplete" in raw:
        status = "incomplete"
    if "failed" in raw:
        status = "failed"
    if status not in ("completed", "incomplete", "failed"):
        raise InvalidSpec((*where, "status"), "status is completed, incomplete or failed")
    reason: str | None = None
    if status == "incomplete":
        given = raw.get("incomplete", "max_output_tokens")
        reason = given.get("reason") if isinstance(given, Mapping) else given
        if reason not in ("max_output_tokens", "content_filter"):
            raise InvalidSpec((*where, "incomplete"), "incomplete takes a reason: max_output_tokens or content_filter")
    failure: JSONObject | None = None
    if status == "failed":
        given = raw.get("failed") or {}
        if not isinstance(given, Mapping):
            raise InvalidSpec((*where, "failed"), "failed takes {code, message}")
        failure = {
            "code": given.get("code", "server_error"),
            "message": given.get("message", "The model failed to generate a response."),
        }
    return status, reason, failure
