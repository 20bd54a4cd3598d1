"""The pytest plugin (entry point `pytest11`): one mock server per test session, reset for every test.

    def test_greeting(mockserver):
        mockserver.on(input="hello").respond(text="Hi!")
        assert mockserver.openai().responses.create(model="gpt-4.1", input="hello").output_text == "Hi!"

Fixtures: `mockserver` (per test), `mockserver_server` and `mockserver_settings` (per session, overridable).
Marker: `@pytest.mark.mockserver(scenarios=[...], strict=True)`. Options in the "mockserver" group:
`--mockserver-scenarios`, `--mockserver-strict`; ini keys `mockserver_scenarios`, `mockserver_strict`.
Record and replay: `--mockserver-record={off,auto,record,replay,verify}`, `--mockserver-upstream URL` (key from
`MOCKSERVER_UPSTREAM_KEY`), `--mockserver-recordings DIR`; each test records to and replays from
`DIR/<test module>/<test name>.yaml`.
Each pytest-xdist worker is its own session, so it gets its own server and state.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .config import Settings, builtin_scenarios_dir
from .context import RequestContext
from .server import MockServer
from .testing import MockAPI

RECORD_CHOICES = ("off", "auto", "record", "replay", "verify")
DEFAULT_RECORDINGS = "tests/recordings"
MARKER = (
    "mockserver(scenarios=None, strict=None): scenario files for this test (paths relative to the test file), "
    "and whether a request that no scenario matches fails the test"
)


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


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
    mode = _record_mode(pytestconfig)
    if mode is not None:
        return _recording_settings(pytestconfig, mode, paths)
    return Settings(port=0, log_level="warning", scenario_paths=tuple(paths) or (builtin_scenarios_dir(),))


@pytest.fixture(scope="session")
def mockserver_server(mockserver_settings: Settings) -> Iterator[MockServer]:
    """The session's mock server: started once on a free 127.0.0.1 port, stopped when the session ends."""
    with MockServer(mockserver_settings) as server:
        yield server


@pytest.fixture
def mockserver(mockserver_server: MockServer, request: pytest.FixtureRequest) -> Iterator[MockAPI]:
    """A fake OpenAI Responses API for this test, reset before and after it.

    `mockserver.base_url` for any client, or `.openai()` / `.async_openai()` (add `in_process=True` to skip the
    socket); `.on(**match).respond(**answer)` and `.add({...})` / `.load(path)` add scenarios for this test;
    `.requests`, `.calls`, `.last`, `.assert_called(...)`, `.assert_called_with(...)` and
    `.assert_client_behaved()` check what the code under test sent.
    """
    api = MockAPI(mockserver_server)
    api.reset()
    marker = request.node.get_closest_marker("mockserver")
    config = request.config
    strict = bool(config.getoption("mockserver_strict") or config.getini("mockserver_strict"))
    if marker is not None:
        base = Path(str(request.node.path)).parent
        for path in marker.kwargs.get("scenarios") or ():
            api.load(base / path)
        if marker.kwargs.get("strict") is not None:
            strict = bool(marker.kwargs["strict"])
    api.strict = strict
    proxy = mockserver_server.service.proxy
    if proxy is not None:
        proxy.use_file(recording_path(config, request.node))
    try:
        yield api
    finally:
        api.close_clients()
        if proxy is not None:
            proxy.use_file(None)
    report = _unmatched_report(api) if api.strict else None
    api.reset()
    if report:
        pytest.fail(report, pytrace=False)


def _unmatched_report(api: MockAPI) -> str | None:
    unmatched = api.unmatched
    if not unmatched:
        return None
    engine = api.server.service.engine
    lines = [f"mockserver: {len(unmatched)} request(s) matched no scenario (strict mode):"]
    for entry in unmatched:
        body = entry.body if isinstance(entry.body, dict) else {}
        report = engine.explain(RequestContext(body, dict(entry.headers)))
        lines.append(f"\nrequest #{entry.number}:")
        lines.extend("  " + line for line in report.splitlines())
    return "\n".join(lines)
