"""Templates in scenario answers: `text: "You asked about {{ input }}"`, rendered in Jinja2's sandbox.

Any string of a `response` block may hold `{{ … }}` or `{% … %}`. The request is in scope as `model`, `input` (the
last user message), `input_text`, `instructions`, `metadata`, `tools` (names), `tool_choice`, `stream`,
`previous_response_id`, `function_outputs` (`[{call_id, name, output}]`), `last_function_output`, `headers`,
`body` (the whole request), plus `call` (this scenario's call number, from 1) and `state` (the state machines).
Filters beyond Jinja's: `regex(pattern, group=0)` (the first match, or ""), `json` (JSON text of a value).
A template that fails at request time answers 500 with a message naming the scenario and the problem.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg

from ..core.context import RequestContext
from ..core.errors import APIError, InvalidSpec, MockServerError
from ..core.limits import Deadline, Pattern, RegexError, WorkTimeout, compile_regex, timed_search
from ..core.types import JSON, Where
from ..faults.replies import Reply

_MARKERS = ("{{", "{%")
# A stand-in for every template at load time: valid as text and as a JSON arguments string.
LOAD_TIME_PLACEHOLDER = "{}"


MAX_PRODUCT = 1 << 20  # items of a string or list a template may build with `*`; digits of an `**` result, roughly
MAX_RENDERED_CHARS = 1 << 24  # characters of a reply's rendered templates together, and of any string built on the way
MAX_ITEMS = MAX_PRODUCT  # items of any list or mapping a template builds


class _Work:
    """What the templates of one reply may still spend: time, and characters of output they build (in a `{% set %}`
    block or a macro as much as in the answer)."""

    __slots__ = ("deadline", "chars_left")

    def __init__(self) -> None:
        self.deadline = Deadline()
        self.chars_left = MAX_RENDERED_CHARS


_WORK: ContextVar[_Work | None] = ContextVar("mockserver_template_work", default=None)


def _tick() -> None:
    work = _WORK.get()
    if work is not None:
        work.deadline.check()


def _output(text: str) -> str:
    work = _WORK.get()
    if work is not None:
        work.deadline.check()
        work.chars_left -= len(text)
        if work.chars_left < 0:
            raise _too_large(MAX_RENDERED_CHARS - work.chars_left)
    return text


class TemplateTooLarge(SecurityError):
    """A template would build a string or a list past the caps."""


def _too_large(size: int) -> TemplateTooLarge:
    return TemplateTooLarge(f"the answer would hold more than {MAX_RENDERED_CHARS} characters (it asked for {size})")


def _checked(value: Any) -> Any:
    """`value`, unless it is a string or a collection past the caps."""
    if isinstance(value, str):
        if len(value) > MAX_RENDERED_CHARS:
            raise _too_large(len(value))
    elif isinstance(value, list | tuple | dict | set) and len(value) > MAX_ITEMS:
        raise TemplateTooLarge(f"a template may not build collections of more than {MAX_ITEMS} items")
    return value


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Pattern:
    return compile_regex(pattern)


def _regex(value: object, pattern: str, group: int = 0) -> str:
    try:
        compiled = _compiled(pattern)
    except RegexError as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    match = timed_search(compiled, str(value))
    return (match.group(group) or "") if match else ""


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- what one call may build, estimated before it runs (Python builds these strings in C, where no deadline reaches)


def _length(value: object) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else len(str(value))


def _big_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > MAX_RENDERED_CHARS


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?([#0\- +]*\d*(?:\.\d*)?)[a-zA-Z%]")  # `%-10.3f`: flags, width, precision
_BRACE_SPEC = re.compile(r"\{[^{}:]*:([^{}]*)\}")  # `{0:>10}`: what follows the colon


def _formatted(template: object, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    """At most how long `template % args` or `template.format(...)` is, as far as widths go: a width or precision
    past the cap, written in the template or passed as an argument for `*` or a nested field, is refused."""
    text = str(template)
    specs = _PERCENT_SPEC.findall(text) + _BRACE_SPEC.findall(text)
    widths = [int(digits) for spec in specs for digits in re.findall(r"\d+", spec)]
    if "*" in text or re.search(r"\{[^{}]*\{", text):
        flat = [*args, *kwargs.values(), *(args[0] if args and isinstance(args[0], tuple | list) else ())]
        widths.extend(arg for arg in flat if _big_number(arg))
    return max(widths, default=0)


def _replaced(text: object, old: object, new: object, count: object = -1) -> int:
    source, old, new = str(text), str(old), str(new)
    times = source.count(old) if old else len(source) + 1
    if isinstance(count, int) and 0 <= count < times:
        times = count
    return len(source) + times * (len(new) - len(old))


def _indented(text: object, width: object = 4, *rest: object) -> int:
    pad = width if isinstance(width, int) and not isinstance(width, bool) else _length(width)
    return _length(text) + (str(text).count("\n") + 1) * pad


def _joined(parts: object, separator: object = "", *rest: object) -> int:
    count = len(parts) if isinstance(parts, list | tuple | dict | str) else 0
    return max(count - 1, 0) * _length(separator)


def _widened(text: object, width: object = 0, *rest: object) -> int:
    return width if isinstance(width, int) and not isinstance(width, bool) else 0


def _wrapped(text: object, width: object = 79, breaks: object = True, wrapstring: object = None, *rest: object) -> int:
    return _length(text) * (1 + (_length(wrapstring) if wrapstring is not None else 1))


def _expanded(text: object, tabsize: object = 8) -> int:
    return _length(text) + str(text).count("\t") * (tabsize if isinstance(tabsize, int) else 8)


def _counted(value: object, count: object = 0, *rest: object) -> int:
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "replace": _replaced, "indent": _indented, "join": _joined, "center": _widened, "wordwrap": _wrapped,
    "batch": _counted, "slice": _counted, "tojson": _counted, "truncate": _widened,
}  # fmt: skip
_METHOD_SIZES: dict[str, Callable[..., int]] = {
    "replace": _replaced, "center": _widened, "ljust": _widened, "rjust": _widened, "zfill": _widened,
    "expandtabs": _expanded,
}  # fmt: skip


def _estimate(size: Callable[..., int], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    try:
        predicted = size(*args, *kwargs.values())
    except TypeError:  # arguments the call itself will refuse
        return
    _refuse_past_cap(predicted)


def _refuse_past_cap(predicted: int) -> None:
    if predicted > MAX_RENDERED_CHARS:
        raise _too_large(predicted)


def _bounded_filter(name: str, run: Callable[..., Any]) -> Callable[..., Any]:
    """`run` (one of Jinja's filters) with the deadline checked, what it would build estimated first when it can
    build much more than it is given, and what it built checked."""
    skip = 1 if _PassArg.from_obj(run) is not None else 0  # the context or environment Jinja passes first
    size = _FILTER_SIZES.get(name)

    @functools.wraps(run)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        if size is not None:
            _estimate(size, args[skip:], kwargs)
        elif name == "format" and len(args) > skip:
            _refuse_past_cap(_formatted(args[skip], args[skip + 1 :], kwargs))
        return _checked(run(*args, **kwargs))

    return bounded


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator, with every loop iteration checking the deadline (`environment.tick()`), every `{{ }}`
    counted as it is written (`environment.output`), and every `~` going through `environment.str_join`, which checks
    what it would build."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        tick = nodes.ExprStmt(nodes.Call(nodes.EnvironmentAttribute("tick"), [], [], None, None))
        node.body = [tick, *node.body]
        super().visit_For(node, frame)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write("environment.output(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.str_join((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox (no attribute starting with `_`, no unsafe calls, ranges capped), with a deadline and a size
    cap: `*`, `**` and `+`, `~`, every call, filter and attribute, every loop iteration and every chunk of output
    check them, so `{{ input * 10**9 }}`, a loop doubling a string or nested `range(100000)` loops end in a clean
    template error, not a server out of memory or busy for minutes."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedCodeGenerator

    def tick(self) -> None:
        _tick()

    def output(self, text: str) -> str:
        return _output(text)

    def str_join(self, parts: Iterable[Any]) -> str:
        texts = [str(part) for part in parts]
        size = sum(len(text) for text in texts)
        if size > MAX_RENDERED_CHARS:
            raise _too_large(size)
        return "".join(texts)

    def concat(self, parts: Iterable[str]) -> str:  # Jinja's is `"".join`, a class attribute
        return self.str_join(parts)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            sequence, count = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(sequence, str | list | tuple) and isinstance(count, int):
                if len(sequence) * count > MAX_PRODUCT:
                    raise SecurityError(f"a template may not build more than {MAX_PRODUCT} items with '*'")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                if right * abs(left).bit_length() > MAX_PRODUCT * 3:
                    raise SecurityError(f"a template may not compute numbers of more than {MAX_PRODUCT} digits")
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                if len(left) + len(right) > MAX_RENDERED_CHARS:
                    raise _too_large(len(left) + len(right))
        elif isinstance(left, str):  # `%` formatting
            _refuse_past_cap(_formatted(left, right if isinstance(right, tuple) else (right,), {}))
        return _checked(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            size = _METHOD_SIZES.get(name)
            if size is not None:
                _estimate(size, (owner, *args), kwargs)
            elif name in ("format", "format_map"):
                _refuse_past_cap(_formatted(owner, args, kwargs))
            elif name == "join":
                _estimate(_joined, (args[0] if args else (), owner), {})
        result = _checked(super().call(__context, __obj, *args, **kwargs))
        if isinstance(owner, list | dict | set):  # `append`, `extend`, `update` grow what they are called on
            _checked(owner)
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)


_ENVIRONMENT = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENVIRONMENT.filters["regex"] = _regex
_ENVIRONMENT.filters["json"] = _json
_ENVIRONMENT.filters.update({name: _bounded_filter(name, run) for name, run in _ENVIRONMENT.filters.items()})


def render_bounded(templates: Mapping[str, Template], raw: JSON, scope: Mapping[str, Any]) -> JSON:
    """A copy of `raw` with its templates rendered, within one deadline and one output cap for them all."""
    work = _Work()
    token = _WORK.set(work)
    try:
        return substitute(raw, lambda text: _rendered(templates[text], scope, work))
    finally:
        _WORK.reset(token)


def _rendered(template: Template, scope: Mapping[str, Any], work: _Work) -> str:
    parts = []
    size = 0
    for chunk in template.generate(scope):  # text written in the template counts here; `{{ }}` did in `_output`
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise _too_large(size)
        work.deadline.check()
        parts.append(chunk)
    return "".join(parts)


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
                _check_regex_literals(node)
            except TemplateError as exc:
                raise InvalidSpec(path, f"template error: {exc}") from None
            except RegexError as exc:
                raise InvalidSpec(path, f"template error: the regex filter's pattern is not valid: {exc}") from None

    visit(value, where)
    return compiled


def _check_regex_literals(source: str) -> None:
    """Compile every pattern the template gives the `regex` filter as a literal, so that a bad one (a stray escape)
    fails at load, not at the first request."""
    for found in _ENVIRONMENT.parse(source).find_all(nodes.Filter):
        if found.name == "regex" and found.args and isinstance(found.args[0], nodes.Const):
            pattern = found.args[0].value
            if isinstance(pattern, str):
                _compiled(pattern)


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
            rendered = render_bounded(self.templates, self.raw, scope)
            return self.compile(rendered, self.where)
        except (
            TemplateError, MockServerError, TypeError, ValueError, ArithmeticError, LookupError, RecursionError,
            WorkTimeout, MemoryError,
        ) as exc:  # fmt: skip
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
