"""Scripted answers checked against the request that got them: what the live API could not have answered.

A scenario says what the model answers, whatever the request allows; the live model answers within the request's
limits. `scenario_findings(ctx, response, scenario)` reads the final Response object a scenario produced and lists
each way it oversteps them, one sentence each:

- a call to a tool the request does not offer (function and custom tools by name, also inside `namespace` tools;
  hosted tools by type; MCP calls by `server_label` and the tool's `allowed_tools`), or one that
  `tool_choice: {type: allowed_tools}` leaves out;
- a strict function tool's arguments that are not JSON or break its `parameters` schema. Function tools are strict
  unless `strict: false` (live capture `response-function-call-gpt-4.1-nano.rig.json`); with `strict` omitted the
  live API makes the schema strict "when possible" and falls back to best-effort calling otherwise (OpenAI's
  function-calling guide, quoted in github.com/0xPlaygrounds/rig/issues/2477), so such a tool counts as strict only
  when its schema uses no keyword strict mode refuses. Strict mode forbids properties the schema does not list
  (`additionalProperties: false` is filled in, as the live echo shows); optional properties may still be left out
  (lenient: whether normalisation makes every property required could not be confirmed);
- text that is not JSON under a `json_schema` format, breaks a strict one's schema, or is not a JSON object under
  `json_object`;
- a tool call under `tool_choice: "none"`; none under `"required"` (or `allowed_tools` in `required` mode) or a
  forced function or custom tool; a call to another function or custom tool than the forced one;
- more built-in tool calls (hosted and MCP) than `max_tool_calls` (the API reference: "the maximum number of total
  calls to built-in tools"; function calls are not counted);
- more than one function or custom tool call with `parallel_tool_calls: false`;
- a reasoning item from a catalog model that sends none for this request: one that does not reason, or a reasoning
  model at `reasoning.effort: "none"` (captures `response-text-gpt-6-luna.json`, `stream-function-call-gpt-5.1`).

An item the response cut short (`status: incomplete`) is not checked for JSON, and a response that did not complete
is not asked for the calls it should have made. A request with a stored `prompt` may take its tools and format from
the prompt, so what the body does not say is not checked. Each schema is compiled once (fastjsonschema to say
whether a value fits, jsonschema to say why not; both imported on first use): a request with no tools and no format
costs one pass over the output items (about 1 µs), a call to a strict tool or strict JSON text a few µs more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from ..core.context import RequestContext
from ..core.models import is_reasoning_model, model_info
from ..core.types import JSON, JSONObject
from ..engine.reasoning import sends_reasoning

if TYPE_CHECKING:
    from jsonschema.protocols import Validator  # type: ignore[import-untyped, unused-ignore]

FINDING_HEADER = "x-mock-finding"
HEADER_LIMIT = 2000  # characters of the header value; the journal keeps every finding whole

# Output item type -> the tool types that let the model send it (hosted tools are matched by type).
HOSTED_CALLS: dict[str, tuple[str, ...]] = {
    "web_search_call": ("web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11"),
    "file_search_call": ("file_search",),
    "code_interpreter_call": ("code_interpreter",),
    "image_generation_call": ("image_generation",),
    "local_shell_call": ("local_shell",),
    "computer_call": ("computer_use_preview", "computer", "computer_use"),
    "shell_call": ("shell",),
    "apply_patch_call": ("apply_patch",),
    "tool_search_call": ("tool_search",),
}
MCP_ITEMS = ("mcp_call", "mcp_list_tools", "mcp_approval_request")
FUNCTION_CALLS = {"function_call": "function", "custom_tool_call": "custom"}
# Items that are a call the model makes (mcp_list_tools is the server listing a server's tools, not a call).
CALL_ITEMS = frozenset({*FUNCTION_CALLS, *HOSTED_CALLS, "mcp_call", "mcp_approval_request"})
BUILT_IN_CALLS = frozenset({*HOSTED_CALLS, "mcp_call"})
# Keywords strict mode refuses: a schema with one of them is not made strict when `strict` is omitted.
NOT_STRICT_KEYWORDS = frozenset(
    {
        "allOf", "oneOf", "not", "if", "then", "else", "patternProperties", "dependentRequired", "dependentSchemas",
        "unevaluatedProperties", "unevaluatedItems", "propertyNames", "minProperties", "maxProperties", "contains",
    }
)  # fmt: skip


def scenario_findings(ctx: RequestContext, response: JSONObject, scenario: str) -> list[str]:
    """Each way the scenario's Response oversteps what the request allows, as one sentence naming the scenario."""
    output: list[JSONObject] = response.get("output") or []
    calls = [item for item in output if item.get("type") in CALL_ITEMS or item.get("type") in MCP_ITEMS]
    body = ctx.body
    reasoned = list(_unexpected_reasoning(ctx, output))
    if not calls and "tool_choice" not in body and ctx.text_format.get("type", "text") == "text":
        return [f"Scenario '{scenario}' {problem}" for problem in reasoned]
    completed = response.get("status") == "completed"
    problems = [
        *reasoned,
        *_not_offered(ctx, calls),
        *_against_tool_choice(ctx, calls, completed),
        *_against_limits(body, calls),
        *_bad_arguments(ctx, calls),
        *_bad_text(ctx, output),
    ]
    return [f"Scenario '{scenario}' {problem}" for problem in problems]


def _unexpected_reasoning(ctx: RequestContext, output: list[JSONObject]) -> Iterator[str]:
    """A reasoning item the live API would not send: only judged for catalog models, whose reasoning is known."""
    if model_info(ctx.model) is None or sends_reasoning(ctx) or not any(i.get("type") == "reasoning" for i in output):
        return
    if is_reasoning_model(ctx.model):
        yield (
            f"sent a reasoning item, but at reasoning.effort 'none' {ctx.model} reasons not at all; the live API then "
            "sends no reasoning item."
        )
    else:
        yield f"sent a reasoning item, but {ctx.model} is not a reasoning model; the live API sends none for it."


def header_value(findings: list[str]) -> str:
    """The findings on one ASCII line for the `x-mock-finding` header (non-ASCII escaped, at most `HEADER_LIMIT`)."""
    line = " | ".join(findings).encode("ascii", "backslashreplace").decode("ascii")
    line = "".join(char if " " <= char <= "~" else " " for char in line)
    return line if len(line) <= HEADER_LIMIT else line[: HEADER_LIMIT - 3] + "..."


# ---------------------------------------------------------------- tools offered


def _not_offered(ctx: RequestContext, calls: list[JSONObject]) -> Iterator[str]:
    body = ctx.body
    if "tools" not in body and body.get("prompt") is not None:
        return  # the stored prompt may offer tools the body does not show
    tools = ctx.tools
    allowed = _allowed_tools(body.get("tool_choice"))
    for call in calls:
        kind = call["type"]
        if kind in FUNCTION_CALLS:
            yield from _function_not_offered(call, tools, allowed)
        elif kind in HOSTED_CALLS:
            yield from _hosted_not_offered(kind, tools, allowed)
        else:
            yield from _mcp_not_offered(call, tools, allowed)


def _function_not_offered(call: JSONObject, tools: list[JSONObject], allowed: list[JSONObject] | None) -> Iterator[str]:
    tool_type = FUNCTION_CALLS[call["type"]]
    name = call.get("name")
    if _function_tool(tools, tool_type, name, call.get("namespace")) is None:
        offered = sorted({str(tool["name"]) for tool in _named_tools(tools, tool_type)})
        which = f"it offers {', '.join(offered)}" if offered else f"it offers no {tool_type} tool"
        yield (
            f"called the {tool_type} tool '{name}', which the request does not offer ({which}); "
            "the live model calls only the tools offered."
        )
    elif allowed is not None and not any(
        entry.get("type") == tool_type and entry.get("name") == name for entry in allowed
    ):
        yield (
            f"called the {tool_type} tool '{name}', which tool_choice.allowed_tools leaves out; "
            "the live model calls only the allowed tools."
        )


def _hosted_not_offered(kind: str, tools: list[JSONObject], allowed: list[JSONObject] | None) -> Iterator[str]:
    types = HOSTED_CALLS[kind]
    if not any(tool.get("type") in types for tool in tools):
        yield f"sent a {kind}, but the request offers no {types[0]} tool; the live API runs only the tools offered."
    elif allowed is not None and not any(entry.get("type") in types for entry in allowed):
        yield (
            f"sent a {kind}, which tool_choice.allowed_tools leaves out; the live model calls only the allowed tools."
        )


def _mcp_not_offered(call: JSONObject, tools: list[JSONObject], allowed: list[JSONObject] | None) -> Iterator[str]:
    label = call.get("server_label")
    servers = [tool for tool in tools if tool.get("type") == "mcp" and tool.get("server_label") == label]
    if not servers:
        yield (
            f"sent an {call['type']} for the MCP server '{label}', which the request does not offer as an mcp tool; "
            "the live API reaches only the MCP servers offered."
        )
        return
    name = call.get("name")
    if call["type"] != "mcp_list_tools" and not any(_mcp_allows(server, name) for server in servers):
        yield (
            f"sent an {call['type']} for '{name}' on the MCP server '{label}', which that server's allowed_tools "
            "leaves out; the live model calls only the allowed tools."
        )
    elif allowed is not None and not any(
        entry.get("type") == "mcp" and entry.get("server_label") in (None, label) for entry in allowed
    ):
        yield (
            f"sent an {call['type']} for the MCP server '{label}', which tool_choice.allowed_tools leaves out; "
            "the live model calls only the allowed tools."
        )


def _mcp_allows(server: JSONObject, name: JSON) -> bool:
    allowed = server.get("allowed_tools")
    if isinstance(allowed, dict):
        allowed = allowed.get("tool_names")
    return not isinstance(allowed, list) or name in allowed


def _named_tools(tools: list[JSONObject], tool_type: str) -> Iterator[JSONObject]:
    """The function or custom tools offered, with those inside `namespace` tools."""
    for tool in tools:
        if tool.get("type") == tool_type and isinstance(tool.get("name"), str):
            yield tool
        elif tool.get("type") == "namespace" and isinstance(tool.get("tools"), list):
            yield from _named_tools([t for t in tool["tools"] if isinstance(t, dict)], tool_type)


def _function_tool(tools: list[JSONObject], tool_type: str, name: JSON, namespace: JSON) -> JSONObject | None:
    if isinstance(namespace, str):
        spaces = [tool for tool in tools if tool.get("type") == "namespace" and tool.get("name") == namespace]
        tools = [t for space in spaces for t in space.get("tools") or () if isinstance(t, dict)]
    return next((tool for tool in _named_tools(tools, tool_type) if tool["name"] == name), None)


def _allowed_tools(choice: JSON) -> list[JSONObject] | None:
    if not isinstance(choice, dict) or choice.get("type") != "allowed_tools":
        return None
    entries = choice.get("tools")
    return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []


# ---------------------------------------------------------------- tool_choice and the limits on calls


def _against_tool_choice(ctx: RequestContext, calls: list[JSONObject], completed: bool) -> Iterator[str]:
    choice = ctx.body.get("tool_choice")
    made = [call for call in calls if call["type"] in CALL_ITEMS]
    if choice == "none" and made:
        yield (f'made a tool call ({_describe(made[0])}) under tool_choice "none"; the live model calls no tool then.')
    missing = not made and completed
    if missing and choice == "required" and _callable(ctx, None):
        yield 'answered without a tool call under tool_choice "required"; the live model always calls a tool then.'
    allowed = _allowed_tools(choice)
    if missing and allowed is not None and isinstance(choice, dict) and choice.get("mode") == "required":
        if _callable(ctx, allowed):
            yield (
                "answered without a tool call under tool_choice allowed_tools in required mode; "
                "the live model always calls one of the allowed tools then."
            )
    if not isinstance(choice, dict) or choice.get("type") not in ("function", "custom"):
        return
    forced = choice.get("name")
    functions = [call for call in made if call["type"] in FUNCTION_CALLS]
    if not functions and completed and _callable(ctx, [choice]):
        yield f"did not call '{forced}', which tool_choice forces; the live model always calls the forced tool."
    for call in functions:
        if call.get("name") != forced:
            yield (
                f"called '{call.get('name')}' while tool_choice forces '{forced}'; the live model calls only that tool."
            )


def _callable(ctx: RequestContext, allowed: list[JSONObject] | None) -> bool:
    """Whether the request offers a function or custom tool (among `allowed`, when given) the model must call. Hosted
    tools alone do not count: the default responder does not emulate them, so neither is a scenario held to them."""
    offered = {(tool.get("type"), tool.get("name")) for tool in ctx.tools if tool.get("type") in ("function", "custom")}
    if allowed is not None:
        offered &= {(entry.get("type"), entry.get("name")) for entry in allowed}
    return bool(offered)


def _against_limits(body: JSONObject, calls: list[JSONObject]) -> Iterator[str]:
    limit = body.get("max_tool_calls")
    built_in = sum(1 for call in calls if call["type"] in BUILT_IN_CALLS)
    if isinstance(limit, int) and not isinstance(limit, bool) and built_in > limit:
        yield (
            f"made {built_in} built-in tool calls where max_tool_calls is {limit}; "
            "the live API ignores the calls beyond the limit."
        )
    functions = sum(1 for call in calls if call["type"] in FUNCTION_CALLS)
    if body.get("parallel_tool_calls") is False and functions > 1:
        yield (
            f"made {functions} tool calls in one response with parallel_tool_calls false; "
            "the live model makes at most one then."
        )


def _describe(call: JSONObject) -> str:
    name = call.get("name")
    return f"{call['type']} '{name}'" if isinstance(name, str) else str(call["type"])


# ---------------------------------------------------------------- arguments and text against their schemas


def _bad_arguments(ctx: RequestContext, calls: list[JSONObject]) -> Iterator[str]:
    for call in calls:
        if call["type"] != "function_call" or call.get("status") == "incomplete":
            continue
        tool = _function_tool(ctx.tools, "function", call.get("name"), call.get("namespace"))
        schema = tool.get("parameters") if tool is not None else None
        if tool is None or not isinstance(schema, dict) or not _is_strict(tool, schema):
            continue
        name, arguments = call.get("name"), call.get("arguments")
        try:
            value = json.loads(arguments) if isinstance(arguments, str) else None
        except ValueError:
            value = None
        if value is None:
            yield (
                f"called '{name}' with arguments that are not JSON ({_short(arguments)}); "
                "the live API sends a strict tool's arguments as JSON that fits its parameters schema."
            )
            continue
        problem = schema_problem(schema, value)
        if problem is not None:
            yield (
                f"called '{name}' with arguments that break its strict parameters schema ({problem}); "
                "the live API sends a strict tool's arguments as JSON that fits that schema."
            )


def _is_strict(tool: JSONObject, schema: JSONObject) -> bool:
    strict = tool.get("strict")
    if strict is not None:
        return strict is True
    return schema.get("type") == "object" and _compiled(_key(schema)).strict_compatible


def _strict_compatible(schema: JSON) -> bool:
    """Whether the live API can make the schema strict (`strict` omitted): no keyword strict mode refuses, no
    `additionalProperties` other than false."""
    if isinstance(schema, list):
        return all(_strict_compatible(value) for value in schema)
    if not isinstance(schema, dict):
        return True
    if NOT_STRICT_KEYWORDS & schema.keys() or schema.get("additionalProperties", False) is not False:
        return False
    nested = [schema.get(key) for key in ("items", "anyOf", "prefixItems")]
    nested += [value for key in ("properties", "$defs", "definitions") for value in (schema.get(key) or {}).values()]
    return all(_strict_compatible(value) for value in nested if value is not None)


def _bad_text(ctx: RequestContext, output: list[JSONObject]) -> Iterator[str]:
    text = ctx.body.get("text")
    if (not isinstance(text, dict) or "format" not in text) and ctx.body.get("prompt") is not None:
        return  # the stored prompt may set the format
    fmt = ctx.text_format
    kind = fmt.get("type")
    if kind not in ("json_schema", "json_object"):
        return
    what = f"text.format json_schema '{fmt.get('name')}'" if kind == "json_schema" else "text.format json_object"
    for item in output:
        if item.get("type") != "message" or item.get("status") == "incomplete" or item.get("phase") == "commentary":
            continue
        parts = [part for part in item.get("content") or () if part.get("type") == "output_text"]
        if not parts:
            continue  # a refusal
        answer = "".join(str(part.get("text", "")) for part in parts)
        yield from _text_problem(answer, fmt, what)


def _text_problem(answer: str, fmt: JSONObject, what: str) -> Iterator[str]:
    try:
        value = json.loads(answer)
    except ValueError:
        yield f"answered text that is not JSON ({_short(answer)}) under {what}; the live model answers JSON then."
        return
    if fmt.get("type") == "json_object" and not isinstance(value, dict):
        yield f"answered JSON that is not an object under {what}; the live model answers a JSON object then."
    schema = fmt.get("schema")
    if fmt.get("type") == "json_schema" and fmt.get("strict") is True and isinstance(schema, dict):
        problem = schema_problem(schema, value)
        if problem is not None:
            yield (
                f"answered JSON that breaks the strict {what} ({problem}); "
                "the live model's text always fits a strict schema."
            )


def schema_problem(schema: JSONObject, value: object, limit: int = 3) -> str | None:
    """How `value` breaks the strict-mode reading of `schema` (extra properties refused): its first `limit` errors by
    path, e.g. `at the top level: 'city' is a required property`; None when it fits, or when the schema is not a
    valid JSON Schema (the request's validation speaks of that)."""
    compiled = _compiled(_key(schema))
    if compiled.validator is None or compiled.fits(value):
        return None
    found = [(tuple(error.absolute_path), error.message) for error in compiled.validator.iter_errors(value)]
    errors = sorted(found, key=lambda error: ([str(part) for part in error[0]], error[1]))
    if not errors:
        return None
    by_path: dict[str, list[str]] = {}
    for path, message in errors[:limit]:
        by_path.setdefault(_json_path(path), []).append(message)
    shown = "; ".join(f"at {path}: {'; '.join(messages)}" for path, messages in by_path.items())
    return shown + (f" (+{len(errors) - limit} more)" if len(errors) > limit else "")


def _json_path(parts: Iterable[object]) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
    return path.lstrip(".") or "the top level"


@dataclass(frozen=True)
class _CompiledSchema:
    """A schema read once: whether strict mode can take it, and its closed form's validators — fastjsonschema says
    whether a value fits (about 1 µs), jsonschema says why not (tens of µs, only for an answer with a finding)."""

    strict_compatible: bool
    validator: Validator | None  # None: not a valid JSON Schema
    fits: Callable[[object], bool]


def _key(schema: JSONObject) -> bytes:
    try:
        return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers past 64 bits
        return json.dumps(schema, sort_keys=True).encode()


@lru_cache(maxsize=256)
def _compiled(key: bytes) -> _CompiledSchema:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
    from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped, unused-ignore]

    schema = json.loads(key)
    closed = _closed(schema)
    try:
        Draft202012Validator.check_schema(closed)
    except SchemaError:
        return _CompiledSchema(_strict_compatible(schema), None, lambda value: True)
    validator: Validator = Draft202012Validator(closed)
    return _CompiledSchema(_strict_compatible(schema), validator, _fast_check(closed, validator))


def _fast_check(schema: JSONObject, validator: Validator) -> Callable[[object], bool]:
    import fastjsonschema

    try:
        check = fastjsonschema.compile(schema, detailed_exceptions=False)
    except Exception:  # a schema fastjsonschema cannot compile (it fails on some, e.g. `const` without details)
        return lambda value: bool(validator.is_valid(value))

    def fits(value: object) -> bool:
        try:
            check(value)
        except fastjsonschema.JsonSchemaException:
            return False  # perhaps only by fastjsonschema's reading (formats, drafts): jsonschema has the last word
        return True

    return fits


def _closed(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object schema that does not say otherwise."""
    if isinstance(schema, list):
        return [_closed(value) for value in schema]
    if not isinstance(schema, dict):
        return schema
    closed: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            closed[key] = {name: _closed(sub) for name, sub in value.items()}
        else:
            closed[key] = value if key in _LITERALS else _closed(value)
    if (closed.get("type") == "object" or "properties" in closed) and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
_LITERALS = ("enum", "const", "default", "examples", "required")


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
