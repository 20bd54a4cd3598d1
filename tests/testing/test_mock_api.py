"""`MockAPI`, the handle a test holds: scenarios that know their calls and where the test added them, and journal
assertions with partial matchers (`mockserver.testing.matchers`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from mockserver import MockServer, Settings
from mockserver.core.errors import ScenarioFileError
from mockserver.testing.matchers import ABSENT, ANY, contains, matches
from mockserver.testing.mock_api import MockAPI

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(Settings(port=0, scenario_paths=())) as running:
        yield running


@pytest.fixture
def mock(server: MockServer) -> Iterator[MockAPI]:
    api = MockAPI(server)
    api.reset()
    yield api
    api.close_clients()
    api.reset()


def ask(mock: MockAPI, **body: Any) -> Any:
    return mock.openai(max_retries=0).responses.create(**{"model": "gpt-4.1", "input": "hi", **body})


# ---------------------------------------------------------------- matchers


@pytest.mark.parametrize(
    ("expected", "actual", "verdict"),
    [
        (ANY, ABSENT, True),
        (ANY, None, True),
        (contains("Paris"), "Weather in Paris?", True),
        (contains("Paris"), "Weather in Lyon?", False),
        (contains("Paris"), [{"role": "user", "content": "Weather in Paris?"}], True),
        (contains({"name": "get_weather"}), [WEATHER_TOOL], True),
        (contains({"name": "get_time"}), [WEATHER_TOOL], False),
        (contains({"type": "function_call_output"}), [{"type": "function_call_output", "call_id": "c"}], True),
        ({"effort": contains("hi")}, {"effort": "high"}, True),
        ({"effort": "high"}, {"effort": "high", "summary": "auto"}, False),  # a mapping is whole unless `contains`
        ([ANY, "b"], ["a", "b"], True),
        ([ANY], ["a", "b"], False),
        (lambda value: value > 0.5, 0.7, True),
        (lambda value: value > 0.5, ABSENT, False),
        ("gpt-4.1", "gpt-4.1", True),
        ("gpt-4.1", ABSENT, False),
    ],
)
def test_matchers(expected: Any, actual: Any, verdict: bool) -> None:
    assert matches(expected, actual) is verdict


def test_matchers_say_what_they_expect() -> None:
    assert repr(contains({"name": "get_weather"})) == "contains({'name': 'get_weather'})"
    assert repr(ANY) == "ANY"


# ---------------------------------------------------------------- assertions on what was sent


def test_assert_called_with_matches_the_last_call_partially(mock: MockAPI) -> None:
    ask(mock, input="first")
    ask(mock, input="Weather in Paris?", tools=[WEATHER_TOOL], temperature=0.2)

    mock.assert_called_with(input=contains("Paris"), tools=contains({"name": "get_weather"}), temperature=ANY)
    mock.assert_called_with(temperature=lambda value: value < 0.5, model="gpt-4.1")
    with pytest.raises(AssertionError) as caught:
        mock.assert_called_with(input="first", temperature=ANY)
    message = str(caught.value)
    assert message.startswith("the last request differs from what was expected:")
    assert "-{'input': 'first', 'temperature': ANY}" in message
    assert "+{'input': 'Weather in Paris?', 'temperature': ANY}" in message  # what matched is shown as expected


def test_assert_any_call_looks_at_every_call(mock: MockAPI) -> None:
    ask(mock, input="first", metadata={"suite": "checkout"})
    ask(mock, input="second")

    mock.assert_any_call(input="first", metadata=contains({"suite": "checkout"}))
    with pytest.raises(AssertionError, match="none of the 2 create requests has the expected fields"):
        mock.assert_any_call(input="third")


def test_assert_not_called(mock: MockAPI) -> None:
    mock.assert_not_called()
    ask(mock, input="first")

    mock.assert_not_called(model="gpt-4o")
    with pytest.raises(AssertionError) as caught:
        mock.assert_not_called(input=contains("fir"))
    assert str(caught.value) == (
        f"expected no create request with input=contains('fir') but got 1: #{mock.calls[0].number}"
    )
    with pytest.raises(AssertionError, match="expected no create request but got 1"):
        mock.assert_not_called()


# ---------------------------------------------------------------- scenarios that know their calls


def test_a_scenario_counts_the_calls_it_answered(mock: MockAPI) -> None:
    weather = mock.on(tools=["get_weather"]).respond(text="Sunny.")
    other = mock.on(input="bye").respond(text="Bye!")

    ask(mock, input="Weather?", tools=[WEATHER_TOOL])
    ask(mock, input="Weather again?", tools=[WEATHER_TOOL])

    assert (weather.call_count, weather.called, other.call_count, other.called) == (2, True, 0, False)
    assert [call.body["input"] for call in weather.calls] == ["Weather?", "Weather again?"]
    assert weather.name == "test-scenario-1"


def test_a_scenario_added_by_a_test_is_named_by_its_file_and_line(mock: MockAPI) -> None:
    mock.strict = True
    line = test_a_scenario_added_by_a_test_is_named_by_its_file_and_line.__code__.co_firstlineno + 3
    greeting = mock.on(input="hello").respond(text="Hi!")  # this line is `line`

    assert greeting.source == f"tests/testing/test_mock_api.py:{line}"
    with pytest.raises(openai.BadRequestError) as refused:
        ask(mock, input="helo")
    assert f"test-scenario-1 (tests/testing/test_mock_api.py:{line})" in str(refused.value.message)


def test_a_broken_scenario_names_the_test_line(mock: MockAPI) -> None:
    line = test_a_broken_scenario_names_the_test_line.__code__.co_firstlineno + 3
    with pytest.raises(ScenarioFileError) as caught:
        mock.on(input="x").respond(txt="typo")  # this line is `line`

    assert str(caught.value).startswith(f"tests/testing/test_mock_api.py:{line}: unknown response key 'txt'")
