"""One definition of a valid scenario: the loader, `mockserver check`, the `mockserver schema` JSON Schema and the
contract checks agree on every file.

The output-item definitions of the shipped schema are what `tests/scenario_schema_gen.py` makes of the official
schema and the contract; output items as the API sends them (live captures) load; the issue's typos fail with
`file:line:column` and "did you mean". A property test draws scenario snippets, valid and mutated (a typo in a key or
an item type, a value of the wrong type, a required key dropped), and asks all four for their verdict:

- the loader (`parse_scenarios`), and `mockserver check` on the snippet written to a file (its exit code);
- the JSON Schema that `mockserver schema` prints (jsonschema's Draft 2020-12 validator);
- the contract: a snippet that loads is answered by the server and `contract.check_response` must find nothing in
  the answer; for one the loader refuses, the answer it describes is the items sent as written (short forms spelt
  out, an id added: what the server did before it checked them), judged by `contract.check_response` and by the
  keys the official schema gives each item type — a scenario, unlike the live API, has no newer fields to send.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import Settings, contract, create_app
from mockserver.cli import main as cli
from mockserver.core.errors import ScenarioFileError
from mockserver.engine.output_items import item_keys, item_types
from mockserver.engine.scenarios import ScenarioSet, parse_scenarios
from mockserver.render.render import ITEM_ID_PREFIXES
from tests.reference import live_capture_files, openapi_spec
from tests.scenario_schema_gen import (
    CLIENT_ITEMS,
    HAND_WRITTEN,
    SCENARIO_SCHEMA,
    generated_schema,
    official_item_keys,
    pass_through_types,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def printed_schema() -> dict[str, Any]:
    """The schema as `mockserver schema` prints it."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(["schema"]) == 0
    schema: dict[str, Any] = json.loads(out.getvalue())
    return schema


SCHEMA_VALIDATOR = jsonschema.Draft202012Validator(printed_schema())


def official_keys() -> dict[str, list[str]]:
    return official_item_keys(openapi_spec())


# ---------------------------------------------------------------- the shipped table


def test_the_shipped_schema_is_what_the_generator_makes() -> None:
    assert generated_schema(openapi_spec()) == json.loads(SCENARIO_SCHEMA.read_text(encoding="utf-8"))


def test_every_item_type_takes_at_least_the_keys_the_official_schema_gives_it() -> None:
    official = official_keys()
    for kind in item_types():
        if kind != "refusal":  # a scenario-only short form
            assert set(official[kind]) <= set(item_keys(kind)), kind
    assert set(item_types()) == {*HAND_WRITTEN, *pass_through_types(openapi_spec())}
    assert set(ITEM_ID_PREFIXES) <= set(item_types())  # every type the renderer knows a live id prefix of
    assert not set(CLIENT_ITEMS) & set(item_types())  # a model never answers with a function_call_output


def live_output_items() -> Iterator[dict[str, Any]]:
    """Every output item of the live captures: of saved Response objects and of output_item.done events."""
    for path in live_capture_files():
        if path.suffix == ".json":
            body = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(body, dict) and body.get("object") == "response":
                yield from body["output"]
        elif path.suffix in (".sse", ".jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError):
                    event = json.loads(line.removeprefix("data:").strip())
                    event = event.get("data", event) if isinstance(event, dict) else event
                    if isinstance(event, dict) and event.get("type") == "response.output_item.done":
                        yield event["item"]


def test_items_as_the_live_api_sends_them_load_and_satisfy_the_schema() -> None:
    items = list(live_output_items())
    assert {item["type"] for item in items} >= {"message", "function_call", "reasoning"}
    for item in items:
        document = [{"name": "saved", "response": {"output": [item]}}]
        parse_scenarios(json.dumps(document), "saved.json")
        assert SCHEMA_VALIDATOR.is_valid(document), item


def test_a_saved_response_object_loads_through_file(tmp_path: Path) -> None:
    saved = json.loads((FIXTURES / "responses" / "captured-response.json").read_text(encoding="utf-8"))
    saved["output"].append(
        {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"type": "search"}}
    )
    (tmp_path / "saved.json").write_text(json.dumps(saved), encoding="utf-8")
    (tmp_path / "s.yaml").write_text("- {name: saved, response: {file: saved.json}}\n", encoding="utf-8")

    assert cli(["check", str(tmp_path / "s.yaml")]) == 0


def test_an_included_output_list_is_checked_where_it_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "calls.yaml").write_text("- type: function_call\n  name: f\n  argument: {}\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text("- {name: a, response: {file: calls.yaml}}\n", encoding="utf-8")

    assert cli(["check", str(tmp_path / "s.yaml")]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {tmp_path / 'calls.yaml'}:3:3: unknown function_call key 'argument'"), error


# ---------------------------------------------------------------- the issue's examples, through `mockserver check`

ISSUE_EXAMPLES = [
    (
        "- name: call\n  response:\n    output:\n      - type: function_cal\n        name: get_weather\n",
        "s.yaml:4:9: unknown output item type 'function_cal' (did you mean 'function_call'?)",
    ),
    (
        "- name: call\n  response:\n    output:\n      - type: function_call\n        name: get_weather\n"
        "        argument: {city: Paris}\n",
        "s.yaml:6:9: unknown function_call key 'argument' (did you mean 'arguments'?)",
    ),
    (
        "- name: cited\n  response:\n    output:\n      - type: message\n        text: See the docs.\n"
        "        anotations: []\n",
        "s.yaml:6:9: unknown message key 'anotations' (did you mean 'annotations'?)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ISSUE_EXAMPLES, ids=["type", "arguments", "annotations"])
def test_mockserver_check_names_the_typo_with_file_line_and_did_you_mean(
    text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")

    assert cli(["check", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / expected}")
    assert not SCHEMA_VALIDATOR.is_valid(yaml.safe_load(text))


def test_content_parts_and_pass_through_items_are_checked_too() -> None:
    cases = {
        "      - {type: message, content: [{type: output_text, text: hi, anotations: []}]}\n": (
            "unknown output_text part key 'anotations' (did you mean 'annotations'?)"
        ),
        "      - {type: web_search_call, status: done}\n": "'status': 'done' is not one of",
        "      - {type: file_search_call, status: completed}\n": "a file_search_call item: 'queries' is a required",
        "      - {type: function_call_output, call_id: call_1, output: hi}\n": "unknown output item type",
        "      - {type: web_search_call, status: completed, querys: [a]}\n": "unknown web_search_call key 'querys'",
        "      - {type: message, text: hi, annotations: [{type: url_citation, url: u}]}\n": (
            "'annotations[0]': 'start_index' is a required property"
        ),
    }
    for line, message in cases.items():
        text = f"- name: a\n  response:\n    output:\n{line}"
        with pytest.raises(ScenarioFileError, match="s.yaml:4:") as raised:
            parse_scenarios(text, "s.yaml")
        assert message in raised.value.problem, (line, raised.value.problem)
        assert not SCHEMA_VALIDATOR.is_valid(yaml.safe_load(text)), line


def test_a_templated_value_is_checked_once_rendered() -> None:
    text = (
        "- name: call\n  response:\n    output:\n      - type: function_call\n        name: lookup\n"
        '        call_id: "{{ input }}"\n'
    )
    scenarios = ScenarioSet(parse_scenarios(text, "s.yaml"))  # the call_id is not known yet: it loads
    assert SCHEMA_VALIDATOR.is_valid(yaml.safe_load(text))
    app = create_app(Settings(scenario_paths=()), scenarios)
    with TestClient(app, headers={"Authorization": "Bearer sk-test"}) as client:
        good = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "call_42"})
        bad = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "42"})

    assert good.status_code == 200 and good.json()["output"][0]["call_id"] == "call_42"
    assert bad.status_code == 500 and bad.json()["error"]["code"] == "template_error"
    assert "'call_id': '42' does not match" in bad.json()["error"]["message"]


def test_a_models_list_is_accepted_and_checked() -> None:
    good = "models: [my-finetune]\nscenarios:\n  - {name: a, response: hi}\n"
    bad = "models: my-finetune\nscenarios: []\n"

    assert len(parse_scenarios(good, "s.yaml")) == 1 and SCHEMA_VALIDATOR.is_valid(yaml.safe_load(good))
    with pytest.raises(ScenarioFileError, match="s.yaml:1:1: models takes a list of model names"):
        parse_scenarios(bad, "s.yaml")
    assert not SCHEMA_VALIDATOR.is_valid(yaml.safe_load(bad))


# ---------------------------------------------------------------- the four verdicts, under a property test

VALID_ITEMS: list[dict[str, Any]] = [
    {"type": "message", "text": "Hello!"},
    {"type": "message", "text": "See [1].", "annotations": [], "phase": "final_answer"},
    {"type": "message", "content": ["Hi", {"type": "output_text", "text": " there"}]},
    {"type": "message", "content": [{"type": "refusal", "refusal": "No."}]},
    {"type": "function_call", "name": "get_weather", "arguments": {"city": "Paris"}},
    {"type": "function_call", "name": "get_time", "arguments": '{"tz": "UTC"}', "call_id": "call_7"},
    {"type": "reasoning", "summary": ["Thinking it over."]},
    {"type": "reasoning", "summary": "Short."},
    {"type": "refusal", "refusal": "I can't help with that."},
    {"type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "weather"}},
    {"type": "web_search_call", "action": {"type": "search", "query": "news"}},
    {"type": "shell_call", "action": {"commands": ["ls"]}},
    {"type": "computer_call", "action": {"type": "click", "x": 1, "y": 2}, "pending_safety_checks": []},
    {"type": "file_search_call", "status": "completed", "queries": ["invoices"], "results": None},
    {"type": "custom_tool_call", "call_id": "call_9", "name": "apply_patch", "input": "*** Begin Patch"},
    {"type": "mcp_call", "server_label": "docs", "name": "search", "arguments": "{}", "output": "found"},
    {"type": "image_generation_call", "status": "completed", "result": None},
    {"type": "code_interpreter_call", "status": "completed", "container_id": "cntr_1", "code": "1+1", "outputs": []},
]
# Values of the wrong type, by key (each also wrong for the contract once sent).
WRONG_VALUES: dict[str, list[Any]] = {
    "text": [5, ["a"]],
    "name": [7, None],
    "arguments": [5, True],
    "summary": [5, {"a": 1}],
    "refusal": [3],
    "status": [42, "done"],
    "phase": ["final", 1],
    "queries": ["invoices", [1]],
    "input": [{"a": 1}],
    "server_label": [None],
    "container_id": [3],
    "pending_safety_checks": [{}],
}


def typo(word: str, draw: Any) -> str:
    """`word` with one letter dropped, doubled or swapped with its neighbour (never `word` itself)."""
    position = draw(st.integers(min_value=0, max_value=len(word) - 2))
    how = draw(st.sampled_from(["drop", "double", "swap"]))
    if how == "drop":
        changed = word[:position] + word[position + 1 :]
    elif how == "double":
        changed = word[: position + 1] + word[position:]
    else:
        changed = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    return changed if changed != word else word + "s"


@st.composite
def snippets(draw: Any) -> tuple[str, list[dict[str, Any]]]:
    """A mutation name and the output list of one scenario: valid items, at most one of them mutated."""
    items = copy.deepcopy(draw(st.lists(st.sampled_from(VALID_ITEMS), min_size=1, max_size=3)))
    mutation = draw(st.sampled_from(["none", "type", "key", "value", "drop"]))
    target = items[draw(st.integers(min_value=0, max_value=len(items) - 1))]
    keys = [key for key in target if key != "type"]
    if mutation == "type":
        target["type"] = typo(target["type"], draw)
    elif mutation == "key":
        key = draw(st.sampled_from(keys))
        target[typo(key, draw)] = target.pop(key)
    elif mutation == "value":
        wrong = [key for key in keys if key in WRONG_VALUES]
        if not wrong:
            return "none", items
        key = draw(st.sampled_from(wrong))
        target[key] = draw(st.sampled_from(WRONG_VALUES[key]))
    elif mutation == "drop":
        key = draw(st.sampled_from(keys))
        del target[key]
    return mutation, items


def loader_accepts(document: list[dict[str, Any]]) -> bool:
    try:
        parse_scenarios(yaml.safe_dump(document), "s.yaml")
    except ScenarioFileError:
        return False
    return True


def check_accepts(document: list[dict[str, Any]]) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return cli(["check", str(path)]) == 0


def served_answer(document: list[dict[str, Any]]) -> dict[str, Any]:
    scenarios = ScenarioSet(parse_scenarios(yaml.safe_dump(document), "s.yaml"))
    app = create_app(Settings(scenario_paths=()), scenarios)
    with TestClient(app, headers={"Authorization": "Bearer sk-test"}) as client:
        answer = client.post("/v1/responses", json={"model": "gpt-4.1", "input": "hi"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


_BASE_ANSWER = served_answer([{"name": "base", "response": "hi"}])
_ID_PREFIXES = {"message": "msg", "function_call": "fc", "reasoning": "rs", **ITEM_ID_PREFIXES}


def sent_as_written(item: dict[str, Any]) -> dict[str, Any]:
    """The item as a server that did not check it would send it: the short forms spelt out, unknown keys kept."""
    sent = dict(item)
    kind = sent.get("type")
    if kind == "refusal":
        sent = {"type": "message", "content": [{"type": "refusal", "refusal": sent.pop("refusal", None)}], **sent}
        sent["type"] = "message"
    if sent.get("type") == "message":
        if "text" in sent:
            part = {"type": "output_text", "text": sent.pop("text"), "annotations": sent.pop("annotations", [])}
            sent["content"] = [part]
        if isinstance(sent.get("content"), list):
            sent["content"] = [
                {"type": "output_text", "text": part, "annotations": [], "logprobs": []}
                if isinstance(part, str)
                else {"annotations": [], "logprobs": [], **part}
                for part in sent["content"]
            ]
        sent.setdefault("role", "assistant")
        sent.setdefault("status", "completed")
    if kind == "function_call":
        arguments = sent.get("arguments", {})
        sent["arguments"] = json.dumps(arguments) if isinstance(arguments, dict | list) else arguments
        sent.setdefault("call_id", "call_1")
        sent.setdefault("status", "completed")
    if kind == "reasoning" and "summary" in sent:
        summary = [sent["summary"]] if isinstance(sent["summary"], str) else sent["summary"]
        sent["summary"] = (
            [{"type": "summary_text", "text": text} for text in summary] if isinstance(summary, list) else summary
        )
    keys = official_keys().get(str(sent.get("type")), [])
    filled = {"call_id": "call_1", "status": "completed"}  # what the server adds when the type has the key
    sent.update({key: value for key, value in filled.items() if key in keys and key not in sent})
    prefix = _ID_PREFIXES.get(str(sent.get("type")), "item")
    return {"id": f"{prefix}_1", **sent}


def contract_accepts(answer: dict[str, Any]) -> bool:
    official = official_keys()
    if contract.check_response(200, answer):
        return False
    return all(set(item) <= set(official.get(item["type"], ())) for item in answer["output"])


def contract_accepts_snippet(document: list[dict[str, Any]], loaded: bool) -> bool:
    if loaded:
        return contract_accepts(served_answer(document))
    items = document[0]["response"]["output"]
    return contract_accepts({**_BASE_ANSWER, "output": [sent_as_written(item) for item in items]})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snippets())
def test_loader_check_schema_and_contract_agree_on_every_snippet(drawn: tuple[str, list[dict[str, Any]]]) -> None:
    mutation, items = drawn
    document = [{"name": "drawn", "response": {"output": items}}]
    loaded = loader_accepts(document)
    verdicts = {
        "loader": loaded,
        "mockserver check": check_accepts(document),
        "JSON Schema": SCHEMA_VALIDATOR.is_valid(document),
        "contract": contract_accepts_snippet(document, loaded),
    }

    event(f"{mutation}: {'valid' if loaded else 'invalid'}")
    assert len(set(verdicts.values())) == 1, (mutation, items, verdicts)
    if mutation == "none":
        assert loaded, items
    elif mutation != "drop":  # dropping a key leaves an item valid when the key was optional
        assert not loaded, (mutation, items)  # a typo or a wrong value never is
