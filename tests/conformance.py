"""Judge every body and every streamed event the server sends against the official OpenAPI schema.

Used by every end-to-end test, so that no answer escapes a check:

* `assert_response_conforms(body)`  a `Response` (non-streaming answer, GET, cancel, …)
* `assert_event_conforms(event)`    one stream event, checked against the `ResponseStreamEvent` member named by
  `event["type"]`; an unknown `type` fails (except the allow-listed `keepalive`)
* `assert_error_conforms(body)`     an HTTP error body (`ErrorResponse`)
* `assert_conforms(body, name)`     any other `components.schemas` entry (`ResponseItemList`, `ConversationResource`…)
* `assert_stream_conforms(events)`  every event, plus the lifecycle rules of reference §5.3 / §8 (order, sequence
  numbers, ids, deltas against their `*.done`, exactly one terminal event, terminal `output`)
* `parse_sse(text)`                 strict parser of the server's SSE framing (`event:` / `data:` / blank line)

Every check raises `ConformanceError` (an `AssertionError`) whose message names the event (by `sequence_number` and
`type`) and the rule or the JSON path that failed.

The official schema and the live API disagree in a few places; where the server deliberately sends what the live
API sends, the deviation is listed once, with its reason, in `ALLOW_LIST`. An entry is applied by rewriting a copy of
the instance (the caller's object is never modified) just before validation, so any other deviation still fails.

The validator is built once per process from `components.schemas` (OpenAPI 3.1 = JSON Schema 2020-12): annotation
keywords (`description`, `example`, `discriminator`, `x-*`, `format`, …) are stripped, every non-recursive
`$ref: "#/components/schemas/X"` is inlined (the remaining recursive ones resolve through a `referencing.Registry`),
and `anyOf`/`oneOf` skip a branch that certainly fails (its `type` keyword, or its `type` property's enum, excludes
the instance) and stop at the first error of each branch they probe. None of this changes what is valid;
`tests/wire/test_conformance.py` cross-checks it against a plain `Draft202012Validator` over the untouched document. One
deliberate difference: the document's 2019-09 `$recursiveRef: "#"` (in `CompoundFilter`, which 2020-12 ignores, so
that a stock validator rejects every valid compound filter and accepts any nested one) is read as the `$ref` to its
own component that it means.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped, unused-ignore]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped, unused-ignore]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .reference import openapi_spec, openapi_spec_path

JSONObject = dict[str, Any]

__all__ = [
    "ALLOW_LIST",
    "AllowedDeviation",
    "ConformanceError",
    "SSEFormatError",
    "assert_conforms",
    "assert_error_conforms",
    "assert_event_conforms",
    "assert_response_conforms",
    "assert_stream_conforms",
    "event_schema_name",
    "parse_sse",
    "schema_problems",
]


class ConformanceError(AssertionError):
    """A body, an event or a stream that the official schema (or the stream rules) rejects."""


class SSEFormatError(ValueError):
    """Text that is not the live API's SSE framing (`event: T` / `data: {json}` / blank line, LF only)."""


# ---------------------------------------------------------------------------------------------------------------
# The allow-list: where we deliberately send what the live API sends rather than what the official schema says.
# ---------------------------------------------------------------------------------------------------------------

SubCheck = tuple[str, Any, str]
"""(JSON path of a sub-object, the sub-object, the schema name it must satisfy)."""

Rewrite = Callable[[JSONObject], tuple[JSONObject, list[SubCheck]] | None]


@dataclass(frozen=True)
class AllowedDeviation:
    """One place where the wire (live API) and the official schema disagree, and we follow the wire.

    `applies_to` is the `components.schemas` name whose instances are rewritten (entries for `Response` also apply
    to the `response` of lifecycle events), or `"keepalive"` for the event the schema lacks. `rewrite` returns the
    schema-conforming copy of an instance showing exactly this deviation (plus sub-objects that must still satisfy
    another schema), or None when the instance does not show it. `schema` is the shape used for an event that has
    no schema at all.
    """

    name: str
    applies_to: str
    reason: str
    evidence: str
    rewrite: Rewrite | None = None
    schema: JSONObject | None = None


def _without(obj: JSONObject, key: str) -> JSONObject:
    return {k: v for k, v in obj.items() if k != key}


def _rewrite_user_null(resp: JSONObject) -> tuple[JSONObject, list[SubCheck]] | None:
    if "user" in resp and resp["user"] is None:
        return _without(resp, "user"), []
    return None


_USAGE_NULL_STATUSES = ("queued", "in_progress", "failed")


def _rewrite_usage_null(resp: JSONObject) -> tuple[JSONObject, list[SubCheck]] | None:
    if "usage" in resp and resp["usage"] is None and resp.get("status") in _USAGE_NULL_STATUSES:
        return _without(resp, "usage"), []
    return None


_WIRE_ONLY_RESPONSE_ERROR_CODES = ("insufficient_quota",)


def _rewrite_failed_error_code(resp: JSONObject) -> tuple[JSONObject, list[SubCheck]] | None:
    error = resp.get("error")
    if isinstance(error, dict) and error.get("code") in _WIRE_ONLY_RESPONSE_ERROR_CODES:
        # Any member of the ResponseErrorCode enum: only the code's value is excused, the rest is still checked.
        return {**resp, "error": {**error, "code": "server_error"}}, []
    return None


def _rewrite_nested_error_event(event: JSONObject) -> tuple[JSONObject, list[SubCheck]] | None:
    inner = event.get("error")
    if not isinstance(inner, dict):
        return None
    flat = _without(event, "error")
    for key in ("code", "message", "param"):
        if key not in flat and key in inner:
            flat[key] = inner[key]
    return flat, [("$.error", inner, "Error")]


def _rewrite_arguments_done_without_name(event: JSONObject) -> tuple[JSONObject, list[SubCheck]] | None:
    if "name" not in event:
        return {**event, "name": ""}, []
    return None


KEEPALIVE_SCHEMA: JSONObject = {
    "type": "object",
    "properties": {"type": {"const": "keepalive"}, "sequence_number": {"type": "integer"}},
    "required": ["type", "sequence_number"],
    "additionalProperties": False,
}

ALLOW_LIST: tuple[AllowedDeviation, ...] = (
    AllowedDeviation(
        name="response-user-null",
        applies_to="Response",
        reason='The live API sends `"user": null` in every Response when the request had no `user`; the schema '
        "types `user` as a plain (deprecated) string, not nullable.",
        evidence="every Response in live-captures/ (2025-11 … 2026-10)",
        rewrite=_rewrite_user_null,
    ),
    AllowedDeviation(
        name="response-usage-null-while-unfinished",
        applies_to="Response",
        reason="`usage` is null until the response finishes: in `response.created` / `response.queued` / "
        "`response.in_progress` (status queued or in_progress) and in a `response.failed` that produced no tokens; "
        "the schema's `ResponseUsage` is not nullable. Only for those statuses: a completed or incomplete response "
        "with `usage: null` still fails.",
        evidence="the created/in_progress events of every stream capture; "
        "stream-failed-insufficient-quota-gpt-5-nano.chunks.jsonl (response.failed)",
        rewrite=_rewrite_usage_null,
    ),
    AllowedDeviation(
        name="response-error-code-insufficient-quota",
        applies_to="Response",
        reason='After a quota `error` event the live `response.failed` carries `error.code: "insufficient_quota"`, '
        "which the schema's `ResponseErrorCode` enum lacks. Only that value is excused; `error` must still be "
        "`{code, message}`.",
        evidence="stream-failed-insufficient-quota-gpt-5-nano.chunks.jsonl",
        rewrite=_rewrite_failed_error_code,
    ),
    AllowedDeviation(
        name="error-event-nested",
        applies_to="ResponseErrorEvent",
        reason='The live `error` stream event nests its fields: `{"type":"error","sequence_number":n,'
        '"error":{type,code,message,param}}`; the schema wants flat `code`/`message`/`param`. The nested object '
        "must satisfy the `Error` schema (all four keys) and the event is then checked as the flat documented shape.",
        evidence="stream-failed-insufficient-quota-gpt-5-nano.chunks.jsonl; reference §5.3(e)",
        rewrite=_rewrite_nested_error_event,
    ),
    AllowedDeviation(
        name="function-call-arguments-done-without-name",
        applies_to="ResponseFunctionCallArgumentsDoneEvent",
        reason="The live `response.function_call_arguments.done` has no `name` (nor does the SDK type); the schema "
        "requires it. When `name` is present it must still be a string.",
        evidence="stream-function-call-gpt-5.1.chunks.jsonl, stream-parallel-function-calls-gpt-5.6-sol.rig.sse",
        rewrite=_rewrite_arguments_done_without_name,
    ),
    AllowedDeviation(
        name="keepalive-event",
        applies_to="keepalive",
        reason='Long-running live streams carry `{"type":"keepalive","sequence_number":n}` (event: keepalive), '
        "which is not a member of `ResponseStreamEvent`. Checked against exactly that shape.",
        evidence="reference §5.1 (openai-node#1964, openai-java#776, openai-php#732)",
        schema=KEEPALIVE_SCHEMA,
    ),
)
# Not in the list because the schema already accepts them (no `additionalProperties: false` on these objects), which
# `test_conformance.py` checks: `obfuscation` on `*.delta` events; the wire-only Response keys `billing`,
# `frequency_penalty`, `presence_penalty`, `tool_usage`, `access_programs` (`moderation: null` and `store` are in the
# schema); `content: []` on reasoning items.

_ENTRIES_FOR: dict[str, tuple[AllowedDeviation, ...]] = {}
for _entry in ALLOW_LIST:
    _ENTRIES_FOR[_entry.applies_to] = (*_ENTRIES_FOR.get(_entry.applies_to, ()), _entry)

LIFECYCLE_EVENTS = (
    "response.created",
    "response.queued",
    "response.in_progress",
    "response.completed",
    "response.incomplete",
    "response.failed",
)
TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


# ---------------------------------------------------------------------------------------------------------------
# Building the validator (once per process)
# ---------------------------------------------------------------------------------------------------------------

_SPEC_URI = "urn:mockserver:openai-responses-subset"
_REF_PREFIX = "#/components/schemas/"
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "example",
        "examples",
        "default",
        "deprecated",
        "discriminator",
        "format",
        "readOnly",
        "writeOnly",
        "$comment",
        "contentMediaType",
        "contentEncoding",
    }
)
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
_LITERALS = frozenset({"enum", "const", "required", "dependentRequired"})


def _strip(node: Any, component: str) -> Any:
    """A copy without annotation keywords; `$recursiveRef: "#"` becomes a `$ref` to its own component."""
    if isinstance(node, list):
        return [_strip(x, component) for x in node]
    if not isinstance(node, dict):
        return node
    out: JSONObject = {}
    for key, value in node.items():
        if key in _ANNOTATIONS or key.startswith("x-") or key == "$recursiveAnchor":
            continue
        if key == "$recursiveRef":
            # OpenAPI generators emit 2019-09 recursion; 2020-12 would silently ignore it. "#" means the enclosing
            # component (a CompoundFilter nests CompoundFilters).
            out["$ref"] = _REF_PREFIX + component
        elif key in _SCHEMA_MAPS:
            out[key] = {name: _strip(sub, component) for name, sub in value.items()}
        elif key in _LITERALS:
            out[key] = value
        else:
            out[key] = _strip(value, component)
    return out


def _refs(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                found.add(value[len(_REF_PREFIX) :])
            elif key not in _LITERALS:
                _refs(value, found)
    elif isinstance(node, list):
        for x in node:
            _refs(x, found)
    return found


def _recursive_components(graph: dict[str, set[str]]) -> set[str]:
    """Components that can reach themselves through `$ref`s (these stay references)."""
    recursive: set[str] = set()
    for start in graph:
        stack, seen = list(graph[start]), set()
        while stack:
            name = stack.pop()
            if name == start:
                recursive.add(start)
                break
            if name in seen or name not in graph:
                continue
            seen.add(name)
            stack.extend(graph[name])
    return recursive


def _inline_components(schemas: dict[str, Any]) -> dict[str, Any]:
    stripped = {name: _strip(schema, name) for name, schema in schemas.items()}
    recursive = _recursive_components({name: _refs(s, set()) for name, s in stripped.items()})
    done: dict[str, Any] = {}

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(x) for x in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            name = ref[len(_REF_PREFIX) :]
            siblings = {k: inline(v) for k, v in node.items() if k != "$ref"}
            if name in recursive or name not in stripped:
                return {"$ref": _SPEC_URI + ref, **siblings}
            target = component(name)
            # 2020-12 applies the keywords beside `$ref` as well; allOf keeps both.
            return {"allOf": [target], **siblings} if siblings else target
        out: JSONObject = {}
        for key, value in node.items():
            if key in _SCHEMA_MAPS:
                out[key] = {n: inline(sub) for n, sub in value.items()}
            elif key in _LITERALS:
                out[key] = value
            else:
                out[key] = inline(value)
        return out

    def component(name: str) -> Any:
        if name not in done:
            done[name] = inline(stripped[name])
        return done[name]

    return {name: component(name) for name in stripped}


def _is_json_type(instance: Any, json_type: str) -> bool:
    if json_type == "object":
        return isinstance(instance, dict)
    if json_type == "array":
        return isinstance(instance, list)
    if json_type == "string":
        return isinstance(instance, str)
    if json_type == "null":
        return instance is None
    if json_type == "boolean":
        return isinstance(instance, bool)
    if json_type == "integer":
        return not isinstance(instance, bool) and (
            isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())
        )
    if json_type == "number":
        return not isinstance(instance, bool) and isinstance(instance, (int, float))
    return True


@dataclass(frozen=True)
class _Guard:
    """What a union branch demands at first sight: its JSON types, and the `type` property values it accepts."""

    json_types: tuple[tuple[str, ...], ...]  # the `type` keyword of the branch and of each allOf member
    type_property: tuple[tuple[frozenset[str], bool], ...]  # (properties.type enum, "type" required) per member


_GUARDS: dict[int, tuple[Any, _Guard]] = {}


def _guard(branch: Any) -> _Guard:
    cached = _GUARDS.get(id(branch))
    if cached is not None and cached[0] is branch:
        return cached[1]
    json_types: list[tuple[str, ...]] = []
    type_property: list[tuple[frozenset[str], bool]] = []
    members = [branch]
    while members:
        member = members.pop()
        if not isinstance(member, dict):
            continue
        declared = member.get("type")
        if isinstance(declared, str):
            json_types.append((declared,))
        elif isinstance(declared, list) and all(isinstance(t, str) for t in declared):
            json_types.append(tuple(declared))
        props = member.get("properties")
        type_schema = props.get("type") if isinstance(props, dict) else None
        if isinstance(type_schema, dict):
            enum = type_schema.get("enum")
            if not isinstance(enum, list) and "const" in type_schema:
                enum = [type_schema["const"]]
            if isinstance(enum, list) and enum and all(isinstance(e, str) for e in enum):
                type_property.append((frozenset(enum), "type" in member.get("required", ())))
        all_of = member.get("allOf")
        if isinstance(all_of, list):
            members.extend(all_of)  # allOf fails when one member fails
    guard = _Guard(tuple(json_types), tuple(type_property))
    _GUARDS[id(branch)] = (branch, guard)
    return guard


def _branch_excluded(branch: Any, instance: Any, *, by_json_type: bool = True) -> bool:
    """True when `branch` certainly rejects `instance` (a sound shortcut: the full evaluation would fail too).

    Either the branch's (or an `allOf` member's) `type` keyword does not admit the instance's JSON type, or its
    `properties.type.enum` lacks the instance's `type` string, or it requires `type` and the instance has none.
    """
    guard = _guard(branch)
    if by_json_type:
        for types in guard.json_types:
            if not any(_is_json_type(instance, t) for t in types):
                return True
    if guard.type_property and isinstance(instance, dict):
        value = instance.get("type")
        for enum, required in guard.type_property:
            if "type" in instance:
                if isinstance(value, str) and value not in enum:
                    return True
            elif required:
                return True
    return False


_STOCK_ANY_OF = Draft202012Validator.VALIDATORS["anyOf"]
_STOCK_ONE_OF = Draft202012Validator.VALIDATORS["oneOf"]


def _any_of(validator: Any, any_of: list[Any], instance: Any, schema: Any) -> Iterator[ValidationError]:
    for index, branch in enumerate(any_of):
        if _branch_excluded(branch, instance):
            continue
        if next(validator.descend(instance, branch, schema_path=index), None) is None:
            return
    yield from _STOCK_ANY_OF(validator, any_of, instance, schema)  # the stock errors, only when it fails


def _one_of(validator: Any, one_of: list[Any], instance: Any, schema: Any) -> Iterator[ValidationError]:
    matches = 0
    for index, branch in enumerate(one_of):
        if _branch_excluded(branch, instance):
            continue
        if next(validator.descend(instance, branch, schema_path=index), None) is None:
            matches += 1
            if matches > 1:
                break
    if matches != 1:
        yield from _STOCK_ONE_OF(validator, one_of, instance, schema)


_FastValidator = validators.extend(Draft202012Validator, {"anyOf": _any_of, "oneOf": _one_of})


@dataclass(frozen=True)
class _Compiled:
    registry: Registry[Any]
    schemas: dict[str, Any]
    event_schemas: dict[str, str]  # event type -> component name
    validators: dict[str, Any]  # component name -> validator (filled lazily)

    def validator(self, name: str) -> Any:
        found = self.validators.get(name)
        if found is None:
            if name not in self.schemas:
                raise KeyError(f"no schema {name!r} in components.schemas of {openapi_spec_path()}")
            found = _FastValidator({"$ref": f"{_SPEC_URI}{_REF_PREFIX}{name}"}, registry=self.registry)
            self.validators[name] = found
        return found


@cache
def _compile(spec_path: str) -> _Compiled:
    spec = openapi_spec()
    schemas = spec["components"]["schemas"]
    inlined = _inline_components(schemas)
    inlined["keepalive"] = KEEPALIVE_SCHEMA
    resource: Resource[Any] = DRAFT202012.create_resource({"components": {"schemas": inlined}})
    registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource).crawl()
    event_schemas: dict[str, str] = {}
    for member in schemas["ResponseStreamEvent"]["anyOf"]:
        name = member["$ref"][len(_REF_PREFIX) :]
        for event_type in schemas[name]["properties"]["type"]["enum"]:
            event_schemas[event_type] = name
    return _Compiled(registry, inlined, event_schemas, {})


_BY_ENVIRONMENT: dict[tuple[str | None, str | None], _Compiled] = {}


def _compiled() -> _Compiled:
    # Keyed by the two variables that locate the file, so a hot call costs a dict lookup, not a stat().
    key = (os.environ.get("MOCKSERVER_OPENAPI_SPEC"), os.environ.get("MOCKSERVER_REFERENCE_DIR"))
    found = _BY_ENVIRONMENT.get(key)
    if found is None:
        path = openapi_spec_path()
        openapi_spec()  # fails the calling test when the file is absent
        found = _BY_ENVIRONMENT[key] = _compile(str(path))
    return found


@cache
def _raw_validator(spec_path: str, name: str) -> Any:
    """A stock validator over the untouched document (no inlining, no stripping, no allow-list)."""
    spec = openapi_spec()
    registry: Registry[Any] = Registry().with_resource(_SPEC_URI, DRAFT202012.create_resource(spec))
    return Draft202012Validator({"$ref": f"{_SPEC_URI}{_REF_PREFIX}{name}"}, registry=registry)


def event_schema_name(event_type: str) -> str | None:
    """The `components.schemas` name of the `ResponseStreamEvent` member for `event_type` (None when unknown)."""
    return _compiled().event_schemas.get(event_type)


# ---------------------------------------------------------------------------------------------------------------
# Turning jsonschema errors into short messages
# ---------------------------------------------------------------------------------------------------------------


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_null_schema(branch: Any) -> bool:
    return isinstance(branch, dict) and branch.get("type") == "null"


def _type_values(branch: Any) -> list[str]:
    if isinstance(branch, dict):
        props = branch.get("properties")
        if isinstance(props, dict) and isinstance(props.get("type"), dict):
            enum = props["type"].get("enum")
            if isinstance(enum, list):
                return [str(e) for e in enum]
        for key in ("allOf", "anyOf", "oneOf"):
            if isinstance(branch.get(key), list):
                return [v for sub in branch[key] for v in _type_values(sub)]
    return []


def _is_variant_mismatch(error: ValidationError) -> bool:
    """An enum/const failure on a direct property (such as `role`): the sign of a different variant."""
    return error.validator in ("enum", "const") and len(error.relative_path) == 1


def _explain(error: ValidationError, prefix: str) -> list[str]:
    """The leaf problems behind `error`, following the union branch the instance's `type` selects."""
    path = prefix + error.json_path[1:]
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: list[Any] = error.validator_value
        instance = error.instance
        candidates = [i for i, b in enumerate(branches) if not _branch_excluded(b, instance, by_json_type=False)]
        if not candidates and isinstance(instance, dict):
            allowed = sorted({v for b in branches for v in _type_values(b)})
            return [f"{path}: type {instance.get('type')!r} is not accepted here (one of {allowed})"]
        if len(candidates) > 1:
            by_type = [i for i in candidates if _is_json_type(instance, str(branches[i].get("type", "")))]
            if len(by_type) == 1:
                candidates = by_type
            else:
                not_null = [i for i in candidates if not _is_null_schema(branches[i])]
                if not_null:
                    candidates = not_null
        by_branch = {i: [e for e in error.context if e.relative_schema_path[0] == i] for i in candidates}
        if len(candidates) > 1:
            # Several variants share the `type`: the one whose own properties' enums/consts match is meant.
            scores = {i: (sum(_is_variant_mismatch(e) for e in errs), len(errs)) for i, errs in by_branch.items()}
            lowest = min(scores.values())
            candidates = [i for i in candidates if scores[i] == lowest]
        if len(candidates) == 1 and by_branch[candidates[0]]:
            return [line for e in by_branch[candidates[0]] for line in _explain(e, prefix)]
        chosen = [e for i in candidates for e in by_branch[i]]
        best = best_match(chosen or error.context)
        if best is not None:
            return _explain(best, prefix)
    return [f"{path}: {_short(error.message)}"]


def _problems(validator: Any, instance: Any, prefix: str = "$") -> list[str]:
    if validator.is_valid(instance):
        return []
    lines: list[str] = []
    for error in validator.iter_errors(instance):
        for line in _explain(error, prefix):
            if line not in lines:
                lines.append(line)
    return lines


def schema_problems(instance: Any, schema_name: str, *, allow_list: bool = True) -> list[str]:
    """The schema violations of `instance` as `"$.path: message"` lines ([] when it conforms).

    With `allow_list=False` the instance is judged by a stock validator over the untouched official document.
    """
    if not allow_list:
        return _problems(_raw_validator(str(openapi_spec_path()), schema_name), instance)
    compiled = _compiled()
    normalised, sub_checks = _normalise(instance, schema_name)
    lines = _problems(compiled.validator(schema_name), normalised)
    for path, sub, sub_schema in sub_checks:
        lines.extend(_problems(compiled.validator(sub_schema), sub, path))
    return lines


def _normalise(instance: Any, schema_name: str) -> tuple[Any, list[SubCheck]]:
    """A rewritten copy without the allow-listed deviations (the input is left untouched)."""
    sub_checks: list[SubCheck] = []
    if not isinstance(instance, dict):
        return instance, sub_checks
    for entry in _ENTRIES_FOR.get(schema_name, ()):
        if entry.rewrite is not None and (done := entry.rewrite(instance)) is not None:
            instance, extra = done
            sub_checks.extend(extra)
    response = instance.get("response")
    if isinstance(response, dict) and instance.get("type") in LIFECYCLE_EVENTS:
        new_response, extra = _normalise(response, "Response")
        if new_response is not response:
            instance = {**instance, "response": new_response}
        sub_checks.extend((f"$.response{path[1:]}", sub, name) for path, sub, name in extra)
    return instance, sub_checks


def _fail(what: str, problems: Iterable[str]) -> None:
    lines = list(problems)
    if lines:
        shown = lines[:12]
        more = f"\n  … and {len(lines) - len(shown)} more" if len(lines) > len(shown) else ""
        raise ConformanceError(f"{what}:\n  " + "\n  ".join(shown) + more)


# ---------------------------------------------------------------------------------------------------------------
# Public checks of single documents
# ---------------------------------------------------------------------------------------------------------------


def assert_conforms(body: Any, schema_name: str) -> None:
    """`body` satisfies `components.schemas[schema_name]` (allow-list entries for that schema applied)."""
    _fail(f"{schema_name} does not conform to the official schema", schema_problems(body, schema_name))


def assert_response_conforms(body: JSONObject) -> None:
    """`body` is a `Response` as the official schema describes it (with the allow-listed wire deviations)."""
    if not isinstance(body, dict):
        raise ConformanceError(f"a Response must be a JSON object, got {type(body).__name__}")
    _fail("Response does not conform to the official schema `Response`", schema_problems(body, "Response"))


def assert_error_conforms(body: JSONObject) -> None:
    """`body` is the HTTP error envelope `{"error": {message, type, param, code}}` (`ErrorResponse`)."""
    _fail("error body does not conform to the official schema `ErrorResponse`", schema_problems(body, "ErrorResponse"))


def _event_label(event: Any, index: int | None = None) -> str:
    if not isinstance(event, dict):
        return f"event #{index}" if index is not None else "event"
    seq = event.get("sequence_number", "<missing>")
    where = f"event #{index} " if index is not None else "event "
    return f"{where}(sequence_number={seq}, type={event.get('type')!r})"


def _event_problems(event: Any) -> list[str]:
    if not isinstance(event, dict):
        return [f"an event must be a JSON object, got {type(event).__name__}"]
    event_type = event.get("type")
    if not isinstance(event_type, str):
        return ["the event has no string `type`"]
    problems: list[str] = []
    if "error" in event and event_type != "error":
        problems.append(
            "top-level 'error' key on a non-error event (the SDKs raise APIError for any event carrying one; "
            "a failed response keeps its error under `response.error`)"
        )
    if event_type == "keepalive":
        name = "keepalive"
    else:
        found = event_schema_name(event_type)
        if found is None:
            return [*problems, f"unknown event type {event_type!r}: not a member of ResponseStreamEvent"]
        name = found
    problems.extend(schema_problems(event, name))
    return problems


def assert_event_conforms(event: JSONObject) -> None:
    """`event` is the `ResponseStreamEvent` member named by its `type` (or the allow-listed `keepalive`)."""
    problems = _event_problems(event)
    if problems:
        name = event_schema_name(event.get("type", "")) if isinstance(event, dict) else None
        _fail(
            f"{_event_label(event)} does not conform to the official schema `{name or 'ResponseStreamEvent'}`", problems
        )


# ---------------------------------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------------------------------

# Which item types may receive an event family (the SDK accumulators assert these; reference §6.2/§6.3).
_FAMILY_ITEM_TYPES: tuple[tuple[str, frozenset[str]], ...] = (
    ("response.output_text.", frozenset({"message"})),
    ("response.refusal.", frozenset({"message"})),
    ("response.content_part.", frozenset({"message", "reasoning"})),
    ("response.function_call_arguments.", frozenset({"function_call"})),
    ("response.reasoning_summary_", frozenset({"reasoning"})),
    ("response.reasoning_text.", frozenset({"reasoning"})),
    ("response.custom_tool_call_input.", frozenset({"custom_tool_call"})),
    ("response.web_search_call.", frozenset({"web_search_call"})),
    ("response.file_search_call.", frozenset({"file_search_call"})),
    ("response.code_interpreter_call", frozenset({"code_interpreter_call"})),
    ("response.image_generation_call.", frozenset({"image_generation_call"})),
    ("response.mcp_call", frozenset({"mcp_call"})),
    ("response.mcp_list_tools.", frozenset({"mcp_list_tools"})),
)

# delta event -> (done event, key of the full value in the done event, keyed by content/summary part?)
_TEXT_STREAMS: dict[str, tuple[str, str, str | None]] = {
    "response.output_text.delta": ("response.output_text.done", "text", "content_index"),
    "response.refusal.delta": ("response.refusal.done", "refusal", "content_index"),
    "response.reasoning_text.delta": ("response.reasoning_text.done", "text", "content_index"),
    "response.reasoning_summary_text.delta": ("response.reasoning_summary_text.done", "text", "summary_index"),
    "response.function_call_arguments.delta": ("response.function_call_arguments.done", "arguments", None),
    "response.custom_tool_call_input.delta": ("response.custom_tool_call_input.done", "input", None),
    "response.mcp_call_arguments.delta": ("response.mcp_call_arguments.done", "arguments", None),
    "response.code_interpreter_call_code.delta": ("response.code_interpreter_call_code.done", "code", None),
}
_DONE_TO_DELTA = {done: delta for delta, (done, _, _) in _TEXT_STREAMS.items()}
_PART_TEXT_KEY = {"output_text": "text", "refusal": "refusal", "reasoning_text": "text", "summary_text": "text"}


@dataclass
class _Item:
    added: JSONObject
    done: JSONObject | None = None
    parts: dict[str, list[JSONObject | None]] | None = None  # "content"/"summary" -> done part (None until done)
    texts: dict[tuple[str, int | None], str] | None = None  # (delta type, part index) -> accumulated deltas
    closed_texts: set[tuple[str, int | None]] | None = None
    done_values: dict[tuple[str, int | None], str] | None = None


class _StreamChecker:
    def __init__(self, events: list[JSONObject]) -> None:
        self.events = events
        self.problems: list[str] = []
        self.items: list[_Item] = []
        self.response_id: Any = None
        self.created_at: Any = None
        self.in_progress_seen = False
        self.terminal_index: int | None = None
        self.error_index: int | None = None
        self.created_seen = False
        self.trailing: list[int] = []  # events after the end of the stream (terminal, or error not followed by failed)
        self.reported_early_item = False

    def fail(self, index: int, rule: str) -> None:
        self.problems.append(f"{_event_label(self.events[index], index)}: {rule}")

    def run(self) -> list[str]:
        if not self.events:
            return ["the stream has no events"]
        previous_seq: int | None = None
        for index, event in enumerate(self.events):
            for line in _event_problems(event):
                self.fail(index, line)
            if not isinstance(event, dict):
                continue
            seq = event.get("sequence_number")
            if isinstance(seq, int) and not isinstance(seq, bool):
                expected = 0 if previous_seq is None else previous_seq + 1
                if seq != expected:
                    kind = "does not start at 0" if previous_seq is None else "gap or repeat"
                    self.fail(index, f"sequence_number {seq}, expected {expected} ({kind})")
                previous_seq = seq
            else:
                previous_seq = None if previous_seq is None else previous_seq + 1
            self.check_order(index, event)
        self.check_end()
        return self.problems

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def check_order(self, index: int, event: JSONObject) -> None:
        event_type = event.get("type")
        if not isinstance(event_type, str):
            return
        if self.trailing:
            self.trailing.append(index)  # reported once, for the first of them
            return
        if self.terminal_index is not None:
            self.fail(index, f"event after the terminal event #{self.terminal_index} (nothing may follow it)")
            self.trailing.append(index)
            return
        if self.error_index is not None and event_type != "response.failed":
            self.fail(index, f"after the error event #{self.error_index} only response.failed may follow")
            self.trailing.append(index)
            return
        if index == 0 and event_type != "response.created":
            self.fail(index, "the first event must be response.created")
        if index == 1 and event_type not in ("response.in_progress", "response.queued", "error"):
            wanted = "response.queued" if _response_status(self.events[0]) == "queued" else "response.in_progress"
            self.fail(index, f"the second event must be {wanted} (after response.created)")
        if event_type in LIFECYCLE_EVENTS:
            self.check_lifecycle(index, event_type, event)
        elif event_type == "error":
            self.error_index = index
            if not isinstance(event.get("error"), dict):
                self.fail(index, "error event without the nested `error` object the live API (and the SDKs) use")
        elif event_type == "keepalive":
            pass
        elif event_type.startswith("response.output_item."):
            self.check_output_item(index, event_type, event)
        elif "output_index" in event:
            self.check_sub_event(index, event_type, event)

    def check_lifecycle(self, index: int, event_type: str, event: JSONObject) -> None:
        response = event.get("response")
        if not isinstance(response, dict):
            return
        status = response.get("status")
        if event_type == "response.created":
            if index != 0:
                self.fail(index, "response.created must be the first event, and only once")
            if status not in ("in_progress", "queued"):
                self.fail(index, f"response.created has status {status!r}, expected 'in_progress' or 'queued'")
            if response.get("output") != []:
                self.fail(index, "response.created must have output []")
            if "usage" not in response or response["usage"] is not None:
                self.fail(index, "response.created must have usage null")
            self.response_id = response.get("id")
            self.created_at = response.get("created_at")
            self.created_seen = True
        else:
            if index == 1 and event_type == "response.queued" and _response_status(self.events[0]) != "queued":
                self.fail(index, "response.queued after a response.created whose status is not 'queued'")
            expected_status = event_type.removeprefix("response.")
            if status != expected_status:
                self.fail(index, f"{event_type} carries response.status {status!r}, expected {expected_status!r}")
        if event_type != "response.created" and self.created_seen:
            if response.get("id") != self.response_id:
                self.fail(
                    index,
                    f"response.id {response.get('id')!r} differs from {self.response_id!r} of response.created "
                    "(the same id must appear in every lifecycle event)",
                )
            if response.get("created_at") != self.created_at:
                self.fail(index, f"response.created_at {response.get('created_at')!r} differs from response.created")
        if event_type == "response.queued" and self.in_progress_seen:
            self.fail(index, "response.queued after response.in_progress")
        if event_type == "response.in_progress":
            self.in_progress_seen = True
        if event_type in TERMINAL_EVENTS:
            self.terminal_index = index
            self.check_terminal(index, event_type, response)

    def check_terminal(self, index: int, event_type: str, response: JSONObject) -> None:
        output = response.get("output")
        if not isinstance(output, list):
            return
        if event_type in ("response.completed", "response.incomplete") and not isinstance(response.get("usage"), dict):
            self.fail(index, f"{event_type} must carry a usage object")
        if event_type == "response.completed" and response.get("completed_at") is None:
            self.fail(index, "response.completed must carry completed_at")
        if len(output) != len(self.items):
            self.fail(
                index,
                f"terminal response.output has {len(output)} items but {len(self.items)} were added by "
                "response.output_item.added events",
            )
        for position, item in enumerate(self.items[: len(output)]):
            if item.done is not None:
                if _comparable(output[position]) != _comparable(item.done):
                    self.fail(index, f"terminal response.output[{position}] differs from its output_item.done item")
            elif event_type != "response.failed":
                self.fail(index, f"output item {position} was added but never got response.output_item.done")
            elif not _same_identity(output[position], item.added):
                self.fail(index, f"terminal response.output[{position}] is not the item added at that index")

    def check_end(self) -> None:
        last = len(self.events) - 1
        if len(self.trailing) > 1:
            self.problems.append(f"… and {len(self.trailing) - 1} more events after that one (up to event #{last})")
        if self.terminal_index is None and self.error_index is None:
            self.problems.append(
                f"{_event_label(self.events[last], last)}: the stream ended without a terminal event "
                "(response.completed | response.incomplete | response.failed) or an error event"
            )

    # -- items -------------------------------------------------------------------------------------------------

    def check_output_item(self, index: int, event_type: str, event: JSONObject) -> None:
        output_index, item = event.get("output_index"), event.get("item")
        if not isinstance(output_index, int) or not isinstance(item, dict):
            return
        if not self.in_progress_seen and not self.reported_early_item:
            self.fail(index, "output items may only start after response.in_progress")
            self.reported_early_item = True
        if event_type == "response.output_item.added":
            if output_index != len(self.items):
                self.fail(
                    index,
                    f"output_index {output_index}, expected {len(self.items)} (items are added at contiguous "
                    "output_index from 0)",
                )
                return
            if not isinstance(item.get("id"), str) or not item["id"]:
                self.fail(index, "the added item has no id (sub-events name it by item_id)")
            elif any(i.added.get("id") == item["id"] for i in self.items):
                self.fail(index, f"item id {item['id']!r} was already used by another output item")
            if item.get("type") in ("function_call", "custom_tool_call") and not item.get("call_id"):
                self.fail(index, f"{item.get('type')} item without a non-empty call_id")
            self.items.append(_Item(added=item, parts={}, texts={}, closed_texts=set(), done_values={}))
            return
        if event_type != "response.output_item.done":
            return
        found = self.item_at(index, output_index, event_type)
        if found is None:
            return
        for key in ("type", "id", "call_id"):
            if item.get(key) != found.added.get(key):
                self.fail(
                    index,
                    f"output_item.done changes the item's {key} from {found.added.get(key)!r} to {item.get(key)!r}",
                )
        self.check_done_item(index, found, item)
        found.done = item

    def item_at(self, index: int, output_index: int, event_type: str) -> _Item | None:
        if output_index < 0 or output_index >= len(self.items):
            self.fail(index, f"{event_type} for output_index {output_index} before its output_item.added")
            return None
        item = self.items[output_index]
        if item.done is not None:
            self.fail(index, f"{event_type} for output_index {output_index} after its output_item.done")
            return None
        return item

    def check_done_item(self, index: int, found: _Item, item: JSONObject) -> None:
        assert found.parts is not None and found.done_values is not None
        for field, parts in found.parts.items():
            if any(p is None for p in parts):
                self.fail(index, f"output_item.done while a {field} part was added but not done")
            elif item.get(field) != parts:
                self.fail(index, f"output_item.done item.{field} differs from the parts of its *part.done events")
        for (delta_type, _), value in found.done_values.items():
            if delta_type in ("response.function_call_arguments.delta", "response.mcp_call_arguments.delta"):
                if item.get("arguments") != value:
                    self.fail(index, "output_item.done item.arguments differs from function_call_arguments.done")
            elif delta_type == "response.custom_tool_call_input.delta" and item.get("input") != value:
                self.fail(index, "output_item.done item.input differs from custom_tool_call_input.done")

    def check_sub_event(self, index: int, event_type: str, event: JSONObject) -> None:
        output_index = event.get("output_index")
        if not isinstance(output_index, int):
            return
        found = self.item_at(index, output_index, event_type)
        if found is None:
            return
        item_id = event.get("item_id")
        if "item_id" in event and item_id != found.added.get("id"):
            self.fail(
                index, f"item_id {item_id!r} is not the id {found.added.get('id')!r} of output item {output_index}"
            )
        item_type = found.added.get("type")
        for prefix, allowed in _FAMILY_ITEM_TYPES:
            if event_type.startswith(prefix) and item_type not in allowed:
                self.fail(index, f"{event_type} on a {item_type!r} item (expected {sorted(allowed)})")
        assert found.parts is not None and found.texts is not None and found.closed_texts is not None
        assert found.done_values is not None
        if event_type.startswith("response.content_part.") or event_type.startswith("response.reasoning_summary_part."):
            self.check_part(index, event_type, event, found)
        elif event_type in _TEXT_STREAMS or event_type in _DONE_TO_DELTA:
            self.check_text(index, event_type, event, found)
        if event_type == "response.function_call_arguments.done" and "name" in event:
            if event["name"] != found.added.get("name"):
                self.fail(index, f"name {event['name']!r} is not the function_call item's {found.added.get('name')!r}")

    def check_part(self, index: int, event_type: str, event: JSONObject, found: _Item) -> None:
        assert found.parts is not None and found.texts is not None
        summary = event_type.startswith("response.reasoning_summary_part.")
        field, key = ("summary", "summary_index") if summary else ("content", "content_index")
        part_index, part = event.get(key), event.get("part")
        if not isinstance(part_index, int) or not isinstance(part, dict):
            return
        parts = found.parts.setdefault(field, [])
        name = "reasoning_summary_part" if summary else "content_part"
        if event_type.endswith(".added"):
            if part_index != len(parts):
                self.fail(index, f"{key} {part_index}, expected {len(parts)} ({name}s are added contiguously from 0)")
                return
            parts.append(None)
            return
        if part_index >= len(parts):
            self.fail(index, f"{name}.done for {key} {part_index} before its {name}.added")
            return
        if parts[part_index] is not None:
            self.fail(index, f"{name}.done for {key} {part_index} twice")
            return
        text_key = _PART_TEXT_KEY.get(str(part.get("type")))
        delta_type = {
            "output_text": "response.output_text.delta",
            "refusal": "response.refusal.delta",
            "reasoning_text": "response.reasoning_text.delta",
            "summary_text": "response.reasoning_summary_text.delta",
        }.get(str(part.get("type")))
        if text_key is not None and delta_type is not None:
            streamed = found.texts.get((delta_type, part_index), "")
            if part.get(text_key) != streamed:
                self.fail(index, f"{name}.done part.{text_key} differs from the concatenated {delta_type} deltas")
        parts[part_index] = part

    def check_text(self, index: int, event_type: str, event: JSONObject, found: _Item) -> None:
        assert found.parts is not None and found.texts is not None
        assert found.closed_texts is not None and found.done_values is not None
        delta_type = event_type if event_type in _TEXT_STREAMS else _DONE_TO_DELTA[event_type]
        done_type, value_key, part_key = _TEXT_STREAMS[delta_type]
        part_index = event.get(part_key) if part_key else None
        if part_key is not None:
            field = "summary" if part_key == "summary_index" else "content"
            parts = found.parts.get(field, [])
            part_name = "reasoning_summary_part.added" if field == "summary" else "content_part.added"
            if not isinstance(part_index, int) or part_index >= len(parts):
                self.fail(index, f"{event_type} for {part_key} {part_index} before its {part_name}")
                return
            if parts[part_index] is not None:
                self.fail(index, f"{event_type} for {part_key} {part_index} after its part was done")
                return
        stream_key = (delta_type, part_index if isinstance(part_index, int) else None)
        if stream_key in found.closed_texts:
            self.fail(index, f"{event_type} after {done_type} for the same part")
            return
        if event_type == delta_type:
            delta = event.get("delta")
            if isinstance(delta, str):
                found.texts[stream_key] = found.texts.get(stream_key, "") + delta
            return
        streamed = found.texts.get(stream_key, "")
        value = event.get(value_key)
        if value != streamed:
            self.fail(
                index,
                f"{done_type} {value_key} {_short(repr(value), 80)} is not the concatenated deltas "
                f"{_short(repr(streamed), 80)}",
            )
        found.closed_texts.add(stream_key)
        if isinstance(value, str):
            found.done_values[stream_key] = value


def _response_status(event: Any) -> Any:
    if isinstance(event, dict) and isinstance(event.get("response"), dict):
        return event["response"].get("status")
    return None


def _comparable(item: Any) -> Any:
    """The item with its `encrypted_content` reduced to present/absent.

    The live API encrypts reasoning state afresh (a new Fernet token) each time it serialises the item, so the
    terminal `output` and `output_item.done` carry different ciphertexts of the same content (every reasoning capture).
    """
    if isinstance(item, dict) and isinstance(item.get("encrypted_content"), str):
        return {**item, "encrypted_content": "<encrypted>"}
    return item


def _same_identity(a: Any, b: Any) -> bool:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    return all(a.get(k) == b.get(k) for k in ("type", "id", "call_id"))


def assert_stream_conforms(events: list[JSONObject]) -> None:
    """Every event conforms, and the stream follows the lifecycle rules of reference §5.3 / §8.

    `response.created` first (output [] and usage null), then `response.in_progress` (`response.queued` when
    background); sequence_number 0, 1, 2… without gaps; one response id; items added at contiguous output_index
    from 0 and named by `item_id`; parts added before their deltas; every `*.done` equal to its deltas; one terminal
    event (or a nested `error` event, optionally followed by `response.failed`) and nothing after it; the terminal
    `output` equal to the `output_item.done` items.
    """
    problems = _StreamChecker(list(events)).run()
    _fail(f"the stream of {len(events)} events does not conform", problems)


# ---------------------------------------------------------------------------------------------------------------
# SSE framing
# ---------------------------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_sse(text: str) -> list[JSONObject]:
    """The events of an SSE body framed as the live API frames them, strictly.

    Each event is exactly `event: <type>` LF `data: <one-line JSON object whose "type" is <type>>` LF LF. Anything
    else (CR, comments, `id:`/`retry:`, several `data:` lines, `[DONE]`, a missing final blank line, NaN) raises
    `SSEFormatError` naming the frame and line.
    """
    if not text:
        return []
    if "\r" in text:
        raise SSEFormatError("CR in the stream: the live API frames SSE with LF only")
    if not text.endswith("\n\n"):
        raise SSEFormatError("the stream does not end with a blank line after its last event")
    events: list[JSONObject] = []
    line_no = 1
    for number, frame in enumerate(text[:-2].split("\n\n")):
        lines = frame.split("\n")
        where = f"SSE frame #{number} (line {line_no})"
        line_no += len(lines) + 1
        if len(lines) != 2:
            raise SSEFormatError(f"{where}: expected 2 lines (event:, data:) then a blank line, got {len(lines)}")
        event_line, data_line = lines
        if not event_line.startswith("event: "):
            raise SSEFormatError(f"{where}: first line must be 'event: <type>', got {_short(event_line, 80)!r}")
        if not data_line.startswith("data: "):
            raise SSEFormatError(f"{where}: second line must be 'data: <json>', got {_short(data_line, 80)!r}")
        name = event_line[len("event: ") :]
        try:
            data = json.loads(data_line[len("data: ") :], parse_constant=_reject_constant)
        except ValueError as exc:
            raise SSEFormatError(f"{where}: data is not JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise SSEFormatError(f"{where}: data must be a JSON object with a string 'type'")
        if data["type"] != name:
            raise SSEFormatError(f"{where}: 'event: {name}' differs from the data's type {data['type']!r}")
        events.append(data)
    return events
