"""The README is the front door: its commands, its YAML and its Python examples must work as written."""

from __future__ import annotations

import re
from pathlib import Path

from mockserver import MockServer
from mockserver.scenarios import ScenarioSet, parse_scenarios
from tests.conftest import E2E_SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_readme_opens_with_the_two_commands() -> None:
    bash = code_blocks("bash")
    assert bash[0].strip() == "pip install -e . && mockserver serve"
    assert bash[1].strip() == "pip install -e '.[test]' && python -m pytest"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install, test = code_blocks("bash")[1].strip().split(" && ")
    assert "pip install" in ci and "-e '.[test]'" in ci
    assert test in ci.splitlines()


def test_readme_yaml_example_loads_and_behaves_as_described() -> None:
    (example,) = code_blocks("yaml")
    greeting, followup, weather, overloaded = parse_scenarios(example, "README.md")
    scenarios = ScenarioSet([greeting, followup, weather, overloaded])

    from mockserver.context import RequestContext

    assert scenarios.first_match(RequestContext({"model": "m", "input": "hello"})) is greeting
    tool = [{"type": "function", "name": "get_weather"}]
    assert scenarios.first_match(RequestContext({"model": "m", "input": "rain?", "tools": tool})) is weather


def test_readme_python_examples_run_against_a_real_server() -> None:
    quickstart, in_tests = code_blocks("python")
    with MockServer() as server:
        quickstart = quickstart.replace("http://127.0.0.1:8000/v1", server.base_url)
        exec(compile(quickstart, "README.md (quickstart)", "exec"), {"print": lambda *args, **kwargs: None})
    namespace: dict[str, object] = {}
    exec(compile(in_tests, "README.md (in tests)", "exec"), namespace)
    test = namespace["test_my_app_greets"]
    assert callable(test)
    test()


def test_every_scenario_file_in_the_repository_loads() -> None:
    for path in [*(ROOT / "scenarios").glob("*.yaml"), E2E_SCENARIOS]:
        assert parse_scenarios(path.read_text(encoding="utf-8"), str(path))
