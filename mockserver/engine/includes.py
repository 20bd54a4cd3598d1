"""Response bodies kept in their own files (`response: {file: responses/weather.yaml}`), like WireMock's `__files`.

The file is YAML or JSON and holds a `response` block, a list of output items, or a whole Response object as the
API sent it (its output, status, usage and model are replayed; ids and timestamps are made anew). A relative path is
read from the scenario file's folder, then from the working directory. Either way the file, symbolic links followed,
must lie inside the including file's folder tree or the working directory's: a scenario file cannot read what lies
outside them (`../../etc/passwd`, an absolute path elsewhere, a link pointing out).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..core.errors import InvalidSpec, ScenarioFileError
from ..core.types import JSON, JSONObject, Where
from ..core.yamlfile import YamlDocument, check_file_size, load_yaml
from .reasoning import NO_REASONING, answered_without_reasoning


def resolve(name: str, base_dir: Path, where: Where) -> Path:
    """The file `name` names, if it lies inside `base_dir`'s tree or the working directory's."""
    roots = (base_dir.resolve(), Path.cwd().resolve())
    for candidate in (base_dir / name, Path(name)):
        if candidate.is_file():
            if not any(candidate.resolve().is_relative_to(root) for root in roots):
                raise InvalidSpec(
                    where,
                    f"file {name!r} is outside the scenario file's folder ({base_dir}) and the working directory: "
                    "a response file must lie inside one of them (symbolic links followed)",
                )
            return candidate
    raise InvalidSpec(where, f"file {name!r} not found (looked in {base_dir} and in the working directory)")


def load_response_file(name: JSON, base_dir: Path, where: Where) -> tuple[JSONObject, YamlDocument]:
    """The `response` block a file holds, and the document (for errors that point into it)."""
    if not isinstance(name, str) or not name:
        raise InvalidSpec(where, "file takes a path to a YAML or JSON file")
    path = resolve(name, base_dir, where)
    try:
        check_file_size(path.stat().st_size, str(path))
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(str(path), None, f"cannot read the file: {exc}") from None
    document = load_yaml(text, str(path))
    data = document.data
    if isinstance(data, list):
        return {"output": data}, document
    if isinstance(data, Mapping) and data.get("object") == "response":
        return response_body_to_spec(data), document
    if isinstance(data, Mapping):
        return dict(data), document
    raise document.error((), "a response file holds a response block, a list of output items or a Response object")


def response_body_to_spec(body: Mapping[str, JSON]) -> JSONObject:
    """A Response object (as the API sends it) as a `response` block that replays it."""
    spec: JSONObject = {"output": [_item_spec(item) for item in body.get("output") or () if isinstance(item, dict)]}
    status = body.get("status")
    if status == "incomplete":
        details = body.get("incomplete_details")
        spec["incomplete"] = (
            details.get("reason", "max_output_tokens") if isinstance(details, dict) else "max_output_tokens"
        )
    elif status == "failed" and isinstance(body.get("error"), dict):
        spec["failed"] = dict(body["error"])
    usage = body.get("usage")
    if isinstance(usage, dict):
        spec["usage"] = {
            "input_tokens": usage.get("input_tokens", 0),
            "output_tokens": usage.get("output_tokens", 0),
            "reasoning_tokens": (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0),
            "cached_tokens": (usage.get("input_tokens_details") or {}).get("cached_tokens", 0),
        }
    if answered_without_reasoning(body):
        spec["reasoning"] = NO_REASONING
    if isinstance(body.get("model"), str):
        spec["model"] = body["model"]
    return spec


def _item_spec(item: JSONObject) -> JSONObject:
    kind = item.get("type")
    if kind == "message":
        spec: JSONObject = {"type": "message", "content": [_part_spec(part) for part in item.get("content") or ()]}
        if item.get("phase") is not None:
            spec["phase"] = item["phase"]
        return spec
    if kind == "function_call":
        return {"type": "function_call", "name": item.get("name"), "arguments": item.get("arguments", "{}")}
    if kind == "reasoning":
        return {"type": "reasoning", "summary": [part.get("text", "") for part in item.get("summary") or ()]}
    return {key: value for key, value in item.items() if key != "id"}  # its status kept: a failed search stays so


def _part_spec(part: JSONObject) -> JSONObject:
    if part.get("type") == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal", "")}
    return {"type": "output_text", "text": part.get("text", ""), "annotations": list(part.get("annotations") or ())}
