"""What an answer on a reasoning model carries, as the live API sends it: the reasoning item and message phases.

The facts come from the live captures in `reference/live-captures/` (see its SOURCES.md):

- a `reasoning` item comes first, before the message and the calls (`stream-text-gpt-5.2.sse`,
  `stream-reasoning-summary-gpt-5.6-sol.rig.sse`, `stream-reasoning-summary-gpt-5.4.chunks.jsonl`); it is added to
  a scenario's answer that has none, unless the scenario says `reasoning: none`;
- with `reasoning.effort: "none"` there is none, and no reasoning tokens (`response-text-gpt-6-luna.json`,
  `stream-function-call-gpt-5.1.chunks.jsonl`);
- its summary is empty unless `reasoning.summary` asks for one;
- messages of gpt-5.3-codex and later models carry `phase` (`"final_answer"` in `stream-reasoning-summary-gpt-5.4`,
  `…-gpt-5.6-sol` and `response-text-gpt-6-luna.json`; none in the January-2026 `stream-text-gpt-5.2.sse`; the SDK's
  `ResponseOutputMessage.phase` says "for models like gpt-5.3-codex and beyond"). A message followed by a tool call
  in the same answer is `"commentary"` (a preamble), any other `"final_answer"`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..core.context import RequestContext
from ..core.models import default_effort, is_reasoning_model
from ..core.types import JSON, JSONObject
from ..faults.replies import ModelReply
from .toolcalls import answered_since_last_user

NO_EFFORT = "none"
NO_REASONING = "none"
"""A scenario's `reasoning: none`: no reasoning item, not even the one a reasoning model's answer gets by default."""
_PHASE_FROM = (5, 3)  # gpt-5.3-codex, the first model whose messages carry `phase`
_VERSION = re.compile(r"gpt-(\d+)(?:\.(\d+))?")


def effective_effort(ctx: RequestContext) -> str | None:
    """The effort the request's model reasons with: the request's `reasoning.effort`, else the model's default."""
    given = ctx.body.get("reasoning")
    effort = given.get("effort") if isinstance(given, dict) else None
    return effort if isinstance(effort, str) else default_effort(ctx.model)


def sends_reasoning(ctx: RequestContext) -> bool:
    """Whether the live API answers this request with a reasoning item: a reasoning model, at an effort above none."""
    return is_reasoning_model(ctx.model) and effective_effort(ctx) != NO_EFFORT


def writes_phase(model: str | None) -> bool:
    """Whether the model's messages carry `phase` (gpt-5.3 and later)."""
    found = _VERSION.match(model or "")
    if found is None:
        return False
    return (int(found.group(1)), int(found.group(2) or 0)) >= _PHASE_FROM


def reasoning_item(ctx: RequestContext, calls: list[JSONObject]) -> JSONObject:
    """The unrendered reasoning item for this request: an empty summary unless `reasoning.summary` asks for one,
    then a summary of what the answer does (`calls`: the function calls it makes)."""
    given = ctx.body.get("reasoning")
    given = given if isinstance(given, dict) else {}
    if given.get("summary", given.get("generate_summary")) is None:
        return {"type": "reasoning", "summary": []}
    if calls:
        names = ", ".join(str(call["name"]) for call in calls)
        summary = f"**Choosing a tool**\n\nThe request calls for {names}, so I will call it before answering."
    elif answered_since_last_user(ctx):
        summary = "**Reading the tool results**\n\nThe tool returned what I need; I will answer from it."
    elif ctx.text_format.get("type") in ("json_schema", "json_object"):
        summary = "**Filling in the structure**\n\nI will answer with JSON that fits the requested format."
    else:
        summary = "**Considering the request**\n\nI will answer the user's message directly and briefly."
    return {"type": "reasoning", "summary": [summary]}


def live_output(reply: ModelReply, ctx: RequestContext) -> tuple[JSONObject, ...]:
    """The reply's output items with what the live model adds: a reasoning item first when the model reasons and
    the reply has none (unless it says `reasoning: none`, or failed), and `phase` on messages that have none."""
    output = reply.output
    if (
        reply.adds_reasoning
        and reply.status != "failed"
        and sends_reasoning(ctx)
        and not any(item["type"] == "reasoning" for item in output)
    ):
        calls = [item for item in output if item["type"] == "function_call"]
        output = (reasoning_item(ctx, calls), *output)
    if writes_phase(ctx.model):
        output = tuple(_with_phase(item, output[index + 1 :]) for index, item in enumerate(output))
    return output


def _with_phase(item: JSONObject, later: tuple[JSONObject, ...]) -> JSONObject:
    if item["type"] != "message" or item.get("phase") is not None:
        return item
    preamble = any(str(other["type"]).endswith("_call") for other in later)
    return {**item, "phase": "commentary" if preamble else "final_answer"}


def answered_without_reasoning(response: Mapping[str, JSON]) -> bool:
    """Whether a Response (as the API sent it) is a reasoning model's answer without a reasoning item (at effort
    none, or when the model spent no reasoning tokens): replaying it must not add one."""
    model = response.get("model")
    output = response.get("output")
    items = output if isinstance(output, list) else []
    return (
        is_reasoning_model(model if isinstance(model, str) else None)
        and response.get("status") != "failed"
        and not any(isinstance(item, dict) and item.get("type") == "reasoning" for item in items)
    )
