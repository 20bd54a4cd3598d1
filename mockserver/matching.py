"""Scenario `match:` blocks compiled into predicates over a `RequestContext`.

Every key of a `match:` block becomes one `Condition`; a scenario matches when all its conditions hold. Conditions
carry words (`describe`) so that a miss can be explained.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .context import RequestContext
from .errors import InvalidSpec
from .types import JSON, Where


@dataclass(frozen=True)
class Condition:
    """One compiled `match:` key: what it asks (in words) and the test itself."""

    key: str
    wanted: str
    test: Callable[[RequestContext], bool]
    exact_values: tuple[str, ...] = ()  # the values an exact condition accepts (e.g. model names), if any

    def holds(self, ctx: RequestContext) -> bool:
        return self.test(ctx)


TextTest = Callable[[str], bool]

_TEXT_OPERATORS = ("contains", "equals", "regex", "startswith", "ignore_case")


def compile_text(spec: JSON, where: Where, *, shorthand: str) -> tuple[TextTest, str]:
    """A text condition: a plain string (read as `shorthand`), a list of alternatives, or a mapping of operators."""
    if isinstance(spec, str):
        spec = {shorthand: spec}
    if isinstance(spec, list):
        if not spec or not all(isinstance(value, str) for value in spec):
            raise InvalidSpec(where, "a list here must hold one or more strings (any of them matches)")
        choices = frozenset(spec)
        return (lambda text: text in choices), "one of " + ", ".join(repr(value) for value in spec)
    if not isinstance(spec, Mapping):
        raise InvalidSpec(where, f"expected a string, a list of strings or a mapping of {_TEXT_OPERATORS}")
    unknown = sorted(set(spec) - set(_TEXT_OPERATORS))
    if unknown:
        raise InvalidSpec((*where, unknown[0]), f"unknown text operator {unknown[0]!r}; use one of {_TEXT_OPERATORS}")
    ignore_case = spec.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise InvalidSpec((*where, "ignore_case"), "ignore_case must be true or false")
    tests: list[TextTest] = []
    words: list[str] = []
    for operator in ("contains", "equals", "startswith", "regex"):
        if operator not in spec:
            continue
        value = spec[operator]
        if not isinstance(value, str):
            raise InvalidSpec((*where, operator), f"{operator} takes a string")
        tests.append(_text_test(operator, value, ignore_case, (*where, operator)))
        words.append(f"{operator} {value!r}" + (" (any case)" if ignore_case else ""))
    if not tests:
        raise InvalidSpec(where, "give at least one of contains, equals, startswith or regex")
    return (lambda text: all(test(text) for test in tests)), " and ".join(words)


def _text_test(operator: str, value: str, ignore_case: bool, where: Where) -> TextTest:
    if operator == "regex":
        try:
            pattern = re.compile(value, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            raise InvalidSpec(where, f"invalid regular expression {value!r}: {exc}") from None
        return lambda text: pattern.search(text) is not None
    wanted = value.casefold() if ignore_case else value
    fold: Callable[[str], str] = str.casefold if ignore_case else str

    if operator == "contains":
        return lambda text: wanted in fold(text)
    if operator == "startswith":
        return lambda text: fold(text).startswith(wanted)
    return lambda text: fold(text) == wanted


def _compile_model(spec: JSON, where: Where) -> Condition:
    test, wanted = compile_text(spec, where, shorthand="equals")
    exact = (spec,) if isinstance(spec, str) else tuple(spec) if isinstance(spec, list) else ()
    return Condition("model", f"model {wanted}", lambda ctx: test(ctx.model or ""), exact)


def _compile_input(spec: JSON, where: Where) -> Condition:
    if isinstance(spec, Mapping) and "item_type" in spec:
        item_type = spec["item_type"]
        if not isinstance(item_type, str):
            raise InvalidSpec((*where, "item_type"), "item_type takes an input item type such as function_call_output")
        rest = {key: value for key, value in spec.items() if key != "item_type"}
        text_test, text_words = compile_text(rest, where, shorthand="contains") if rest else (None, "")
        wanted = f"input holds an item of type {item_type!r}" + (
            f" and its last user message {text_words}" if rest else ""
        )

        def has_item(ctx: RequestContext) -> bool:
            if item_type not in ctx.input_item_types:
                return False
            return text_test is None or text_test(ctx.last_user_text)

        return Condition("input", wanted, has_item)
    test, wanted = compile_text(spec, where, shorthand="contains")
    return Condition("input", f"last user message {wanted}", lambda ctx: test(ctx.last_user_text))


def _compile_input_text(spec: JSON, where: Where) -> Condition:
    test, wanted = compile_text(spec, where, shorthand="contains")
    return Condition("input_text", f"input text {wanted}", lambda ctx: test(ctx.input_text))


def _compile_instructions(spec: JSON, where: Where) -> Condition:
    test, wanted = compile_text(spec, where, shorthand="contains")

    def check(ctx: RequestContext) -> bool:
        instructions = ctx.body.get("instructions")
        return isinstance(instructions, str) and test(instructions)

    return Condition("instructions", f"instructions {wanted}", check)


def _compile_tools(spec: JSON, where: Where) -> Condition:
    names = [spec] if isinstance(spec, str) else spec
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise InvalidSpec(where, "tools takes a tool name or a list of tool names (all must be offered)")
    wanted = frozenset(names)
    return Condition("tools", "tools offered include " + ", ".join(names), lambda ctx: wanted <= ctx.tool_names)


def _compile_stream(spec: JSON, where: Where) -> Condition:
    if not isinstance(spec, bool):
        raise InvalidSpec(where, "stream takes true or false")
    return Condition("stream", f"stream is {str(spec).lower()}", lambda ctx: ctx.stream is spec)


def _compile_metadata(spec: JSON, where: Where) -> Condition:
    if not isinstance(spec, Mapping) or not all(isinstance(value, str) for value in spec.values()):
        raise InvalidSpec(where, "metadata takes a mapping of keys to string values")
    wanted = dict(spec)

    def check(ctx: RequestContext) -> bool:
        metadata = ctx.body.get("metadata")
        return isinstance(metadata, dict) and all(metadata.get(key) == value for key, value in wanted.items())

    return Condition("metadata", f"metadata has {wanted}", check)


def _compile_format(spec: JSON, where: Where) -> Condition:
    wanted = {"type": spec} if isinstance(spec, str) else spec
    if not isinstance(wanted, Mapping) or not set(wanted) <= {"type", "name"}:
        raise InvalidSpec(where, "format takes a text.format type (text, json_object, json_schema) or {type, name}")
    expected = dict(wanted)
    return Condition(
        "format",
        f"text.format has {expected}",
        lambda ctx: all(ctx.text_format.get(key) == value for key, value in expected.items()),
    )


def _compile_headers(spec: JSON, where: Where) -> Condition:
    if not isinstance(spec, Mapping):
        raise InvalidSpec(where, "headers takes a mapping of header names to text conditions")
    tests = {
        str(name).lower(): compile_text(value, (*where, str(name)), shorthand="equals") for name, value in spec.items()
    }

    def check(ctx: RequestContext) -> bool:
        return all(name in ctx.headers and test(ctx.headers[name]) for name, (test, _) in tests.items())

    return Condition("headers", "headers " + ", ".join(f"{n} {w}" for n, (_, w) in tests.items()), check)


_COMPILERS: dict[str, Callable[[JSON, Where], Condition]] = {
    "model": _compile_model,
    "input": _compile_input,
    "input_text": _compile_input_text,
    "instructions": _compile_instructions,
    "tools": _compile_tools,
    "stream": _compile_stream,
    "metadata": _compile_metadata,
    "format": _compile_format,
    "headers": _compile_headers,
}

MATCH_KEYS: tuple[str, ...] = tuple(_COMPILERS)


def compile_match(spec: JSON, where: Where) -> tuple[Condition, ...]:
    """Compile a whole `match:` block (absent or empty: matches every request)."""
    if spec is None:
        return ()
    if not isinstance(spec, Mapping):
        raise InvalidSpec(where, f"match must be a mapping with keys among {', '.join(MATCH_KEYS)}")
    conditions = []
    for key, value in spec.items():
        compiler = _COMPILERS.get(key)
        if compiler is None:
            raise InvalidSpec((*where, key), f"unknown match key {key!r}; use one of {', '.join(MATCH_KEYS)}")
        conditions.append(compiler(value, (*where, key)))
    return tuple(conditions)
