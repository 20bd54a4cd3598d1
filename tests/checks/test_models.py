"""The model catalog and the model rules: unknown models get the live 400, per-model parameters are refused with the
live wording, answers report the dated snapshot, and `GET /v1/models` lists what the server accepts."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from starlette.testclient import TestClient

from mockserver import MockServer
from mockserver.cli import main
from mockserver.core.errors import ScenarioFileError
from mockserver.core.models import (
    DEFAULT_MODEL,
    DEFAULT_MODELS,
    catalog,
    context_window,
    default_effort,
    is_reasoning_model,
    model_info,
    reported_model,
)
from mockserver.engine.scenarios import ScenarioSet, load_scenarios, parse_scenarios
from mockserver.faults.config import Settings, settings_from_env
from mockserver.wire.app import create_app
from tests.reference import live_captures_dir
from tests.test_cli import listening_url, post, running_server

# The live body, as `live-captures/error-400-model-not-found.rig.json` holds it (compared with the file when present).
LIVE_MODEL_NOT_FOUND = {
    "message": "The requested model 'gpt-4o-mini-nonexistent-rig-test' does not exist.",
    "type": "invalid_request_error",
    "param": "model",
    "code": "model_not_found",
}
AUTH = {"Authorization": "Bearer sk-test"}
SCENARIOS = """
models: [acme-local-1]
scenarios:
  - name: exact
    match: {model: my-finetune}
    response: {text: exact}
  - name: family
    match: {model: {regex: "^llama-3"}}
    response: {text: family}
  - name: answers-as
    match: {input: {contains: rename}}
    response: {text: renamed, model: custom-answerer}
"""


def app_client(settings: Settings | None = None, scenarios: ScenarioSet | None = None) -> TestClient:
    app = create_app(settings or Settings(seed=1), scenarios or ScenarioSet())
    return TestClient(app, headers=AUTH, raise_server_exceptions=False)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with app_client() as test_client:
        yield test_client


@pytest.fixture
def scenario_client(tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "models.yaml"
    path.write_text(SCENARIOS)
    with app_client(Settings(seed=1, models=("cli-model",)), load_scenarios([path])) as test_client:
        yield test_client


def create(client: TestClient, **body: object) -> tuple[int, dict[str, Any]]:
    answer = client.post("/v1/responses", json={"input": "hi", **body})
    return answer.status_code, answer.json()


def error_of(client: TestClient, **body: object) -> dict[str, Any]:
    status, answer = create(client, **body)
    assert status == 400, answer
    error: dict[str, Any] = answer["error"]
    return error


# ---------------------------------------------------------------- the catalog


def test_every_catalog_entry_names_its_sources_and_valid_efforts() -> None:
    data = catalog()
    for info in data.models.values():
        assert info.sources and all(source in data.sources for source in info.sources), info.name
        assert (info.default_effort in info.efforts) if info.reasoning else not info.efforts, info.name
        assert info.context_window >= info.max_output_tokens > 0, info.name
    assert DEFAULT_MODEL in data.models


def test_the_snapshots_the_live_captures_report() -> None:
    asked = {"gpt-5.1": "gpt-5.1-2025-11-13", "gpt-5.4": "gpt-5.4-2026-03-05", "gpt-5-nano": "gpt-5-nano-2025-08-07"}
    for model, snapshot in asked.items():
        assert reported_model(model) == snapshot
    assert reported_model("gpt-4.1-mini") == "gpt-4.1-mini-2025-04-14"
    assert reported_model("gpt-5.2") == "gpt-5.2-2025-12-11"
    assert reported_model("gpt-5.6") == "gpt-5.6-sol"
    assert reported_model("gpt-4o-2024-11-20") == "gpt-4o-2024-11-20"  # a snapshot reports itself
    assert reported_model("my-finetune") == "my-finetune"


def test_the_captured_snapshots_are_the_catalogs() -> None:
    captures = live_captures_dir()
    reported = {
        json.loads(line)["response"]["model"]
        for path in captures.glob("*.jsonl")
        for line in path.read_text().splitlines()
        if '"response.created"' in line
    }
    snapshots = {info.snapshot for info in catalog().models.values()}
    assert reported and reported <= snapshots


def test_dated_snapshots_belong_to_their_model() -> None:
    assert model_info("gpt-4o-2024-08-06") is model_info("gpt-4o")
    assert model_info("gpt-4-0613") is model_info("gpt-4")
    assert model_info("gpt-4.1-mini-2025-04-14") is model_info("gpt-4.1-mini")
    assert model_info("gpt-nonexistent") is None and model_info("gpt-4o-2024") is None


def test_reasoning_and_default_effort_come_from_the_catalog() -> None:
    assert not is_reasoning_model("gpt-4.1") and not is_reasoning_model("gpt-5-chat-latest")
    assert is_reasoning_model("o3") and is_reasoning_model("gpt-5.1-2025-11-13")
    assert default_effort("gpt-5") == "medium" and default_effort("gpt-5.1") == "none"
    assert default_effort("gpt-5-pro") == "high" and default_effort("gpt-4o") is None
    assert default_effort("gpt-5-my-tune") == "medium"  # outside the catalog: by its name
    assert context_window("gpt-5-chat-latest") == 128_000 and context_window("gpt-4-0613") == 8_192


# ---------------------------------------------------------------- unknown models


def test_an_unknown_model_gets_the_live_400_word_for_word(client: TestClient) -> None:
    answer = client.post("/v1/responses", json={"model": "gpt-4o-mini-nonexistent-rig-test", "input": "hi"})
    assert answer.status_code == 400
    assert answer.json() == {"error": LIVE_MODEL_NOT_FOUND}
    capture = live_captures_dir() / "error-400-model-not-found.rig.json"
    if capture.is_file():
        assert json.loads(capture.read_text())["error"] == LIVE_MODEL_NOT_FOUND


@pytest.mark.parametrize("path", ["/v1/responses/input_tokens", "/v1/responses/compact"])
def test_token_counts_and_compaction_refuse_unknown_models_too(client: TestClient, path: str) -> None:
    answer = client.post(path, json={"model": "gpt-nonexistent", "input": "hi"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "model_not_found"
    assert client.post(path, json={"model": "gpt-4.1", "input": "hi"}).status_code == 200


def test_catalog_models_and_their_snapshots_are_known(client: TestClient) -> None:
    for model in ("gpt-4.1", "gpt-4o-2024-08-06", "o3", "gpt-5.1", "gpt-5.2-2025-12-11", "gpt-6-luna"):
        status, answer = create(client, model=model)
        assert status == 200, (model, answer)


def test_scenarios_and_the_model_option_make_models_known(scenario_client: TestClient) -> None:
    for model, text in [("my-finetune", "exact"), ("llama-3-70b", "family"), ("acme-local-1", None)]:
        status, answer = create(scenario_client, model=model)
        assert status == 200, (model, answer)
        if text is not None:
            assert answer["output"][0]["content"][0]["text"] == text
    assert create(scenario_client, model="cli-model")[0] == 200
    assert create(scenario_client, model="custom-answerer")[0] == 200  # a scenario answers as it
    assert error_of(scenario_client, model="llama-2")["code"] == "model_not_found"


def test_any_model_accepts_every_name() -> None:
    with app_client(Settings(seed=1, any_model=True)) as lenient:
        status, answer = create(lenient, model="gpt-made-up")
    assert status == 200 and answer["model"] == "gpt-made-up"


def test_a_forced_error_answers_before_the_model_check(client: TestClient) -> None:
    answer = client.post(
        "/v1/responses", json={"model": "gpt-nope", "input": "hi"}, headers={"x-mock-error": "rate_limit"}
    )
    assert answer.status_code == 429


def test_a_request_that_names_its_scenario_skips_the_model_check(scenario_client: TestClient) -> None:
    body = {"model": "gpt-nope", "input": "hi"}
    answer = scenario_client.post("/v1/responses", json=body, headers={"x-mock-scenario": "exact"})
    assert answer.status_code == 200 and answer.json()["output"][0]["content"][0]["text"] == "exact"
    assert scenario_client.post("/v1/responses", json=body).status_code == 400


def test_the_command_line_model_options() -> None:
    with running_server("--model", "cli-x", "--model", "cli-y") as (_, line):
        url = listening_url(line)
        assert post(url, {"model": "cli-y", "input": "hi"})["model"] == "cli-y"
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(url, {"model": "gpt-nope", "input": "hi"})
        assert refused.value.code == 400 and json.loads(refused.value.read())["error"]["code"] == "model_not_found"
        refused.value.close()
    with running_server(env={"MOCKSERVER_ANY_MODEL": "1"}) as (_, line):
        assert post(listening_url(line), {"model": "gpt-nope", "input": "hi"})["model"] == "gpt-nope"


def test_the_options_and_environment_set_the_known_models() -> None:
    settings = settings_from_env({"MOCKSERVER_MODELS": "a-model, b-model", "MOCKSERVER_ANY_MODEL": "1"})
    assert settings.models == ("a-model", "b-model") and settings.any_model


# ---------------------------------------------------------------- scenario files


def test_a_scenario_file_declares_models(tmp_path: Path) -> None:
    assert parse_scenarios("models: [a, b]\nscenarios: []\n").models == ("a", "b")
    with pytest.raises(ScenarioFileError, match="models takes a list of model names"):
        parse_scenarios("models: gpt-x\n", "f.yaml")
    with pytest.raises(ScenarioFileError, match=r"f.yaml:1:.*non-empty model name"):
        parse_scenarios("models: [' ']\n", "f.yaml")
    path = tmp_path / "declared.yaml"
    path.write_text("models: [acme-local-1]\n")
    assert main(["check", str(path)]) == 0
    assert load_scenarios([path]).knows_model("acme-local-1")


def test_the_schema_accepts_a_models_list() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((Path(__file__).parents[2] / "mockserver/data/scenario.schema.json").read_text())
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"models": ["acme-local-1"], "scenarios": []})
    assert not validator.is_valid({"models": "acme-local-1"})
    assert not validator.is_valid({"models": [" "]})


# ---------------------------------------------------------------- per-model rules


def test_reasoning_effort_on_a_model_that_does_not_reason(client: TestClient) -> None:
    for model in ("gpt-4.1", "gpt-4o", "gpt-5-chat-latest"):
        assert error_of(client, model=model, reasoning={"effort": "low"}) == {
            "message": "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
            "type": "invalid_request_error",
            "param": "reasoning.effort",
            "code": "unsupported_parameter",
        }
    assert create(client, model="gpt-4o", reasoning={"summary": "auto"})[0] == 200  # no effort: accepted


def test_an_effort_the_model_does_not_take(client: TestClient) -> None:
    assert error_of(client, model="gpt-5.1", reasoning={"effort": "minimal"}) == {
        "message": "Unsupported value: 'minimal' is not supported with the 'gpt-5.1' model. Supported values are: "
        "'none', 'low', 'medium', and 'high'.",
        "type": "invalid_request_error",
        "param": "reasoning.effort",
        "code": "unsupported_value",
    }
    assert error_of(client, model="gpt-5-mini", reasoning={"effort": "none"})["message"] == (
        "Unsupported value: 'none' is not supported with the 'gpt-5-mini' model. Supported values are: "
        "'minimal', 'low', 'medium', and 'high'."
    )
    assert (
        "Supported values are: 'low', 'medium', and 'high'."
        in (error_of(client, model="o3", reasoning={"effort": "xhigh"})["message"])
    )
    assert error_of(client, model="gpt-5-pro", reasoning={"effort": "low"})["message"].endswith(
        "Supported values are: 'high'."
    )
    assert create(client, model="gpt-5.2", reasoning={"effort": "xhigh"})[0] == 200


def test_sampling_parameters_on_reasoning_models(client: TestClient) -> None:
    assert error_of(client, model="o3", temperature=0.2) == {
        "message": "Unsupported parameter: 'temperature' is not supported with this model.",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "unsupported_parameter",
    }
    assert error_of(client, model="gpt-5", top_p=0.5)["param"] == "top_p"
    assert error_of(client, model="gpt-5.1", reasoning={"effort": "low"}, temperature=0)["param"] == "temperature"
    assert create(client, model="gpt-5", temperature=1)[0] == 200  # the default value is accepted
    assert create(client, model="gpt-5.1", temperature=0.2)[0] == 200  # its default effort is none
    assert create(client, model="gpt-5.2", reasoning={"effort": "none"}, top_p=0.9)[0] == 200
    assert create(client, model="gpt-4.1", temperature=0.2, top_p=0.5)[0] == 200


def test_a_hosted_tool_the_model_does_not_offer(client: TestClient) -> None:
    assert error_of(client, model="gpt-4.1-nano", tools=[{"type": "web_search_preview"}]) == {
        "message": "Hosted tool 'web_search_preview' is not supported with gpt-4.1-nano-2025-04-14.",
        "type": "invalid_request_error",
        "param": "tools",
        "code": None,
    }


def test_models_outside_the_catalog_have_no_per_model_rules(scenario_client: TestClient) -> None:
    assert create(scenario_client, model="my-finetune", reasoning={"effort": "high"}, temperature=0.1)[0] == 200


# ---------------------------------------------------------------- what answers report


def test_answers_report_the_dated_snapshot(client: TestClient) -> None:
    status, answer = create(client, model="gpt-5.1")
    assert status == 200 and answer["model"] == "gpt-5.1-2025-11-13"
    assert answer["reasoning"]["effort"] == "none"
    with client.stream("POST", "/v1/responses", json={"model": "gpt-4.1-mini", "input": "hi", "stream": True}) as sse:
        events = [json.loads(line[5:]) for line in sse.iter_lines() if line.startswith("data:")]
    models = {event["response"]["model"] for event in events if "response" in event}
    assert models == {"gpt-4.1-mini-2025-04-14"}


def test_a_scenario_model_wins_over_the_snapshot(scenario_client: TestClient) -> None:
    status, answer = create(scenario_client, model="gpt-4.1", input="rename me")
    assert status == 200 and answer["model"] == "custom-answerer"


def test_the_models_list(scenario_client: TestClient) -> None:
    listed = [model["id"] for model in scenario_client.get("/v1/models").json()["data"]]
    assert listed[: len(DEFAULT_MODELS)] == list(DEFAULT_MODELS)
    assert {"acme-local-1", "my-finetune", "custom-answerer", "cli-model"} <= set(listed)
    assert scenario_client.get("/v1/models/gpt-4o-2024-08-06").status_code == 200
    assert scenario_client.get("/v1/models/llama-3-8b").status_code == 200
    assert scenario_client.get("/v1/models/gpt-nonexistent").status_code == 404


def test_a_prompt_without_a_model_answers_as_the_default_model_through_the_sdk() -> None:
    with MockServer(Settings(port=0, log_level="warning", seed=3), ScenarioSet()) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")
        try:
            response = client.responses.create(prompt={"id": "pmpt_123"}, input="hi")
            streamed = client.responses.create(prompt={"id": "pmpt_123"}, input="hi", stream=True)
            final = [event for event in streamed if event.type == "response.completed"][0].response
        finally:
            client.close()
    assert response.model == final.model == reported_model(DEFAULT_MODEL)
    assert response.output_text


def test_the_readme_table_is_the_catalog() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {
        cells[0].strip("` "): cells
        for line in readme.split("## Models", 1)[1].split("\n## ", 1)[0].splitlines()
        if line.startswith("| `") and len(cells := [cell.strip() for cell in line.strip("|").split("|")]) == 10
    }
    assert list(rows) == list(DEFAULT_MODELS)
    for name, cells in rows.items():
        info = model_info(name)
        assert info is not None
        assert cells[6].startswith(f"{info.context_window:,}") and cells[7].startswith(f"{info.max_output_tokens:,}")
        assert cells[8].startswith(f"`{info.snapshot}`"), name
        assert (cells[2] == "yes") is info.reasoning, name
        assert ("⚠" in " ".join(cells)) is bool(info.lenient), name
