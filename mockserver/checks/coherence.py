"""The checks the live API makes across the fields of a create request and across requests, answered with its errors.

`check_coherence(ctx, store)` runs after the body passed the schema (`validation`) and once the context it continues
(a `previous_response_id` chain or a conversation) is known. It raises `APIError` for the first of:

    orphaned output      a `function_call_output` / `custom_tool_call_output` whose `call_id` no call in the context
                         made (400, param `input`)
    unanswered call      a `function_call` / `custom_tool_call` in the context with no output for it (400, `input`)
    unknown item         an `item_reference`, or a `reasoning` item sent back without `encrypted_content`, whose id
                         the server never stored (404, param `input`)
    tool_choice          `"required"` with no tools, or a named tool / allowed tool not in `tools` (400, `tool_choice`)
    invalid schema       a function tool's `parameters` or a `json_schema` format's `schema` that is not a JSON Schema
                         (400, `invalid_function_parameters` / `invalid_json_schema`)
    strict schema        a `strict: true` function or format whose schema breaks the Structured Outputs rules

Each message is the live API's, quoted from public issue threads that show its error body; the source is noted next
to each. Where the live behaviour could not be confirmed the request is let through (README, "What the server
refuses").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

import orjson
from jsonschema import Draft7Validator  # type: ignore[import-untyped, unused-ignore]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped, unused-ignore]

from ..core.context import RequestContext
from ..core.errors import APIError, invalid_request
from ..core.types import JSON, JSONObject
from ..state.store import Store

__all__ = ["check_coherence", "check_schemas", "check_tool_choice"]

# call type -> (its output type, the noun of the messages: "No tool output found for <noun> …")
_PAIRS: dict[str, tuple[str, str]] = {
    "function_call": ("function_call_output", "function call"),
    "custom_tool_call": ("custom_tool_call_output", "custom tool call"),
}
_OUTPUTS = {output: (call, noun) for call, (output, noun) in _PAIRS.items()}
_STORED_KINDS = ("response", "conversation")  # `history.RESPONSE`, `conversations.CONVERSATION`
_NOT_PERSISTED = (
    " Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item "
    "from your input."
)
# Keywords strict mode refuses. `oneOf` is quoted by many threads ("In context=(), 'oneOf' is not permitted."); the
# others are those the Structured Outputs guide lists as unsupported. The rest is let through.
NOT_PERMITTED = ("oneOf", "allOf", "not", "if", "then", "else", "dependentRequired", "dependentSchemas")
MAX_NESTING = 10  # levels of objects (Structured Outputs guide, "Supported schemas")
MAX_PROPERTIES = 5_000
MAX_ENUM_VALUES = 1_000


def check_coherence(ctx: RequestContext, store: Store) -> None:
    """Raise `APIError` for the first cross-field or cross-request problem of a create request."""
    _check_pairing(ctx)
    _check_item_ids(ctx, store)
    check_tool_choice(ctx.body)
    check_schemas(ctx.body)


# ---------------------------------------------------------------- call_id pairing


def _check_pairing(ctx: RequestContext) -> None:
    turn = ctx.turn_items
    if not any(item.get("type") in _PAIRS or item.get("type") in _OUTPUTS for item in ctx.input_items):
        return
    context = ctx.input_items
    calls = {(item.get("type"), item.get("call_id")) for item in context if item.get("type") in _PAIRS}
    answered = {(item.get("type"), item.get("call_id")) for item in context if item.get("type") in _OUTPUTS}
    if not any(_is_reference(item) for item in turn):  # a referenced call is not read here: let its output through
        for item in turn:
            kind = item.get("type")
            if kind in _OUTPUTS and (_OUTPUTS[kind][0], item.get("call_id")) not in calls:
                # Live: 400, param `input`, code null. Quoted in continuedev/continue#10092, microsoft/vscode#320060,
                # vercel/ai#8216. The custom tool wording follows the function one (not seen quoted).
                raise invalid_request(
                    f"No tool call found for {_OUTPUTS[kind][1]} output with call_id {item.get('call_id')}.",
                    param="input",
                )
    for item in context:
        kind = item.get("type")
        if kind in _PAIRS and (_PAIRS[kind][0], item.get("call_id")) not in answered:
            # Live: 400, param `input`, code null: tjardoo/openai-client#124 (a chain whose function call the next
            # turn did not answer), smallmain/vscode-unify-chat-provider#40 (a call in `input` without its output),
            # diegosouzapw/OmniRoute#8946 ("No tool output found for custom tool call call_….").
            raise invalid_request(f"No tool output found for {_PAIRS[kind][1]} {item.get('call_id')}.", param="input")


# ---------------------------------------------------------------- items sent back by id


def _is_reference(item: JSONObject) -> bool:
    """An `item_reference`, written out or as a bare `{id}` (no `type`, no `role`)."""
    kind = item.get("type")
    return kind == "item_reference" or (kind is None and "role" not in item and "id" in item)


def _looked_up_id(item: JSONObject) -> str | None:
    """The id the API looks up for this input item: a reference's, or a reasoning item's sent back without its
    `encrypted_content` (with it, the item stands on its own: the `store: false` loop)."""
    item_id = item.get("id")
    if not isinstance(item_id, str):
        return None
    if _is_reference(item):
        return item_id
    if item.get("type") == "reasoning" and not item.get("encrypted_content"):
        return item_id
    return None


def _check_item_ids(ctx: RequestContext, store: Store) -> None:
    wanted = [item_id for item_id in map(_looked_up_id, ctx.turn_items) if item_id is not None]
    if not wanted:
        return
    known = {item.get("id") for item in ctx.history}
    for item_id in wanted:
        if item_id in known or _stored(store, item_id):
            continue
        # Live: 404, type `invalid_request_error`, param `input`, code null; with `store: false` the message goes on
        # (router-for-me/CLIProxyAPI#2381 for the body, can1357/oh-my-pi#41 for the 404).
        message = f"Item with id '{item_id}' not found."
        if ctx.body.get("store") is False:
            message += _NOT_PERSISTED
        raise APIError(404, message, param="input")


def _stored(store: Store, item_id: str) -> bool:
    needle = b'"id":' + orjson.dumps(item_id)
    return any(store.mentions(kind, needle) for kind in _STORED_KINDS)


# ---------------------------------------------------------------- tool_choice against tools


def _tool_choice_missing(name: str) -> APIError:
    # Live: 400, param `tool_choice`. vllm-project/vllm#40399 (checked against the live API: "Tool choice 'function'
    # not found in 'tools' parameter."), vercel/ai#18997 (an allowed_tools entry: "Tool choice 'web_search' not
    # found in 'tools' parameter."), NousResearch/hermes-agent's codex image test (param `tool_choice`).
    return invalid_request(f"Tool choice '{name}' not found in 'tools' parameter.", param="tool_choice")


def check_tool_choice(body: JSONObject) -> None:
    """`tool_choice` against `tools`: `"required"` needs a tool, a named tool must be offered."""
    choice = body.get("tool_choice")
    tools = [tool for tool in body.get("tools") or () if isinstance(tool, dict)]
    if choice == "required" and not tools:
        # Live: 400, param `tool_choice` (vllm-project/vllm#40399, checked against the live API; the codex backend's
        # body in a sub2api test shows the param).
        raise invalid_request("Tool choice 'required' must be specified with 'tools' parameter.", param="tool_choice")
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind == "allowed_tools":
        for entry in choice.get("tools") or ():
            if isinstance(entry, dict) and not _offers(tools, entry):
                raise _tool_choice_missing(str(entry.get("name") or entry.get("type")))
    elif isinstance(kind, str) and kind != "mcp" and not _offers(tools, choice):
        raise _tool_choice_missing(kind)


def _offers(tools: list[JSONObject], wanted: JSONObject) -> bool:
    """Whether `tools` holds the tool a `tool_choice` (or an allowed_tools entry) names. An MCP server is not checked
    (how the live API answers a missing one was not found)."""
    kind = wanted.get("type")
    if kind in ("function", "custom"):
        return any(tool.get("type") == kind and tool.get("name") == wanted.get("name") for tool in tools)
    if kind == "mcp" or not isinstance(kind, str):
        return True
    wanted_family = _family(kind)
    return any(_related(_family(str(tool.get("type"))), wanted_family) for tool in tools)


def _related(offered: str, wanted: str) -> bool:
    """One hosted tool type the other's variant (`computer` and `computer_use_preview`): let through."""
    return offered.startswith(wanted) or wanted.startswith(offered)


def _family(tool_type: str) -> str:
    """A hosted tool's type without its `_preview` or dated suffix (`web_search_preview_2025_03_11` → `web_search`)."""
    head = tool_type.split("_20", 1)[0]
    return head.removesuffix("_preview")


# ---------------------------------------------------------------- JSON Schemas: function parameters, text.format


@dataclass(frozen=True)
class _SchemaSite:
    """Where a schema sits in the request and how the live API names it in its errors."""

    schema: JSONObject
    label: str  # "function 'get_weather'" / "response_format 'answer'"
    param: str
    code: str
    strict: bool

    def refuse(self, problem: str) -> APIError:
        return invalid_request(f"Invalid schema for {self.label}: {problem}", param=self.param, code=self.code)


def check_schemas(body: JSONObject) -> None:
    """Function tool parameters and a `json_schema` format must be JSON Schemas, and strict ones strict-compatible."""
    for site in _schema_sites(body):
        try:
            problem = _cached_schema_problem(orjson.dumps(site.schema), site.strict)
        except TypeError:  # a value orjson does not write (an integer past 64 bits): checked without the cache
            problem = _schema_problem(site.schema, site.strict)
        if problem is not None:
            raise site.refuse(problem)


@lru_cache(maxsize=1024)
def _cached_schema_problem(schema: bytes, strict: bool) -> str | None:
    """The verdict on a schema, kept: an app sends the same tools with every request, and a metaschema check costs
    about a millisecond."""
    return _schema_problem(orjson.loads(schema), strict)


def _schema_problem(schema: JSONObject, strict: bool) -> str | None:
    problem = _metaschema_problem(schema)
    if problem is None and strict:
        problem = _strict_problem(schema)
    return problem


def _schema_sites(body: JSONObject) -> Iterator[_SchemaSite]:
    # Live: "Invalid schema for function 'mysql_execute': …", param `tools[1].parameters`, code
    # `invalid_function_parameters` (kevinwatt/mysql-mcp#5); "Invalid schema for response_format '…': …", param
    # `text.format.schema`, code `invalid_json_schema` (the error bodies that projects' tests quote).
    for index, tool in enumerate(body.get("tools") or ()):
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(tool.get("parameters"), dict):
            yield _SchemaSite(
                tool["parameters"],
                f"function '{tool.get('name')}'",
                f"tools[{index}].parameters",
                "invalid_function_parameters",
                # Omitted `strict` is strict only when the schema allows it (the echo then says `strict: true`):
                # only an explicit `true` is refused.
                tool.get("strict") is True,
            )
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        yield _SchemaSite(
            fmt["schema"],
            f"response_format '{fmt.get('name')}'",
            "text.format.schema",
            "invalid_json_schema",
            fmt.get("strict") is True,
        )


def _metaschema_problem(schema: JSONObject) -> str | None:
    """The first problem the JSON Schema metaschema finds, worded by Python's `jsonschema` as the live API words it
    ("'location' is not of type 'array'."; yomorun/yomo#860 shows "None is not of type 'array'."). Draft 7's
    metaschema: it words these problems as 2020-12's does, at a seventh of the time."""
    validator = _metaschema_validator()
    if validator.is_valid(schema):
        return None
    error = best_match(validator.iter_errors(schema))  # the error `check_schema` reports
    return f"{error.message}."


@cache
def _metaschema_validator() -> Draft7Validator:
    return Draft7Validator(Draft7Validator.META_SCHEMA)


def _strict_problem(schema: JSONObject) -> str | None:
    """The first Structured Outputs rule a strict schema breaks, as the live API words it."""
    root_type = _root(schema).get("type")
    if root_type != "object":
        # Quoted in many threads: "schema must be a JSON Schema of 'type: "object"', got 'type: "None"'."
        return f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{root_type}\"'."
    for problem in _node_problems(schema, ()):
        return problem
    return _size_problem(schema)


def _root(schema: JSONObject) -> JSONObject:
    """The root, or the definition a root `$ref` names (`{"$defs": {...}, "$ref": "#/$defs/Node"}`, as Pydantic writes
    a recursive model; whether the live API resolves it was not found, so it is let through)."""
    ref = schema.get("$ref")
    if "type" in schema or not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: JSON = schema
    for part in ref[2:].split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else schema


def _context(path: tuple[str | int, ...]) -> str:
    """The path as the live API prints it: a Python tuple (`()`, `('properties', 'unit')`, `('items',)`)."""
    parts = [repr(part) for part in path]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _node_problems(node: JSON, path: tuple[str | int, ...]) -> Iterator[str]:
    if not isinstance(node, dict):
        return
    where = f"In context={_context(path)}, "
    for keyword in NOT_PERMITTED:
        if keyword in node:
            yield f"{where}'{keyword}' is not permitted."  # e.g. "In context=(), 'oneOf' is not permitted."
    if _is_object(node):
        yield from _object_problems(node, where)
    if _types(node) == ["array"] and "items" not in node:
        yield f"{where}array schema missing items."  # sigoden/aichat#1049
    for key, child in _children(node, path):
        yield from _node_problems(child, key)


def _object_problems(node: JSONObject, where: str) -> Iterator[str]:
    if node.get("additionalProperties") is not False:
        # Many threads: "In context=(), 'additionalProperties' is required to be supplied and to be false."
        yield f"{where}'additionalProperties' is required to be supplied and to be false."
    properties: JSONObject = node["properties"] if isinstance(node.get("properties"), dict) else {}
    required: list[JSON] = node["required"] if isinstance(node.get("required"), list) else []
    missing = [key for key in properties if key not in required]
    if missing:
        # kevinwatt/mysql-mcp#5: "… 'required' is required to be supplied and to be an array including every key in
        # properties. Missing 'params'."
        yield (
            f"{where}'required' is required to be supplied and to be an array including every key in properties. "
            f"Missing '{missing[0]}'."
        )
    extra = [key for key in required if key not in properties]
    if extra:
        yield f"{where}Extra required key '{extra[0]}' supplied."  # the message's core is quoted; its prefix is ours


def _is_object(node: JSONObject) -> bool:
    return "object" in _types(node) or ("properties" in node and "type" not in node)


def _types(node: JSONObject) -> list[str]:
    kind = node.get("type")
    if isinstance(kind, str):
        return [kind]
    return [each for each in kind if isinstance(each, str)] if isinstance(kind, list) else []


def _children(node: JSONObject, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], JSON]]:
    """Every subschema with its path: properties, items, anyOf branches and definitions."""
    for group in ("properties", "$defs", "definitions"):
        members = node.get(group)
        if isinstance(members, dict):
            for name, child in members.items():
                yield (*path, group, name), child
    if isinstance(node.get("items"), dict):
        yield (*path, "items"), node["items"]
    branches = node.get("anyOf")
    if isinstance(branches, list):
        for index, child in enumerate(branches):
            yield (*path, "anyOf", index), child


def _size_problem(schema: JSONObject) -> str | None:
    """The documented size limits. The live wording of these was not found: these messages are ours."""
    depth, properties, enum_values = _measure(schema, 1)
    if depth > MAX_NESTING:
        return f"Too many levels of nesting: at most {MAX_NESTING} are allowed, but the schema has {depth}."
    if properties > MAX_PROPERTIES:
        return f"Too many object properties: at most {MAX_PROPERTIES} are allowed, but the schema has {properties}."
    if enum_values > MAX_ENUM_VALUES:
        return f"Too many enum values: at most {MAX_ENUM_VALUES} are allowed, but the schema has {enum_values}."
    return None


def _measure(node: JSON, depth: int) -> tuple[int, int, int]:
    """(object nesting depth, object properties, enum values) of a schema."""
    if not isinstance(node, dict):
        return 0, 0, 0
    enum = node.get("enum")
    own_properties = len(node["properties"]) if isinstance(node.get("properties"), dict) else 0
    measured = [_measure(child, depth + 1 if _is_object(node) else depth) for _, child in _children(node, ())]
    deepest = max([depth if _is_object(node) else 0, *(each[0] for each in measured)])
    return (
        deepest,
        own_properties + sum(each[1] for each in measured),
        (len(enum) if isinstance(enum, list) else 0) + sum(each[2] for each in measured),
    )
