"""A deterministic token estimate, shared by `usage`, budgets, context windows and caching.

Text is cut into the pieces a BPE tokenizer starts from (a word with its leading space, a run of up to three digits,
a run of punctuation, white space), and each piece costs what such pieces cost in the GPT-4o/GPT-5 encoding on
average: a word about seven letters a token, other ASCII two characters, other scripts one and a half. On a sample
of prose, code, JSON and other languages it is about 10% from o200k_base (`tests/benchmarks/bench_tokens.py`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

from .jsonio import dumps
from .types import JSON

_PIECE = re.compile(r" ?[A-Za-z]+| ?[0-9]{1,3}| ?[^\sA-Za-z0-9]+|\s+")
_LETTERS_PER_TOKEN = 7
_ASCII_PER_TOKEN = 2
_OTHER_PER_TOKEN = 1.5


def _cost(piece: str) -> int:
    core = piece.strip()
    if not core:
        return 1 if len(piece) > 1 or piece == "\n" else 0
    if core.isascii() and core.isalpha():
        return math.ceil(len(core) / _LETTERS_PER_TOKEN)
    if core.isascii():
        return math.ceil(len(core) / _ASCII_PER_TOKEN)
    return math.ceil(len(core) / _OTHER_PER_TOKEN)


def estimate_tokens(text: str) -> int:
    """Tokens in a piece of text: at least one for non-empty text."""
    if not text:
        return 0
    if len(text) <= _CACHED_LENGTH:
        return _estimate_cached(text)
    return _estimate(text)


def _estimate(text: str) -> int:
    return max(1, sum(_cost(piece) for piece in _PIECE.findall(text)))


# The same texts come back again and again (a scenario's answer, a test's prompt), and counting them is most of what
# a usage block costs.
_CACHED_LENGTH = 16_384
_estimate_cached = functools.lru_cache(maxsize=4096)(_estimate)


def prefix_within(text: str, budget: int) -> str:
    """The longest start of `text` that costs at most `budget` tokens (exactly `budget` wherever pieces allow)."""
    kept: list[str] = []
    left = budget
    for piece in _PIECE.findall(text):
        cost = _cost(piece)
        if cost <= left:
            kept.append(piece)
            left -= cost
            continue
        for end in range(len(piece) - 1, 0, -1):  # the longest part of this piece that still fits
            if piece[:end].strip() and _cost(piece[:end]) <= left:
                kept.append(piece[:end])
                break
        break
    return "".join(kept)


def count_input_tokens(body: dict[str, JSON], history: Sequence[JSON] = ()) -> int:
    """Tokens the model would read for a create request: instructions, earlier turns, input and tool definitions."""
    total = 0
    if history:
        total += estimate_tokens(_text(list(history))) // 2
        total += 4 * len(history)
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        total += estimate_tokens(instructions)
    user_input = body.get("input")
    if isinstance(user_input, str):
        total += estimate_tokens(user_input)
    elif isinstance(user_input, list):
        total += estimate_tokens(_text(user_input)) // 2
        total += 4 * len(user_input)
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        total += estimate_tokens(_text(tools)) // 2
    return max(total, 1)


def _text(value: JSON) -> str:
    return dumps(value).decode()
