"""Our hand-written request schema (mockserver/data/create_response.schema.json) agrees with the official OpenAPI one.

The official file is read through `tests.reference.openapi_spec()` (a copy in `tests/reference_data/`). Every difference
our schema makes on purpose is listed below with its reason; anything else that differs fails a test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from mockserver.core.validation import request_schema, validate_create_request
from tests.reference import openapi_spec

SDK_ONLY = {"access_programs", "background_options", "image"}  # SDK 3.57 sends them; the spec lacks them
SCALAR_TYPES = {"string", "number", "integer", "boolean", "null"}
# Scalars where we differ from the spec on purpose.
SCALAR_DIFFERENCES = {
    # The spec's allOf declares it twice, integer|null (ModelResponseProperties) and integer
    # (CreateModelResponseProperties), which together forbid null; the SDK sends None as null, so null is accepted.
    "top_logprobs": "null accepted",
}
# Required members (besides `type`) where we differ from the spec on purpose.
REQUIRED_DIFFERENCES = {
    ("tool", "function"): "strict is optional: real clients omit it",
    ("item", "local_shell_call_output"): "the spec requires call_id without declaring it; the SDK type has none",
    ("item", "mcp_approval_response"): "the spec requires an undeclared request_id; the SDK type has none",
}


# --- reading either schema ----------------------------------------------------------------------------------------


def official() -> dict[str, Any]:
    schemas: dict[str, Any] = openapi_spec()["components"]["schemas"]
    return schemas


def ours() -> dict[str, Any]:
    return request_schema("openai")


class Reader:
    """Follows `$ref`s in one document: `#/components/schemas/X` (official) or `#/$defs/X` (ours)."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.root
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    def branches(self, node: Any) -> Iterator[Any]:
        """The alternatives of a union (anyOf/oneOf), flattened; a plain schema is its own one branch."""
        node = self.resolve(node)
        union = node.get("anyOf") or node.get("oneOf") if isinstance(node, dict) else None
        if not union:
            yield node
            return
        for branch in union:
            yield from self.branches(branch)

    def properties(self, node: Any) -> dict[str, list[Any]]:
        """Every property of an object schema, through allOf; a property declared twice keeps both schemas."""
        node = self.resolve(node)
        found: dict[str, list[Any]] = {}
        for part in node.get("allOf", []):
            for name, specs in self.properties(part).items():
                found.setdefault(name, []).extend(specs)
        for name, spec in node.get("properties", {}).items():
            found.setdefault(name, []).append(spec)
        return found

    def type_values(self, node: Any) -> set[str]:
        """The `type` discriminator values of a union of object schemas."""
        values: set[str] = set()
        for branch in self.branches(node):
            if isinstance(branch, dict) and ("oneOf" in branch or "anyOf" in branch):
                values |= self.type_values(branch)
                continue
            spec = self.resolve(branch).get("properties", {}).get("type", {})
            for option in self.branches(spec):
                values |= {value for value in option.get("enum", [option.get("const")]) if isinstance(value, str)}
        return values


@dataclass(frozen=True)
class Scalar:
    types: frozenset[str]
    enum: frozenset[Any] | None  # None: any value of the types
    bounds: tuple[tuple[str, Any], ...]


BOUND_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern")


def scalar(reader: Reader, specs: list[Any]) -> Scalar:
    """Types, enum and bounds of a property; several declarations (allOf) intersect their types."""
    types: set[str] | None = None
    enum: set[Any] | None = set()
    bounds: dict[str, Any] = {}
    for spec in specs:
        declared: set[str] = set()
        for branch in reader.branches(spec):
            kinds = branch.get("type", [])
            kinds = {kinds} if isinstance(kinds, str) else set(kinds)
            declared |= kinds
            values = [value for value in branch.get("enum", []) if value is not None]
            if kinds - {"null"}:
                enum = None if enum is None or not values else enum | set(values)
            bounds |= {key: branch[key] for key in BOUND_KEYWORDS if key in branch}
        types = declared if types is None else types & declared
    return Scalar(frozenset(types or ()), None if enum is None else frozenset(enum), tuple(sorted(bounds.items())))


def official_reader() -> Reader:
    return Reader({"components": {"schemas": official()}})


def our_reader() -> Reader:
    return Reader(ours())


# --- top-level parameters -----------------------------------------------------------------------------------------


def test_top_level_parameters_are_the_specs_plus_the_sdk_extras():
    theirs = set(official_reader().properties({"$ref": "#/components/schemas/CreateResponse"}))
    mine = set(ours()["properties"])
    assert mine - SDK_ONLY == theirs
    assert SDK_ONLY <= mine
    assert ours()["additionalProperties"] is False


def shared_scalars() -> list[str]:
    reader = official_reader()
    props = reader.properties({"$ref": "#/components/schemas/CreateResponse"})
    return sorted(name for name, specs in props.items() if scalar(reader, specs).types <= SCALAR_TYPES)


def test_the_scalar_parameters_are_the_expected_ones():
    assert set(shared_scalars()) == {
        "background", "instructions", "max_output_tokens", "max_tool_calls", "model", "parallel_tool_calls",
        "previous_response_id", "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "service_tier",
        "store", "stream", "temperature", "top_logprobs", "top_p", "truncation", "user",
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCALAR_DIFFERENCES) + ["<all others>"])
def test_scalar_parameters_agree_in_type_enum_and_bounds(name):
    official_props = official_reader().properties({"$ref": "#/components/schemas/CreateResponse"})
    names = [name] if name in SCALAR_DIFFERENCES else [n for n in shared_scalars() if n not in SCALAR_DIFFERENCES]
    for field in names:
        theirs = scalar(official_reader(), official_props[field])
        mine = scalar(our_reader(), [ours()["properties"][field]])
        if field == "top_logprobs":
            theirs = Scalar(theirs.types | {"null"}, theirs.enum, theirs.bounds)
        assert mine == theirs, field


def test_every_nullable_parameter_of_the_spec_is_nullable_here():
    official_props = official_reader().properties({"$ref": "#/components/schemas/CreateResponse"})
    for field, specs in official_props.items():
        if any("null" in {branch.get("type") for branch in official_reader().branches(spec)} for spec in specs):
            assert "null" in scalar(our_reader(), [ours()["properties"][field]]).types, field


# --- unions -------------------------------------------------------------------------------------------------------


def test_tool_types_agree():
    assert our_reader().type_values({"$ref": "#/$defs/Tool"}) == official_reader().type_values(
        {"$ref": "#/components/schemas/Tool"}
    )


def test_input_item_types_agree():
    mine = {value for value in ours()["$defs"]["InputItem"]["properties"]["type"]["enum"] if value is not None}
    assert mine == official_reader().type_values({"$ref": "#/components/schemas/InputItem"})
    assert len(mine) == 30


def test_content_part_types_agree():
    theirs = official_reader()
    assert our_reader().type_values({"$ref": "#/$defs/InputContentPart"}) == theirs.type_values(
        {"$ref": "#/components/schemas/InputContent"}
    )
    assert our_reader().type_values({"$ref": "#/$defs/OutputContentPart"}) == theirs.type_values(
        {"$ref": "#/components/schemas/OutputMessageContent"}
    )


def test_include_values_agree():
    assert set(ours()["$defs"]["IncludeEnum"]["enum"]) == set(official()["IncludeEnum"]["enum"])


def test_tool_choice_options_agree():
    choice = ours()["$defs"]["ToolChoice"]
    assert set(choice["then"]["enum"]) == set(official()["ToolChoiceOptions"]["enum"])
    object_forms = {"$ref": "#/components/schemas/ToolChoiceParam"}
    assert set(choice["else"]["properties"]["type"]["enum"]) == official_reader().type_values(object_forms)


def test_text_format_types_agree():
    assert our_reader().type_values({"$ref": "#/$defs/TextFormat"}) == official_reader().type_values(
        {"$ref": "#/components/schemas/TextResponseFormatConfiguration"}
    )


@pytest.mark.parametrize(
    ("ours_path", "official_name", "member"),
    [
        ("Reasoning", "Reasoning", "effort"),
        ("Reasoning", "Reasoning", "summary"),
        ("Reasoning", "Reasoning", "generate_summary"),
        ("Reasoning", "Reasoning", "context"),
    ],
)
def test_reasoning_enums_agree(ours_path, official_name, member):
    mine = scalar(our_reader(), [ours()["$defs"][ours_path]["properties"][member]])
    theirs = scalar(
        official_reader(), official_reader().properties({"$ref": f"#/components/schemas/{official_name}"})[member]
    )
    assert mine == theirs


# --- required members of each kind of item and tool ---------------------------------------------------------------


def official_required(union: str) -> dict[str, set[str]]:
    """type value -> members every official shape of that type requires (besides `type`)."""
    reader = official_reader()
    required: dict[str, set[str]] = {}

    def visit(node: Any) -> None:
        for branch in reader.branches(node):
            if "oneOf" in branch or "anyOf" in branch:
                visit(branch)
                continue
            members = set(branch.get("required", [])) - {"type"}
            for value in reader.type_values(branch):
                required[value] = required[value] & members if value in required else members

    visit({"$ref": f"#/components/schemas/{union}"})
    return required


def our_required(union: str) -> dict[str, set[str]]:
    """type value -> members our dispatch requires for it (besides `type`)."""
    reader = our_reader()
    union_schema = ours()["$defs"][union]
    required: dict[str, set[str]] = {}
    for entry in union_schema["allOf"]:
        condition = reader.resolve(entry["if"])
        accepts = condition.get("properties", {}).get("type", {})
        branch = reader.resolve(entry["then"])
        for value in accepts.get("enum", [accepts.get("const")]):  # nothing for `is/untyped`
            if isinstance(value, str):
                required[value] = set(branch.get("required", [])) - {"type"}
    for value in reader.type_values({"$ref": f"#/$defs/{union}"}) - set(required):
        required[value] = set()  # no member required
    return required


@pytest.mark.parametrize(
    ("kind", "ours_union", "official_union"), [("tool", "Tool", "Tool"), ("item", "InputItem", "InputItem")]
)
def test_required_members_agree(kind, ours_union, official_union):
    theirs = official_required(official_union)
    mine = our_required(ours_union)
    assert set(mine) == set(theirs)
    differing = {value for value in theirs if mine[value] != theirs[value]}
    assert differing == {value for (k, value) in REQUIRED_DIFFERENCES if k == kind}, {
        v: (mine[v], theirs[v]) for v in differing
    }


# --- sample bodies are valid under both ---------------------------------------------------------------------------

SAMPLES = [
    {"model": "gpt-4.1", "input": "hi"},
    {
        "model": "gpt-4.1",
        "input": "What is the weather in Paris?",
        "instructions": "Be brief.",
        "temperature": 0.7,
        "top_p": 1,
        "max_output_tokens": 256,
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Get the weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                "strict": False,
            }
        ],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "metadata": {"run": "1"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low", "summary": "auto"},
        "truncation": "auto",
        "service_tier": "flex",
    },
    {
        "model": "gpt-4.1",
        "input": [
            {"role": "user", "content": "What is the weather in Paris?"},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": '{"temp":21}'},
            {"type": "item_reference", "id": "msg_0"},
        ],
        "previous_response_id": "resp_1",
        "text": {
            "format": {"type": "json_schema", "name": "weather", "schema": {"type": "object"}, "strict": True},
            "verbosity": "low",
        },
        "stream": True,
        "stream_options": {"include_obfuscation": False},
    },
    {
        "prompt": {"id": "pmpt_1", "variables": {"city": "Paris"}},
        "conversation": "conv_1",
        "tools": [{"type": "web_search"}],
    },
]


def official_validator() -> Any:
    document = {"components": {"schemas": official()}}
    registry = Registry().with_resource("urn:openapi", DRAFT202012.create_resource(document))
    return Draft202012Validator({"$ref": "urn:openapi#/components/schemas/CreateResponse"}, registry=registry)


@pytest.mark.parametrize("sample", SAMPLES, ids=range(len(SAMPLES)))
def test_sample_bodies_are_valid_under_both_schemas(sample):
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in official_validator().iter_errors(sample)]
    assert errors == []
    validate_create_request(sample)
    assert Draft202012Validator(ours()).is_valid(sample)
