"""Templates in scenario answers: `text: "You asked about {{ input }}"`, rendered in Jinja2's sandbox.

Any string of a `response` block may hold `{{ … }}` or `{% … %}`. The request is in scope as `model`, `input` (the
last user message), `input_text`, `instructions`, `metadata`, `tools` (names), `tool_choice`, `stream`,
`previous_response_id`, `function_outputs` (`[{call_id, name, output}]`), `last_function_output`, `headers`,
`body` (the whole request), plus `call` (this scenario's call number, from 1) and `state` (the state machines).
Filters beyond Jinja's: `regex(pattern, group=0)` (the first match, or ""), `json` (JSON text of a value).
A template that fails at request time answers 500 with a message naming the scenario and the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from .context import RequestContext
from .errors import APIError, InvalidSpec, MockServerError
from .replies import Reply
from .types import JSON, Where

_MARKERS = ("{{", "{%")
# A stand-in for every template at load time: valid as text and as a JSON arguments string.
LOAD_TIME_PLACEHOLDER = "{}"


def _regex(value: object, pattern: str, group: int = 0) -> str:
    match = re.search(pattern, str(value))
    return (match.group(group) or "") if match else ""


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


MAX_PRODUCT = 1 << 20  # items of a string or list a template may build with `*`; digits of an `**` result, roughly


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox (no attribute starting with `_`, no unsafe calls, ranges capped), with `*` and `**` capped too:
    `{{ input * 10**9 }}` is a clean template error, not a server out of memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            sequence, count = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(sequence, str | list | tuple) and isinstance(count, int):
                if len(sequence) * count > MAX_PRODUCT:
                    raise SecurityError(f"a template may not build more than {MAX_PRODUCT} items with '*'")
        elif isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            if right * abs(left).bit_length() > MAX_PRODUCT * 3:
                raise SecurityError(f"a template may not compute numbers of more than {MAX_PRODUCT} digits")
        return super().call_binop(context, operator, left, right)


_ENVIRONMENT = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENVIRONMENT.filters["regex"] = _regex
_ENVIRONMENT.filters["json"] = _json


def is_template(value: JSON) -> bool:
    return isinstance(value, str) and any(marker in value for marker in _MARKERS)


def has_templates(value: JSON) -> bool:
    """Whether any string inside `value` is a template."""
    if isinstance(value, Mapping):
        return any(has_templates(item) for item in value.values())
    if isinstance(value, list):
        return any(has_templates(item) for item in value)
    return is_template(value)


def compile_templates(value: JSON, where: Where) -> dict[str, Template]:
    """Every template string inside `value`, compiled (a syntax error is reported at its key path)."""
    compiled: dict[str, Template] = {}

    def visit(node: JSON, path: Where) -> None:
        if isinstance(node, Mapping):
            for key, item in node.items():
                visit(item, (*path, str(key)))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                visit(item, (*path, index))
        elif is_template(node) and node not in compiled:
            try:
                compiled[node] = _ENVIRONMENT.from_string(node)
            except TemplateError as exc:
                raise InvalidSpec(path, f"template error: {exc}") from None

    visit(value, where)
    return compiled


def substitute(value: JSON, replace: Callable[[str], str]) -> JSON:
    """A copy of `value` with every template string replaced by `replace(template)`."""
    if isinstance(value, Mapping):
        return {key: substitute(item, replace) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, replace) for item in value]
    return replace(value) if is_template(value) else value


def template_scope(ctx: RequestContext, call: int) -> dict[str, Any]:
    metadata = ctx.body.get("metadata")
    outputs = ctx.function_call_outputs
    return {
        "model": ctx.model or "",
        "input": ctx.last_user_text,
        "input_text": ctx.input_text,
        "instructions": ctx.body.get("instructions") or "",
        "metadata": metadata if isinstance(metadata, dict) else {},
        "tools": sorted(ctx.tool_names),
        "tool_choice": ctx.body.get("tool_choice") or "auto",
        "stream": ctx.stream,
        "previous_response_id": ctx.body.get("previous_response_id"),
        "function_outputs": outputs,
        "last_function_output": outputs[-1]["output"] if outputs else "",
        "headers": dict(ctx.headers),
        "body": ctx.body,
        "call": call,
        "state": dict(ctx.states),
    }


@dataclass(frozen=True)
class TemplatedReply:
    """A `response` block with templates: rendered for each request, then compiled like any other."""

    raw: JSON
    where: Where
    templates: Mapping[str, Template]
    compile: Callable[[JSON, Where], Reply]

    def render(self, ctx: RequestContext, call: int, scenario: str) -> Reply:
        scope = template_scope(ctx, call)
        try:
            rendered = substitute(self.raw, lambda text: self.templates[text].render(scope))
            return self.compile(rendered, self.where)
        except (TemplateError, MockServerError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
            problem = exc.problem if isinstance(exc, InvalidSpec) else str(exc)
            raise APIError(
                500,
                f"The template of scenario '{scenario}' failed: {problem}",
                type="server_error",
                code="template_error",
                headers={"x-should-retry": "false"},
            ) from None


def templated_reply(raw: JSON, where: Where, compile: Callable[[JSON, Where], Reply]) -> TemplatedReply:
    """Compile the templates of `raw` and check its structure now, with placeholders standing in for them."""
    templates = compile_templates(raw, where)
    compile(substitute(raw, lambda _: LOAD_TIME_PLACEHOLDER), where)
    return TemplatedReply(raw, where, templates, compile)
