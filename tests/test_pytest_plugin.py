"""The pytest plugin, run by pytester in a fresh pytest as a user's suite would run it."""

from __future__ import annotations

import pytest

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
            assert mockserver.openai().responses.create(model="gpt-4.1", input="hello").output_text == (
                "Hello! How can I help?"
            )

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
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*mockserver: 1 request(s) matched no scenario (strict mode):",
            "*request #2:",
            "*No scenario matched this request.",
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
            "*A fake OpenAI Responses API for this test, reset before and after it.*",
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
