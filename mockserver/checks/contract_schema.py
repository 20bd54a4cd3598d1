"""The schema half of the contract: one document (a Response, an error body, an event) against
`data/response_contract.schema.json`, one problem per path, after `KNOWN_DRIFT`. Validators are compiled once, on first
use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import fastjsonschema
from jsonschema import (  # type: ignore[import-untyped, unused-ignore]  # no stubs in the test extras
    Draft202012Validator,
    ValidationError,
    validators,
)
from jsonschema.protocols import Validator  # type: ignore[import-untyped, unused-ignore]

from ..core.validation import json_kind
from .contract_drift import ABSENT, SCHEMA_DRIFT, JSONPath, SchemaIssue

Schema = dict[str, Any]
Keyword = Callable[[Validator, Any, Any, Any], Iterator[ValidationError]]

Problem = tuple[str, str]  # path, message

LIFECYCLE_STATUS = {
    "response.queued": "queued",
    "response.in_progress": "in_progress",
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
}


# --- schema checks ------------------------------------------------------------------------------------------------

_SCHEMA_FILE = "response_contract.schema.json"
_DOCUMENT_SCHEMAS = {"response": "response", "error body": "error_body"}  # any other document is an event
_KEYWORD_RANK = {"type": 0, "required": 1, "x-dispatch": 2, "const": 3, "enum": 3, "x-prefix": 4}
_LIFECYCLE_EVENTS = frozenset({"response.created", *LIFECYCLE_STATUS})


@dataclass(frozen=True)
class _Contract:
    validators: Mapping[str, Validator]  # "response", "error_body", "event"
    event_schemas: Mapping[str, Schema]  # each event type's own schema, references inlined


def schema_problems(document: str, instance: object) -> list[Problem]:
    """The findings of one document against its schema, after the allow-list: (path, message), one per path."""
    fast_check = fast_event_check(document)
    if fast_check is not None and fast_check(instance):
        return []
    validator = _contract().validators[_DOCUMENT_SCHEMAS.get(document, "event")]
    if validator.is_valid(instance):
        return []
    best: dict[str, tuple[int, str]] = {}
    for error in validator.iter_errors(instance):
        issue = _issue(document, instance, error)
        if any(excuses(issue) for excuses in SCHEMA_DRIFT):
            continue
        path = _path_text(issue.path)
        rank = _KEYWORD_RANK.get(issue.keyword, len(_KEYWORD_RANK))
        if path not in best or rank < best[path][0]:
            best[path] = (rank, _message(issue, error))
    return [(path, message) for path, (_, message) in best.items()]


def _issue(document: str, instance: object, error: ValidationError) -> SchemaIssue:
    path: JSONPath = tuple(error.absolute_path)
    holder = _lookup(instance, path[:-1]) if path else None
    response: Mapping[str, Any] | None = None
    response_path: JSONPath | None = None
    if document == "response" and isinstance(instance, Mapping):
        response, response_path = instance, path
    elif document in _LIFECYCLE_EVENTS and path[:1] == ("response",) and isinstance(instance, Mapping):
        found = instance.get("response")
        response, response_path = (found, path[1:]) if isinstance(found, Mapping) else (None, None)
    return SchemaIssue(document, path, str(error.validator), _lookup(instance, path), holder, response, response_path)


def _lookup(instance: object, path: JSONPath) -> object:
    node = instance
    for part in path:
        if isinstance(node, Mapping) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return ABSENT
    return node


def _path_text(path: JSONPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _message(issue: SchemaIssue, error: ValidationError) -> str:
    keyword, value, expected = issue.keyword, issue.value, error.validator_value
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        return f"expected {' or '.join(_TYPE_WORDS.get(name, name) for name in names)}, got {json_kind(value)}"
    if keyword == "required":
        return f"the required key {issue.path[-1]!r} is missing"
    if keyword == "enum":
        options = [show(option) for option in expected]
        listed = ", ".join(options[:6]) + (f" or {len(options) - 6} more" if len(options) > 6 else "")
        return f"{show(value)} is not one of {listed}"
    if keyword == "const":
        return f"expected {show(expected)}, got {show(value)}"
    if keyword == "minimum":
        return f"expected a value >= {expected}, got {show(value)}"
    return str(error.message) if len(error.message) <= 160 else error.message[:157] + "..."


def show(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr) if value is not ABSENT else "nothing"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- compiling the schemas (once) ---------------------------------------------------------------------------------


@cache
def _contract() -> _Contract:
    root: Schema = json.loads((files("mockserver") / "data" / _SCHEMA_FILE).read_text(encoding="utf-8"))
    groups = {
        name: {"noun": group["noun"], "types": {tag: _inlined(branch, root) for tag, branch in group["types"].items()}}
        for name, group in root["dispatch"].items()
    }
    keywords = {"required": _required, "x-dispatch": _dispatch_keyword(groups), "x-prefix": _prefix}
    validator_class = validators.extend(Draft202012Validator, keywords)
    documents = {name: validator_class(_inlined(schema, root)) for name, schema in root["documents"].items()}
    return _Contract(documents, groups["event"]["types"])


@cache
def fast_event_check(event_type: str) -> Callable[[object], bool] | None:
    """A generated validator (fastjsonschema: ~1 µs instead of ~70) for an event type whose schema uses only standard
    keywords (deltas, dones: most of a stream); None for the others, which the detailed validator judges alone.
    Only its "valid" is trusted: an event it rejects is judged again by the detailed validator."""
    schema = _contract().event_schemas.get(event_type)
    if schema is None or _uses_own_keywords(schema):
        return None
    check = fastjsonschema.compile(schema)

    def is_valid(instance: object) -> bool:
        try:
            check(instance)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return is_valid


def _uses_own_keywords(node: Any) -> bool:
    if isinstance(node, list):
        return any(_uses_own_keywords(item) for item in node)
    if not isinstance(node, dict):
        return False
    return any(key.startswith("x-") or _uses_own_keywords(value) for key, value in node.items())


def _inlined(node: Any, root: Schema) -> Any:
    """The schema with every local `$ref` replaced by its target and `allOf` members merged into their parent where
    nothing collides: the same verdicts with fewer levels to descend (the schema has no recursion)."""
    if isinstance(node, list):
        return [_inlined(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    merged = {key: _inlined(value, root) for key, value in node.items() if key not in ("$ref", "allOf")}
    members = [_inlined(_target(root, node["$ref"]), root)] if "$ref" in node else []
    members += [_inlined(member, root) for member in node.get("allOf", ())]
    for member in members:
        merged = _merge(merged, member)
    return merged


def _target(root: Schema, ref: str) -> Any:
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _merge(schema: Schema, member: Schema) -> Schema:
    """`schema` and `member` both applying, as one schema (an `allOf` entry where their keywords differ)."""
    clashes = [key for key in member if key in schema and schema[key] != member[key]]
    if any(key not in ("required", "properties") for key in clashes):
        return {**schema, "allOf": [*schema.get("allOf", ()), member]}
    merged = {**member, **schema}
    if "required" in clashes:
        merged["required"] = list(dict.fromkeys([*member["required"], *schema["required"]]))
    if "properties" in clashes:
        properties = dict(member["properties"])
        for name, sub in schema["properties"].items():
            properties[name] = {"allOf": [properties[name], sub]} if name in properties else sub
        merged["properties"] = properties
    return merged


def _required(validator: Validator, required: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """One error per missing member, at the member's own path."""
    if isinstance(instance, dict):
        for name in required:
            if name not in instance:
                yield ValidationError(f"the required key {name!r} is missing", path=[name])


def _dispatch_keyword(groups: Mapping[str, Any]) -> Keyword:
    def dispatch(validator: Validator, group: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        tag = instance.get("type") if isinstance(instance, dict) else None
        if not isinstance(tag, str):
            return  # `type` missing or not a string: the schema beside this keyword says so
        branch = groups[group]["types"].get(tag)
        if branch is None:
            noun = groups[group]["noun"]
            yield ValidationError(f"unknown {noun} type {show(tag)}", path=["type"], instance=tag)
        else:
            yield from validator.descend(instance, branch)

    return dispatch


def _prefix(validator: Validator, prefix: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not instance.startswith(prefix):
        yield ValidationError(f"expected an id starting with {prefix!r}, got {show(instance)}")
