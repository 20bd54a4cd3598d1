"""JSON values that fit a JSON Schema, deterministic for a given `random.Random`, plausible from field names.

Covers the keywords OpenAI's strict structured outputs allow (and a little more): `type` (also lists), `enum`,
`const`, `properties`/`required`/`additionalProperties`, `items`/`prefixItems`/`minItems`/`maxItems`/`uniqueItems`,
`anyOf`/`oneOf`/`allOf`, `$ref` into `$defs`/`definitions` (recursion ends: past a depth, the generator takes the
branch of an `anyOf` that does not recurse and the fewest array items allowed), string `format` (`email`, `date`,
`date-time`, `time`, `duration`, `uri`, `uuid`, `hostname`, `ipv4`, `ipv6`), `pattern` (generated from the regex's
parse tree and checked with `re.search`), `minLength`/`maxLength`, and numeric bounds with `multipleOf`.

Bounded, so that no schema stalls the server: one string holds at most `MAX_STRING_CHARS` characters, one array
`MAX_ARRAY_ITEMS` items, the whole value `MAX_VALUES` values and about `MAX_OUTPUT_BYTES` of JSON, and generating
it takes at most `limits.WORK_SECONDS` of CPU. A schema that asks for more (`minLength: 1000000000`, `minItems:
100000000`, a pattern repeating a character 10^8 times, 30 nested arrays of 5 items, an object whose required
properties refer to itself) is refused (`SchemaRefused`), which a request answers with a 400 naming the schema's
place, as the live API words an invalid schema ("Invalid schema for response_format 'x': In context=('properties',
'a'), ...").

Hand-written on purpose: `hypothesis-jsonschema` fails with current hypothesis and cannot follow recursive
references, and a run-time dependency on faker (`jsf`) is heavy for what a test double needs; this module is one
pass over the schema, microseconds a document, and seeded by the caller.
"""

from __future__ import annotations

import importlib
import math
import random
import re
import string
from typing import Any

from ..core.errors import invalid_request
from ..core.limits import Deadline, Pattern, RegexError, WorkTimeout, compile_regex, timed_search
from ..core.types import JSON, JSONObject
from .sample_values import WORDS, format_value, named_number, named_string, singular_of

_sre: Any = importlib.import_module("re._parser")

MAX_STRING_CHARS = 100_000  # characters of one generated string (minLength, or a pattern's repeats, above: refused)
MAX_ARRAY_ITEMS = 10_000  # items of one generated array, or properties of one object (minItems above: refused)
MAX_OUTPUT_BYTES = 1 << 20  # JSON bytes of the whole generated value, roughly (a value past it: refused)
MAX_VALUES = 20_000  # strings, numbers, objects... in the whole generated value (0.1-0.3 s of CPU)

_MAX_DEPTH = 4  # past this many references followed on one path, choose what ends the recursion
_HARD_DEPTH = 60  # nesting levels: a schema that cannot end gets null here
_FALLBACK_PATTERN_TEXT = "example"


class SchemaRefused(Exception):
    """A schema this generator will not produce a value for within its caps; `context` is where in the schema, in
    the live API's form (`('properties', 'a', 'items')`)."""

    def __init__(self, context: tuple[str, ...], problem: str) -> None:
        shown = str(context) if len(context) <= 12 else str(context[:12])[:-1] + ", ...)"
        super().__init__(f"In context={shown}, {problem}")
        self.context = context
        self.problem = problem


def generate_for_request(
    schema: JSON, rng: random.Random, *, param: str, what: str, code: str = "invalid_json_schema"
) -> JSON:
    """`generate` for a schema from a request: one it cannot read, or one past the caps, is the client's mistake:
    a 400 naming it (`what`: `response_format 'name'` or `function 'name'`)."""
    try:
        return generate(schema, rng)
    except SchemaRefused as exc:
        raise invalid_request(f"Invalid schema for {what}: {exc}.", param=param, code=code) from None
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError, ArithmeticError) as exc:
        raise invalid_request(
            f"Invalid schema for {what}: {type(exc).__name__}: {exc}.", param=param, code=code
        ) from None


def generate(schema: JSON, rng: random.Random, *, root: JSON = None, name: str = "") -> JSON:
    """A value valid against `schema` (references resolve against `root`, by default the schema itself)."""
    return _Generator(rng, schema if root is None else root).value(schema, name, 0, 0)


class _Generator:
    def __init__(self, rng: random.Random, root: JSON) -> None:
        self.rng = rng
        self.root = root
        self.deadline = Deadline()
        self.spent = 0  # JSON bytes generated so far, roughly
        self.values = 0
        self.context: list[str] = []  # where in the schema the value being generated is

    def refuse(self, problem: str) -> SchemaRefused:
        return SchemaRefused(tuple(self.context), problem)

    def spend(self, size: int) -> None:
        self.spent += size
        if self.spent > MAX_OUTPUT_BYTES:
            raise self.refuse(
                f"a value for this schema would be larger than {MAX_OUTPUT_BYTES} bytes, the most this server "
                "generates (lower minItems, or make a recursive property optional)"
            )
        try:
            self.deadline.check()
        except WorkTimeout as exc:
            raise self.refuse(
                f"generating a value for this schema took more than {exc.seconds:g} s, the most this server spends"
            ) from None

    def within(self, *steps: str) -> _Within:
        return _Within(self.context, steps)

    def value(self, schema: JSON, name: str, depth: int, level: int) -> JSON:
        """`depth`: references followed on the way here; `level`: nesting."""
        self.values += 1
        if self.values > MAX_VALUES:
            raise self.refuse(
                f"a value for this schema would hold more than {MAX_VALUES} values, the most this server generates "
                "(lower minItems, or make a recursive property optional)"
            )
        self.spend(2)
        if schema is True or not isinstance(schema, dict) or level > _HARD_DEPTH:
            return self._untyped(name) if level <= _HARD_DEPTH else None
        level += 1
        if "$ref" in schema:
            target = self._resolve(schema["$ref"])
            extra = {key: val for key, val in schema.items() if key != "$ref"}
            merged = {**target, **extra} if isinstance(target, dict) else extra
            return self.value(merged, name, depth + 1, level)
        if "allOf" in schema and isinstance(schema["allOf"], list):
            merged = {key: val for key, val in schema.items() if key != "allOf"}
            for part in schema["allOf"]:
                part = self._resolve(part["$ref"]) if isinstance(part, dict) and "$ref" in part else part
                if isinstance(part, dict):
                    merged = _merge(merged, part)
            return self.value(merged, name, depth, level)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                rest = {k: v for k, v in schema.items() if k != key}
                branch = self._choose_branch(branches, depth)
                chosen = _merge(rest, branch) if isinstance(branch, dict) else branch
                return self.value(chosen, name, depth, level)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if isinstance(k, str)]
            non_null = [k for k in kinds if k != "null"]
            if not non_null or (depth >= _MAX_DEPTH and "null" in kinds):
                return None
            kind = non_null[0] if len(non_null) == 1 else self.rng.choice(non_null)
        if kind is None:
            kind = _implied_type(schema)
        if kind == "object":
            return self._object(schema, depth, level)
        if kind == "array":
            return self._array(schema, name, depth, level)
        if kind == "string":
            return self._string(schema, name)
        if kind == "integer":
            return self._number(schema, name, integer=True)
        if kind == "number":
            return self._number(schema, name, integer=False)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self._untyped(name)

    # -- references and branches ---------------------------------------------------------------------------------

    def _resolve(self, ref: JSON) -> JSON:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        target: JSON = self.root
        for part in ref.removeprefix("#").removeprefix("/").split("/") if ref != "#" else ():
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, dict) else None
        return target if isinstance(target, dict | bool) else {}

    def _choose_branch(self, branches: list[JSON], depth: int) -> JSON:
        if depth >= _MAX_DEPTH:
            ending = [b for b in branches if not self._recurses(b)]
            nulls = [b for b in ending if isinstance(b, dict) and b.get("type") == "null"]
            return (nulls or ending or branches)[0]
        non_null = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
        # Mostly a real value; sometimes the null branch, as a model would for an optional field.
        if non_null and (len(non_null) == len(branches) or self.rng.random() < 0.8):
            return self.rng.choice(non_null)
        return self.rng.choice(branches)

    def _recurses(self, schema: JSON) -> bool:
        return "$ref" in repr(schema)

    # -- objects and arrays --------------------------------------------------------------------------------------

    def _object(self, schema: JSONObject, depth: int, level: int) -> JSONObject:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [r for r in schema.get("required") or () if isinstance(r, str)]
        result: JSONObject = {}
        for key, sub in (properties or {}).items():
            optional = key not in required
            if optional and (depth >= _MAX_DEPTH or self.rng.random() < 0.3):
                continue
            with self.within("properties", key):
                self.spend(len(key) + 3)
                result[key] = self.value(sub, key, depth, level)
        additional = schema.get("additionalProperties", True)
        for key in required:  # required names without a property schema
            if key not in result:
                result[key] = self.value(additional if isinstance(additional, dict) else {}, key, depth, level)
        minimum = schema.get("minProperties")
        if isinstance(minimum, int) and minimum > MAX_ARRAY_ITEMS:
            raise self.refuse(
                f"'minProperties' is {minimum}, more than the {MAX_ARRAY_ITEMS} properties this server generates"
            )
        if isinstance(minimum, int) and additional is not False:
            index = 0
            while len(result) < minimum:
                key = f"{WORDS[index % len(WORDS)]}{index // len(WORDS) or ''}"
                if key not in result:
                    result[key] = self.value(additional if isinstance(additional, dict) else {}, key, depth, level)
                index += 1
        return result

    def _array(self, schema: JSONObject, name: str, depth: int, level: int) -> list[JSON]:
        low = _int(schema.get("minItems"), 0)
        if low > MAX_ARRAY_ITEMS:
            raise self.refuse(f"'minItems' is {low}, more than the {MAX_ARRAY_ITEMS} items this server generates")
        high = _int(schema.get("maxItems"), max(low, 3))
        given_prefix = schema.get("prefixItems")
        prefix: list[JSON] = given_prefix if isinstance(given_prefix, list) else []
        if depth >= _MAX_DEPTH:
            count = low
        else:
            count = self.rng.randint(max(low, min(1, high)), max(low, min(high, low + (3 if depth < 2 else 1))))
        items = schema.get("items", {})
        singular = singular_of(name)
        result: list[JSON] = []
        attempts = 0
        while len(result) < count and attempts < count * 10 + 10:
            attempts += 1
            index = len(result)
            sub = prefix[index] if index < len(prefix) else items
            with self.within("prefixItems" if index < len(prefix) else "items"):
                value = self.value(sub, singular, depth, level)
            if schema.get("uniqueItems") and value in result:
                continue
            result.append(value)
        return result

    # -- scalars -------------------------------------------------------------------------------------------------

    def _string(self, schema: JSONObject, name: str) -> str:
        text = self._unpaid_string(schema, name)
        self.spend(len(text))
        return text

    def _unpaid_string(self, schema: JSONObject, name: str) -> str:
        low = _int(schema.get("minLength"), 0)
        high = _int(schema.get("maxLength"), 10_000)
        if low > MAX_STRING_CHARS:
            raise self.refuse(
                f"'minLength' is {low}, more than the {MAX_STRING_CHARS} characters this server generates for a string"
            )
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            return self._pattern_string(pattern, low, high)
        fmt = schema.get("format")
        text = format_value(fmt, self.rng) if isinstance(fmt, str) else None
        if text is None:
            text = named_string(name, self.rng)
        if len(text) > high:
            text = text[:high].rstrip() if fmt is None else text[:high]
            text = text.ljust(min(low, high), "x")
        if len(text) < low:
            text = text + "x" * (low - len(text))
        return text

    def _pattern_string(self, pattern: str, low: int, high: int) -> str:
        try:
            tree = _sre.parse(pattern)
        except (re.error, RecursionError):
            return _FALLBACK_PATTERN_TEXT
        try:
            compiled = compile_regex(pattern)
        except RegexError as exc:
            raise self.refuse(f"'pattern' cannot be used: {exc}") from None
        for _ in range(20):
            try:
                text = self._from_tree(tree, [0])
            except (ValueError, RecursionError):
                break
            if low <= len(text) <= high and self._fits(compiled, text):
                return text
        for candidate in (_FALLBACK_PATTERN_TEXT, "", "a", "0", "A1"):
            if low <= len(candidate) <= high and self._fits(compiled, candidate):
                return candidate
        return _FALLBACK_PATTERN_TEXT

    def _fits(self, compiled: Pattern, text: str) -> bool:
        try:
            return timed_search(compiled, text, self.deadline.left()) is not None
        except WorkTimeout:
            return False

    def _from_tree(self, tree: Any, built: list[int]) -> str:
        """A string the parse tree matches; `built[0]` counts the characters made so far, against the cap."""
        out: list[str] = []
        for op, arg in tree:
            built[0] += 1
            kind = str(op)
            if kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                built[0] += arg[0]
            if built[0] > MAX_STRING_CHARS:
                raise self.refuse(
                    f"'pattern' requires strings longer than the {MAX_STRING_CHARS} characters this server generates"
                )
            if kind == "LITERAL":
                out.append(chr(arg))
            elif kind == "NOT_LITERAL":
                out.append("a" if arg != ord("a") else "b")
            elif kind == "ANY":
                out.append(self.rng.choice(string.ascii_lowercase))
            elif kind == "IN":
                out.append(self._from_set(arg))
            elif kind in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, sub = arg
                high = min(high, low + 3) if high != _sre.MAXREPEAT else low + 3
                count = self.rng.randint(low, max(low, high if low else max(1, min(high, 3))))
                out.extend(self._from_tree(sub, built) for _ in range(count))
            elif kind == "SUBPATTERN":
                out.append(self._from_tree(arg[-1], built))
            elif kind == "ATOMIC_GROUP":
                out.append(self._from_tree(arg, built))
            elif kind == "BRANCH":
                out.append(self._from_tree(self.rng.choice(arg[1]), built))
            elif kind in ("AT", "ASSERT", "ASSERT_NOT"):
                continue
            else:
                raise ValueError(kind)
        return "".join(out)

    def _from_set(self, items: Any) -> str:
        if items and str(items[0][0]) == "NEGATE":
            for candidate in "aA0_x-":
                if not any(_in_item(op, arg, candidate) for op, arg in items[1:]):
                    return candidate
            raise ValueError("negated set")
        op, arg = self.rng.choice(items)
        kind = str(op)
        if kind == "LITERAL":
            return chr(arg)
        if kind == "RANGE":
            return chr(self.rng.randint(arg[0], min(arg[1], arg[0] + 25)))
        if kind == "CATEGORY":
            return {"CATEGORY_DIGIT": "7", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "w"}.get(str(arg), "x")
        raise ValueError(kind)

    def _number(self, schema: JSONObject, name: str, *, integer: bool) -> int | float:
        low = _num(schema.get("minimum"))
        high = _num(schema.get("maximum"))
        ex_low = _num(schema.get("exclusiveMinimum"))
        ex_high = _num(schema.get("exclusiveMaximum"))
        step = 1.0 if integer else 0.01
        if ex_low is not None:
            low = max(low, ex_low + step) if low is not None else ex_low + step
        if ex_high is not None:
            high = min(high, ex_high - step) if high is not None else ex_high - step
        if integer:
            low = math.ceil(low) if low is not None else None
            high = math.floor(high) if high is not None else None
        guess = named_number(name, self.rng, integer)
        if low is not None and guess < low:
            guess = low + (self.rng.randint(0, 5) if high is None or high - low >= 5 else 0)
        if high is not None and guess > high:
            guess = high
        if low is not None and guess < low:
            guess = low
        multiple = _num(schema.get("multipleOf"))
        if multiple and not math.isfinite(guess / multiple):
            raise self.refuse(
                f"no multiple of {multiple:g} near {guess:g} can be represented: 'multipleOf' is too small for the "
                "bounds"
            )
        if multiple:
            guess = _multiple_near(guess, multiple, low, high, ex_low, ex_high)
        if integer:
            return int(guess)
        return float(guess) if isinstance(guess, float) else guess

    def _untyped(self, name: str) -> JSON:
        return named_string(name, self.rng)


class _Within:
    """`with generator.within("properties", "a"):` the value generated inside is at that place in the schema."""

    __slots__ = ("context", "steps")

    def __init__(self, context: list[str], steps: tuple[str, ...]) -> None:
        self.context = context
        self.steps = steps

    def __enter__(self) -> None:
        self.context.extend(self.steps)

    def __exit__(self, *exc: object) -> None:
        del self.context[-len(self.steps) :]


def _merge(base: JSONObject, extra: JSONObject) -> JSONObject:
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        elif key == "required" and isinstance(merged.get(key), list) and isinstance(value, list):
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def _implied_type(schema: JSONObject) -> str | None:
    if "properties" in schema or "additionalProperties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema or "minItems" in schema:
        return "array"
    if {"minLength", "maxLength", "pattern", "format"} & schema.keys():
        return "string"
    if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"} & schema.keys():
        return "number"
    return None


def _in_item(op: Any, arg: Any, char: str) -> bool:
    kind = str(op)
    if kind == "LITERAL":
        return bool(arg == ord(char))
    if kind == "RANGE":
        return bool(arg[0] <= ord(char) <= arg[1])
    if kind == "CATEGORY":
        return bool(re.fullmatch({"CATEGORY_DIGIT": r"\d", "CATEGORY_SPACE": r"\s"}.get(str(arg), r"\w"), char))
    return True


def _int(value: JSON, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _num(value: JSON) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _multiple_near(
    guess: float, multiple: float, low: float | None, high: float | None, ex_low: float | None, ex_high: float | None
) -> float:
    def fits(value: float) -> bool:
        if low is not None and value < low or high is not None and value > high:
            return False
        if ex_low is not None and value <= ex_low or ex_high is not None and value >= ex_high:
            return False
        if isinstance(multiple, float):
            quotient = value / multiple
            return int(quotient) == quotient
        return value % multiple == 0

    start = round(guess / multiple)
    for offset in range(0, 200):
        for k in (start + offset, start - offset):
            value = k * multiple
            value = round(value) if float(value).is_integer() else round(value, 10)
            if fits(value):
                return value
    return guess


# -- plausible values from names and formats ---------------------------------------------------------------------
