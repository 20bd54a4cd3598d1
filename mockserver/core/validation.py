"""Validation of the body of `POST /v1/responses`, answered with the live API's 400 errors.

`validate_create_request(body, profile)` raises `APIError` (400, `invalid_request_error`) for the first problem of a
parsed JSON body, worded as the API words it:

    unknown_parameter           Unknown parameter: 'foo'.
    missing_required_parameter  Missing required parameter: 'input[0].content'.
    invalid_type                Invalid type for 'temperature': expected a decimal, but got a string instead.
    invalid_value               Invalid value: 'foo'. Supported values are: 'auto' and 'disabled'.
    decimal_above_max_value     Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.1
                                instead. (also *_below_min_value, string_/array_*_length, object_above_max_properties)

`param` is the API's path (`input[0].content`, `tools[1].name`, `text.format.name`). "First" follows the API: a missing
`model`/`input`, then an unknown top-level parameter, then the fields in the order of the schema's `properties` (the
order the live API checks them), each item of an array in turn, and at one place a wrong type before a missing member,
a bad `type`/`role` and an unknown member. `previous_response_id` with `conversation` is checked after the schema.

Profiles (`PROFILES`): `openai` is `data/create_response.schema.json`, the official API; `compatible` is that schema
with `data/create_response.compatible.schema.json` merged over it (RFC 7386): an "OpenAI compatible" provider's
stricter rules.

Speed: the schema files are standard JSON Schema 2020-12 that dispatch unions with `allOf` of
`{"if": {"$ref": "#/$defs/is/X"}, "then": S}`. A plain validator evaluates every `if` of such a chain, so on loading
each chain becomes one dictionary lookup on `type` (keyword `x-dispatch`), local `$ref`s are resolved once, and a
string is looked up in an `enum` directly. Verdicts and errors are those of a plain `Draft202012Validator` (a test
checks).
"""

from __future__ import annotations

import copy
import enum
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import (  # type: ignore[import-untyped, unused-ignore]  # no stubs in the test extras
    Draft202012Validator,
    ValidationError,
    validators,
)
from jsonschema.protocols import Validator  # type: ignore[import-untyped, unused-ignore]

from . import fastcheck
from .errors import APIError, invalid_request

__all__ = [
    "PROFILES",
    "build_fast_validator",
    "create_request_problems",
    "json_kind",
    "request_schema",
    "validate_create_request",
]

PROFILES: tuple[str, ...] = ("openai", "compatible")

_SCHEMA_FILE = "create_response.schema.json"
_OVERLAYS: Mapping[str, str] = {"compatible": "create_response.compatible.schema.json"}
_IS_PREFIX = "#/$defs/is/"

Schema = dict[str, Any]
Path = list[str | int]
Problem = tuple[str, str | None, str]  # message, param, code


def validate_create_request(body: dict[str, Any], profile: str = "openai") -> None:
    """Raise `mockserver.errors.APIError` (400) for the first problem of a create-response body."""
    verdict = fastcheck.is_valid(profile, body)
    if verdict:
        _check_exclusive_state(body)
        return
    if verdict is None:  # built on the first request, not at start-up, so starting stays fast
        fastcheck.build_in_background(profile, _schema(profile))
    compiled = _compiled(profile)
    if not compiled.validator.is_valid(body):
        errors = compiled.validator.iter_errors(body)
        first = min(errors, key=lambda error: _rank(error, body, compiled.order))
        message, param, code = _describe(first)
        raise invalid_request(message, param=param, code=code)
    _check_exclusive_state(body)


def create_request_problems(body: Any, profile: str = "openai") -> list[Problem]:
    """Every problem of a create-response body as (message, param, code), one per param, in the order the API would
    report them; [] when `validate_create_request` would accept it."""
    compiled = _compiled(profile)
    if compiled.validator.is_valid(body):  # the schema wants an object, so `body` is one
        try:
            _check_exclusive_state(body)
        except APIError as refusal:
            return [(refusal.message, refusal.param, refusal.code or "")]
        return []
    errors = sorted(compiled.validator.iter_errors(body), key=lambda error: _rank(error, body, compiled.order))
    problems: dict[str | None, Problem] = {}
    for each in errors:
        for problem in _describe_each(each):
            problems.setdefault(problem[1], problem)
    return list(problems.values())


def build_fast_validator(profile: str = "openai") -> None:
    """Build the fast validator now rather than in the background on the first request (whose compiling thread
    competes with the event loop for a moment: tests that time answers call this first)."""
    fastcheck.build(profile, _schema(profile))


def request_schema(profile: str = "openai") -> Schema:
    """The JSON Schema of a profile's request body, as written (a fresh copy)."""
    return copy.deepcopy(_schema(profile))


def _check_exclusive_state(body: Mapping[str, Any]) -> None:
    if body.get("previous_response_id") is not None and body.get("conversation") is not None:
        # The live API answers this with `param: null`.
        raise invalid_request(
            "Mutually exclusive parameters: 'previous_response_id' and 'conversation'. "
            "Ensure you are only providing one of: 'previous_response_id' or 'conversation'.",
            code="mutually_exclusive_parameters",
        )


# --- loading and compiling ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    validator: Validator
    order: Mapping[str, int]  # rank of each top-level parameter: the order the API checks them


def _load(name: str) -> Schema:
    data: Schema = json.loads((files("mockserver") / "data" / name).read_text(encoding="utf-8"))
    return data


@cache
def _schema(profile: str) -> Schema:
    if profile not in PROFILES:
        raise ValueError(f"unknown validation profile {profile!r}; expected one of {', '.join(PROFILES)}")
    schema = _load(_SCHEMA_FILE)
    if profile in _OVERLAYS:
        schema = _merge_patch(schema, _load(_OVERLAYS[profile]))
    # The schema files ship with the package; tests check them against the meta-schema (costly: ~0.1 s per start).
    return schema


@cache
def _compiled(profile: str) -> _Compiled:
    schema = request_schema(profile)
    fast = _compile_dispatch(schema, schema)
    keywords = {"$ref": _local_ref_keyword(fast), "enum": _string_enum, "x-dispatch": _dispatch}
    validator_class = validators.extend(Draft202012Validator, keywords)
    order = {name: rank for rank, name in enumerate(schema.get("properties", {}))}
    return _Compiled(validator_class(fast), order)


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge member by member, `null` removes a member, any other value replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


def _pointer(root: Schema, ref: str) -> Any:
    """The target of a local reference (`#/$defs/Tool`)."""
    if not ref.startswith("#"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


class _Missing(enum.Enum):
    TYPE = "no type member"


def _discriminator_values(condition: Any, root: Schema) -> list[object] | None:
    """The `type` values a dispatch condition (`#/$defs/is/X`) accepts, or None when it is not one."""
    if not (isinstance(condition, dict) and set(condition) == {"$ref"} and condition["$ref"].startswith(_IS_PREFIX)):
        return None
    test = _pointer(root, condition["$ref"])
    if test == {"not": {"required": ["type"]}}:
        return [_Missing.TYPE]
    accepted = test["properties"]["type"]
    return list(accepted["enum"]) if "enum" in accepted else [accepted["const"]]


def _compile_dispatch(node: Any, root: Schema) -> Any:
    """A copy of a schema where each allOf of `{if: is/X, then: S}` entries is an `x-dispatch` map {X: S}."""
    if isinstance(node, list):
        return [_compile_dispatch(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    compiled = {key: _compile_dispatch(value, root) for key, value in node.items()}
    mapping: dict[object, Any] = {}
    rest = []
    for entry in compiled.get("allOf", []):
        values = _discriminator_values(entry.get("if"), root) if set(entry) <= {"if", "then", "$comment"} else None
        if values is None or "then" not in entry:
            rest.append(entry)
            continue
        mapping.update(dict.fromkeys(values, entry["then"]))
    if mapping:
        compiled["x-dispatch"] = mapping
        if rest:
            compiled["allOf"] = rest
        else:
            del compiled["allOf"]
    return compiled


# --- the faster keywords ------------------------------------------------------------------------------------------

Keyword = Callable[[Validator, Any, Any, Any], Iterator[ValidationError]]
_standard_enum: Keyword = Draft202012Validator.VALIDATORS["enum"]


def _dispatch(
    validator: Validator, mapping: Mapping[object, Any], instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if isinstance(instance, dict):
        tag = instance.get("type", _Missing.TYPE)
        if tag is None or isinstance(tag, (str, _Missing)):
            branch = mapping.get(tag)
            if branch is not None:
                yield from validator.descend(instance, branch)


def _string_enum(validator: Validator, values: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if isinstance(instance, str) and instance in values:  # a string equals nothing but that string
        return
    yield from _standard_enum(validator, values, instance, schema)


def _local_ref_keyword(root: Schema) -> Keyword:
    resolved: dict[str, Any] = {}

    def ref(validator: Validator, ref: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        target = resolved.get(ref)
        if target is None:
            target = resolved[ref] = _pointer(root, ref)
        yield from validator.descend(instance, target)

    return ref


# --- which error comes first --------------------------------------------------------------------------------------

_KEYWORD_RANK: Mapping[str, int] = {"type": 0, "required": 1, "enum": 2, "const": 2, "additionalProperties": 3}


def _rank(error: ValidationError, body: Any, order: Mapping[str, int]) -> tuple[tuple[int, int], ...]:
    """Sort key: the error's place in the body (top-level parameters in check order, then document order)."""
    key: list[tuple[int, int]] = []
    node = body
    for depth, part in enumerate(error.absolute_path):
        if isinstance(part, int):
            position = part
        elif depth == 0:
            position = order.get(part, len(order))
        else:
            position = list(node).index(part) if isinstance(node, dict) and part in node else len(node)
        key.append((1, position))
        node = node[part] if isinstance(node, (dict, list)) else None
    key.append((0, _KEYWORD_RANK.get(str(error.validator), len(_KEYWORD_RANK))))
    return tuple(key)


# --- the API's words ----------------------------------------------------------------------------------------------

_TYPE_WORDS: Mapping[str, str] = {
    "string": "a string",
    "number": "a decimal",
    "integer": "an integer",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
_RANGES: Mapping[str, tuple[str, str, str]] = {  # keyword: (comparison, words, code part)
    "minimum": (">=", "below minimum", "below_min"),
    "exclusiveMinimum": (">", "below minimum", "below_min"),
    "maximum": ("<=", "above maximum", "above_max"),
    "exclusiveMaximum": ("<", "above maximum", "above_max"),
}


def _describe(error: ValidationError) -> Problem:
    describe = _DESCRIBERS.get(str(error.validator), _other)
    return describe(error)


def _describe_each(error: ValidationError) -> list[Problem]:
    """As `_describe`, but every missing or unknown member of an object, not only the first."""
    if error.validator == "required" and isinstance(error.instance, dict):
        names = [name for name in error.validator_value if name not in error.instance]
        where = [_param([*error.absolute_path, name]) for name in names]
        return [(f"Missing required parameter: '{w}'.", w, "missing_required_parameter") for w in where]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        where = [_param([*error.absolute_path, name]) for name in error.instance if name not in known]
        return [(f"Unknown parameter: '{w}'.", w, "unknown_parameter") for w in where]
    return [_describe(error)]


def _param(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _where(error: ValidationError) -> str:
    return _param(error.absolute_path)


def _listing(words: list[str], conjunction: str) -> str:
    if len(words) <= 2:
        return f" {conjunction} ".join(words)
    return f"{', '.join(words[:-1])}, {conjunction} {words[-1]}"


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else f"'{json.dumps(value)}'"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def json_kind(value: Any) -> str:
    """A JSON value's kind as the API's messages name it: `an integer`, `a decimal number`, `an object` …."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _types(schema: Any) -> list[str]:
    declared = schema.get("type", []) if isinstance(schema, dict) else []
    return [declared] if isinstance(declared, str) else list(declared)


def _expected(schema: Schema) -> str:
    if "x-expected" in schema:
        return str(schema["x-expected"])
    values = [_quoted(value) for value in schema.get("enum", []) if value is not None]
    if values:
        return "one of " + _listing(values, "or")
    words = [_TYPE_WORDS[name] for name in _types(schema) if name != "null"]
    return words[0] if len(words) == 1 else "one of " + _listing(words, "or")


def _invalid_type(error: ValidationError) -> Problem:
    where = _where(error)
    what = f"'{where}'" if where else "the request body"
    message = (
        f"Invalid type for {what}: expected {_expected(error.schema)}, but got {json_kind(error.instance)} instead."
    )
    return message, where or None, "invalid_type"


def _missing(error: ValidationError) -> Problem:
    name = next(name for name in error.validator_value if name not in error.instance)
    where = _param([*error.absolute_path, name])
    return f"Missing required parameter: '{where}'.", where, "missing_required_parameter"


def _unknown(error: ValidationError) -> Problem:
    known = error.schema.get("properties", {})
    name = next(name for name in error.instance if name not in known)
    where = _param([*error.absolute_path, name])
    return f"Unknown parameter: '{where}'.", where, "unknown_parameter"


def _invalid_value(error: ValidationError) -> Problem:
    path: Path = list(error.absolute_path)
    if error.schema.get("x-param") == "parent":  # the API names the item, not its `type`/`role`
        path = path[:-1]
    allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
    supported = _listing([_quoted(value) for value in allowed if value is not None], "and")
    where = _param(path)
    return f"Invalid value: {_quoted(error.instance)}. Supported values are: {supported}.", where, "invalid_value"


def _out_of_range(error: ValidationError) -> Problem:
    comparison, words, code_part = _RANGES[str(error.validator)]
    kind = "integer" if "integer" in _types(error.schema) else "decimal"
    where = _where(error)
    message = (
        f"Invalid '{where}': {kind} {words} value. "
        f"Expected a value {comparison} {_number(error.validator_value)}, but got {_number(error.instance)} instead."
    )
    return message, where, f"{kind}_{code_part}_value"


_LENGTHS: Mapping[str, tuple[str, str, str]] = {  # keyword: (noun, words, code)
    "maxLength": ("string", "too long", "string_above_max_length"),
    "minLength": ("string", "too short", "string_below_min_length"),
    "maxItems": ("array", "too long", "array_above_max_length"),
    "minItems": ("array", "too short", "array_below_min_length"),
}


def _bad_length(error: ValidationError) -> Problem:
    noun, words, code = _LENGTHS[str(error.validator)]
    a_noun = "an array" if noun == "array" else "a string"
    limit = "maximum" if error.validator.startswith("max") else "minimum"
    where = _where(error)
    subject = f"key in '{where}'" if "propertyNames" in error.absolute_schema_path else f"'{where}'"  # a map's key
    message = (
        f"Invalid {subject}: {noun} {words}. Expected {a_noun} with {limit} length {error.validator_value}, "
        f"but got {a_noun} with length {len(error.instance)} instead."
    )
    return message, where, code


def _too_many_properties(error: ValidationError) -> Problem:
    where = _where(error)
    message = (
        f"Invalid '{where}': too many properties. Expected an object with at most {error.validator_value} "
        f"properties, but got an object with {len(error.instance)} properties instead."
    )
    return message, where, "object_above_max_properties"


def _no_match(error: ValidationError) -> Problem:
    where = _where(error)
    message = (
        f"Invalid '{where}': string does not match pattern. "
        f"Expected a string that matches the pattern '{error.validator_value}'."
    )
    return message, where, "invalid_value"


def _other(error: ValidationError) -> Problem:
    where = _where(error)
    detail = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    return f"Invalid '{where or 'body'}': {detail}", where or None, "invalid_value"


_DESCRIBERS: Mapping[str, Callable[[ValidationError], Problem]] = {
    "type": _invalid_type,
    "required": _missing,
    "additionalProperties": _unknown,
    "enum": _invalid_value,
    "const": _invalid_value,
    "minimum": _out_of_range,
    "exclusiveMinimum": _out_of_range,
    "maximum": _out_of_range,
    "exclusiveMaximum": _out_of_range,
    "maxLength": _bad_length,
    "minLength": _bad_length,
    "maxItems": _bad_length,
    "minItems": _bad_length,
    "maxProperties": _too_many_properties,
    "pattern": _no_match,
}
