"""Scenario files: YAML that says which request gets which answer.

    scenarios:
      - name: greeting
        match: {input: {contains: hello}}
        response: {text: "Hello! How can I help?"}

Files are read once at start-up; any problem stops loading with the file, the line and what is wrong.
Selection: the `x-mock-scenario` header names a scenario outright; otherwise the first scenario (in file order)
whose every `match` condition holds answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from .context import RequestContext
from .errors import InvalidSpec, ScenarioFileError
from .faults import DELIVERY_KEYS, compile_delivery
from .http_errors import compile_error
from .matching import Condition, compile_match
from .replies import ModelReply, Reply, ResponseStatus
from .types import JSON, JSONObject, Where

SCENARIO_KEYS = ("name", "description", "match", "response")
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Scenario:
    """One compiled scenario: its name, its conditions, its reply, and where it was written."""

    name: str
    conditions: tuple[Condition, ...]
    reply: Reply
    source: str
    description: str | None = None

    def matches(self, ctx: RequestContext) -> bool:
        return all(condition.holds(ctx) for condition in self.conditions)


class ScenarioSet:
    """The loaded scenarios, in file order."""

    def __init__(self, scenarios: Iterable[Scenario] = ()) -> None:
        self.scenarios: tuple[Scenario, ...] = tuple(scenarios)
        self._by_name = {scenario.name: scenario for scenario in self.scenarios}

    def __len__(self) -> int:
        return len(self.scenarios)

    def named(self, name: str) -> Scenario | None:
        return self._by_name.get(name)

    def first_match(self, ctx: RequestContext) -> Scenario | None:
        for scenario in self.scenarios:
            if scenario.matches(ctx):
                return scenario
        return None

    def models(self) -> list[str]:
        """Model names that scenarios match on exactly or answer with, for `GET /v1/models`."""
        names: list[str] = []
        for scenario in self.scenarios:
            if isinstance(scenario.reply, ModelReply) and scenario.reply.model:
                names.append(scenario.reply.model)
            for condition in scenario.conditions:
                if condition.key == "model":
                    names.extend(condition.exact_values)
        return names


# ---------------------------------------------------------------- loading


def scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """The YAML files named, folders expanded to their `*.yaml`/`*.yml` files in name order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise ScenarioFileError(str(path), None, "no such file or folder")
    return files


def load_scenarios(paths: Iterable[str | Path]) -> ScenarioSet:
    """Load every scenario of the files and folders named; names must be unique across them."""
    scenarios: list[Scenario] = []
    seen: dict[str, str] = {}
    for path in scenario_files(paths):
        for scenario in load_file(path):
            if scenario.name in seen:
                line = int(scenario.source.rsplit(":", 1)[1])
                raise ScenarioFileError(
                    str(path), line, f"scenario name {scenario.name!r} is already used at {seen[scenario.name]}"
                )
            seen[scenario.name] = scenario.source
            scenarios.append(scenario)
    return ScenarioSet(scenarios)


def load_file(path: str | Path) -> list[Scenario]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(str(path), None, f"cannot read the file: {exc}") from None
    return parse_scenarios(text, str(path))


def parse_scenarios(text: str, filename: str = "<string>") -> list[Scenario]:
    """Compile the scenarios of one YAML document; errors name `filename` and the line."""
    data, lines = _load_yaml_with_lines(text, filename)

    def fail(where: Where, problem: str) -> ScenarioFileError:
        return ScenarioFileError(filename, _line_of(lines, where), problem)

    if data is None:
        return []
    base: Where
    if isinstance(data, Mapping):
        extra = sorted(set(data) - {"scenarios"})
        if extra:
            raise fail((extra[0],), f"unknown top-level key {extra[0]!r}; a scenario file holds 'scenarios:'")
        items, base = data.get("scenarios") or [], ("scenarios",)
    else:
        items, base = data, ()
    if not isinstance(items, list):
        raise fail(base, "'scenarios' must be a list of scenarios")
    compiled = []
    for index, raw in enumerate(items):
        where: Where = (*base, index)
        try:
            compiled.append(compile_scenario(raw, where, f"{filename}:{_line_of(lines, where)}"))
        except InvalidSpec as exc:
            raise fail(exc.where, exc.problem) from None
    return compiled


def _load_yaml_with_lines(text: str, filename: str) -> tuple[JSON, dict[Where, int]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ScenarioFileError(filename, line, f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ScenarioFileError(filename, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    lines: dict[Where, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return data, lines


def _record_lines(node: yaml.Node, where: Where, lines: dict[Where, int]) -> None:
    lines[where] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*where, str(key_node.value))
            _record_lines(value_node, key, lines)
            lines[key] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _record_lines(child, (*where, index), lines)


def _line_of(lines: dict[Where, int], where: Where) -> int:
    for end in range(len(where), -1, -1):
        if where[:end] in lines:
            return lines[where[:end]]
    return 1


# ---------------------------------------------------------------- compiling one scenario


def compile_scenario(raw: JSON, where: Where, source: str) -> Scenario:
    if not isinstance(raw, Mapping):
        raise InvalidSpec(where, "each scenario must be a mapping with name, match and response")
    unknown = sorted(set(raw) - set(SCENARIO_KEYS))
    if unknown:
        raise InvalidSpec((*where, unknown[0]), f"unknown scenario key {unknown[0]!r}; use {', '.join(SCENARIO_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidSpec((*where, "name") if "name" in raw else where, "every scenario needs a non-empty 'name'")
    if "response" not in raw:
        raise InvalidSpec(where, f"scenario {name!r} has no 'response'")
    description = raw.get("description")
    return Scenario(
        name=name,
        conditions=compile_match(raw.get("match"), (*where, "match")),
        reply=compile_reply(raw["response"], (*where, "response")),
        source=source,
        description=description if isinstance(description, str) else None,
    )


_REPLY_KEYS = (
    "text",
    "refusal",
    "reasoning",
    "output",
    "error",
    "status",
    "incomplete",
    "failed",
    "usage",
    "model",
    "phase",
    *DELIVERY_KEYS,
)


def compile_reply(raw: JSON, where: Where) -> Reply:
    if isinstance(raw, str):
        raw = {"text": raw}
    if not isinstance(raw, Mapping):
        raise InvalidSpec(where, "response must be a mapping (text, output, error, …) or a string")
    unknown = sorted(set(raw) - set(_REPLY_KEYS))
    if unknown:
        raise InvalidSpec((*where, unknown[0]), f"unknown response key {unknown[0]!r}; use {', '.join(_REPLY_KEYS)}")
    delivery = compile_delivery(raw, where)
    if "error" in raw:
        others = sorted(set(raw) - {"error", *DELIVERY_KEYS})
        if others:
            raise InvalidSpec((*where, others[0]), "an 'error' response is an HTTP error and takes no other keys")
        return replace(compile_error(raw["error"], (*where, "error")), delivery=delivery)
    output = _compile_output(raw, where)
    status, incomplete_reason, failure = _compile_status(raw, where)
    usage = raw.get("usage")
    if usage is not None and not (
        isinstance(usage, Mapping) and all(isinstance(v, int) and not isinstance(v, bool) for v in usage.values())
    ):
        raise InvalidSpec((*where, "usage"), "usage takes token counts, e.g. {input_tokens: 12, output_tokens: 30}")
    model = raw.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidSpec((*where, "model"), "model takes a string")
    return ModelReply(
        output=output,
        status=status,
        incomplete_reason=incomplete_reason,
        error=failure,
        usage=dict(usage) if usage else None,
        model=model,
        delivery=delivery,
    )


def _compile_output(raw: Mapping[str, JSON], where: Where) -> tuple[JSONObject, ...]:
    shorthands = [key for key in ("text", "refusal") if key in raw]
    if "output" in raw and shorthands:
        raise InvalidSpec((*where, shorthands[0]), "give either 'output' or the short forms 'text'/'refusal', not both")
    if "output" in raw:
        if "reasoning" in raw:
            raise InvalidSpec((*where, "reasoning"), "with 'output', write the reasoning item inside the output list")
        items = raw["output"]
        if not isinstance(items, list):
            raise InvalidSpec((*where, "output"), "output must be a list of output items")
        return tuple(_compile_item(item, (*where, "output", i)) for i, item in enumerate(items))
    output: list[JSONObject] = []
    if "reasoning" in raw:
        output.append(_compile_item({"type": "reasoning", "summary": raw["reasoning"]}, (*where, "reasoning")))
    parts: list[JSONObject] = []
    if "text" in raw:
        parts.append(_text_part(raw["text"], (*where, "text")))
    if "refusal" in raw:
        parts.append(_refusal_part(raw["refusal"], (*where, "refusal")))
    if parts:
        message: JSONObject = {"type": "message", "content": parts}
        if raw.get("phase") is not None:
            message["phase"] = raw["phase"]
        output.append(message)
    return tuple(output)


def _text_part(text: JSON, where: Where, annotations: JSON = None) -> JSONObject:
    if not isinstance(text, str):
        raise InvalidSpec(where, "text must be a string")
    if annotations is not None and not (
        isinstance(annotations, list) and all(isinstance(a, dict) for a in annotations)
    ):
        raise InvalidSpec(where, "annotations must be a list of annotation objects")
    return {"type": "output_text", "text": text, "annotations": list(annotations or ())}


def _refusal_part(refusal: JSON, where: Where) -> JSONObject:
    if not isinstance(refusal, str):
        raise InvalidSpec(where, "refusal must be a string")
    return {"type": "refusal", "refusal": refusal}


def _compile_item(raw: JSON, where: Where) -> JSONObject:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
        raise InvalidSpec(where, "each output item needs a 'type' (message, function_call, reasoning, refusal, …)")
    kind = raw["type"]
    if kind == "message":
        return _compile_message(raw, where)
    if kind == "refusal":
        return {"type": "message", "content": [_refusal_part(raw.get("refusal"), (*where, "refusal"))]}
    if kind == "function_call":
        return _compile_function_call(raw, where)
    if kind == "reasoning":
        summary = raw.get("summary", [])
        summary = [summary] if isinstance(summary, str) else summary
        if not isinstance(summary, list) or not all(isinstance(text, str) for text in summary):
            raise InvalidSpec((*where, "summary"), "a reasoning summary is a string or a list of strings")
        return {"type": "reasoning", "summary": summary}
    return dict(raw)


def _compile_message(raw: Mapping[str, JSON], where: Where) -> JSONObject:
    if "text" in raw:
        parts = [_text_part(raw["text"], (*where, "text"), raw.get("annotations"))]
    elif isinstance(raw.get("content"), list):
        parts = []
        for index, part in enumerate(raw["content"]):
            part_where = (*where, "content", index)
            if isinstance(part, str):
                parts.append(_text_part(part, part_where))
            elif isinstance(part, Mapping) and part.get("type") == "refusal":
                parts.append(_refusal_part(part.get("refusal"), part_where))
            elif isinstance(part, Mapping) and part.get("type", "output_text") == "output_text":
                parts.append(_text_part(part.get("text"), part_where, part.get("annotations")))
            else:
                raise InvalidSpec(
                    part_where, "a content part is a string, {type: output_text, text} or {type: refusal}"
                )
    else:
        raise InvalidSpec(where, "a message needs 'text' or a 'content' list")
    message: JSONObject = {"type": "message", "content": parts}
    if raw.get("phase") is not None:
        message["phase"] = raw["phase"]
    return message


def _compile_function_call(raw: Mapping[str, JSON], where: Where) -> JSONObject:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidSpec(where, "a function_call needs a 'name'")
    arguments = raw.get("arguments", {})
    if isinstance(arguments, Mapping | list):
        arguments = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    elif isinstance(arguments, str):
        try:
            json.loads(arguments)
        except ValueError:
            raise InvalidSpec((*where, "arguments"), "arguments given as a string must be valid JSON") from None
    else:
        raise InvalidSpec((*where, "arguments"), "arguments is a mapping or a JSON string")
    call: JSONObject = {"type": "function_call", "name": name, "arguments": arguments}
    if raw.get("call_id") is not None:
        call["call_id"] = str(raw["call_id"])
    return call


def _compile_status(raw: Mapping[str, JSON], where: Where) -> tuple[ResponseStatus, str | None, JSONObject | None]:
    status: ResponseStatus = raw.get("status", "completed")
    if "incomplete" in raw:
        status = "incomplete"
    if "failed" in raw:
        status = "failed"
    if status not in ("completed", "incomplete", "failed"):
        raise InvalidSpec((*where, "status"), "status is completed, incomplete or failed")
    reason: str | None = None
    if status == "incomplete":
        given = raw.get("incomplete", "max_output_tokens")
        reason = given.get("reason") if isinstance(given, Mapping) else given
        if reason not in ("max_output_tokens", "content_filter"):
            raise InvalidSpec((*where, "incomplete"), "incomplete takes a reason: max_output_tokens or content_filter")
    failure: JSONObject | None = None
    if status == "failed":
        given = raw.get("failed") or {}
        if not isinstance(given, Mapping):
            raise InvalidSpec((*where, "failed"), "failed takes {code, message}")
        failure = {
            "code": given.get("code", "server_error"),
            "message": given.get("message", "The model failed to generate a response."),
        }
    return status, reason, failure
