"""The answer to a request no scenario matched: deterministic, so the same request always gets the same answer.

Text requests get a short message that quotes the user; `json_schema` requests get a small JSON document that fits
the schema, so `client.responses.parse(...)` works with no scenario written.
"""

from __future__ import annotations

import json

from .context import RequestContext
from .models import is_reasoning_model
from .replies import ModelReply
from .types import JSON, JSONObject

_QUOTE_LIMIT = 80
_MAX_DEPTH = 6


def default_reply(ctx: RequestContext) -> ModelReply:
    fmt = ctx.text_format
    if fmt.get("type") == "json_schema":
        text = json.dumps(example_for_schema(fmt.get("schema") or {}, fmt.get("schema") or {}), ensure_ascii=False)
    elif fmt.get("type") == "json_object":
        text = json.dumps({"answer": _quote_reply(ctx.last_user_text)}, ensure_ascii=False)
    else:
        text = _quote_reply(ctx.last_user_text)
    output: list[JSONObject] = []
    if is_reasoning_model(ctx.model):
        output.append({"type": "reasoning", "summary": []})
    output.append({"type": "message", "content": [{"type": "output_text", "text": text, "annotations": []}]})
    return ModelReply(output=tuple(output))


def _quote_reply(user_text: str) -> str:
    if not user_text.strip():
        return "This is a mock response from mockserver."
    snippet = " ".join(user_text.split())
    if len(snippet) > _QUOTE_LIMIT:
        snippet = snippet[: _QUOTE_LIMIT - 1] + "…"
    return f'This is a mock response from mockserver to: "{snippet}"'


def example_for_schema(schema: JSON, root: JSON, depth: int = 0) -> JSON:
    """A small value that satisfies common JSON Schema keywords (enough for strict structured outputs)."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        return example_for_schema(_resolve_ref(schema["$ref"], root), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return example_for_schema(schema[combinator][0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        return {name: example_for_schema(sub, root, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        count = schema.get("minItems", 0) or 0
        return [example_for_schema(schema.get("items") or {}, root, depth + 1) for _ in range(count)]
    if kind == "string":
        return "example"[: schema.get("maxLength", 7)].ljust(schema.get("minLength", 0) or 0, "x")
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


def _resolve_ref(ref: str, root: JSON) -> JSON:
    target = root
    for part in ref.removeprefix("#/").split("/") if ref.startswith("#/") else ():
        target = target.get(part) if isinstance(target, dict) else None
    return target
