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

WORK_SECONDS = 1.0  # the longest one regex match, one template or one generated value may take (CPU seconds)
MAX_REGEX_REPEATS = 20_000  # `regex` unrolls counted repeats when it compiles: `a{1000000}` takes 300 MB

_CHECK_EVERY = 64  # calls between two looks at the clock (a call comes every few microseconds of work)
_sre: Any = importlib.import_module("re._parser")
_REPEATS = frozenset(("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"))


class WorkTimeout(Exception):
    """A piece of work ran past its deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"it took more than {seconds:g} s")
        self.seconds = seconds


class Deadline:
    """`check()` raises `WorkTimeout` once the thread that made it has spent `seconds` of CPU time since. CPU time,
    not the clock, so that a busy machine does not turn work that fits into a refusal; read every `_CHECK_EVERY`
    calls."""

    __slots__ = ("seconds", "at", "checks")

    def __init__(self, seconds: float = WORK_SECONDS) -> None:
        self.seconds = seconds
        self.at = time.thread_time() + seconds
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if self.checks % _CHECK_EVERY == 0 and time.thread_time() > self.at:  # the CPU clock costs a system call
            raise WorkTimeout(self.seconds)

    def left(self) -> float:
        return max(self.at - time.thread_time(), 0.001)


Pattern = Any  # a compiled `regex` pattern (the package ships no type information)
RegexError = regex.error


def compile_regex(pattern: str, *, ignore_case: bool = False) -> Pattern:
    """`pattern` compiled by the `regex` package (the syntax of `re`); `RegexError` when it is not valid, or when its
    counted repeats (`a{1000}`, nested ones multiplied) add up past `MAX_REGEX_REPEATS`."""
    try:
        size = _unrolled(_sre.parse(pattern))
    except Exception:  # the standard parser's objection; `regex` gives its own below
        size = 0
    if size > MAX_REGEX_REPEATS:
        raise RegexError(f"its counted repeats add up to {size}, past the {MAX_REGEX_REPEATS} this server compiles")
    return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)


def _unrolled(tree: Any) -> int:
    """Roughly how many nodes the pattern has once counted repeats are written out."""
    size = 0
    for op, arg in tree:
        kind = str(op)
        if kind in _REPEATS:
            low, high, sub = arg
            size += max(low, high if high != _sre.MAXREPEAT else 1) * _unrolled(sub)
        elif kind == "BRANCH":
            size += sum(_unrolled(branch) for branch in arg[1])
        elif kind in ("SUBPATTERN", "ASSERT", "ASSERT_NOT"):
            size += _unrolled(arg[-1])
        elif kind == "ATOMIC_GROUP":
            size += _unrolled(arg)
        else:
            size += 1
    return size


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
