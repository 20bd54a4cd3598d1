"""`MockAPI`: what a test holds to script the fake API and check what its code sent.

    mock.on(input="hello").respond(text="Hi!")
    client = mock.openai()
    ... run the code under test ...
    mock.assert_called_with(model="gpt-4.1", input="hello")

It works on a running `MockServer` in this process (the pytest fixture `mockserver` gives one). Scenarios added by a
test come before the loaded ones and disappear at `reset()`.
"""

from __future__ import annotations

import difflib
import importlib
import json
import pprint
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from .engine import ScenarioEngine
from .errors import InvalidSpec
from .inprocess import async_transport, sync_transport
from .journal import Entry, Journal
from .scenarios import Scenario, compile_scenario, load_scenarios
from .server import MockServer
from .verdicts import assert_client_behaved, verdict
from .yamlfile import YamlDocument

IN_PROCESS_URL = "http://mockserver.invalid"
IN_PROCESS_BASE_URL = IN_PROCESS_URL + "/v1"


class ScenarioBuilder:
    """`mock.on(**match)`: say what the matching requests get with `.respond(**response)`."""

    def __init__(self, api: MockAPI, match: dict[str, Any], options: dict[str, Any]) -> None:
        self._api = api
        self._match = match
        self._options = options

    def respond(self, response: Any = None, **fields: Any) -> Scenario:
        """The answer, in the YAML vocabulary: `text=`, `output=`, `error=`, `refusal=`, `fault=`, … ."""
        raw: dict[str, Any] = dict(self._options)
        raw.setdefault("name", f"test-scenario-{self._api.added_count + 1}")
        if self._match:
            raw["match"] = self._match
        raw["response"] = response if response is not None else fields
        return self._api.add(raw)

    def respond_in_turn(self, *responses: Any, cycle: bool = False) -> Scenario:
        """One answer per call, in order (the last repeats, or all `cycle`)."""
        raw: dict[str, Any] = dict(self._options)
        raw.setdefault("name", f"test-scenario-{self._api.added_count + 1}")
        if self._match:
            raw["match"] = self._match
        raw.update(responses=list(responses), cycle=cycle)
        return self._api.add(raw)


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
        """Requests matching these `match` keys (`model=`, `input=`, `tools=`, …; none: every request)."""
        given = (("name", name), ("times", times), ("priority", priority))
        return ScenarioBuilder(self, match, {key: value for key, value in given if value is not None})

    def add(self, scenario: Mapping[str, Any]) -> Scenario:
        """Add one scenario written as a mapping, exactly as in a YAML file; it wins over the loaded ones."""
        document = YamlDocument(filename="<test>", data=[dict(scenario)])
        try:
            compiled = compile_scenario(dict(scenario), (0,), document)
        except InvalidSpec as exc:
            raise document.error(exc.where, exc.problem) from None
        self._engine.add([compiled])
        return compiled

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
        """The last create request's body has these fields with these values; the failure shows a diff."""
        body = self.last.body if isinstance(self.last.body, dict) else {}
        actual = {key: body.get(key, "<absent>") for key in expected}
        if actual != expected:
            raise AssertionError("the last request differs from what was expected:\n" + _diff(expected, actual))

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


def _diff(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> str:
    want = pprint.pformat(dict(expected), width=100).splitlines()
    got = pprint.pformat(dict(actual), width=100).splitlines()
    return "\n".join(difflib.unified_diff(want, got, "expected", "actual", lineterm=""))
