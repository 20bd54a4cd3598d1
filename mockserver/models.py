"""The model catalogue: what `GET /v1/models` lists, which models reason, and how much context each reads."""

from __future__ import annotations

from collections.abc import Iterable

from .types import JSONObject

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o3",
    "o4-mini",
)

_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5", "gpt-6", "codex")

# Context windows in tokens, by model-name prefix (the longest matching prefix wins; dated snapshots such as
# `gpt-4o-2024-08-06` follow their family). Figures are the published ones.
CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "gpt-5": 400_000,
    "gpt-5-chat": 128_000,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o3": 200_000,
    "o3-mini": 200_000,
    "o4-mini": 200_000,
    "codex-mini": 200_000,
}
DEFAULT_CONTEXT_WINDOW = 128_000
"""The window of a model the table does not know."""

# A fixed creation time keeps `GET /v1/models` byte-stable between runs.
_MODEL_CREATED = 1_700_000_000


def is_reasoning_model(model: str | None) -> bool:
    """Whether the model produces reasoning items (and echoes a reasoning effort)."""
    return bool(model) and str(model).startswith(_REASONING_PREFIXES)


def context_window(model: str | None) -> int:
    """The most input tokens `model` reads: the longest prefix of it in `CONTEXT_WINDOWS`, else the default."""
    name = str(model or "")
    matches = [prefix for prefix in CONTEXT_WINDOWS if name.startswith(prefix)]
    return CONTEXT_WINDOWS[max(matches, key=len)] if matches else DEFAULT_CONTEXT_WINDOW


def model_object(model_id: str) -> JSONObject:
    return {"id": model_id, "object": "model", "created": _MODEL_CREATED, "owned_by": "mockserver"}


def catalogue(extra: Iterable[str]) -> list[str]:
    """The default models plus the ones scenarios name, without duplicates, in a stable order."""
    seen = dict.fromkeys(DEFAULT_MODELS)
    seen.update(dict.fromkeys(extra))
    return list(seen)
