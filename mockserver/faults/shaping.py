"""The `stream:` key of a response: how fast the events go out, how the text is cut into deltas, keepalives.

stream:
  first_event: 300              # ms from the headers to response.created
  gap: {uniform: [10, 30]}      # ms between events (any duration form)
  tokens_per_second: 50         # or pace the deltas by their token count
  chunk: {words: 2}             # deltas of 2 words ({chars: 8}: of 8 characters)
  keepalive: 1000               # a keepalive event whenever the stream has been silent this long (ms)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Literal

from ..core.errors import InvalidSpec, unknown_key_message
from ..core.types import JSON, Where
from .timing import Duration, compile_duration

STREAM_KEYS = ("first_event", "gap", "tokens_per_second", "chunk", "keepalive")


@dataclass(frozen=True)
class Chunking:
    """Deltas of `size` characters or words instead of token-like pieces."""

    unit: Literal["chars", "words"]
    size: int


@dataclass(frozen=True)
class StreamShape:
    """Pacing and cutting of a stream; `None` fields are not set (a default from elsewhere may apply)."""

    first_event: Duration | None = None
    gap: Duration | None = None
    tokens_per_second: float | None = None
    chunk: Chunking | None = None
    keepalive: float | None = None  # milliseconds of silence before a keepalive event

    def over(self, base: StreamShape) -> StreamShape:
        """This shape, with `base`'s values where this one sets none."""
        unset = {f.name: getattr(base, f.name) for f in fields(self) if getattr(self, f.name) is None}
        return replace(self, **unset)

    @property
    def paced(self) -> bool:
        return self.first_event is not None or self.gap is not None or self.tokens_per_second is not None

    @property
    def plain(self) -> bool:
        return self == PLAIN_STREAM


PLAIN_STREAM = StreamShape()


def compile_stream(raw: JSON, where: Where) -> StreamShape:
    """The `stream:` mapping of a response."""
    if not isinstance(raw, Mapping):
        raise InvalidSpec(where, f"stream takes a mapping of {', '.join(STREAM_KEYS)}")
    unknown = sorted(set(raw) - set(STREAM_KEYS))
    if unknown:
        raise InvalidSpec((*where, unknown[0]), unknown_key_message("stream key", unknown[0], STREAM_KEYS))
    return StreamShape(
        first_event=compile_duration(raw["first_event"], (*where, "first_event")) if "first_event" in raw else None,
        gap=compile_duration(raw["gap"], (*where, "gap")) if "gap" in raw else None,
        tokens_per_second=_positive(raw, "tokens_per_second", where),
        chunk=_chunking(raw["chunk"], (*where, "chunk")) if "chunk" in raw else None,
        keepalive=_positive(raw, "keepalive", where),
    )


def _positive(raw: Mapping[str, JSON], key: str, where: Where) -> float | None:
    if key not in raw:
        return None
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidSpec((*where, key), f"{key} takes a number above 0; got {value!r}")
    return float(value)


def _chunking(raw: JSON, where: Where) -> Chunking:
    if isinstance(raw, Mapping) and len(raw) == 1:
        unit, size = next(iter(raw.items()))
        if unit in ("chars", "words") and isinstance(size, int) and not isinstance(size, bool) and size > 0:
            return Chunking(unit, size)
    raise InvalidSpec(where, "chunk takes {chars: N} or {words: N} with N a whole number above 0")
