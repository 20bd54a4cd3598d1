"""The README is the front door: its commands, its YAML and its Python examples must work as written."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import MockServer, Settings, create_app
from mockserver.engine.scenarios import ScenarioSet, parse_scenarios
from tests.conftest import E2E_SCENARIOS, KEY_HEADERS

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_readme_opens_with_the_two_commands() -> None:
    bash = code_blocks("bash")
    assert bash[0].strip() == "pip install -e . openai && mockserver serve"
    assert bash[1].strip() == "pip install -e '.[test]' && python -m pytest"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install, test = code_blocks("bash")[1].strip().split(" && ")
    assert "pip install" in ci and "-e '.[test]'" in ci
    assert test in ci.splitlines()


def yaml_examples() -> list[tuple[str, list[dict[str, Any]]]]:
    """Every YAML block of the README with the `<!-- check: {...} -->` comments that follow it."""
    examples = []
    for match in re.finditer(r"```yaml\n(.*?)```\n((?:<!-- check: .*? -->\n)*)", README, flags=re.DOTALL):
        checks = [json.loads(check) for check in re.findall(r"<!-- check: (.*?) -->", match.group(2))]
        examples.append((match.group(1), checks))
    return examples


@pytest.mark.parametrize(("example", "checks"), yaml_examples(), ids=lambda value: "")
def test_readme_yaml_examples_load_and_answer_as_documented(example: str, checks: list[dict[str, Any]]) -> None:
    scenarios = ScenarioSet(parse_scenarios(example, str(ROOT / "README.md")))
    with TestClient(create_app(Settings(), scenarios), headers=KEY_HEADERS) as client:
        for check in checks:
            for expected in check["answers"]:
                answer = client.post("/v1/responses", json=check["request"])
                if isinstance(expected, dict):
                    assert answer.status_code == expected["status"], answer.text
                else:
                    assert answer.status_code == 200, answer.text
                    texts = [p.get("text", "") for i in answer.json()["output"] for p in i.get("content", ())]
                    assert "".join(texts) == expected


def test_readme_documents_checked_examples() -> None:
    assert sum(len(checks) for _, checks in yaml_examples()) >= 8


def test_readme_quickstart_runs_against_a_real_server() -> None:
    quickstart = code_blocks("python")[0]
    with MockServer() as server:
        quickstart = quickstart.replace("http://127.0.0.1:8000/v1", server.base_url)
        exec(compile(quickstart, "README.md (quickstart)", "exec"), {"print": lambda *args, **kwargs: None})


def test_readme_first_command_installs_what_the_first_example_needs(tmp_path: Path) -> None:
    """The first command, run as written in a fresh virtual environment, then the first example against that server."""
    install, serve = code_blocks("bash")[0].strip().split(" && ")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / "bin"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    installed = subprocess.run(
        shlex.split(install), cwd=ROOT, env=env, capture_output=True, text=True, timeout=400
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    server = subprocess.Popen(
        [*shlex.split(serve), "--port", "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        base_url = re.search(r"listening on (http://\S+/v1)", line)
        assert base_url, line
        example = code_blocks("python")[0].replace("http://127.0.0.1:8000/v1", base_url.group(1))
        ran = subprocess.run(
            [str(bin_dir / "python"), "-c", example], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
        server.stdout.close()
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "Hello! How can I help?"
    assert lines[1] == "0 response.created" and lines[-1].endswith(" response.completed")


def test_readme_pytest_examples_pass_as_written(pytester: pytest.Pytester) -> None:
    first, *others = [block for block in code_blocks("python") if "def test_" in block]
    assert len(first.strip().splitlines()) < 15  # the first one is short
    assert others, "the pytest section shows a tool loop too"
    for number, example in enumerate([first, *others]):
        pytester.makepyfile(**{f"test_readme_example_{number}": example})
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1 + len(others))


def test_every_scenario_file_in_the_repository_loads() -> None:
    for path in [*(ROOT / "scenarios").glob("*.yaml"), E2E_SCENARIOS]:
        assert parse_scenarios(path.read_text(encoding="utf-8"), str(path))
