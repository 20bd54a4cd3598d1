"""The pytest plugin, run by pytester in a fresh pytest as a user's suite would run it."""

from __future__ import annotations

# Imported here, before any in-process pytester run: a run restores `sys.modules` as it found them, so a module first
# imported inside one would be imported again later, and its exceptions would no longer be the classes the first copy
# maps (httpx maps httpcore's errors by class, and imports httpcore only when it first sends).
import httpcore  # noqa: F401
import httpx  # noqa: F401
import pytest

from mockserver import MockServer, Settings
from mockserver.pytest_plugin import problems_of
from mockserver.state.journal import Entry
from tests.upstream_mock import upstream_server

pytest_plugins = ["pytester"]

SCENARIO_FILE = """
scenarios:
  - name: file-greeting
    match: {input: hello}
    response: "Hello from a file."
"""


def test_fixture_scenarios_clients_and_assertions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio

        def test_over_the_network(mockserver):
            mockserver.on(input="hello").respond(text="Hi!")
            client = mockserver.openai()
            assert client.responses.create(model="gpt-4.1", input="hello there").output_text == "Hi!"
            mockserver.assert_called(times=1, model="gpt-4.1")
            mockserver.assert_called_with(model="gpt-4.1", input="hello there")
            assert mockserver.last.scenario == "test-scenario-1"
            assert mockserver.last.headers["authorization"] == "Bearer ***"

        def test_in_process_sync_and_async(mockserver):
            mockserver.on(model="gpt-5").respond(text="Fast.")
            assert mockserver.openai(in_process=True).responses.create(model="gpt-5", input="x").output_text == "Fast."

            async def run():
                client = mockserver.async_openai(in_process=True)
                stream = await client.responses.create(model="gpt-5", input="x", stream=True)
                return [event.type async for event in stream]

            types = asyncio.run(run())
            assert types[0] == "response.created" and types[-1] == "response.completed"
            assert len(mockserver.calls) == 2

        def test_each_test_starts_clean(mockserver):
            assert mockserver.requests == [] and mockserver.added_count == 0
            answer = mockserver.openai().responses.create(model="gpt-4.1", input="hello").output_text
            assert answer and mockserver.last.scenario is None  # no demo scenario: the default responder answered

        def test_sequences_and_retries(mockserver):
            mockserver.on(model="flaky").respond_in_turn({"error": 503}, {"text": "ok"})
            assert mockserver.openai().responses.create(model="flaky", input="x").output_text == "ok"
            assert [entry.status for entry in mockserver.calls] == [503, 200]
            mockserver.assert_client_behaved()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_assert_called_with_shows_a_diff(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_wrong_model(mockserver):
            mockserver.openai().responses.create(model="gpt-4.1", input="hi")
            mockserver.assert_called_with(model="gpt-5", input="hi")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*the last request differs from what was expected:*",
            "*--- expected*",
            "*+++ actual*",
            "*-{'input': 'hi', 'model': 'gpt-5'}*",
            "*+{'input': 'hi', 'model': 'gpt-4.1'}*",
        ]
    )


def test_marker_loads_files_and_strict_mode_reports_unmatched_requests(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", greetings=SCENARIO_FILE)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.mockserver(scenarios=["greetings.yaml"], strict=True)
        def test_strict(mockserver):
            client = mockserver.openai()
            assert client.responses.create(model="gpt-4.1", input="hello").output_text == "Hello from a file."
            client.responses.create(model="gpt-4.1", input="helo")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)  # at the call: the client got the 400 with the near-miss report
    result.stdout.fnmatch_lines(
        [
            "*openai.BadRequestError: Error code: 400 - No scenario matched this request.",
            "*1. file-greeting (*greetings.yaml:2)",
            "*- last user message contains 'hello', but the last user message is 'helo'",
        ]
    )


def test_ini_and_command_line_options(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", greetings=SCENARIO_FILE)
    pytester.makeini("[pytest]\nmockserver_scenarios = greetings.yaml\nmockserver_strict = true\n")
    pytester.makepyfile(
        """
        def test_from_ini(mockserver):
            answer = mockserver.openai().responses.create(model="gpt-4.1", input="hello")
            assert answer.output_text == "Hello from a file."
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    other = pytester.makefile(".yml", other="- {name: other, response: From the command line.}")
    pytester.makepyfile(
        test_cli="""
        def test_from_option(mockserver):
            answer = mockserver.openai().responses.create(model="gpt-4.1", input="x")
            assert answer.output_text == "From the command line."
        """
    )
    pytester.makeini("[pytest]\n")
    pytester.runpytest("-p", "no:cacheprovider", f"--mockserver-scenarios={other}", "test_cli.py").assert_outcomes(
        passed=1
    )


def test_help_shows_the_option_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "mockserver: a local fake of the OpenAI Responses API:",
            "*--mockserver-scenarios=PATH*",
            "*--mockserver-strict*",
            "*mockserver_scenarios (paths):*",
        ]
    )


def test_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(
        [
            "*mockserver_settings [[]session scope[]] -- *",
            "*Settings of the session's mock server. Override this fixture*",
            "*mockserver_server [[]session scope[]] -- *",
            "*The session's mock server: started once on a free 127.0.0.1 port*",
            "mockserver -- *",
            "*A fake OpenAI Responses API for this test, reset before and after it; no scenario unless the test*",
        ]
    )


def test_runs_under_xdist(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("number", range(6))
        def test_isolated(mockserver, number):
            mockserver.on(input=f"n{number}").respond(text=f"answer {number}")
            client = mockserver.openai()
            assert client.responses.create(model="gpt-4.1", input=f"n{number}").output_text == f"answer {number}"
            assert len(mockserver.calls) == 1
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


def test_clients_the_fixture_made_are_closed_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        kept = []

        def test_uses_a_client(mockserver):
            client = mockserver.openai()
            kept.append(client)
            assert client.responses.create(model="gpt-4.1", input="hello").output_text

        def test_the_client_is_closed_now():
            assert kept[0].is_closed()
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)


# ---------------------------------------------------------------- a fixture that tells the truth

WEATHER_APP = """
import json

TOOLS = [{
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}]

def first_call_arguments(client):
    answer = client.responses.create(model="gpt-4.1", input="Weather in Paris?", tools=TOOLS)
    return json.loads(answer.output[0].arguments)
"""


def test_no_demo_scenario_by_default_so_an_unscripted_tool_call_follows_the_apps_own_schema(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(weather_app=WEATHER_APP)
    pytester.makepyfile(
        """
        import pytest
        from weather_app import first_call_arguments

        def test_default(mockserver):
            arguments = first_call_arguments(mockserver.openai())
            assert set(arguments) == {"city"} and mockserver.last.scenario is None

        @pytest.mark.mockserver(builtin=True)
        def test_demo_on_request(mockserver):
            assert first_call_arguments(mockserver.openai()) == {"location": "Paris", "unit": "celsius"}
        """
    )
    # The demo call is given on request, and it is the finding it is: arguments the app's strict tool cannot take.
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*Scenario 'weather' called 'get_weather' with arguments that break its strict*"])
    pytester.makepyfile(
        test_session_builtin="""
        from weather_app import first_call_arguments

        def test_demo_for_the_session(mockserver):
            assert first_call_arguments(mockserver.openai())["location"] == "Paris"
        """
    )
    flags = ("-p", "no:cacheprovider", "--mockserver-builtin", "--mockserver-warn", "findings", *SHOW_WARNINGS)
    result = pytester.runpytest(*flags, "test_session_builtin.py")
    result.assert_outcomes(passed=1)


def test_strict_mode_refuses_at_the_call_and_fails_the_test_even_when_the_app_catches_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import openai
        import pytest

        @pytest.mark.mockserver(strict=True)
        def test_app_swallows_the_error(mockserver):
            mockserver.on(input="hello").respond(text="Hi!")
            try:
                mockserver.openai(max_retries=0).responses.create(model="gpt-4.1", input="helo")
            except openai.BadRequestError as error:
                assert error.status_code == 400 and error.code == "no_scenario_matched"
                assert "last user message contains 'hello'" in error.message
            else:
                raise AssertionError("strict mode answered an unmatched request")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*mockserver: 1 problem(s) with this test's requests:",
            "*request #1 (unmatched):",
            "*No scenario matched this request.",
            "*last user message contains 'hello', but the last user message is 'helo'",
        ]
    )


# This suite turns warnings into errors, and a pytester run inherits that: let the mock's warnings be warnings.
SHOW_WARNINGS = ("-W", "default::mockserver.pytest_plugin.MockServerWarning")
REPLAY_MISS = """
import openai

def test_unrecorded(mockserver):
    try:
        mockserver.openai(max_retries=0).responses.create(model="gpt-4.1", input="never recorded")
    except openai.BadRequestError as error:
        assert error.code == "no_recording_matched"  # the app logs it and carries on
"""


def test_a_replay_miss_fails_the_test_and_can_be_only_a_warning(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(REPLAY_MISS)
    failed = pytester.runpytest("-p", "no:cacheprovider", "--mockserver-record=replay")
    failed.assert_outcomes(failed=1)
    failed.stdout.fnmatch_lines(["*request #1 (replay-miss):", "*This request was not recorded*"])
    failed.stdout.fnmatch_lines(
        ["*mockserver: 1 problem(s) found*", "*test_unrecorded request #1 replay-miss (failed)*"]
    )

    warned = pytester.runpytest(
        "-p", "no:cacheprovider", "--mockserver-record=replay", "--mockserver-warn=replay-miss", *SHOW_WARNINGS
    )
    warned.assert_outcomes(passed=1, warnings=1)
    warned.stdout.fnmatch_lines(["*MockServerWarning: mockserver replay-miss, request #1*"])
    warned.stdout.fnmatch_lines(["*test_unrecorded request #1 replay-miss (warned)*"])


def test_verify_drift_fails_the_test_and_ini_can_make_it_a_warning(pytester: pytest.Pytester) -> None:
    answers = pytester.makefile(".yaml", upstream="- {name: text, response: Sunny.}")
    with MockServer(Settings(port=0, log_level="warning", scenario_paths=(answers,))) as upstream:
        recording = pytester.path / "tests" / "recordings" / "test_verify" / "test_drifts.yaml"
        recording.parent.mkdir(parents=True)
        recording.write_text(
            "scenarios:\n  - name: recorded\n    match: {model: gpt-4.1}\n"
            "    response: {output: [{type: function_call, name: get_weather, arguments: {city: Paris}}]}\n"
        )
        pytester.makepyfile(
            test_verify="""
            def test_drifts(mockserver):
                assert mockserver.openai().responses.create(model="gpt-4.1", input="weather?").output_text == "Sunny."
            """
        )
        options = ["-p", "no:cacheprovider", "--mockserver-record=verify", f"--mockserver-upstream={upstream.base_url}"]
        failed = pytester.runpytest(*options)
        failed.assert_outcomes(failed=1)
        failed.stdout.fnmatch_lines(
            ["*request #1 (drift):", "*output item types [[]function_call[]] -> [[]message[]]*"]
        )

        pytester.makeini("[pytest]\nmockserver_warn = drift\n")
        warned = pytester.runpytest(*options, *SHOW_WARNINGS)
        warned.assert_outcomes(passed=1, warnings=1)
        warned.stdout.fnmatch_lines(["*test_drifts request #1 drift (warned)*"])


def test_no_summary_when_nothing_went_wrong_and_the_contract_option_reaches_the_settings(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_contract_mode(mockserver_settings, mockserver):
            assert mockserver_settings.contract == "off" and mockserver_settings.scenario_paths == ()
            mockserver.on().respond(text="ok")
            assert mockserver.openai().responses.create(model="gpt-4.1", input="x").output_text == "ok"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockserver-contract=off")
    result.assert_outcomes(passed=1)
    assert "problem(s) found" not in result.stdout.str()
    assert (
        pytester.runpytest("-p", "no:cacheprovider", "--mockserver-contract=loose").ret == pytest.ExitCode.USAGE_ERROR
    )


@pytest.mark.parametrize(
    ("entry", "strict", "kinds"),
    [
        (Entry(1, 0, "POST", "/v1/responses", {}, contract=["response at output[0]: bad"]), False, ["contract"]),
        (
            Entry(1, 0, "POST", "/v1/responses", {}, findings=["function_call to a tool not offered"]),
            False,
            ["findings"],
        ),
        (Entry(1, 0, "POST", "/v1/responses", {}, drift="output: message → function_call"), False, ["drift"]),
        (
            Entry(1, 0, "POST", "/v1/responses", {}, extra={"error": {"code": "no_scenario_matched"}}),
            True,
            ["unmatched"],
        ),
        (Entry(1, 0, "POST", "/v1/responses", {}, extra={"error": {"code": "no_scenario_matched"}}), False, []),
        (Entry(1, 0, "POST", "/v1/responses", {}, extra={"error": {"code": "invalid_value"}}), True, []),
    ],
    ids=["contract", "findings", "drift", "strict-miss", "header-strict-miss-outside-strict-mode", "other-400"],
)
def test_what_counts_as_a_problem(entry: Entry, strict: bool, kinds: list[str]) -> None:
    assert [kind for kind, _ in problems_of(entry, strict=strict)] == kinds


def test_a_contract_finding_fails_the_test_unless_the_contract_is_off(pytester: pytest.Pytester) -> None:
    with upstream_server() as upstream:
        pytester.makepyfile(
            """
            def test_bad_item(mockserver):
                mockserver.openai().responses.create(model="gpt-bad-item", input="weather?")
            """
        )
        options = ["-p", "no:cacheprovider", "--mockserver-record=auto", f"--mockserver-upstream={upstream.base_url}"]
        failed = pytester.runpytest(*options)
        failed.assert_outcomes(failed=1)
        failed.stdout.fnmatch_lines(["*request #1 (contract):", "*output[[]0[]].status*"])
        (pytester.path / "tests").rename(pytester.path / "first-recordings")  # so that the next run forwards again
        pytester.runpytest(*options, "--mockserver-contract=off").assert_outcomes(passed=1)
