"""Bounds on the work one request can cause, so that no body, scenario or template stalls the server.

Three kinds of work can grow without bound from a few bytes: a value generated from a JSON Schema (`generate`), a
regular expression matched against a request's text (scenario `regex` conditions, the template `regex` filter), and
a template rendered (`templates`). Each gets a size cap and a time cap (`WORK_SECONDS`); the README's "Reliability
and security" section lists them. The time caps are cooperative: the work checks a `Deadline` as it goes, and
regular expressions run in the `regex` package, which stops a match itself when its `timeout` passes (the standard
`re` cannot be stopped, and `^(a+)+$` against 30 characters takes minutes).
"""

from __future__ import annotations

import importlib
import time
from typing import Any

import regex

WORK_SECONDS = 1.0  # the longest one regex match, one template or one generated value may take

_sre: Any = importlib.import_module("re._parser")
_REPEATS = frozenset(("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"))


class WorkTimeout(Exception):
    """A piece of work ran past its deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"it took more than {seconds:g} s")
        self.seconds = seconds


class Deadline:
    """`check()` raises `WorkTimeout` once `seconds` have passed since the deadline was made."""

    __slots__ = ("seconds", "at")

    def __init__(self, seconds: float = WORK_SECONDS) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise WorkTimeout(self.seconds)

    def left(self) -> float:
        return max(self.at - time.monotonic(), 0.001)


Pattern = Any  # a compiled `regex` pattern (the package ships no type information)
RegexError = regex.error


def compile_regex(pattern: str, *, ignore_case: bool = False) -> Pattern:
    """`pattern` compiled by the `regex` package (the syntax of `re`); `RegexError` when it is not valid."""
    return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)


def timed_search(pattern: Pattern, text: str, seconds: float = WORK_SECONDS) -> Any:
    """`pattern.search(text)`, or `WorkTimeout` after `seconds`. The match releases the GIL, so other threads (and
    the event loop) run meanwhile."""
    try:
        return pattern.search(text, timeout=seconds, concurrent=True)
    except TimeoutError:
        raise WorkTimeout(seconds) from None


def nested_quantifier(pattern: str) -> bool:
    """Whether a repeated group holds a repeat itself (`(a+)+`, `(\\w+\\s?)*`): the shape that makes a regular
    expression take exponential time on a text that almost matches. False when `re`'s parser cannot read it."""
    try:
        tree = _sre.parse(pattern)
    except Exception:  # a pattern `re` cannot parse has no tree to look at; `regex` reports its own errors
        return False
    return _nests(tree, inside_repeat=False)


def _nests(tree: Any, *, inside_repeat: bool) -> bool:
    for op, arg in tree:
        kind = str(op)
        if kind in _REPEATS:
            repeats = arg[1] == _sre.MAXREPEAT or arg[1] > 1
            if (repeats and inside_repeat) or _nests(arg[2], inside_repeat=inside_repeat or repeats):
                return True
        elif kind == "BRANCH":
            if any(_nests(branch, inside_repeat=inside_repeat) for branch in arg[1]):
                return True
        elif kind in ("SUBPATTERN", "ASSERT", "ASSERT_NOT") and _nests(arg[-1], inside_repeat=inside_repeat):
            return True
        elif kind == "ATOMIC_GROUP" and _nests(arg, inside_repeat=inside_repeat):
            return True
    return False
