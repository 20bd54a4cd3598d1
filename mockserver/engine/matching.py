"""Scenario `match:` blocks compiled into predicates over a `RequestContext`.

Every key of a `match:` block becomes one `Condition`; a scenario matches when all of them hold. `all`, `any` and
`not` combine blocks. Each condition can say what it wanted and what the request had instead (`explain`), which is
what near-miss reports are made of.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..core.context import RequestContext
from ..core.errors import InvalidSpec, reject_unknown_keys
from ..core.types import JSON, Where
from .value_tests import TEXT_OPERATORS, TextTest, compile_text, parse_path, path_values, quote

Test = Callable[[RequestContext], bool]
Observe = Callable[[RequestContext], str]


@dataclass(frozen=True)
class Condition:
    """One compiled `match:` key: what it wants (in words), the test, and what a request has instead."""

    key: str
    wanted: str
    test: Test
    observe: Observe
    exact_values: tuple[str, ...] = ()  # the values an exact condition accepts (e.g. model names), if any
    parts: tuple[Condition, ...] = ()  # the conditions an `all`/`any` combinator holds (any of which may hold)

    def holds(self, ctx: RequestContext) -> bool:
        return self.test(ctx)

    def explain(self, ctx: RequestContext) -> str:
        """`wanted`, then what the request has: `model equals 'gpt-4.1', but it is 'gpt-4o'`."""
        return f"{self.wanted}, but {self.observe(ctx)}"


# ---------------------------------------------------------------- one compiler per match key

_JSON_OPERATORS = ("equals", "exists", *TEXT_OPERATORS[:-1], "ignore_case")


def _model(spec: JSON, where: Where) -> Condition:
    test, wanted = compile_text(spec, where, shorthand="equals")
    exact = (spec,) if isinstance(spec, str) else tuple(spec) if isinstance(spec, list) else ()
    return Condition(
        "model", f"model {wanted}", lambda ctx: test(ctx.model or ""), lambda ctx: f"it is {quote(ctx.model)}", exact
    )


def _last_user_message(ctx: RequestContext) -> str:
    return f"the last user message is {quote(ctx.last_user_text)}" if ctx.last_user_text else "there is no user message"


def _input(spec: JSON, where: Where) -> Condition:
    if isinstance(spec, Mapping) and "item_type" in spec:
        return _input_item_type(spec, where)
    test, wanted = compile_text(spec, where, shorthand="contains")
    exact = (spec["equals"],) if isinstance(spec, Mapping) and spec.keys() == {"equals"} else ()
    return Condition(
        "input", f"last user message {wanted}", lambda ctx: test(ctx.last_user_text), _last_user_message, exact
    )


def _input_item_type(spec: Mapping[str, JSON], where: Where) -> Condition:
    item_type = spec["item_type"]
    if not isinstance(item_type, str):
        raise InvalidSpec((*where, "item_type"), "item_type takes an input item type such as function_call_output")
    rest = {key: value for key, value in spec.items() if key != "item_type"}
    wanted = f"input holds an item of type {quote(item_type)}"
    text_test: TextTest | None = None
    if rest:
        text_test, words = compile_text(rest, where, shorthand="contains")
        wanted += f" and the last user message {words}"

    def test(ctx: RequestContext) -> bool:
        return item_type in ctx.input_item_types and (text_test is None or text_test(ctx.last_user_text))

    def observe(ctx: RequestContext) -> str:
        types = ", ".join(sorted(ctx.input_item_types)) or "none"
        return f"the input item types are {types}" + (f" and {_last_user_message(ctx)}" if rest else "")

    return Condition("input", wanted, test, observe)


def _input_text(spec: JSON, where: Where) -> Condition:
    test, wanted = compile_text(spec, where, shorthand="contains")
    return Condition(
        "input_text",
        f"input text {wanted}",
        lambda ctx: test(ctx.input_text),
        lambda ctx: f"it is {quote(ctx.input_text)}",
    )


def _instructions(spec: JSON, where: Where) -> Condition:
    test, wanted = compile_text(spec, where, shorthand="contains")

    def instructions(ctx: RequestContext) -> str | None:
        value = ctx.body.get("instructions")
        return value if isinstance(value, str) else None

    return Condition(
        "instructions",
        f"instructions {wanted}",
        lambda ctx: (text := instructions(ctx)) is not None and test(text),
        lambda ctx: f"they are {quote(instructions(ctx))}" if instructions(ctx) else "there are none",
    )


def _tools(spec: JSON, where: Where) -> Condition:
    entries = spec if isinstance(spec, list) else [spec]
    wanted_tools: list[tuple[str | None, str | None]] = []  # (name, type)
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            wanted_tools.append((entry, None))
        elif isinstance(entry, Mapping) and entry and set(entry) <= {"name", "type"}:
            wanted_tools.append((entry.get("name"), entry.get("type")))
        else:
            raise InvalidSpec((*where, index), "a tool is a name (or hosted tool type) or {name, type}")
    words = ", ".join(
        str(name) if type_ is None else f"{type_} tool" + (f" {name}" if name else "") for name, type_ in wanted_tools
    )

    def offered(ctx: RequestContext, name: str | None, type_: str | None) -> bool:
        if type_ is None:
            return name in ctx.tool_names
        return any(tool.get("type") == type_ and (name is None or tool.get("name") == name) for tool in ctx.tools)

    return Condition(
        "tools",
        f"tools offered include {words}",
        lambda ctx: all(offered(ctx, name, type_) for name, type_ in wanted_tools),
        lambda ctx: "the tools offered are " + (", ".join(sorted(ctx.tool_names)) or "none"),
    )


def _tool_choice(spec: JSON, where: Where) -> Condition:
    if isinstance(spec, str):

        def test(ctx: RequestContext) -> bool:
            return (ctx.body.get("tool_choice") or "auto") == spec

    elif isinstance(spec, Mapping):
        expected = dict(spec)

        def test(ctx: RequestContext) -> bool:
            choice = ctx.body.get("tool_choice")
            return isinstance(choice, dict) and all(choice.get(k) == v for k, v in expected.items())

    else:
        raise InvalidSpec(
            where, "tool_choice takes auto, none, required or a mapping such as {type: function, name: f}"
        )
    return Condition(
        "tool_choice",
        f"tool_choice is {quote(spec)}",
        test,
        lambda ctx: f"it is {quote(ctx.body.get('tool_choice') or 'auto')}",
    )


def _function_call_output(spec: JSON, where: Where) -> Condition:
    if spec is True:
        return Condition(
            "function_call_output",
            "input holds a function_call_output",
            lambda ctx: bool(ctx.function_call_outputs),
            lambda ctx: "it holds none",
        )
    if spec is False:  # the first turn of a tool loop: no tool result yet
        return Condition(
            "function_call_output",
            "input holds no function_call_output",
            lambda ctx: not ctx.function_call_outputs,
            lambda ctx: f"it holds {len(ctx.function_call_outputs)}",
        )
    if not isinstance(spec, Mapping):
        raise InvalidSpec(where, "function_call_output takes true, false or {call_id, name, output}")
    reject_unknown_keys(spec, ("call_id", "name", "output"), where, "function_call_output key")
    tests: dict[str, TextTest] = {}
    words: list[str] = []
    for key in ("call_id", "name", "output"):
        if key in spec:
            shorthand = "contains" if key == "output" else "equals"
            tests[key], text = compile_text(spec[key], (*where, key), shorthand=shorthand)
            words.append(f"{key} {text}")

    def test(ctx: RequestContext) -> bool:
        return any(
            all(test(str(output.get(key) or "")) for key, test in tests.items()) for output in ctx.function_call_outputs
        )

    def observe(ctx: RequestContext) -> str:
        outputs = ctx.function_call_outputs
        if not outputs:
            return "the input holds none"
        return "the input holds " + "; ".join(
            f"call_id {quote(o['call_id'])}, name {quote(o['name'])}, output {quote(o['output'], 40)}" for o in outputs
        )

    return Condition(
        "function_call_output", "input holds a function_call_output with " + " and ".join(words), test, observe
    )


def _stream(spec: JSON, where: Where) -> Condition:
    if not isinstance(spec, bool):
        raise InvalidSpec(where, "stream takes true or false")
    return Condition(
        "stream",
        f"stream is {str(spec).lower()}",
        lambda ctx: ctx.stream is spec,
        lambda ctx: f"it is {str(ctx.stream).lower()}",
    )


def _metadata(spec: JSON, where: Where) -> Condition:
    if not isinstance(spec, Mapping) or not all(isinstance(value, str) for value in spec.values()):
        raise InvalidSpec(where, "metadata takes a mapping of keys to string values")
    wanted = dict(spec)

    def metadata(ctx: RequestContext) -> dict[str, JSON]:
        value = ctx.body.get("metadata")
        return value if isinstance(value, dict) else {}

    return Condition(
        "metadata",
        f"metadata has {wanted}",
        lambda ctx: all(metadata(ctx).get(key) == value for key, value in wanted.items()),
        lambda ctx: f"it is {metadata(ctx)}",
    )


def _format(spec: JSON, where: Where) -> Condition:
    wanted = {"type": spec} if isinstance(spec, str) else spec
    if not isinstance(wanted, Mapping) or not set(wanted) <= {"type", "name"}:
        raise InvalidSpec(where, "format takes a text.format type (text, json_object, json_schema) or {type, name}")
    expected = dict(wanted)

    def observe(ctx: RequestContext) -> str:
        fmt = ctx.text_format
        return "it is " + ", ".join(f"{key} {quote(fmt.get(key))}" for key in ("type", "name") if key in fmt)

    return Condition(
        "format",
        "text.format has " + ", ".join(f"{key} {quote(value)}" for key, value in expected.items()),
        lambda ctx: all(ctx.text_format.get(key) == value for key, value in expected.items()),
        observe,
    )


def _headers(spec: JSON, where: Where) -> Condition:
    if not isinstance(spec, Mapping) or not spec:
        raise InvalidSpec(where, "headers takes a mapping of header names to text conditions")
    tests = {
        str(name).lower(): compile_text(value, (*where, str(name)), shorthand="equals") for name, value in spec.items()
    }

    def test(ctx: RequestContext) -> bool:
        return all(name in ctx.headers and test(ctx.headers[name]) for name, (test, _) in tests.items())

    def observe(ctx: RequestContext) -> str:
        return ", ".join(
            f"{name} is {quote(ctx.headers[name])}" if name in ctx.headers else f"{name} is absent" for name in tests
        )

    return Condition("headers", "header " + ", ".join(f"{n} {w}" for n, (_, w) in tests.items()), test, observe)


def _previous_response_id(spec: JSON, where: Where) -> Condition:
    def previous(ctx: RequestContext) -> str | None:
        value = ctx.body.get("previous_response_id")
        return value if isinstance(value, str) else None

    def observe(ctx: RequestContext) -> str:
        return f"it is {quote(previous(ctx))}" if previous(ctx) else "there is none"

    if isinstance(spec, bool):
        return Condition(
            "previous_response_id",
            "previous_response_id is " + ("set" if spec else "absent"),
            lambda ctx: (previous(ctx) is not None) is spec,
            observe,
        )
    test, wanted = compile_text(spec, where, shorthand="equals")
    return Condition(
        "previous_response_id",
        f"previous_response_id {wanted}",
        lambda ctx: (value := previous(ctx)) is not None and test(value),
        observe,
    )


def _turn(spec: JSON, where: Where) -> Condition:
    if isinstance(spec, int) and not isinstance(spec, bool):
        low, high, wanted = spec, spec, f"turn is {spec}"
    elif isinstance(spec, Mapping) and spec and set(spec) <= {"min", "max"}:
        low, high = spec.get("min", 1), spec.get("max", 1_000_000)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
            raise InvalidSpec(where, "turn's min and max take whole numbers")
        wanted = "turn is " + " and ".join(
            f"{word} {spec[key]}" for key, word in (("min", "at least"), ("max", "at most")) if key in spec
        )
    else:
        raise InvalidSpec(where, "turn takes a number (1 = no previous_response_id) or {min, max}")
    return Condition("turn", wanted, lambda ctx: low <= ctx.turn <= high, lambda ctx: f"it is {ctx.turn}")


def _state(spec: JSON, where: Where) -> Condition:
    if not isinstance(spec, Mapping) or not spec or not all(isinstance(v, str) for v in spec.values()):
        raise InvalidSpec(where, "state takes a mapping of state machine names to states, e.g. {checkout: paid}")
    wanted = {str(machine): str(state) for machine, state in spec.items()}
    return Condition(
        "state",
        "state " + ", ".join(f"{machine} is {quote(state)}" for machine, state in wanted.items()),
        lambda ctx: all(ctx.states.get(machine, "start") == state for machine, state in wanted.items()),
        lambda ctx: ", ".join(f"{machine} is {quote(ctx.states.get(machine, 'start'))}" for machine in wanted),
    )


def _json_value_test(spec: JSON, where: Where) -> tuple[Callable[[list[JSON]], bool], str]:
    if isinstance(spec, Mapping):
        reject_unknown_keys(spec, _JSON_OPERATORS, where, "json operator")
        if "exists" in spec:
            exists = spec["exists"]
            if not isinstance(exists, bool) or len(spec) > 1:
                raise InvalidSpec((*where, "exists"), "exists takes true or false, alone")
            return (lambda values: bool(values) is exists), "exists" if exists else "is absent"
        if "equals" in spec and len(spec) == 1 and not isinstance(spec["equals"], str):
            expected = spec["equals"]
            return (lambda values: expected in values), f"equals {quote(expected)}"
        text_test, words = compile_text(dict(spec), where, shorthand="equals")
        return (lambda values: any(isinstance(v, str) and text_test(v) for v in values)), words
    return (lambda values: spec in values), f"equals {quote(spec)}"


def _json(spec: JSON, where: Where) -> Condition:
    if not isinstance(spec, Mapping) or not spec:
        raise InvalidSpec(where, "json takes a mapping of body paths (e.g. text.format.name, input[0].role) to values")
    checks = []
    for path, value_spec in spec.items():
        try:
            steps = parse_path(str(path))
        except ValueError as exc:
            raise InvalidSpec((*where, str(path)), str(exc)) from None
        value_test, words = _json_value_test(value_spec, (*where, str(path)))
        checks.append((str(path), steps, value_test, words))

    def observe(ctx: RequestContext) -> str:
        seen = []
        for path, steps, _, _ in checks:
            values = path_values(ctx.body, steps)
            shown = quote(values[0] if len(values) == 1 else values) if values else "absent"
            seen.append(f"{path} is {shown}")
        return "; ".join(seen)

    return Condition(
        "json",
        "body " + "; ".join(f"{path} {words}" for path, _, _, words in checks),
        lambda ctx: all(test(path_values(ctx.body, steps)) for _, steps, test, _ in checks),
        observe,
    )


# ---------------------------------------------------------------- combinators


def _all(spec: JSON, where: Where) -> Condition:
    blocks = _blocks(spec, where, "all")
    conditions = [c for block in blocks for c in block]
    return Condition(
        "all",
        "all of: " + "; ".join(c.wanted for c in conditions),
        lambda ctx: all(c.holds(ctx) for c in conditions),
        lambda ctx: "; ".join(c.explain(ctx) for c in conditions if not c.holds(ctx)),
        parts=tuple(conditions),
    )


def _any(spec: JSON, where: Where) -> Condition:
    blocks = _blocks(spec, where, "any")
    return Condition(
        "any",
        "any of: " + " | ".join(" and ".join(c.wanted for c in block) for block in blocks),
        lambda ctx: any(all(c.holds(ctx) for c in block) for block in blocks),
        lambda ctx: "none held (" + " | ".join(c.explain(ctx) for b in blocks for c in b if not c.holds(ctx)) + ")",
        parts=tuple(c for block in blocks for c in block),
    )


def _not(spec: JSON, where: Where) -> Condition:
    block = compile_match(spec, where)
    if not block:
        raise InvalidSpec(where, "not takes a match block with at least one key")
    return Condition(
        "not",
        "not (" + " and ".join(c.wanted for c in block) + ")",
        lambda ctx: not all(c.holds(ctx) for c in block),
        lambda ctx: "it does",
    )


def _blocks(spec: JSON, where: Where, key: str) -> list[tuple[Condition, ...]]:
    if not isinstance(spec, list) or not spec:
        raise InvalidSpec(where, f"{key} takes a list of match blocks")
    blocks = [compile_match(block, (*where, index)) for index, block in enumerate(spec)]
    if not all(blocks):
        raise InvalidSpec(where, f"every block of {key} needs at least one key")
    return blocks


_COMPILERS: dict[str, Callable[[JSON, Where], Condition]] = {
    "model": _model,
    "input": _input,
    "input_text": _input_text,
    "instructions": _instructions,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "function_call_output": _function_call_output,
    "format": _format,
    "stream": _stream,
    "metadata": _metadata,
    "headers": _headers,
    "previous_response_id": _previous_response_id,
    "turn": _turn,
    "state": _state,
    "json": _json,
    "all": _all,
    "any": _any,
    "not": _not,
}

MATCH_KEYS: tuple[str, ...] = tuple(_COMPILERS)


def compile_match(spec: JSON, where: Where) -> tuple[Condition, ...]:
    """Compile a whole `match:` block (absent or empty: matches every request)."""
    if spec is None:
        return ()
    if not isinstance(spec, Mapping):
        raise InvalidSpec(where, f"match must be a mapping with keys among {', '.join(MATCH_KEYS)}")
    reject_unknown_keys(spec, MATCH_KEYS, where, "match key")
    return tuple(_COMPILERS[key](value, (*where, key)) for key, value in spec.items())
