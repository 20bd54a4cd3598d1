"""The pytest plugin (entry point `pytest11`): one mock server per test session, reset for every test.

    def test_greeting(mockserver):
        mockserver.on(input="hello").respond(text="Hi!")
        assert mockserver.openai().responses.create(model="gpt-4.1", input="hello").output_text == "Hi!"

Fixtures: `mockserver` (per test), `mockserver_server` and `mockserver_settings` (per session, overridable).
Marker: `@pytest.mark.mockserver(scenarios=[...], strict=True, builtin=True)`. Options in the "mockserver" group:
`--mockserver-scenarios`, `--mockserver-builtin`, `--mockserver-strict`, `--mockserver-contract`, `--mockserver-warn`;
ini keys `mockserver_scenarios`, `mockserver_builtin`, `mockserver_strict`, `mockserver_contract`, `mockserver_warn`.
Record and replay: `--mockserver-record={off,auto,record,replay,verify}`, `--mockserver-upstream URL` (key from
`MOCKSERVER_UPSTREAM_KEY`), `--mockserver-recordings DIR`; each test records to and replays from
`DIR/<test module>/<test name>.yaml`.
Each pytest-xdist worker is its own session, so it gets its own server and state.

The fixture tells the truth by default: it loads no scenario (the built-in demo set only when asked for), and what
the server found wrong during a test fails that test, once its call is over (so also when the code under test caught
the error): in strict mode a request no scenario matched, a replay miss, a verify drift, a contract finding and a
scripted answer the live API could not give. `--mockserver-warn KIND` makes a kind a warning instead; every one of
them is listed again in the terminal summary.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .faults.config import CONTRACT_MODES, Settings, builtin_scenarios_dir
from .state.journal import Entry
from .testing.mock_api import MockAPI
from .wire.server import MockServer

RECORD_CHOICES = ("off", "auto", "record", "replay", "verify")
DEFAULT_RECORDINGS = "tests/recordings"
MARKER = (
    "mockserver(scenarios=None, strict=None, builtin=False): scenario files for this test (paths relative to the "
    "test file), whether a request that no scenario matches fails the test, and whether the built-in demo "
    "scenarios answer too"
)
# What the server finds wrong during a test, each of which fails the test unless `--mockserver-warn KIND`.
WARNABLE = ("replay-miss", "drift", "contract", "findings")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "mockserver: a local fake of the OpenAI Responses API")
    group.addoption(
        "--mockserver-scenarios",
        action="append",
        default=[],
        metavar="PATH",
        help="scenario file or folder for the session's mock server (repeatable; default: the built-in set)",
    )
    group.addoption(
        "--mockserver-builtin",
        action="store_true",
        default=None,
        help="load the built-in demo scenarios too (default: no scenario; unscripted requests get the default "
        "responder's answer, made from the request's own tools and format)",
    )
    group.addoption(
        "--mockserver-contract",
        choices=CONTRACT_MODES,
        default=None,
        help="check forwarded requests and upstream answers against the API's contract: report (default; a finding "
        "fails the test), strict (the client gets the error) or off",
    )
    group.addoption(
        "--mockserver-warn",
        action="append",
        choices=WARNABLE,
        default=[],
        metavar="KIND",
        help=f"only warn about this kind of problem instead of failing the test ({', '.join(WARNABLE)}; repeatable)",
    )
    group.addoption(
        "--mockserver-strict",
        action="store_true",
        default=None,
        help="fail a test when a request to the mock server matched no scenario",
    )
    group.addoption(
        "--mockserver-record",
        choices=RECORD_CHOICES,
        default=None,
        help="record and replay each test's API calls: off (default), auto (replay what is recorded, record the "
        "rest), record, replay (never forward) or verify (report drift from the recordings)",
    )
    group.addoption(
        "--mockserver-upstream",
        metavar="URL",
        default=None,
        help="the API recordings come from, e.g. https://api.openai.com/v1 (key: env MOCKSERVER_UPSTREAM_KEY)",
    )
    group.addoption(
        "--mockserver-recordings",
        metavar="DIR",
        default=None,
        help=f"folder of the recordings, one file per test (default {DEFAULT_RECORDINGS})",
    )
    parser.addini("mockserver_scenarios", "scenario files or folders for the session's mock server", type="paths")
    parser.addini("mockserver_record", "record and replay mode: off, auto, record, replay or verify", default="off")
    parser.addini("mockserver_upstream", "the API recordings come from", default="")
    parser.addini("mockserver_recordings", "folder of the recordings", default=DEFAULT_RECORDINGS)
    parser.addini("mockserver_strict", "fail a test when a request matched no scenario", type="bool", default=False)
    parser.addini("mockserver_builtin", "load the built-in demo scenarios too", type="bool", default=False)
    parser.addini("mockserver_contract", "contract checks: report, strict or off", default="report")
    parser.addini("mockserver_warn", f"kinds of problem that only warn: {', '.join(WARNABLE)}", type="args")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    config.stash[_PROBLEMS] = []
    warned = [*(config.getoption("mockserver_warn", None) or ()), *config.getini("mockserver_warn")]
    unknown = sorted(set(warned) - set(WARNABLE))
    if unknown:
        raise pytest.UsageError(f"mockserver_warn takes {', '.join(WARNABLE)}; got {', '.join(unknown)}")
    config.stash[_WARNED] = frozenset(warned)


def _contract_mode(config: pytest.Config) -> str:
    mode = str(config.getoption("mockserver_contract") or config.getini("mockserver_contract") or "report")
    if mode not in CONTRACT_MODES:
        raise pytest.UsageError(f"mockserver_contract must be one of {', '.join(CONTRACT_MODES)}, got {mode!r}")
    return mode


def _record_mode(config: pytest.Config) -> str | None:
    mode = config.getoption("mockserver_record") or config.getini("mockserver_record") or "off"
    if mode not in RECORD_CHOICES:
        raise pytest.UsageError(f"mockserver_record must be one of {', '.join(RECORD_CHOICES)}, got {mode!r}")
    return None if mode == "off" else str(mode)


def _recording_settings(config: pytest.Config, mode: str, paths: list[Path]) -> Settings:
    upstream = config.getoption("mockserver_upstream") or config.getini("mockserver_upstream") or None
    if mode != "replay" and not upstream:
        raise pytest.UsageError(f"--mockserver-record={mode} forwards requests: give --mockserver-upstream URL")
    return Settings(
        port=0,
        log_level="warning",
        scenario_paths=tuple(paths),  # the recordings answer, not the built-in set
        upstream=upstream if mode != "replay" else None,
        upstream_key=os.environ.get("MOCKSERVER_UPSTREAM_KEY") or None,
        record_mode=mode,
        contract=_contract_mode(config),
    )


def recording_path(config: pytest.Config, node: pytest.Item) -> Path:
    """`DIR/<test module>/<test name>.yaml`, DIR relative to the rootdir."""
    folder = Path(config.getoption("mockserver_recordings") or config.getini("mockserver_recordings"))
    module = Path(str(node.path)).stem
    name = re.sub(r"[^\w.\[\]-]+", "_", node.name)
    return config.rootpath / folder / module / f"{name}.yaml"


@pytest.fixture(scope="session")
def mockserver_settings(pytestconfig: pytest.Config) -> Settings:
    """Settings of the session's mock server. Override this fixture to change them (scenarios, seed, faults…)."""
    paths = [Path(p) for p in pytestconfig.getoption("mockserver_scenarios")]
    paths += [Path(p) for p in pytestconfig.getini("mockserver_scenarios")]
    if pytestconfig.getoption("mockserver_builtin") or pytestconfig.getini("mockserver_builtin"):
        paths.append(builtin_scenarios_dir())
    mode = _record_mode(pytestconfig)
    if mode is not None:
        return _recording_settings(pytestconfig, mode, paths)
    return Settings(port=0, log_level="warning", scenario_paths=tuple(paths), contract=_contract_mode(pytestconfig))


@pytest.fixture(scope="session")
def mockserver_server(mockserver_settings: Settings) -> Iterator[MockServer]:
    """The session's mock server: started once on a free 127.0.0.1 port, stopped when the session ends."""
    with MockServer(mockserver_settings) as server:
        yield server


@pytest.fixture
def mockserver(mockserver_server: MockServer, request: pytest.FixtureRequest) -> Iterator[MockAPI]:
    """A fake OpenAI Responses API for this test, reset before and after it; no scenario unless the test adds one.

    `mockserver.base_url` for any client, or `.openai()` / `.async_openai()` (add `in_process=True` to skip the
    socket); `.on(**match).respond(**answer)` and `.add({...})` / `.load(path)` add scenarios for this test;
    `.requests`, `.calls`, `.last`, `.assert_called(...)`, `.assert_called_with(...)` and
    `.assert_client_behaved()` check what the code under test sent. What the server found wrong (a strict-mode
    miss, a replay miss, drift, contract findings, scripted answers the live API could not give) fails the test.
    """
    api = MockAPI(mockserver_server)
    api.reset()
    marker = request.node.get_closest_marker("mockserver")
    config = request.config
    strict = bool(config.getoption("mockserver_strict") or config.getini("mockserver_strict"))
    if marker is not None:
        base = Path(str(request.node.path)).parent
        if marker.kwargs.get("builtin"):
            api.load(builtin_scenarios_dir())
        for path in marker.kwargs.get("scenarios") or ():
            api.load(base / path)
        if marker.kwargs.get("strict") is not None:
            strict = bool(marker.kwargs["strict"])
    api.strict = strict
    watch = request.node.stash[_WATCH] = _Watch(api, config.stash[_WARNED], config.stash[_PROBLEMS])
    proxy = mockserver_server.service.proxy
    if proxy is not None:
        proxy.use_file(recording_path(config, request.node))
    try:
        yield api
    finally:
        api.close_clients()
        if proxy is not None:
            proxy.use_file(None)
        del request.node.stash[_WATCH]
    report = watch.settle(request.node.nodeid)
    api.strict = mockserver_server.settings.strict
    api.reset()
    if report:
        pytest.fail(report, pytrace=False)


class MockServerWarning(UserWarning):
    """A problem the mock server found during a test that `--mockserver-warn` turned into a warning."""


@dataclass(frozen=True)
class Problem:
    """One thing the server found wrong with one request of a test."""

    nodeid: str
    kind: str  # unmatched, replay-miss, drift, contract or findings
    request: int
    text: str
    warned: bool


@dataclass
class _Watch:
    """What a test's requests went wrong, looked at once its call is over and again at teardown (only the requests
    that came since)."""

    api: MockAPI
    warned: frozenset[str]
    session: list[Problem]
    seen: int = 0  # the journal number of the last request looked at

    def settle(self, nodeid: str, *, failing: bool = True) -> str | None:
        """Warn about the new problems that only warn; the report of those that fail the test (None if none, or
        when the test already failed and `failing` is False)."""
        entries = [entry for entry in self.api.requests if entry.number > self.seen]
        if entries:
            self.seen = entries[-1].number
        new = [
            Problem(nodeid, kind, entry.number, text, kind in self.warned)
            for entry in entries
            for kind, text in problems_of(entry, strict=self.api.strict)
        ]
        self.session.extend(new)
        for problem in new:
            if problem.warned:
                what = f"mockserver {problem.kind}, request #{problem.request}: {problem.text}"
                warnings.warn(MockServerWarning(what), stacklevel=2)
        failures = [problem for problem in new if not problem.warned]
        if not failures or not failing:
            return None
        lines = [f"mockserver: {len(failures)} problem(s) with this test's requests:"]
        for problem in failures:
            lines.append(f"\nrequest #{problem.request} ({problem.kind}):")
            lines.extend("  " + line for line in problem.text.splitlines())
        return "\n".join(lines)


def problems_of(entry: Entry, *, strict: bool) -> list[tuple[str, str]]:
    """What went wrong with one request, as (kind, text): a strict-mode or replay miss (with the near-miss report
    the client got), drift from the recording, contract findings, scripted answers the live API could not give."""
    found: list[tuple[str, str]] = []
    error = entry.extra.get("error")
    code, message = (error.get("code"), str(error.get("message"))) if isinstance(error, dict) else (None, "")
    if code == "no_scenario_matched" and strict:
        found.append(("unmatched", message))
    if code == "no_recording_matched":
        found.append(("replay-miss", message))
    if entry.drift:
        found.append(("drift", entry.drift))
    found.extend(("contract", finding) for finding in entry.contract)
    found.extend(("findings", finding) for finding in entry.findings)
    return found


_WATCH = pytest.StashKey[_Watch]()
_WARNED = pytest.StashKey[frozenset[str]]()
_PROBLEMS = pytest.StashKey[list[Problem]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a test whose requests went wrong as soon as its call is over, even if its code caught the error."""
    watch = item.stash.get(_WATCH, None)
    try:
        result = yield
    except BaseException:
        if watch is not None:
            watch.settle(item.nodeid, failing=False)  # the test failed already: the summary lists them
        raise
    if watch is not None and (report := watch.settle(item.nodeid)):
        pytest.fail(report, pytrace=False)
    return result


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Drift, findings and misses of the whole session, by test; nothing when there were none."""
    problems = config.stash.get(_PROBLEMS, [])
    if not problems:
        return
    terminalreporter.write_sep("=", f"mockserver: {len(problems)} problem(s) found")
    for problem in problems:
        outcome = "warned" if problem.warned else "failed"
        first = problem.text.splitlines()[0] if problem.text else ""
        terminalreporter.write_line(f"{problem.nodeid} request #{problem.request} {problem.kind} ({outcome}): {first}")
