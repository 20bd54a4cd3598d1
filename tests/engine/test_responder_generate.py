"""`generate.py`: JSON that fits a JSON Schema, checked with `jsonschema` (formats included) over hypothesis-made
strict-mode schemas and a set of hand-written ones."""

from __future__ import annotations

import random
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.engine.generate import generate

FORMATS = ["email", "date", "date-time", "time", "uri", "uuid", "hostname", "ipv4", "ipv6", "duration"]
PATTERNS = [
    r"^[A-Z]{3}-\d{4}$",
    r"^\d{5}(-\d{4})?$",
    r"^[a-z0-9_]+$",
    r"^\+?[0-9 ()-]{7,15}$",
    r"^(red|green|blue)$",
    r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$",
    r"^v\d+\.\d+\.\d+$",
    r"[A-Za-z]+",
]
FIELD_NAMES = ["name", "email", "city", "count", "id", "url", "date", "price", "title", "age", "tags", "value"]


def check(schema: Any, value: Any) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(
        value
    )


def _scalars() -> st.SearchStrategy[dict[str, Any]]:
    strings = st.builds(
        lambda lo, extra: {"type": "string", "minLength": lo, "maxLength": lo + extra},
        st.integers(0, 10),
        st.integers(0, 20),
    )
    numbers = st.builds(
        lambda kind, lo, span, mult, exclusive: {
            "type": kind,
            ("exclusiveMinimum" if exclusive else "minimum"): lo,
            "maximum": lo + span + (1 if exclusive else 0),
            **({"multipleOf": mult} if mult else {}),
        },
        st.sampled_from(["integer", "number"]),
        st.integers(-1000, 1000),
        st.integers(10, 500),
        st.sampled_from([None, 2, 5, 0.5, 0.25]),
        st.booleans(),
    )
    return st.one_of(
        st.just({"type": "string"}),
        st.just({"type": "integer"}),
        st.just({"type": "number"}),
        st.just({"type": "boolean"}),
        st.just({"type": "null"}),
        st.sampled_from(FORMATS).map(lambda f: {"type": "string", "format": f}),
        st.sampled_from(PATTERNS).map(lambda p: {"type": "string", "pattern": p}),
        st.lists(st.text("abcxyz", min_size=1, max_size=5), min_size=1, max_size=4, unique=True).map(
            lambda values: {"type": "string", "enum": values}
        ),
        st.sampled_from(["fixed", 3, True]).map(lambda c: {"const": c}),
        strings,
        numbers,
    )


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    def strict_object(props: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

    return st.one_of(
        st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=5).map(strict_object),
        st.builds(
            lambda item, lo, extra: {"type": "array", "items": item, "minItems": lo, "maxItems": lo + extra},
            children,
            st.integers(0, 3),
            st.integers(0, 3),
        ),
        children.map(lambda s: {"anyOf": [s, {"type": "null"}]}),
        st.lists(children, min_size=1, max_size=3).map(lambda branches: {"anyOf": branches}),
    )


STRICT_SCHEMAS = st.recursive(_scalars(), _extend, max_leaves=12).map(
    lambda s: (
        s
        if s.get("type") == "object"
        else {"type": "object", "properties": {"value": s}, "required": ["value"], "additionalProperties": False}
    )
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(schema=STRICT_SCHEMAS, seed=st.integers(0, 2**32))
def test_generated_values_validate_against_strict_mode_schemas(schema: dict[str, Any], seed: int) -> None:
    value = generate(schema, random.Random(seed))

    check(schema, value)
    assert generate(schema, random.Random(seed)) == value  # deterministic


NODE = {
    "type": "object",
    "properties": {
        "value": {"type": "integer"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
        "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
    },
    "required": ["value", "children", "next"],
    "additionalProperties": False,
}
RECURSIVE = {"$defs": {"Node": NODE}, "$ref": "#/$defs/Node"}
ITEM = {
    "type": "object",
    "properties": {"next": {"anyOf": [{"$ref": "#/$defs/Item"}, {"type": "null"}]}},
    "required": ["next"],
    "additionalProperties": False,
}
LINKED = {
    "$defs": {"Item": ITEM},
    "type": "object",
    "properties": {"head": {"$ref": "#/$defs/Item"}},
    "required": ["head"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("schema", [RECURSIVE, LINKED], ids=["tree", "linked-list"])
@pytest.mark.parametrize("seed", range(20))
def test_recursive_references_terminate(schema: dict[str, Any], seed: int) -> None:
    check(schema, generate(schema, random.Random(seed)))


def test_field_names_give_plausible_values() -> None:
    props = {name: {"type": "string"} for name in ("email", "website_url", "birth_date", "city", "user_id", "name")}
    props |= {"count": {"type": "integer"}, "age": {"type": "integer"}}
    schema = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

    value = generate(schema, random.Random(1))

    assert re.fullmatch(r"[a-z]+\.[a-z]+@example\.com", value["email"])
    assert value["website_url"].startswith("https://")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value["birth_date"])
    assert value["city"][0].isupper() and " " in value["name"]
    assert 1 <= value["count"] <= 12 and 18 <= value["age"] <= 80
    check(schema, value)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_patterns_are_generated_from_the_regex(pattern: str) -> None:
    for seed in range(10):
        value = generate({"type": "string", "pattern": pattern}, random.Random(seed))
        assert re.search(pattern, value), value


def test_numeric_bounds_and_multiples() -> None:
    cases = [
        {"type": "integer", "minimum": 10, "maximum": 10},
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        {"type": "number", "minimum": 0.5, "maximum": 0.7, "multipleOf": 0.05},
        {"type": "integer", "minimum": -7, "multipleOf": 7, "maximum": 0},
    ]
    for schema in cases:
        for seed in range(10):
            check(schema, generate(schema, random.Random(seed)))
