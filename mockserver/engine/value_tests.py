"""How one value of a request is tested: the text operators of a `match:` key (`contains`, `equals`,
`startswith`, `regex`, `ignore_case`, with the regex time cap) and the JSON paths of a `json:` condition.

`matching` builds its conditions from these; near-miss reports quote values with `quote`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from ..core.errors import InvalidSpec, reject_unknown_keys
from ..core.limits import Pattern, RegexError, WorkTimeout, compile_regex, timed_search
from ..core.types import JSON, Where


def quote(value: object, limit: int = 60) -> str:
    """A value as a short quoted string for messages."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"'{text}'"


# ---------------------------------------------------------------- text conditions

TextTest = Callable[[str], bool]

TEXT_OPERATORS = ("contains", "equals", "startswith", "regex", "ignore_case")


def compile_text(spec: JSON, where: Where, *, shorthand: str) -> tuple[TextTest, str]:
    """A text condition: a plain string (read as `shorthand`), a list of alternatives, or a mapping of operators."""
    if isinstance(spec, str):
        spec = {shorthand: spec}
    if isinstance(spec, list):
        if not spec or not all(isinstance(value, str) for value in spec):
            raise InvalidSpec(where, "a list here must hold one or more strings (any of them matches)")
        choices = frozenset(spec)
        return (lambda text: text in choices), "is one of " + ", ".join(quote(value) for value in spec)
    if not isinstance(spec, Mapping):
        raise InvalidSpec(where, f"expected a string, a list of strings or a mapping of {', '.join(TEXT_OPERATORS)}")
    reject_unknown_keys(spec, TEXT_OPERATORS, where, "text operator")
    ignore_case = spec.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise InvalidSpec((*where, "ignore_case"), "ignore_case takes true or false")
    tests: list[TextTest] = []
    words: list[str] = []
    for operator in ("contains", "equals", "startswith", "regex"):
        if operator in spec:
            value = spec[operator]
            if not isinstance(value, str):
                raise InvalidSpec((*where, operator), f"{operator} takes a string")
            tests.append(_text_test(operator, value, ignore_case, (*where, operator)))
            words.append(("matches" if operator == "regex" else operator) + f" {quote(value, 80)}")
    if not tests:
        raise InvalidSpec(where, "give at least one of contains, equals, startswith or regex")
    wanted = " and ".join(words) + (" (any case)" if ignore_case else "")
    return (lambda text: all(test(text) for test in tests)), wanted


def _text_test(operator: str, value: str, ignore_case: bool, where: Where) -> TextTest:
    if operator == "regex":
        try:
            pattern = compile_regex(value, ignore_case=ignore_case)
        except RegexError as exc:
            raise InvalidSpec(where, f"invalid regular expression {value!r}: {exc}") from None
        return lambda text: _searched(pattern, value, text)
    wanted = value.casefold() if ignore_case else value
    fold: Callable[[str], str] = str.casefold if ignore_case else str
    if operator == "contains":
        return lambda text: wanted in fold(text)
    if operator == "startswith":
        return lambda text: fold(text).startswith(wanted)
    return lambda text: fold(text) == wanted


class RegexTimeout(WorkTimeout):
    """A scenario's regular expression ran past its time cap on a request's text."""

    def __init__(self, pattern: str, seconds: float) -> None:
        super().__init__(seconds)
        self.pattern = pattern


def _searched(pattern: Pattern, source: str, text: str) -> bool:
    try:
        return timed_search(pattern, text) is not None
    except WorkTimeout as exc:
        raise RegexTimeout(source, exc.seconds) from None


# ---------------------------------------------------------------- json paths

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+|\*)\]")


def parse_path(path: str) -> list[str | int | None]:
    """`input[0].content` → ["input", 0, "content"]; `[*]` is None (any element)."""
    steps: list[str | int | None] = []
    position = 0
    for match in _PATH_TOKEN.finditer(path):
        if match.start() != position and path[position : match.start()] != ".":
            raise ValueError(f"cannot read the path at {path[position:]!r}")
        key, index = match.groups()
        steps.append(key if key is not None else (None if index == "*" else int(index)))
        position = match.end()
    if position != len(path) or not steps:
        raise ValueError(f"cannot read the path {path!r}")
    return steps


def path_values(value: JSON, steps: list[str | int | None]) -> list[JSON]:
    """Every value at the path (several where it has `[*]`)."""
    values = [value]
    for step in steps:
        found: list[JSON] = []
        for current in values:
            if step is None and isinstance(current, list):
                found.extend(current)
            elif isinstance(step, int) and isinstance(current, list) and -len(current) <= step < len(current):
                found.append(current[step])
            elif isinstance(step, str) and isinstance(current, dict) and step in current:
                found.append(current[step])
        values = found
    return values
