"""A deterministic token estimate, shared by `usage` and anything that counts tokens.

Real tokenizers give about four characters of English per token; this estimate follows that rule so figures look
plausible and the same text always counts the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .types import JSON


def estimate_tokens(text: str) -> int:
    """Tokens in a piece of text: at least one for non-empty text."""
    if not text:
        return 0
    return max(1, (len(text) + 3) // 4)


def count_input_tokens(body: dict[str, JSON], history: Sequence[JSON] = ()) -> int:
    """Tokens the model would read for a create request: instructions, earlier turns, input and tool definitions."""
    total = 0
    if history:
        total += estimate_tokens(json.dumps(list(history), separators=(",", ":"), ensure_ascii=False)) // 2
        total += 4 * len(history)
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        total += estimate_tokens(instructions)
    user_input = body.get("input")
    if isinstance(user_input, str):
        total += estimate_tokens(user_input)
    elif isinstance(user_input, list):
        total += estimate_tokens(json.dumps(user_input, separators=(",", ":"), ensure_ascii=False)) // 2
        total += 4 * len(user_input)
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        total += estimate_tokens(json.dumps(tools, separators=(",", ":"))) // 2
    return max(total, 1)
