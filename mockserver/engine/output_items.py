"""What an item of a scenario's `output:` list may say: its type, its keys and their values.

The definitions are those of the scenario JSON Schema (`data/scenario.schema.json`, `$defs/OutputItem.<type>`, which
`mockserver schema` prints), so the loader and an editor's schema check cannot disagree. The hosted-tool items a
scenario passes through take their keys from the official schema and their rules from the contract (see
`tests/scenario_schema_gen.py`, which writes those definitions). An unknown type or key is refused with the nearest
known one ("did you mean …"), as unknown match keys are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import (  # type: ignore[import-untyped, unused-ignore]  # no stubs in the test extras
    Draft202012Validator,
    ValidationError,
)
from jsonschema.exceptions import best_match  # type: ignore[import-untyped, unused-ignore]

from ..core.errors import InvalidSpec, unknown_key_message
from ..core.types import JSON, Where
from .templates import LOAD_TIME_PLACEHOLDER

_ITEM_PREFIX = "OutputItem."
_PART_KEYS = {"output_text": ("type", "text", "annotations", "logprobs"), "refusal": ("type", "refusal")}


@cache
def _definitions() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (files("mockserver") / "data" / "scenario.schema.json").read_text(encoding="utf-8")
    )
    definitions: dict[str, Any] = schema["$defs"]
    return definitions


@cache
def item_types() -> tuple[str, ...]:
    """The output item types a scenario may write, in the schema's order."""
    return tuple(_definitions()["OutputItem"]["properties"]["type"]["enum"])


@cache
def item_keys(kind: str) -> tuple[str, ...]:
    """The keys an output item of type `kind` may have (`type` among them)."""
    return tuple(_definitions()[_ITEM_PREFIX + kind]["properties"])


@cache
def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/$defs/{_ITEM_PREFIX}{kind}", "$defs": _definitions()})


def check_item_keys(raw: JSON, where: Where) -> tuple[str, Mapping[str, JSON]]:
    """The item's type and the item, once its type and keys (and its content parts' keys) are known ones."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
        raise InvalidSpec(where, "each output item needs a 'type' (message, function_call, reasoning, refusal, …)")
    kind: str = raw["type"]
    if kind not in item_types():
        raise InvalidSpec((*where, "type"), unknown_key_message("output item type", kind, item_types()))
    _check_keys(raw, where, f"{kind} key", item_keys(kind))
    content = raw.get("content") if kind == "message" else None
    for index, part in enumerate(content if isinstance(content, list) else ()):
        part_type = part.get("type", "output_text") if isinstance(part, Mapping) else None
        if isinstance(part_type, str) and part_type in _PART_KEYS:
            _check_keys(part, (*where, "content", index), f"{part_type} part key", _PART_KEYS[part_type])
    return kind, raw


def check_item_values(raw: Mapping[str, JSON], where: Where) -> None:
    """Refuse an item (known type and keys) whose values break its definition: the first problem, at its path."""
    errors = _validator(str(raw["type"])).iter_errors(raw)
    # A template's value is known only when it is rendered (and checked again); at load it stands as a placeholder.
    error: ValidationError | None = best_match(e for e in errors if e.instance != LOAD_TIME_PLACEHOLDER)
    if error is not None:
        path = tuple(error.absolute_path)
        subject = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
        subject = f"'{subject}'" if path else f"a {raw['type']} item"
        raise InvalidSpec((*where, *path), f"{subject}: {_short(error.message)}")


def _check_keys(raw: Mapping[str, JSON], where: Where, noun: str, known: tuple[str, ...]) -> None:
    unknown = [key for key in raw if key not in known]
    if unknown:
        raise InvalidSpec((*where, unknown[0]), unknown_key_message(noun, str(unknown[0]), known))


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
