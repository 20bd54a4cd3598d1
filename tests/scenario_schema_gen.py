"""Generates the output-item definitions of `mockserver/data/scenario.schema.json`: the one table of what a
scenario's `output:` item may say, which the loader (`mockserver.engine.output_items`) reads at run time.

    PYTHONPATH=$PWD python -m tests.scenario_schema_gen            # rewrite the shipped schema

The scenario-only short forms (`message` with `text`, `function_call` with mapping `arguments`, `reasoning` with
string summaries, `refusal`) are written here by hand, each with every key the official schema gives the item as the
API sends it (so a saved answer's items load). The items a scenario passes through as written (the other output
items the model makes: hosted-tool calls and their results) take their keys from the official OpenAPI `OutputItem`
member of that type, and their required keys and value schemas from the contract
(`data/response_contract.schema.json`), less the `id`, `status` and `call_id` the server adds: what loads is what
the contract accepts once sent. `tests/engine/test_scenario_schema.py` checks that the shipped file equals this
generator's output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mockserver.checks.contract_schema import _inlined
from tests.reference import REPO_ROOT, openapi_spec_path

Schema = dict[str, Any]
SCENARIO_SCHEMA = REPO_ROOT / "mockserver" / "data" / "scenario.schema.json"
CONTRACT_SCHEMA = REPO_ROOT / "mockserver" / "data" / "response_contract.schema.json"
ITEM_PREFIX = "OutputItem."  # the `$defs` name of one item type's definition is this and the type

_STATUS: Schema = {"enum": ["in_progress", "completed", "incomplete"]}
_TEMPLATE = r"|\{\{|\{%"  # an id pattern also lets a template through: its value is checked once rendered


def _prefixed(prefix: str) -> Schema:
    return {"type": "string", "pattern": "^" + re.escape(prefix) + _TEMPLATE}


_PHASE: Schema = {"enum": ["commentary", "final_answer", None]}
_TEXT_OR_LIST: Schema = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}

# The scenario-only forms; their keys must include the official schema's keys of the same type (checked in tests).
HAND_WRITTEN: dict[str, Schema] = {
    "message": {
        "description": "{type: message, text, annotations?, phase?} or, as the API sends it, a `content` list.",
        "properties": {
            "id": _prefixed("msg_"),
            "status": _STATUS,
            "role": {"const": "assistant"},
            "phase": _PHASE,
            "text": {"type": "string"},
            "annotations": {"type": "array", "items": {"$ref": "#/$defs/Annotation"}},
            "content": {"type": "array", "items": {"$ref": "#/$defs/ContentPart"}},
        },
        "anyOf": [{"required": ["text"]}, {"required": ["content"]}],
    },
    "function_call": {
        "description": "A call of a function tool; `arguments` a mapping or a JSON string, `call_id` made if absent.",
        "required": ["name"],
        "properties": {
            "id": _prefixed("fc_"),
            "status": _STATUS,
            "call_id": _prefixed("call_"),
            "name": {"type": "string", "minLength": 1},
            "arguments": {"type": ["object", "array", "string"]},
            "namespace": {"type": "string"},
            "caller": {},
        },
    },
    "reasoning": {
        "description": "A reasoning item: `summary` a string, a list of strings or of {type: summary_text, text}.",
        "properties": {
            "id": _prefixed("rs_"),
            "status": _STATUS,
            "summary": {
                "anyOf": [
                    {"type": "string"},
                    {
                        "type": "array",
                        "items": {
                            "anyOf": [
                                {"type": "string"},
                                {
                                    "type": "object",
                                    "required": ["type", "text"],
                                    "properties": {"type": {"const": "summary_text"}, "text": {"type": "string"}},
                                    "additionalProperties": False,
                                },
                            ]
                        },
                    },
                ]
            },
            "content": {"type": "array", "items": {"type": "object"}},
            "encrypted_content": {"type": ["string", "null"]},
        },
    },
    "refusal": {
        "description": "Short for a message whose only part is a refusal.",
        "required": ["refusal"],
        "properties": {"refusal": {"type": "string"}},
    },
}

CONTENT_PART: Schema = {
    "description": "A string (output text), {type: output_text, text, annotations?} or {type: refusal, refusal}.",
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "required": ["text"],
            "properties": {
                "type": {"const": "output_text"},
                "text": {"type": "string"},
                "annotations": {"type": "array", "items": {"$ref": "#/$defs/Annotation"}},
                "logprobs": {"type": "array"},
            },
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["type", "refusal"],
            "properties": {"type": {"const": "refusal"}, "refusal": {"type": "string"}},
            "additionalProperties": False,
        },
    ],
}


# Items of the official OutputItem union that the client writes (its answers to calls), never the model.
CLIENT_ITEMS = (
    "function_call_output",
    "custom_tool_call_output",
    "computer_call_output",
    "local_shell_call_output",
    "shell_call_output",
    "apply_patch_call_output",
    "mcp_approval_response",
)
# What the server adds to an item sent as written, when the item's type has the key (see render.py).
FILLED_BY_SERVER = ("id", "status", "call_id")


def pass_through_types(openapi: Schema) -> list[str]:
    """The item types a scenario may write as the API sends them: the official output items the model makes,
    besides the hand-written ones."""
    return [kind for kind in official_item_keys(openapi) if kind not in (*HAND_WRITTEN, *CLIENT_ITEMS)]


def official_item_keys(openapi: Schema) -> dict[str, list[str]]:
    """Each `OutputItem` type of the official schema and the keys it declares (its `allOf` members included)."""
    components: Schema = openapi["components"]["schemas"]

    def resolved(node: Schema) -> Schema:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[1]]
        return node

    def properties(node: Schema) -> dict[str, Any]:
        node = resolved(node)
        found: dict[str, Any] = {}
        for member in node.get("allOf", ()):
            found.update(properties(member))
        found.update(node.get("properties", {}))
        return found

    keys: dict[str, list[str]] = {}
    for member in openapi["components"]["schemas"]["OutputItem"]["oneOf"]:
        declared = properties(member)
        tag = declared["type"]
        kind = tag.get("const") or tag.get("default") or tag["enum"][0]
        keys[kind] = sorted(declared)
    return keys


def _standard(node: Any) -> Any:
    """A contract schema in standard keywords only: `x-prefix: P` becomes a pattern, `x-dispatch` is dropped (the
    `tagged` object beside it still asks for a `type`)."""
    if isinstance(node, list):
        return [_standard(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _standard(value) for key, value in node.items() if not key.startswith("x-")}
    if "x-prefix" in node:
        converted["pattern"] = _prefixed(node["x-prefix"])["pattern"]
    return converted


def pass_through_definition(kind: str, official_keys: list[str], contract: Schema) -> Schema:
    branch = _standard(_inlined(contract["dispatch"]["item"]["types"][kind], contract))
    given = branch.get("properties", {})
    properties: Schema = {"type": {"const": kind}}
    properties.update({key: given.get(key, {}) for key in official_keys if key != "type"})
    definition: Schema = {
        "description": f"Sent as written (the server adds id, status, call_id); keys from the official {kind}.",
        "type": "object",
        "required": [key for key in branch.get("required", ()) if key not in ("type", *FILLED_BY_SERVER)],
        "properties": properties,
        "additionalProperties": False,
    }
    if not definition["required"]:
        del definition["required"]
    return definition


def hand_written_definition(kind: str) -> Schema:
    written = HAND_WRITTEN[kind]
    definition: Schema = {"description": written["description"], "type": "object"}
    if "required" in written:
        definition["required"] = written["required"]
    definition["properties"] = {"type": {"const": kind}, **written["properties"]}
    definition["additionalProperties"] = False
    if "anyOf" in written:
        definition["anyOf"] = written["anyOf"]
    return definition


def annotation_definition(contract: Schema) -> Schema:
    types = contract["dispatch"]["annotation"]["types"]
    return {
        "description": "An annotation as the API sends it (url_citation, file_citation, …).",
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(types)}},
        "allOf": [
            {
                "if": {"properties": {"type": {"const": kind}}},
                "then": {**_standard(_inlined(branch, contract)), "type": "object"},
            }
            for kind, branch in types.items()
        ],
    }


def output_item_definitions(openapi: Schema, contract: Schema) -> dict[str, Schema]:
    """The `$defs` entries for output items: the dispatcher `OutputItem`, one `OutputItem.<type>` per type, the
    content parts and annotations they use."""
    official = official_item_keys(openapi)
    definitions: dict[str, Schema] = {}
    for kind in HAND_WRITTEN:
        definitions[ITEM_PREFIX + kind] = hand_written_definition(kind)
    for kind in pass_through_types(openapi):
        definitions[ITEM_PREFIX + kind] = pass_through_definition(kind, official[kind], contract)
    kinds = [*HAND_WRITTEN, *pass_through_types(openapi)]
    dispatcher: Schema = {
        "description": "An output item; `type` picks its definition, and unknown types and keys are refused.",
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": kinds}},
        "allOf": [
            {"if": {"properties": {"type": {"const": kind}}}, "then": {"$ref": f"#/$defs/{ITEM_PREFIX}{kind}"}}
            for kind in kinds
        ],
    }
    return {
        "OutputItem": dispatcher,
        **definitions,
        "ContentPart": CONTENT_PART,
        "Annotation": annotation_definition(contract),
    }


def generated_schema(openapi: Schema) -> Schema:
    """The shipped scenario schema with its output-item definitions made anew (the rest kept as written)."""
    return json.loads(generated_text(openapi))  # type: ignore[no-any-return]


def generated_text(openapi: Schema) -> str:
    """The shipped file's text with the output-item definitions (from `"OutputItem"` up to `"Duration"`) written
    anew, one definition a line; the rest of the file is kept as it is written."""
    text = SCENARIO_SCHEMA.read_text(encoding="utf-8")
    contract: Schema = json.loads(CONTRACT_SCHEMA.read_text(encoding="utf-8"))
    start, end = text.index('    "OutputItem": {'), text.index('    "Duration": {')
    lines = [
        f"    {json.dumps(name)}: {json.dumps(value, ensure_ascii=False)},\n"
        for name, value in output_item_definitions(openapi, contract).items()
    ]
    return text[:start] + "".join(lines) + text[end:]


def main() -> None:
    openapi: Schema = json.loads(Path(openapi_spec_path()).read_text(encoding="utf-8"))
    SCENARIO_SCHEMA.write_text(generated_text(openapi), encoding="utf-8")


if __name__ == "__main__":
    main()
