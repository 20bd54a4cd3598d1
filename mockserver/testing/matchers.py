"""Partial matchers for the journal assertions of `MockAPI` (`assert_called_with`, `assert_any_call`, …).

An expected value matches an actual one when it is
- `ANY`: anything, even an absent field;
- `contains(part)`: a string holding `part`; a list with an item that matches or contains `part`; a mapping with at
  least `part`'s keys, each matching (or, for a string `part`, a value that contains it: `input=contains("Paris")`
  finds the word in a list of messages);
- a callable (not a class): called with the actual value, matching when it returns true;
- a mapping or a list: of the same keys or length, each value matching (so matchers work at any depth);
- anything else: equal.

    mock.assert_any_call(input=contains("weather"), tools=contains({"name": "get_weather"}), metadata=ANY)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ANY", "ABSENT", "contains", "matches", "Matcher"]

ABSENT: Any = object()
"""The value of a field the request body does not have."""


class Matcher:
    """A value that decides for itself what it matches; its `repr` says what it expects, for failure messages."""

    def __init__(self, test: Callable[[Any], bool], description: str) -> None:
        self._test = test
        self._description = description

    def matches(self, actual: Any) -> bool:
        return bool(self._test(actual))

    def __repr__(self) -> str:
        return self._description


ANY = Matcher(lambda actual: True, "ANY")


def contains(part: Any) -> Matcher:
    """A string holding `part`, a list with an item matching `part`, or a mapping with at least `part`'s keys."""
    return Matcher(lambda actual: _contains(part, actual), f"contains({part!r})")


def matches(expected: Any, actual: Any) -> bool:
    """Whether `actual` (a request's value, `ABSENT` for none) is what `expected` describes (see the module)."""
    if isinstance(expected, Matcher):
        return expected.matches(actual)
    if actual is ABSENT:
        return False
    if callable(expected) and not isinstance(expected, type):
        return bool(expected(actual))
    if isinstance(expected, Mapping):
        return (
            isinstance(actual, Mapping)
            and set(expected) == set(actual)
            and all(matches(value, actual[key]) for key, value in expected.items())
        )
    if isinstance(expected, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(expected) == len(actual)
            and all(matches(want, got) for want, got in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def _contains(part: Any, actual: Any) -> bool:
    if isinstance(actual, str):
        return isinstance(part, str) and part in actual
    if isinstance(actual, Mapping) and isinstance(part, Mapping):
        return all(key in actual and matches(value, actual[key]) for key, value in part.items())
    if isinstance(actual, Mapping) and isinstance(part, str):  # text anywhere inside, e.g. in a list of messages
        return any(_contains(part, value) for value in actual.values())
    if isinstance(actual, list | tuple):
        return any(matches(part, item) or _contains(part, item) for item in actual)
    return False
