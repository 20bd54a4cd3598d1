"""In-process transports: the same answers and events as over the network, for httpx and httpx2, sync and async."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import openai
import pytest

from mockserver import MockServer, Settings
from mockserver.testing.inprocess import async_transport, sync_transport
from tests.conftest import E2E_SCENARIOS, KEY_HEADERS

IDS = re.compile(r"\b(resp|msg|fc|rs|call|req)_[0-9A-Za-z]+")
VOLATILE = re.compile(r'"(created_at|completed_at|obfuscation)":("[^"]*"|\d+)')


def normalised(text: str) -> str:
    return VOLATILE.sub(r'"\1":0', IDS.sub(r"\1_X", text))


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    settings = Settings(port=0, log_level="warning", scenario_paths=(E2E_SCENARIOS,), seed=5)
    with MockServer(settings) as running:
        yield running


BODIES: list[dict[str, Any]] = [
    {"model": "gpt-4.1", "input": "cite a source"},
    {"model": "gpt-4.1", "input": "cite a source", "stream": True},
    {"model": "gpt-4.1", "input": "x", "tools": [{"type": "function", "name": "get_time", "parameters": {}},
                                                 {"type": "function", "name": "get_stock_price", "parameters": {}}]},
    {"model": "gpt-unauthorized", "input": "x"},
    {"model": "gpt-4.1", "input": "x", "temperature": 7},
]  # fmt: skip


@pytest.mark.parametrize("http", [httpx, httpx2], ids=["httpx", "httpx2"])
@pytest.mark.parametrize("body", BODIES, ids=["json", "stream", "calls", "error", "invalid"])
def test_same_answer_as_over_the_network(server: MockServer, http: Any, body: dict[str, Any]) -> None:
    with httpx.Client(headers=KEY_HEADERS) as network:
        over_network = network.post(server.base_url + "/responses", json=body)
    local = http.Client(
        transport=sync_transport(server.app, http), base_url="http://mockserver.invalid", headers=KEY_HEADERS
    )
    with local:
        in_process = local.post("/v1/responses", json=body)

    assert in_process.status_code == over_network.status_code
    assert in_process.headers["content-type"] == over_network.headers["content-type"]
    assert normalised(in_process.text) == normalised(over_network.text)


@pytest.mark.parametrize("http", [httpx, httpx2], ids=["httpx", "httpx2"])
def test_async_stream_arrives_chunk_by_chunk(server: MockServer, http: Any) -> None:
    async def run() -> list[bytes]:
        transport = async_transport(server.app, http)
        async with http.AsyncClient(
            transport=transport, base_url="http://mockserver.invalid", headers=KEY_HEADERS
        ) as client:
            body = {"model": "gpt-4.1", "input": "cite a source", "stream": True}
            async with client.stream("POST", "/v1/responses", json=body) as answer:
                return [chunk async for chunk in answer.aiter_raw()]

    chunks = asyncio.run(run())
    assert len(chunks) > 5 and all(chunk.startswith(b"event: ") for chunk in chunks)


def test_official_sdk_in_process() -> None:
    app = MockServer(Settings(port=0, scenario_paths=(E2E_SCENARIOS,))).app
    http_client = httpx2.Client(transport=sync_transport(app, httpx2))
    with openai.OpenAI(base_url="http://mockserver.invalid/v1", api_key="k", http_client=http_client) as client:
        parsed = json.loads(
            client.responses.create(
                model="gpt-4.1",
                input="x",
                text={
                    "format": {"type": "json_schema", "name": "Person", "schema": {"type": "object", "properties": {}}}
                },
            ).output_text
        )
        with pytest.raises(openai.AuthenticationError):
            client.responses.create(model="gpt-unauthorized", input="x")
        with pytest.raises(openai.APIConnectionError):
            client.with_options(max_retries=0).responses.create(
                model="gpt-4.1", input="x", extra_headers={"x-mock-fault": "reset"}
            )
    assert parsed["name"] == "Ada Lovelace"


def test_read_timeout_applies_in_process() -> None:
    app = MockServer(Settings(port=0, scenario_paths=(E2E_SCENARIOS,))).app
    http_client = httpx2.Client(transport=sync_transport(app, httpx2))
    with openai.OpenAI(base_url="http://mockserver.invalid/v1", api_key="k", http_client=http_client) as client:
        with pytest.raises(openai.APITimeoutError):
            client.with_options(max_retries=0, timeout=0.3).responses.create(
                model="gpt-4.1", input="x", stream=True, extra_headers={"x-mock-fault": "stall"}
            ).__next__()
