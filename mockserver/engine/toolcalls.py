"""Which tools the default responder calls, and with what arguments, following `tool_choice` as the live API does.

- `tool_choice: "none"` (or no function/custom tool offered): no call.
- `"required"`: at least one call: the tools the rule below picks, or else the first tool offered.
- `{type: function|custom, name}`: exactly that tool.
- `{type: allowed_tools, mode: auto|required, tools: [...]}`: as `auto` / `required`, among those tools only.
- `"auto"` (the default): a call only when the **last user message** asks for a tool, and not when a tool's result
  came after that message (then the model answers in text). The deterministic rule: a tool is asked for when the
  message contains its name (`get_weather`), or one of the words of its name (split at `_`, `-` and camelCase;
  generic verbs such as get/set/list/fetch/create and words under three letters left out), ignoring case and a
  plural `s`: "What's the weather in Paris?" calls `get_weather`.
- `parallel_tool_calls: false`: at most one call (the first tool in `tools` order); `max_tool_calls` caps the count.

Arguments are generated from the tool's `parameters` schema (`generate.py`), so they validate against it; a top-level
string parameter named like a place (`location`, `city`) takes a capitalised word of the message, and one named like a
query (`query`, `q`, `search`) takes the message itself, when that still fits the schema.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Sequence

from ..core.context import RequestContext, content_text
from ..core.types import JSON, JSONObject
from .generate import generate_for_request

_GENERIC = frozenset(
    "get set list fetch create update delete remove add make run do use tool tools function call current info "
    "data the and for with from into by of to new all".split()
)
_PLACE = frozenset(("location", "city", "place", "destination", "town", "country"))
_QUERY = frozenset(("query", "q", "search", "search_query", "question", "prompt", "text", "input"))
_CALLABLE = ("function", "custom")
_BASE62 = string.digits + string.ascii_letters


def callable_tools(ctx: RequestContext) -> list[JSONObject]:
    """The function and custom tools offered (hosted tools are not emulated)."""
    tools = ctx.body.get("tools")
    return [t for t in tools or () if isinstance(t, dict) and t.get("type") in _CALLABLE and "name" in t]


def answered_since_last_user(ctx: RequestContext) -> list[JSONObject]:
    """Tool results (`function_call_output`, `custom_tool_call_output`) after the last user message, with the name of
    the call each answers."""
    items = ctx.input_items
    last_user = max((i for i, item in enumerate(items) if item.get("role") == "user"), default=-1)
    names = {
        item.get("call_id"): item.get("name")
        for item in items
        if item.get("type") in ("function_call", "custom_tool_call")
    }
    results = []
    for item in items[last_user + 1 :]:
        if item.get("type") in ("function_call_output", "custom_tool_call_output"):
            output = item.get("output")
            results.append(
                {
                    "name": names.get(item.get("call_id")) or "the tool",
                    "output": output if isinstance(output, str) else content_text(output),
                }
            )
    return results


def plan_calls(ctx: RequestContext, rng: random.Random) -> list[JSONObject]:
    """The tool call items (`function_call` / `custom_tool_call`) the model makes; empty for a text answer."""
    tools = callable_tools(ctx)
    choice = ctx.body.get("tool_choice", "auto")
    if not tools or choice == "none":
        return []
    required = choice == "required"
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind in _CALLABLE:
            named = [t for t in tools if t.get("name") == choice.get("name") and t.get("type") == kind]
            return [_call(t, ctx, rng) for t in named[:1]]
        if kind != "allowed_tools":
            return []  # a hosted tool was forced: not emulated, answer in text
        allowed = {(a.get("type"), a.get("name")) for a in choice.get("tools") or () if isinstance(a, dict)}
        tools = [t for t in tools if (t.get("type"), t.get("name")) in allowed]
        required = choice.get("mode") == "required"
        if not tools:
            return []
    chosen = [] if answered_since_last_user(ctx) and not required else asked_for(tools, ctx.last_user_text)
    if required and not chosen:
        chosen = tools[:1]
    if ctx.body.get("parallel_tool_calls") is False:
        chosen = chosen[:1]
    limit = ctx.body.get("max_tool_calls")
    if isinstance(limit, int) and not isinstance(limit, bool):
        chosen = chosen[: max(limit, 1 if required else 0)]
    return [_call(t, ctx, rng) for t in chosen]


def asked_for(tools: Sequence[JSONObject], message: str) -> list[JSONObject]:
    """The tools the message asks for, by the rule in the module docstring, in `tools` order."""
    text = message.lower()
    words = set(re.findall(r"[a-z0-9]+", text))
    words |= {word[:-1] for word in words if word.endswith("s")}
    picked = []
    for tool in tools:
        name = str(tool.get("name"))
        if name.lower() in text or any(word in words for word in name_words(name)):
            picked.append(tool)
    return picked


def name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
    return [w.removesuffix("s") if len(w) > 3 else w for w in words if len(w) >= 3 and w not in _GENERIC]


def _call(tool: JSONObject, ctx: RequestContext, rng: random.Random) -> JSONObject:
    name = str(tool["name"])
    if tool.get("type") == "custom":
        call_id = "call_" + "".join(rng.choice(_BASE62) for _ in range(24))
        return {"type": "custom_tool_call", "call_id": call_id, "input": _custom_input(ctx), "name": name}
    parameters = tool.get("parameters")
    schema: JSON = parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    index = next((i for i, offered in enumerate(ctx.body.get("tools") or ()) if offered is tool), 0)
    arguments = generate_for_request(
        schema, rng, param=f"tools[{index}].parameters", what=f"function '{name}'", code="invalid_function_parameters"
    )
    if isinstance(arguments, dict) and isinstance(schema, dict):
        _fill_from_message(arguments, schema, ctx.last_user_text)
    return {"type": "function_call", "name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}


def _custom_input(ctx: RequestContext) -> str:
    return " ".join(ctx.last_user_text.split()) or "input"


def _fill_from_message(arguments: JSONObject, schema: JSONObject, message: str) -> None:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    places = re.findall(r"(?<=[\w,;:] )[A-Z][a-zà-ÿ]+(?: [A-Z][a-zà-ÿ]+)*", message)
    query = " ".join(message.split())
    for key, sub in properties.items():
        if key not in arguments or not isinstance(sub, dict) or sub.get("type") != "string":
            continue
        if {"enum", "const", "pattern", "format"} & sub.keys():
            continue
        value = places[0] if key.lower() in _PLACE and places else query if key.lower() in _QUERY and query else None
        low, high = sub.get("minLength", 0), sub.get("maxLength", 10_000)
        if value is not None and isinstance(low, int) and isinstance(high, int) and low <= len(value) <= high:
            arguments[key] = value
