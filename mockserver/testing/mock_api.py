"""`MockAPI`: what a test holds to script the fake API and check what its code sent.

    mock.on(input="hello").respond(text="Hi!")
    client = mock.openai()
    ... run the code under test ...
    mock.assert_called_with(model="gpt-4.1", input="hello")

It works on a running `MockServer` in this process (the pytest fixture `mockserver` gives one). Scenarios added by a
test come before the loaded ones and disappear at `reset()`.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import inspect
import json
import pprint
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from ..checks.verdicts import assert_client_behaved, verdict
from ..core.errors import InvalidSpec, ScenarioFileError
from ..core.yamlfile import YamlDocument
from ..engine.scenario_engine import ScenarioEngine
from ..engine.scenarios import Scenario, compile_scenario, load_scenarios
from ..state.journal import Entry, Journal
from ..wire.server import MockServer
from .inprocess import async_transport, sync_transport
from .matchers import ABSENT, matches

IN_PROCESS_URL = "http://mockserver.invalid"
IN_PROCESS_BASE_URL = IN_PROCESS_URL + "/v1"


class ScenarioBuilder:
    """`mock.on(**match)`: say what the matching requests get with `.respond(**response)`."""

    def __init__(self, api: MockAPI, match: dict[str, Any], options: dict[str, Any], source: str) -> None:
        self._api = api
        self._match = match
        self._options = options
        self._source = source

    def respond(self, response: Any = None, **fields: Any) -> ScriptedScenario:
        """The answer, in the YAML vocabulary: `text=`, `output=`, `error=`, `refusal=`, `fault=`, … ."""
        return self._add(response=response if response is not None else fields)

    def respond_in_turn(self, *responses: Any, cycle: bool = False) -> ScriptedScenario:
        """One answer per call, in order (the last repeats, or all `cycle`)."""
        return self._add(responses=list(responses), cycle=cycle)

    def _add(self, **answer: Any) -> ScriptedScenario:
        raw: dict[str, Any] = dict(self._options)
        raw.setdefault("name", f"test-scenario-{self._api.added_count + 1}")
        if self._match:
            raw["match"] = self._match
        raw.update(answer)
        return self._api.add(raw, source=self._source)


@dataclass(frozen=True)
class ScriptedScenario:
    """A scenario a test added (`on(...).respond(...)`, `add`), with the requests it answered:

    weather = mock.on(tools=["get_weather"]).respond(output=[...])
    ... run the code ...
    assert weather.call_count == 1 and weather.calls[0].body["model"] == "gpt-4.1"
    """

    scenario: Scenario
    journal: Journal

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def source(self) -> str:
        """Where the test added it (`tests/test_app.py:42`), as near-miss reports name it."""
        return self.scenario.source

    @property
    def calls(self) -> list[Entry]:
        """The requests it answered, oldest first."""
        return self.journal.filter(scenario=self.scenario.name)

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def called(self) -> bool:
        return bool(self.calls)


class MockAPI:
    """A test's handle on a running mock server: scenarios, the journal, state, and assertions."""

    def __init__(self, server: MockServer) -> None:
        self.server = server
        self._engine: ScenarioEngine = server.service.engine
        self._journal: Journal = server.service.journal
        self._clients: list[Any] = []  # made by `openai()`: closed at the end of the test

    @property
    def strict(self) -> bool:
        """Whether a request no scenario matches gets the 400 near-miss report (`no_scenario_matched`) instead of
        the default answer."""
        return self.server.service.strict

    @strict.setter
    def strict(self, value: bool) -> None:
        self.server.service.strict = value

    # ------------------------------------------------------------ where it is

    @property
    def base_url(self) -> str:
        """The `base_url` for an OpenAI client: `http://127.0.0.1:PORT/v1`."""
        return self.server.base_url

    @property
    def url(self) -> str:
        return self.server.url

    def openai(self, *, in_process: bool = False, **options: Any) -> Any:
        """An `openai.OpenAI` client for this server (needs `openai`); `in_process=True` skips the socket."""
        import openai

        options.setdefault("api_key", "sk-mockserver")
        if in_process:
            http = _http_library_of(openai.DefaultHttpxClient)
            options["http_client"] = http.Client(transport=sync_transport(self.server.app, http))
            client = openai.OpenAI(base_url=IN_PROCESS_BASE_URL, **options)
        else:
            client = openai.OpenAI(base_url=self.base_url, **options)
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        """Close the clients `openai()` made (the pytest fixture does it after each test), so that no connection
        outlives its test. Async clients belong to the test's event loop: close them there (`async with`)."""
        clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def async_openai(self, *, in_process: bool = False, **options: Any) -> Any:
        """An `openai.AsyncOpenAI` client for this server (needs `openai`); `in_process=True` skips the socket."""
        import openai

        options.setdefault("api_key", "sk-mockserver")
        if in_process:
            http = _http_library_of(openai.DefaultAsyncHttpxClient)
            options["http_client"] = http.AsyncClient(transport=async_transport(self.server.app, http))
            return openai.AsyncOpenAI(base_url=IN_PROCESS_BASE_URL, **options)
        return openai.AsyncOpenAI(base_url=self.base_url, **options)

    def httpx_client(self, http: ModuleType | None = None) -> Any:
        """An `httpx.Client` (or `httpx2`, given as `http`) that reaches this server in-process."""
        http = http or importlib.import_module("httpx")
        return http.Client(transport=sync_transport(self.server.app, http), base_url=IN_PROCESS_URL)

    def async_httpx_client(self, http: ModuleType | None = None) -> Any:
        """An `httpx.AsyncClient` (or `httpx2`) that reaches this server in-process."""
        http = http or importlib.import_module("httpx")
        return http.AsyncClient(transport=async_transport(self.server.app, http), base_url=IN_PROCESS_URL)

    # ------------------------------------------------------------ scenarios

    @property
    def added_count(self) -> int:
        return len(self._engine.added)

    def on(
        self, *, name: str | None = None, times: int | None = None, priority: int | None = None, **match: Any
    ) -> ScenarioBuilder:
        """Requests matching these `match` keys (`model=`, `input=`, `tools=`, …; none: every request). `name`
        names the scenario (default `test-scenario-N`), `times` ends it after that many answers, `priority` puts it
        before lower ones."""
        given = (("name", name), ("times", times), ("priority", priority))
        options = {key: value for key, value in given if value is not None}
        return ScenarioBuilder(self, match, options, _caller())

    def add(self, scenario: Mapping[str, Any], *, source: str | None = None) -> ScriptedScenario:
        """Add one scenario written as a mapping, exactly as in a YAML file; it wins over the loaded ones. Its
        source, as near-miss reports show it, is the test's file and line (or `source`)."""
        where = source or _caller()
        document = YamlDocument(filename=where.rsplit(":", 1)[0], data=[dict(scenario)])
        try:
            compiled = compile_scenario(dict(scenario), (0,), document)
        except InvalidSpec as exc:
            raise ScenarioFileError(where, None, exc.problem) from None
        compiled = replace(compiled, source=where)
        self._engine.add([compiled])
        return ScriptedScenario(compiled, self._journal)

    def load(self, *paths: str | Path) -> list[Scenario]:
        """Add the scenarios of these YAML files or folders for this test."""
        loaded = list(load_scenarios(paths).scenarios)
        self._engine.add(loaded)
        return loaded

    def reset(self) -> None:
        """Back to the loaded scenarios, no calls counted, no states, no journal, nothing stored."""
        self._engine.clear_added()
        self.server.service.clear_state()

    # ------------------------------------------------------------ the journal

    @property
    def requests(self) -> list[Entry]:
        """Every request the server received during the test, oldest first."""
        return list(self._journal)

    @property
    def calls(self) -> list[Entry]:
        """The `POST /v1/responses` requests only."""
        return self._journal.filter(path="/v1/responses")

    @property
    def last(self) -> Entry:
        calls = self.calls
        if not calls:
            raise AssertionError("mockserver received no POST /v1/responses request")
        return calls[-1]

    @property
    def unmatched(self) -> list[Entry]:
        return [entry for entry in self.calls if entry.scenario is None and not entry.upstream]

    def assert_called(self, times: int | None = None, *, scenario: str | None = None, model: str | None = None) -> None:
        found = self._journal.filter(path="/v1/responses", scenario=scenario, model=model)
        what = " ".join(f"{key}={value!r}" for key, value in (("scenario", scenario), ("model", model)) if value)
        if times is None and not found:
            raise AssertionError(f"expected a POST /v1/responses {what}, but there was none".replace("  ", " "))
        if times is not None and len(found) != times:
            raise AssertionError(f"expected {times} POST /v1/responses {what}, got {len(found)}".replace("  ", " "))

    def assert_called_with(self, **expected: Any) -> None:
        """The last create request's body has these fields with these values (or what `ANY`, `contains(...)` or a
        callable accepts; see `mockserver.matchers`); the failure shows a diff."""
        body = _body(self.last)
        if not _fits(expected, body):
            raise AssertionError("the last request differs from what was expected:\n" + _diff(expected, body))

    def assert_any_call(self, **expected: Any) -> None:
        """Some create request of the test has these fields (matched as `assert_called_with` matches them)."""
        calls = self.calls
        if not any(_fits(expected, _body(call)) for call in calls):
            nearest = _body(calls[-1]) if calls else {}
            raise AssertionError(
                f"none of the {len(calls)} create requests has the expected fields; the last one differs:\n"
                + _diff(expected, nearest)
            )

    def assert_not_called(self, **expected: Any) -> None:
        """No create request at all, or (with fields) none that has these fields."""
        found = [call for call in self.calls if _fits(expected, _body(call))]
        if found:
            which = f"with {_described(expected)} " if expected else ""
            numbers = ", ".join(f"#{call.number}" for call in found)
            raise AssertionError(f"expected no create request {which}but got {len(found)}: {numbers}")

    def assert_client_behaved(self) -> None:
        """The client retried only what may be retried, and waited as long as it was asked to."""
        assert_client_behaved(self._journal)

    def verdict(self) -> str:
        return verdict(self._journal)

    def unmatched_report(self) -> str:
        lines = [f"{len(self.unmatched)} request(s) matched no scenario:"]
        for entry in self.unmatched:
            lines.append(f"- request #{entry.number}: {json.dumps(entry.body, ensure_ascii=False)[:300]}")
        return "\n".join(lines)


def _http_library_of(client_class: type) -> ModuleType:
    """The HTTP library an SDK's client class is built on: `httpx2` for openai 3.x, `httpx` before."""
    for base in client_class.__mro__:
        if base.__name__ in ("Client", "AsyncClient") and base.__module__.split(".")[0] in ("httpx", "httpx2"):
            return importlib.import_module(base.__module__.split(".")[0])
    return importlib.import_module("httpx")


def _body(entry: Entry) -> dict[str, Any]:
    return entry.body if isinstance(entry.body, dict) else {}


def _fits(expected: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    return all(matches(value, body.get(key, ABSENT)) for key, value in expected.items())


def _described(expected: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in expected.items())


def _diff(expected: Mapping[str, Any], body: Mapping[str, Any]) -> str:
    """The expected fields against the request's (a field that matched shows as expected)."""
    actual = {
        key: value if matches(value, body.get(key, ABSENT)) else body.get(key, "<absent>")
        for key, value in expected.items()
    }
    want = pprint.pformat(dict(expected), width=100).splitlines()
    got = pprint.pformat(actual, width=100).splitlines()
    return "\n".join(difflib.unified_diff(want, got, "expected", "actual", lineterm=""))


def _caller() -> str:
    """`file:line` of the code that called into this module (the test), relative to the working directory when
    inside it."""
    frame = inspect.currentframe()
    here = __file__
    while frame is not None and frame.f_code.co_filename == here:
        frame = frame.f_back
    if frame is None:
        return "<test>:1"
    path = Path(frame.f_code.co_filename)
    with contextlib.suppress(ValueError):
        path = path.relative_to(Path.cwd())
    return f"{path}:{frame.f_lineno}"
