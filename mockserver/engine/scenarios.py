"""Scenario files: YAML that says which request gets which answer.

    scenarios:
      - name: greeting
        match: {input: {contains: hello}}
        response: {text: "Hello! How can I help?"}

A scenario has a `name`, an optional `match` (see matching), and either one `response` or a sequence of
`responses` (one per call; after the last, repeat it or `cycle`). `times`/`once` bound its lifetime, `priority` orders
it before others, `set_state` moves state machines that `match: {state: …}` reads, and `retries: same_call` makes an
SDK's automatic retries of one call get the same answer. A file's top-level `models:` list names models the server
accepts besides the catalog's. Any problem in a file stops loading with the file, the line, the column and what is
wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

from ..core.context import RequestContext
from ..core.errors import InvalidSpec, ScenarioFileError, unknown_key_message
from ..core.limits import WORK_SECONDS, nested_quantifier
from ..core.types import JSON, Where
from ..core.yamlfile import YamlDocument, check_file_size, load_yaml
from ..faults.replies import ModelReply
from .candidates import CandidateIndex
from .matching import Condition, compile_match
from .response_spec import ReplySource, compile_response

logger = logging.getLogger("mockserver")

SCENARIO_KEYS = (
    "name",
    "description",
    "match",
    "response",
    "responses",
    "cycle",
    "times",
    "once",
    "priority",
    "retries",
    "set_state",
)
TOP_LEVEL_KEYS = ("scenarios", "models")  # models: names the server knows besides those scenarios name
_SUFFIXES = (".yaml", ".yml")
SCAN_BELOW = 32  # a few scenarios are tried faster one by one than looked up
MATCHED_MODELS_KEPT = 1024  # model names whose answer `knows_model` remembers


@dataclass(frozen=True)
class Scenario:
    """One compiled scenario and where it was written (`file:line`)."""

    name: str
    conditions: tuple[Condition, ...]
    replies: tuple[ReplySource, ...]
    source: str
    description: str | None = None
    cycle: bool = False
    times: int | None = None
    priority: int = 0
    retries: Literal["new_call", "same_call"] = "new_call"
    set_state: Mapping[str, str] = field(default_factory=dict)
    uses_regex: bool = False  # a `regex` condition: matching it can take up to `limits.WORK_SECONDS`

    @property
    def reply(self) -> ReplySource:
        """The first reply (the only one, for a scenario with a single `response`)."""
        return self.replies[0]

    def matches(self, ctx: RequestContext) -> bool:
        return all(condition.holds(ctx) for condition in self.conditions)

    def reply_for_call(self, call_index: int) -> ReplySource:
        """The reply to the scenario's call number `call_index` (from 0)."""
        if call_index < len(self.replies):
            return self.replies[call_index]
        return self.replies[call_index % len(self.replies)] if self.cycle else self.replies[-1]


class ScenarioSet:
    """The loaded scenarios: in file order, and in selection order (higher `priority` first, then file order)."""

    def __init__(self, scenarios: Iterable[Scenario] = (), models: Iterable[str] = ()) -> None:
        self.scenarios: tuple[Scenario, ...] = tuple(scenarios)
        self.declared_models: tuple[str, ...] = tuple(models)
        """The models the files' top-level `models:` lists name."""
        self._model_names: frozenset[str] | None = None
        self._matched_models: dict[str, bool] = {}
        self.by_priority: tuple[Scenario, ...] = tuple(sorted(self.scenarios, key=lambda s: -s.priority))
        self._by_name = {scenario.name: scenario for scenario in self.scenarios}
        self._index: CandidateIndex[Scenario] | None = None

    def candidates(self, ctx: RequestContext) -> Iterator[Scenario]:
        """The scenarios in selection order that may answer `ctx` (those whose exact model or message differ left
        out; see `candidates`)."""
        if len(self.by_priority) <= SCAN_BELOW:
            return iter(self.by_priority)
        if self._index is None:
            self._index = CandidateIndex(self.by_priority)
        return self._index.candidates(ctx)

    def __len__(self) -> int:
        return len(self.scenarios)

    def named(self, name: str) -> Scenario | None:
        return self._by_name.get(name)

    def first_match(self, ctx: RequestContext) -> Scenario | None:
        """The scenario that answers `ctx`, ignoring lifetimes (the engine tracks those)."""
        return next((scenario for scenario in self.candidates(ctx) if scenario.matches(ctx)), None)

    def models(self) -> list[str]:
        """Model names that the files declare (`models:`) and scenarios match on exactly or answer with, for
        `GET /v1/models`."""
        names: list[str] = list(self.declared_models)
        for scenario in self.scenarios:
            names.extend(r.model for r in scenario.replies if isinstance(r, ModelReply) and r.model)
            for condition in _model_conditions(scenario.conditions):
                names.extend(condition.exact_values)
        return names

    def knows_model(self, model: str) -> bool:
        """Whether the scenarios name `model`: in `models()`, or matched by a scenario's `model` condition that is
        not an exact name (a regex, a prefix). Answers are remembered (the set never changes), a bounded number."""
        if self._model_names is None:
            self._model_names = frozenset(self.models())
        if model in self._model_names:
            return True
        known = self._matched_models.get(model)
        if known is None:
            probe = RequestContext({"model": model})
            known = any(
                condition.holds(probe)
                for scenario in self.scenarios
                for condition in _model_conditions(scenario.conditions)
            )
            if len(self._matched_models) >= MATCHED_MODELS_KEPT:
                self._matched_models.clear()
            self._matched_models[model] = known
        return known


def _model_conditions(conditions: Iterable[Condition]) -> Iterator[Condition]:
    """The `model` conditions among `conditions`, those inside `all`/`any` too (not those under `not`)."""
    for condition in conditions:
        if condition.key == "model":
            yield condition
        yield from _model_conditions(condition.parts)


# ---------------------------------------------------------------- loading


def scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """The YAML files named, folders expanded to their `*.yaml`/`*.yml` files in name order."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise ScenarioFileError(str(path), None, "no such file or folder")
    return files


class ScenarioList(list[Scenario]):
    """The scenarios of one file, with the models its top-level `models:` list declares."""

    def __init__(self, scenarios: Iterable[Scenario] = (), models: Iterable[str] = ()) -> None:
        super().__init__(scenarios)
        self.models = tuple(models)


def load_scenarios(paths: Iterable[str | Path]) -> ScenarioSet:
    """Load every scenario of the files and folders named; names must be unique across them."""
    scenarios: list[Scenario] = []
    models: list[str] = []
    seen: dict[str, str] = {}
    for path in scenario_files(paths):
        compiled = load_file(path)
        models.extend(compiled.models)
        for scenario in compiled:
            if scenario.name in seen:
                line = int(scenario.source.rsplit(":", 1)[1])
                raise ScenarioFileError(
                    str(path), line, f"scenario name {scenario.name!r} is already used at {seen[scenario.name]}"
                )
            seen[scenario.name] = scenario.source
            scenarios.append(scenario)
    return ScenarioSet(scenarios, models)


def load_file(path: str | Path) -> ScenarioList:
    try:
        check_file_size(Path(path).stat().st_size, str(path))
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioFileError(str(path), None, f"cannot read the file: {exc}") from None
    return parse_scenarios(text, str(path))


def parse_scenarios(
    text: str, filename: str = "<string>", problems: list[ScenarioFileError] | None = None
) -> ScenarioList:
    """Compile the scenarios of one YAML document; errors name `filename`, the line and the column. With `problems`,
    a scenario that does not compile is left out and each of its problems added there (`mockserver check` reports
    them all); otherwise the first problem raises."""
    document = load_yaml(text, filename)
    data = document.data
    if data is None:
        return ScenarioList()
    base: Where
    models: tuple[str, ...] = ()
    if isinstance(data, Mapping):
        extra = [key for key in data if key not in TOP_LEVEL_KEYS]
        if extra:
            raise document.error((extra[0],), unknown_key_message("top-level key", extra[0], TOP_LEVEL_KEYS))
        items, base = data.get("scenarios") or [], ("scenarios",)
        models = _declared_models(data.get("models", []), document)
    else:
        items, base = data, ()
    if not isinstance(items, list):
        raise document.error(base, "'scenarios' must be a list of scenarios")
    compiled = []
    base_dir = Path(document.filename).parent
    for index, raw in enumerate(items):
        where: Where = (*base, index)
        try:
            compiled.append(compile_scenario(raw, where, document))
        except InvalidSpec as exc:
            if problems is None:
                raise document.error(exc.where, exc.problem) from None
            problems.extend(
                document.error(found.where, found.problem) for found in scenario_problems(raw, where, exc, base_dir)
            )
    return ScenarioList(compiled, models)


def scenario_problems(raw: JSON, where: Where, first: InvalidSpec, base_dir: Path) -> list[InvalidSpec]:
    """`first`, the problem that stopped a scenario compiling, and those of its other parts: its `match` and each of
    its responses are compiled on their own, so one run finds a typo in each."""
    found = [first]
    if not isinstance(raw, Mapping):
        return found
    parts: list[Callable[[], object]] = [partial(compile_match, raw.get("match"), (*where, "match"))]
    if "response" in raw:
        parts.append(partial(compile_response, raw["response"], (*where, "response"), base_dir))
    elif isinstance(raw.get("responses"), list):
        parts.extend(
            partial(compile_response, item, (*where, "responses", index), base_dir)
            for index, item in enumerate(raw["responses"])
        )
    for part in parts:
        try:
            part()
        except InvalidSpec as exc:
            if all((exc.where, exc.problem) != (seen.where, seen.problem) for seen in found):
                found.append(exc)
    return sorted(found, key=lambda problem: [str(step) for step in problem.where])


def check_scenario_files(paths: Iterable[str | Path]) -> list[tuple[Path, int, list[ScenarioFileError]]]:
    """`mockserver check`: for each file the paths name, how many scenarios compiled and every problem found (a
    problem of the whole document, such as broken YAML, stops that file's check; names must be unique across files)."""
    checked: list[tuple[Path, int, list[ScenarioFileError]]] = []
    seen: dict[str, str] = {}
    for path in scenario_files(paths):
        problems: list[ScenarioFileError] = []
        try:
            check_file_size(path.stat().st_size, str(path))
            compiled = parse_scenarios(path.read_text(encoding="utf-8"), str(path), problems)
        except (OSError, UnicodeDecodeError) as exc:
            checked.append((path, 0, [ScenarioFileError(str(path), None, f"cannot read the file: {exc}")]))
            continue
        except ScenarioFileError as exc:
            checked.append((path, 0, [exc]))
            continue
        for scenario in compiled:
            if scenario.name in seen:
                line = int(scenario.source.rsplit(":", 1)[1])
                used = f"scenario name {scenario.name!r} is already used at {seen[scenario.name]}"
                problems.append(ScenarioFileError(str(path), line, used))
            seen.setdefault(scenario.name, scenario.source)
        problems.sort(key=lambda problem: (problem.line or 0, problem.column or 0))
        checked.append((path, len(compiled), problems))
    return checked


def _declared_models(raw: JSON, document: YamlDocument) -> tuple[str, ...]:
    """A file's `models:` list: model names the server accepts besides the catalog's (see `model_rules`)."""
    if not isinstance(raw, list):
        raise document.error(("models",), "models takes a list of model names")
    for index, name in enumerate(raw):
        if not isinstance(name, str) or not name.strip():
            raise document.error(("models", index), "each entry of models must be a non-empty model name")
    return tuple(str(name) for name in raw)


# ---------------------------------------------------------------- compiling one scenario


def compile_scenario(raw: JSON, where: Where, document: YamlDocument) -> Scenario:
    if not isinstance(raw, Mapping):
        raise InvalidSpec(where, "each scenario must be a mapping with name, match and response")
    unknown = [key for key in raw if key not in SCENARIO_KEYS]
    if unknown:
        raise InvalidSpec((*where, unknown[0]), unknown_key_message("scenario key", unknown[0], SCENARIO_KEYS))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidSpec((*where, "name") if "name" in raw else where, "every scenario needs a non-empty 'name'")
    description = raw.get("description")
    uses_regex = _regexes_in(raw.get("match"), (*where, "match"), document)
    return Scenario(
        name=name,
        conditions=compile_match(raw.get("match"), (*where, "match")),
        replies=_compile_replies(raw, where, name, Path(document.filename).parent),
        source=f"{document.filename}:{document.position_of(where).line}",
        description=description if isinstance(description, str) else None,
        cycle=_flag(raw, "cycle", where),
        times=_times(raw, where),
        priority=_integer(raw, "priority", where, default=0),
        retries=_retries(raw, where),
        set_state=_set_state(raw, where),
        uses_regex=uses_regex,
    )


def _regexes_in(match: JSON, where: Where, document: YamlDocument) -> bool:
    """Whether a `match` block holds a `regex`; a warning, with `file:line`, for each one that repeats a repeated
    group: such a pattern can take exponential time on a text that almost matches (each match is stopped at
    `limits.WORK_SECONDS`)."""
    found = False
    if isinstance(match, Mapping):
        for key, value in match.items():
            if key == "regex" and isinstance(value, str):
                found = True
                if nested_quantifier(value):
                    position = document.position_of((*where, key))
                    logger.warning(
                        "%s:%d: the regex %r repeats a group that itself repeats; on a text that almost matches it "
                        "can take exponential time (each match is stopped after %g s, answering a 500)",
                        document.filename, position.line, value, WORK_SECONDS,
                    )  # fmt: skip
            else:
                found = _regexes_in(value, (*where, str(key)), document) or found
    elif isinstance(match, list):
        for index, item in enumerate(match):
            found = _regexes_in(item, (*where, index), document) or found
    return found


def _compile_replies(raw: Mapping[str, JSON], where: Where, name: str, base_dir: Path) -> tuple[ReplySource, ...]:
    if "response" in raw and "responses" in raw:
        raise InvalidSpec((*where, "responses"), "give either 'response' or 'responses' (a sequence), not both")
    if "response" in raw:
        return (compile_response(raw["response"], (*where, "response"), base_dir),)
    if "responses" not in raw:
        raise InvalidSpec(where, f"scenario {name!r} has no 'response' (or 'responses')")
    sequence = raw["responses"]
    if not isinstance(sequence, list) or not sequence:
        raise InvalidSpec((*where, "responses"), "responses takes a list of responses, one per call")
    return tuple(compile_response(item, (*where, "responses", i), base_dir) for i, item in enumerate(sequence))


def _flag(raw: Mapping[str, JSON], key: str, where: Where) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise InvalidSpec((*where, key), f"{key} takes true or false")
    return value


def _integer(raw: Mapping[str, JSON], key: str, where: Where, *, default: int) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidSpec((*where, key), f"{key} takes a whole number")
    return value


def _times(raw: Mapping[str, JSON], where: Where) -> int | None:
    if "times" in raw and "once" in raw:
        raise InvalidSpec((*where, "once"), "give either 'times' or 'once', not both")
    if _flag(raw, "once", where):
        return 1
    if "times" not in raw:
        return None
    times = _integer(raw, "times", where, default=0)
    if times < 1:
        raise InvalidSpec((*where, "times"), "times takes a whole number of 1 or more")
    return times


def _retries(raw: Mapping[str, JSON], where: Where) -> Literal["new_call", "same_call"]:
    mode = raw.get("retries", "new_call")
    if mode == "same_call":
        return "same_call"
    if mode != "new_call":
        raise InvalidSpec((*where, "retries"), "retries takes new_call (each retry is a call) or same_call")
    return "new_call"


def _set_state(raw: Mapping[str, JSON], where: Where) -> dict[str, str]:
    spec = raw.get("set_state", {})
    if not isinstance(spec, Mapping) or not all(isinstance(v, str) for v in spec.values()):
        raise InvalidSpec((*where, "set_state"), "set_state takes a mapping of state machine names to states")
    return {str(machine): state for machine, state in spec.items()}
