"""Prompt caching: a request whose context starts as an earlier one did reports part of its input as `cached_tokens`.

As on the live API, only prompts of 1,024 tokens or more are cached, in steps of 128 tokens, and only a prefix
identical to a recent request's counts. Requests are compared per `prompt_cache_key` (or per model when it is absent).
"""

from __future__ import annotations

import os
from collections import OrderedDict

from ..core.context import RequestContext
from ..core.jsonio import dumps_sorted
from ..core.tokens import estimate_tokens

MINIMUM_TOKENS = 1024
STEP_TOKENS = 128
REMEMBERED_KEYS = 1000


def prompt_text(ctx: RequestContext) -> str:
    """The prompt as one string, in the order the model reads it: instructions, tools, then the context."""
    instructions = ctx.body.get("instructions")
    text = instructions if isinstance(instructions, str) else ""
    return "\x00".join((text, dumps_sorted(ctx.tools), dumps_sorted(ctx.input_items)))


class PromptCache:
    """The last prompt seen per cache key (bounded), and how much of a new prompt it covers."""

    def __init__(self) -> None:
        self._prompts: OrderedDict[str, str] = OrderedDict()

    def cached_tokens(self, ctx: RequestContext, input_tokens: int) -> int:
        """Tokens of this request's prompt already cached by an earlier one; remembers this prompt."""
        key = ctx.body.get("prompt_cache_key")
        key = key if isinstance(key, str) else f"model:{ctx.model}"
        # A prompt under the minimum is neither cached nor worth comparing with: it is remembered as nothing.
        prompt = prompt_text(ctx) if input_tokens >= MINIMUM_TOKENS else ""
        earlier = self._prompts.pop(key, None)
        self._prompts[key] = prompt
        if len(self._prompts) > REMEMBERED_KEYS:
            self._prompts.popitem(last=False)
        if earlier is None or input_tokens < MINIMUM_TOKENS:
            return 0
        shared = len(os.path.commonprefix([earlier, prompt]))
        tokens = min(estimate_tokens(prompt[:shared]), input_tokens)
        return tokens // STEP_TOKENS * STEP_TOKENS if tokens >= MINIMUM_TOKENS else 0

    def clear(self) -> None:
        self._prompts.clear()
