"""The server is not a hole in a developer's machine: it binds to loopback unless told otherwise, keeps keys out of
its logs and journal, and scenario files cannot read outside their folders, run code or exhaust memory.

Where the rest is proven: the admin token in `test_admin_api.py::test_admin_token`, header redaction in
`test_journal.py::test_secrets_are_redacted`, the template sandbox in `test_engine.py::test_templates_are_sandboxed`
(and below), bounded and timed request bodies in `test_robustness.py`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mockserver.cli import is_loopback, main
from mockserver.core.context import RequestContext
from mockserver.core.errors import APIError, ScenarioFileError
from mockserver.core.yamlfile import MAX_FILE_BYTES
from mockserver.engine.scenario_engine import ScenarioEngine
from mockserver.engine.scenarios import ScenarioSet, load_scenarios, parse_scenarios
from tests.conftest import KEY_HEADERS
from tests.wire.test_shutdown import read_line

ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- the address it listens on


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "[::1]"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_other_addresses_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize("how", ["flag", "env"])
def test_serve_on_another_address_needs_allow_remote(
    how: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "env":
        monkeypatch.setenv("MOCKSERVER_HOST", "0.0.0.0")
        code = main(["serve", "--port", "0"])
    else:
        code = main(["serve", "--host", "0.0.0.0", "--port", "0"])

    assert code == 2
    error = capsys.readouterr().err
    assert "--host 0.0.0.0 is not a loopback address" in error and "--allow-remote" in error


def test_allow_remote_serves_with_a_warning() -> None:
    command = [sys.executable, "-m", "mockserver", "serve", "--host", "0.0.0.0", "--allow-remote", "--port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(process.stdout, 20)
        port = int(line.split("/v1")[0].rsplit(":", 1)[1])
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5, headers=KEY_HEADERS).status_code == 200
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0
    assert "warning: listening on 0.0.0.0, reachable from other machines" in stderr


# ---------------------------------------------------------------- secrets stay out of logs and the journal


def test_api_keys_and_the_admin_token_never_appear_in_logs_or_the_journal() -> None:
    key, wrong_key, token = "sk-live-0123456789abcdefSECRET", "sk-wrong-9876543210SECRET", "admin-SECRET-token"
    command = [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--log-level", "debug"]
    command += ["--api-key", key, "--admin-token", token]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = read_line(process.stdout, 20).split("listening on ", 1)[1].split()[0]
        with httpx.Client(base_url=base, timeout=10) as client:
            body = {"model": "gpt-4.1", "input": "hello"}
            ok = client.post("/responses", json=body, headers={"authorization": f"Bearer {key}"})
            refused = client.post("/responses", json=body, headers={"authorization": f"Bearer {wrong_key}"})
            by_header = client.post("/responses", json=body, headers={"x-api-key": key, "api-key": key})
            streamed = client.post("/responses", json={**body, "stream": True}, headers={"x-api-key": key})
            journal = client.get(base.removesuffix("/v1") + "/__mock__/journal", headers={"x-mock-admin-token": token})
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert [ok.status_code, refused.status_code, by_header.status_code, streamed.status_code] == [200, 401, 200, 200]
    assert journal.status_code == 200 and len(journal.json()["requests"]) == 4
    assert "POST /v1/responses" in stdout + stderr  # the access log was on
    for secret in (key, wrong_key, token, key[-12:], wrong_key[-12:]):
        assert secret not in stdout + stderr
        assert secret not in journal.text
    assert journal.json()["requests"][0]["headers"]["authorization"] == "Bearer ***"


# ---------------------------------------------------------------- scenario files: includes stay inside


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/project/scenarios/ (the scenario files), tmp/project/responses/, tmp/outside/secret.yaml; the working
    directory is tmp/project/scenarios, so only that folder's tree is allowed."""
    scenarios = tmp_path / "project" / "scenarios"
    (scenarios / "bodies").mkdir(parents=True)
    (scenarios / "bodies" / "ok.yaml").write_text("text: inside\n")
    (tmp_path / "project" / "responses").mkdir()
    (tmp_path / "project" / "responses" / "shared.yaml").write_text("text: shared\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yaml").write_text("text: secret\n")
    monkeypatch.chdir(scenarios)
    return scenarios


def load_with_file(folder: Path, name: str) -> ScenarioSet:
    (folder / "s.yaml").write_text(f"scenarios:\n  - name: a\n    response: {{file: {json.dumps(name)}}}\n")
    return load_scenarios([folder / "s.yaml"])


def test_includes_inside_the_scenario_folder_load(layout: Path) -> None:
    assert len(load_with_file(layout, "bodies/ok.yaml")) == 1
    assert len(load_with_file(layout, str(layout / "bodies" / "ok.yaml"))) == 1  # absolute, but inside


@pytest.mark.parametrize(
    "name",
    ["../../outside/secret.yaml", "/etc/passwd", "../responses/shared.yaml", "bodies/../../responses/shared.yaml"],
)
def test_includes_outside_the_scenario_folder_and_working_directory_are_refused(layout: Path, name: str) -> None:
    with pytest.raises(ScenarioFileError) as caught:
        load_with_file(layout, name)
    assert caught.value.line == 3 and caught.value.path.endswith("s.yaml")
    assert "is outside the scenario file's folder" in caught.value.problem


def test_a_symbolic_link_pointing_out_is_refused(layout: Path, tmp_path: Path) -> None:
    (layout / "bodies" / "link.yaml").symlink_to(tmp_path / "outside" / "secret.yaml")
    with pytest.raises(ScenarioFileError, match="is outside the scenario file's folder"):
        load_with_file(layout, "bodies/link.yaml")


def test_the_working_directory_tree_is_allowed_too(layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(layout.parent)  # as the repository's fixtures: scenarios/ next to responses/
    assert len(load_with_file(layout, "../responses/shared.yaml")) == 1


def test_an_included_file_cannot_climb_out_either(layout: Path) -> None:
    (layout / "bodies" / "relay.yaml").write_text("file: ../../../outside/secret.yaml\n")
    with pytest.raises(ScenarioFileError, match="is outside"):
        load_with_file(layout, "bodies/relay.yaml")


# ---------------------------------------------------------------- scenario files: safe and bounded


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"- name: a\n  response: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ScenarioFileError, match="not valid YAML"):
        parse_scenarios(text, "t.yaml")
    assert not marker.exists()


def test_a_file_over_the_size_bound_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as sparse:  # 10 MiB and a byte, written as a hole: instant
        sparse.truncate(MAX_FILE_BYTES + 1)
    started = time.perf_counter()
    with pytest.raises(ScenarioFileError, match="more than the limit of 10485760 bytes"):
        load_scenarios([big])
    big_response = tmp_path / "body.yaml"
    os.link(big, big_response)
    with pytest.raises(ScenarioFileError, match="more than the limit"):
        load_with_file(tmp_path, "body.yaml")
    assert time.perf_counter() - started < 1


def billion_laughs(levels: int) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "scenarios:\n  - name: bomb\n    response: {text: hi}\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (billion_laughs(10), "its aliases expand to more than 1000000 values"),
        (
            "b0: &b0 {x: 1}\n"
            + "".join(f"b{i}: &b{i} {{<<: [*b{i - 1}, *b{i - 1}], k{i}: 1}}\n" for i in range(1, 40)),
            "its aliases expand to more than 1000000 values",
        ),
        ("- &a {name: s, response: [*a]}\n", "an alias refers to a value that contains it"),
        ("[" * 5_000 + "]" * 5_000, "nest too deep"),
    ],
    ids=["billion-laughs", "merge-keys", "recursive-alias", "deep-nesting"],
)
def test_yaml_bombs_are_refused_at_once(text: str, problem: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ScenarioFileError, match=problem):
        parse_scenarios(text, "bomb.yaml")
    # An expanded bomb takes minutes and gigabytes; a refused one well under a second on a quiet machine (3 s seen
    # with the machine's two cores shared by eight processes), so the bound leaves room for a busy machine.
    assert time.perf_counter() - started < 20


def test_aliases_and_merge_keys_within_the_bound_still_work() -> None:
    text = """
scenarios:
  - name: a
    response: &answer {text: "shared", delay: 0}
  - name: b
    response: {<<: *answer, model: gpt-4.1-2025-04-14}
"""
    assert [scenario.name for scenario in parse_scenarios(text, "t.yaml")] == ["a", "b"]


# ---------------------------------------------------------------- templates


def render(template: str, user_input: str = "hello") -> str:
    engine = ScenarioEngine(ScenarioSet(parse_scenarios(f"- {{name: t, response: {json.dumps(template)}}}", "t.yaml")))
    selection = engine.select(RequestContext({"model": "gpt-4.1", "input": user_input}, {}))
    assert selection is not None
    text: str = selection.reply.output[0]["content"][0]["text"]
    return text


@pytest.mark.parametrize(
    "template",
    [
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ body.__class__.__mro__ }}",
        "{{ 'a'.upper.__self__ }}",
        "{{ range(10**9) | list | length }}",
        "{{ input * 10**9 }}",
        "{{ [0] * 10**8 }}",
        "{{ 7 ** 100000000 }}",
        "{{ 1 / 0 }}",
        "{{ [].pop() }}",
    ],
)
def test_templates_cannot_reach_python_internals_or_exhaust_memory(template: str) -> None:
    started = time.perf_counter()
    with pytest.raises(APIError) as caught:
        render(template)
    assert caught.value.status == 500 and caught.value.code == "template_error"
    assert time.perf_counter() - started < 1


def test_a_request_cannot_inject_a_template() -> None:
    assert (
        render("You said: {{ input }}", "{{ 7 * 7 }} {{ ''.__class__ }}") == "You said: {{ 7 * 7 }} {{ ''.__class__ }}"
    )
    assert render("{{ 'ab' * 3 }} {{ 2 ** 10 }}") == "ababab 1024"
