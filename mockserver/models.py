"""The model catalogue: what `GET /v1/models` lists and which models reason."""

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

# A fixed creation time keeps `GET /v1/models` byte-stable between runs.
_MODEL_CREATED = 1_700_000_000


def is_reasoning_model(model: str | None) -> bool:
    """Whether the model produces reasoning items (and echoes a reasoning effort)."""
    return bool(model) and str(model).startswith(_REASONING_PREFIXES)


def model_object(model_id: str) -> JSONObject:
    return {"id": model_id, "object": "model", "created": _MODEL_CREATED, "owned_by": "mockserver"}


def catalogue(extra: Iterable[str]) -> list[str]:
    """The default models plus the ones scenarios name, without duplicates, in a stable order."""
    seen = dict.fromkeys(DEFAULT_MODELS)
    seen.update(dict.fromkeys(extra))
    return list(seen)
