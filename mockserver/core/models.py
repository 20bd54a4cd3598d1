"""The model catalog: which models exist, what each takes, and how it reports itself.

The facts live in `data/models.json` (loaded once), each model with the sources they come from and the fields no
official source confirmed (`lenient`: set to the choice that refuses less). A dated snapshot of a catalog model
(`gpt-4o-2024-08-06`, `gpt-4-0613`) is that model under another name: same rules, and it reports itself.

Callers: `GET /v1/models` lists `catalogue`; the responders ask `is_reasoning_model`, `context_window` and
`default_effort`; a response reports `reported_model`; `model_rules` checks requests against `model_info`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

from .types import JSONObject

Sampling = Literal["always", "effort_none", "default_only"]


@dataclass(frozen=True)
class ModelInfo:
    """One catalog model (see `data/models.json`)."""

    name: str
    family: str
    snapshot: str
    reasoning: bool
    efforts: tuple[str, ...]
    default_effort: str | None
    sampling: Sampling  # when temperature/top_p may differ from their default: always, with effort none, never
    unsupported_tools: tuple[str, ...]
    context_window: int
    max_output_tokens: int
    sources: tuple[str, ...]
    lenient: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    models: dict[str, ModelInfo]
    default_model: str
    sampling_parameters: tuple[str, ...]
    sources: dict[str, str]


@cache
def catalog() -> Catalog:
    """The catalog, read from the package data once."""
    raw = json.loads((files("mockserver") / "data" / "models.json").read_text(encoding="utf-8"))
    models = {
        name: ModelInfo(
            name=name,
            family=spec["family"],
            snapshot=spec["snapshot"],
            reasoning=spec["reasoning"],
            efforts=tuple(spec["efforts"]),
            default_effort=spec["default_effort"],
            sampling=spec["sampling"],
            unsupported_tools=tuple(spec["unsupported_tools"]),
            context_window=spec["context_window"],
            max_output_tokens=spec["max_output_tokens"],
            sources=tuple(spec["sources"]),
            lenient=tuple(spec["lenient"]),
        )
        for name, spec in raw["models"].items()
    }
    return Catalog(models, raw["default_model"], tuple(raw["sampling_parameters"]), dict(raw["sources"]))


DEFAULT_MODELS: tuple[str, ...] = tuple(catalog().models)
DEFAULT_MODEL: str = catalog().default_model
"""The model a request without `model` (one that names a stored `prompt`) is answered as."""

_DATED = re.compile(r"^(?P<base>.+?)-(?:\d{4}-\d{2}-\d{2}|(?:0[1-9]|1[0-2])\d{2})$")  # -2024-08-06, or -0613 (MMDD)


def model_info(model: str | None) -> ModelInfo | None:
    """The catalog entry of `model` or of the model it is a dated snapshot of; None for a model not in the catalog."""
    if not model:
        return None
    models = catalog().models
    if model in models:
        return models[model]
    dated = _DATED.match(model)
    return models.get(dated["base"]) if dated else None


def reported_model(model: str) -> str:
    """The name an answer carries in `model`: the dated snapshot the alias points at (`gpt-5.1` answers as
    `gpt-5.1-2025-11-13`); a snapshot or a model outside the catalog as it was asked for."""
    info = catalog().models.get(model)
    return info.snapshot if info is not None else model


_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "gpt-6", "codex")

# Context windows in tokens by model-name prefix, for models outside the catalog (a scenario's `gpt-4o-custom`):
# the longest matching prefix wins. Catalog models use their own figure.
CONTEXT_WINDOWS: dict[str, int] = {
    **{name: info.context_window for name, info in catalog().models.items()},
    "gpt-5-chat": 128_000,
    "o1-mini": 128_000,
    "codex-mini": 200_000,
}
DEFAULT_CONTEXT_WINDOW = 128_000
"""The window of a model the table does not know."""

# A fixed creation time keeps `GET /v1/models` byte-stable between runs.
_MODEL_CREATED = 1_700_000_000


def is_reasoning_model(model: str | None) -> bool:
    """Whether the model produces reasoning items (and echoes a reasoning effort); by its name for a model outside
    the catalog."""
    info = model_info(model)
    if info is not None:
        return info.reasoning
    return bool(model) and str(model).startswith(_REASONING_PREFIXES)


def default_effort(model: str | None) -> str | None:
    """The effort the model reasons with when the request names none (None for a model that does not reason);
    `medium` for a reasoning model outside the catalog."""
    info = model_info(model)
    if info is not None:
        return info.default_effort
    return "medium" if is_reasoning_model(model) else None


def context_window(model: str | None) -> int:
    """The most input tokens `model` reads: its catalog figure, else the longest prefix of it in `CONTEXT_WINDOWS`,
    else the default."""
    info = model_info(model)
    if info is not None:
        return info.context_window
    name = str(model or "")
    matches = [prefix for prefix in CONTEXT_WINDOWS if name.startswith(prefix)]
    return CONTEXT_WINDOWS[max(matches, key=len)] if matches else DEFAULT_CONTEXT_WINDOW


def model_object(model_id: str) -> JSONObject:
    return {"id": model_id, "object": "model", "created": _MODEL_CREATED, "owned_by": "mockserver"}


def catalogue(extra: Iterable[str]) -> list[str]:
    """The catalog models plus the ones scenarios and options name, without duplicates, in a stable order."""
    seen = dict.fromkeys(DEFAULT_MODELS)
    seen.update(dict.fromkeys(extra))
    return list(seen)
