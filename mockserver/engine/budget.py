"""An answer cut where the request's `max_output_tokens` runs out, as `incomplete: max_output_tokens` answers are.

Tokens are counted with `tokens.estimate_tokens`, the same count `usage` reports, and text is cut with
`tokens.prefix_within`, so the cut output reports `output_tokens` equal to the budget, as the live API does.
Reasoning is spent first; the item in which the budget runs out keeps its text up to that token, and the items after
it are dropped.
"""

from __future__ import annotations

from ..core.tokens import estimate_tokens, prefix_within
from ..core.types import JSON, JSONObject


def within_budget(output: list[JSONObject], budget: JSON) -> list[JSONObject]:
    """The rendered output items as far as `budget` output tokens reach (all of them when there is no budget)."""
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        return output
    kept: list[JSONObject] = []
    left = budget
    for item in output:
        if left <= 0:
            break
        if item["type"] == "reasoning":
            left -= reasoning_tokens(item)
            kept.append(item)
        else:
            cut, left = _cut_item(item, left)
            kept.append(cut)
    return kept


def reasoning_tokens(item: JSONObject) -> int:
    """What a reasoning item costs, counted as `render` counts it in `usage`."""
    return 16 + 2 * estimate_tokens(" ".join(part["text"] for part in item["summary"]))


def _cut_item(item: JSONObject, left: int) -> tuple[JSONObject, int]:
    if item["type"] == "function_call":
        arguments, left = _cut_text(item["arguments"], left)
        return {**item, "arguments": arguments}, left
    if item["type"] != "message":
        return item, left
    parts = []
    for part in item["content"]:
        if left <= 0:
            break
        key = "refusal" if part["type"] == "refusal" else "text"
        text, left = _cut_text(part[key], left)
        parts.append({**part, key: text})
    return {**item, "content": parts}, left


def _cut_text(text: str, left: int) -> tuple[str, int]:
    tokens = estimate_tokens(text)
    if tokens <= left:
        return text, left - tokens
    return prefix_within(text, left), 0
