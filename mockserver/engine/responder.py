"""The answer to a request no scenario matched: deterministic, so the same request always gets the same answer.

What it answers, in order:

- a `reasoning` item first for reasoning models (`models.is_reasoning_model`) unless `reasoning.effort` is
  `none`, with a summary when `reasoning.summary` asks for one (`reasoning.py`);
- tool calls when `tool_choice` and the message call for them (`toolcalls.py` documents the rule), with arguments
  generated from each tool's `parameters`; otherwise
- a message: JSON that fits the schema for `text.format: json_schema` (`generate.py`), a JSON object for
  `json_object`, and otherwise text that quotes the user, or, after a tool's result, text that uses it;
- `max_output_tokens`: when the answer costs more, it is `incomplete` (`max_output_tokens`) and `render` cuts it
  where the budget runs out (`budget.py`).

Every random choice comes from a `random.Random` seeded with a hash of the request (without `stream`) and the seed:
the request's `x-mock-seed` header, else the server's `--seed`. So the streamed and plain answers to the same request
carry the same content, and another seed gives another answer.

Before answering, the input is measured against the model's context window (`models.context_window`): larger input
is the live API's 400 `context_length_exceeded`, unless `truncation` is `auto` (then `usage.input_tokens` is capped at
the window, as if the oldest items had been dropped). Scenarios decide their own answers: none of this applies to
them.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace

from ..core.context import RequestContext
from ..core.errors import invalid_request
from ..core.models import context_window
from ..core.tokens import count_input_tokens, estimate_tokens
from ..core.types import JSONObject
from ..faults.replies import ModelReply
from .budget import reasoning_tokens
from .generate import generate_for_request
from .reasoning import effective_effort, reasoning_item, sends_reasoning
from .toolcalls import answered_since_last_user, plan_calls

_QUOTE_LIMIT = 80
_OUTPUT_LIMIT = 200
SEED_HEADER = "x-mock-seed"
_EFFORT_SCALE = {"none": 0.0, "minimal": 0.25, "low": 0.5, "medium": 1.0, "high": 2.0, "xhigh": 3.0}
_UNSEEDED_KEYS = frozenset(("stream", "stream_options", "background", "store", "metadata"))
CONTEXT_EXCEEDED = "Your input exceeds the context window of this model. Please adjust your input and try again."
_QUOTE_LEADS = (
    'This is a mock response from mockserver to: "{}"',
    'You asked: "{}". This is a mock answer from mockserver.',
    'mockserver here, answering "{}" with a mock response.',
    'A mock reply to "{}", from mockserver.',
)


def default_reply(ctx: RequestContext, seed: int | None = None) -> ModelReply:
    """The answer to `ctx`; `seed` is the server's `--seed` (the request's `x-mock-seed` header overrides it)."""
    input_tokens = _input_within_window(ctx)
    reply = _answer(ctx, request_rng(ctx, seed))
    if input_tokens is None:
        return reply
    return replace(reply, usage={**(reply.usage or {}), "input_tokens": input_tokens})


def _input_within_window(ctx: RequestContext) -> int | None:
    """`None` when the input fits the model's window; the window when it does not and `truncation` is `auto`;
    otherwise the live API's 400."""
    window = context_window(ctx.model)
    if count_input_tokens(ctx.body, ctx.history) <= window:
        return None
    if ctx.body.get("truncation") == "auto":
        return window
    raise invalid_request(CONTEXT_EXCEEDED, param="input", code="context_length_exceeded")


def _answer(ctx: RequestContext, rng: random.Random) -> ModelReply:
    calls = plan_calls(ctx, rng)
    output: list[JSONObject] = []
    if sends_reasoning(ctx):
        output.append(reasoning_item(ctx, calls))
    if calls:
        output.extend(calls)
    else:
        text = _message_text(ctx, rng)
        output.append({"type": "message", "content": [{"type": "output_text", "text": text, "annotations": []}]})
    return _within_budget(tuple(output), ctx)


def request_rng(ctx: RequestContext, seed: int | None = None) -> random.Random:
    """A generator seeded by the request's content (and the chain it continues) and by the seed: the
    `x-mock-seed` header when the request sends one, else `seed` (the server's)."""
    seeded = {key: value for key, value in ctx.body.items() if key not in _UNSEEDED_KEYS}
    header = ctx.headers.get(SEED_HEADER)
    chosen = header if header is not None else (None if seed is None else str(seed))
    canonical = json.dumps([seeded, ctx.history, chosen], sort_keys=True, separators=(",", ":"), default=str)
    return random.Random(int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big"))


def _message_text(ctx: RequestContext, rng: random.Random) -> str:
    fmt = ctx.text_format
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema")
        what = f"response_format '{fmt.get('name')}'"
        value = generate_for_request(
            schema if isinstance(schema, dict) else {}, rng, param="text.format.schema", what=what
        )
        return json.dumps(value, ensure_ascii=False)
    results = answered_since_last_user(ctx)
    text = _from_results(results) if results else _quote_reply(ctx.last_user_text, rng)
    if fmt.get("type") == "json_object":
        return json.dumps({"answer": text}, ensure_ascii=False)
    return text


def _from_results(results: list[JSONObject]) -> str:
    parts = []
    for result in results:
        snippet = " ".join(str(result["output"]).split())
        if len(snippet) > _OUTPUT_LIMIT:
            snippet = snippet[: _OUTPUT_LIMIT - 1] + "…"
        parts.append(f"{result['name']} returned {snippet}")
    return "Here is what I found: " + "; ".join(parts) + "."


def _quote_reply(user_text: str, rng: random.Random) -> str:
    if not user_text.strip():
        return "This is a mock response from mockserver."
    snippet = " ".join(user_text.split())
    if len(snippet) > _QUOTE_LIMIT:
        snippet = snippet[: _QUOTE_LIMIT - 1] + "…"
    return rng.choice(_QUOTE_LEADS).format(snippet)


def _within_budget(output: tuple[JSONObject, ...], ctx: RequestContext) -> ModelReply:
    """The reply, `incomplete` when it costs more output tokens than `max_output_tokens` allows (the cut itself
    happens in `render`, through `budget.within_budget`); when complete, `reasoning_tokens` scaled by
    `reasoning.effort`."""
    spent = _reasoning_spent(output, ctx)
    visible = output_cost(output) - sum(_summary_cost(item) for item in output if item["type"] == "reasoning")
    budget = ctx.body.get("max_output_tokens")
    if isinstance(budget, int) and not isinstance(budget, bool) and spent + visible > budget:
        return ModelReply(output=output, status="incomplete", incomplete_reason="max_output_tokens")
    if not any(item["type"] == "reasoning" for item in output):
        return ModelReply(output=output)
    return ModelReply(output=output, usage={"reasoning_tokens": spent, "output_tokens": spent + visible})


def _summary_cost(item: JSONObject) -> int:
    return reasoning_tokens({"summary": [{"text": text} for text in item["summary"]]})


def _reasoning_spent(output: tuple[JSONObject, ...], ctx: RequestContext) -> int:
    effort = effective_effort(ctx)
    scale = _EFFORT_SCALE.get(effort or "medium", 1.0)
    base = sum(_summary_cost(item) for item in output if item["type"] == "reasoning")
    return max(1, round(base * 4 * scale)) if base else 0


def output_cost(output: tuple[JSONObject, ...]) -> int:
    """Output tokens of the unrendered items, counted as `render` counts them in `usage`."""
    total = 0
    for item in output:
        if item["type"] == "reasoning":
            total += _summary_cost(item)
        elif item["type"] == "message":
            total += sum(estimate_tokens(str(part.get("text", ""))) for part in item["content"])
        elif item["type"] == "function_call":
            total += estimate_tokens(str(item["arguments"]))
    return total
