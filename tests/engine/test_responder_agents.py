"""An agent loop from the `openai-agents` package, run to completion against the server with no scenario file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from mockserver import MockServer, Settings

agents = pytest.importorskip("agents", reason="the openai-agents package is not installed")


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(Settings(port=0, log_level="warning", scenario_paths=(), seed=4)) as running:
        yield running


def test_an_agent_with_two_tools_runs_to_completion(server: MockServer) -> None:
    import openai

    calls: list[str] = []

    @agents.function_tool  # type: ignore[untyped-decorator]
    def get_forecast(city: str) -> str:
        """Tomorrow's weather forecast for a city."""
        calls.append(f"forecast:{city}")
        return f'{{"city": "{city}", "high_c": 24, "sky": "sunny"}}'

    @agents.function_tool  # type: ignore[untyped-decorator]
    def convert_temperature(celsius: float) -> str:
        """Convert a temperature from Celsius to Fahrenheit."""
        calls.append(f"convert:{celsius}")
        return str(celsius * 9 / 5 + 32)

    async def run() -> object:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test")
        try:
            model = agents.OpenAIResponsesModel(model="gpt-4.1", openai_client=client)
            agent = agents.Agent(
                name="Weather assistant",
                instructions="Answer questions about the weather using the tools.",
                tools=[get_forecast, convert_temperature],
                model=model,
            )
            return await agents.Runner.run(agent, "What is the forecast for Lisbon tomorrow?", max_turns=5)
        finally:
            await client.close()

    agents.set_tracing_disabled(True)
    result = asyncio.run(run())

    assert calls and calls[0].startswith("forecast:")
    final = result.final_output  # type: ignore[attr-defined]
    assert isinstance(final, str) and "get_forecast" in final and "24" in final
