"""`mockserver serve` and `mockserver check` as a user runs them: real processes, real sockets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mockserver.cli import main
from mockserver.faults.config import Settings, settings_from_env
from tests.conftest import KEY_HEADERS


@contextmanager
def running_server(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start `python -m mockserver serve --port 0 …`, read its first line, stop it with Ctrl-C at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        yield process, line
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url + "/responses", data=json.dumps(body).encode(), headers={"content-type": "application/json", **KEY_HEADERS}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answered: dict[str, object] = json.loads(answer.read())
        return answered


def listening_url(line: str) -> str:
    assert line.startswith("mockserver listening on http://127.0.0.1:"), line
    assert " (uvloop, httptools) with " in line, line  # installed by default: the start line names the stack
    return line.split()[3]


def test_serve_prints_where_it_listens_answers_and_stops_on_ctrl_c() -> None:
    with running_server() as (process, line):
        url = listening_url(line)
        answer = post(url, {"model": "gpt-4.1", "input": "hello"})
        assert "with 10 scenarios from" in line
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0

    assert answer["output"][0]["content"][0]["text"] == "Hello! How can I help?"


def test_serve_takes_scenarios_and_keys_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text("scenarios: [{name: only, response: {text: from env}}]")
    env = {"MOCKSERVER_SCENARIOS": str(tmp_path), "MOCKSERVER_API_KEYS": "sk-a,sk-b"}
    with running_server(env=env) as (_, line):
        url = listening_url(line)
        with pytest.raises(urllib.error.HTTPError) as caught:
            post(url, {"model": "gpt-4.1", "input": "hi"})

    assert "with 1 scenarios" in line
    assert caught.value.code == 401
    caught.value.close()


def test_serve_refuses_a_broken_scenario_file_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("scenarios:\n  - name: a\n    response: {txt: hi}\n")
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--scenarios", str(broken)],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert f"{broken}:3:16: unknown response key 'txt' (did you mean 'text'?)" in result.stderr


def test_check_reports_good_and_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("scenarios: [{name: a, response: hi}]")
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenarios: [{name: a, response: hi, extra: 1}]")

    assert main(["check", str(good)]) == 0
    assert main(["check", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"ok: {good}: 1 scenarios" in out
    assert f"{bad}:1:37: unknown scenario key 'extra'" in err


def test_check_reports_every_problem_of_every_file_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.yaml"
    first.write_text(
        "scenarios:\n"
        "  - name: a\n"
        "    match: {modle: gpt-4.1}\n"
        "    response: {txt: hi}\n"
        "  - name: b\n"
        "    responses:\n"
        "      - text: ok\n"
        "      - {refusl: no}\n"
        "  - name: c\n"
        "    response: fine\n"
    )
    second = tmp_path / "second.yaml"
    second.write_text(
        "scenarios:\n  - {name: c, response: again}\n  - name: d\n    response: {output: [{type: function_cal}]}\n"
    )

    assert main(["check", str(first), str(second)]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert [line.split(": ", 2)[1] for line in errors] == [
        f"{first}:3:13", f"{first}:4:16", f"{first}:8:10", f"{second}:2", f"{second}:4:26",
    ]  # fmt: skip
    assert "unknown match key 'modle' (did you mean 'model'?)" in errors[0]
    assert "unknown response key 'txt' (did you mean 'text'?)" in errors[1]
    assert "unknown response key 'refusl' (did you mean 'refusal'?)" in errors[2]
    assert f"scenario name 'c' is already used at {first}:9" in errors[3]
    assert "unknown output item type 'function_cal' (did you mean 'function_call'?)" in errors[4]


def test_bad_environment_value_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCKSERVER_PORT", "eighty")
    assert main(["serve"]) == 2
    assert "MOCKSERVER_PORT must be a whole number, got 'eighty'" in capsys.readouterr().err


def test_settings_from_env() -> None:
    settings = settings_from_env(
        {
            "MOCKSERVER_HOST": "0.0.0.0",
            "MOCKSERVER_PORT": "9000",
            "MOCKSERVER_SCENARIOS": os.pathsep.join(["a.yaml", "b"]),
            "MOCKSERVER_LOG_LEVEL": "WARNING",
            "MOCKSERVER_API_KEYS": "k1, k2",
            "MOCKSERVER_PROFILE": "compatible",
            "MOCKSERVER_SEED": "5",
        }
    )

    assert (settings.host, settings.port, settings.log_level, settings.profile, settings.seed) == (
        "0.0.0.0", 9000, "warning", "compatible", 5,
    )  # fmt: skip
    assert [str(p) for p in settings.scenario_paths] == ["a.yaml", "b"]
    assert settings.api_keys == ("k1", "k2")


def test_help_lists_every_serve_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = capsys.readouterr().out
    for option in ("--host", "--port", "--scenarios", "--log-level", "--api-key", "--profile", "--max-body-bytes"):
        assert option in help_text


def test_the_start_line_says_what_answers() -> None:
    from mockserver.cli import _what_answers
    from mockserver.engine.scenarios import ScenarioSet

    plain = Settings(scenario_paths=(Path("scenarios"),))
    assert _what_answers(plain, ScenarioSet(), 0) == "with 0 scenarios from scenarios"
    proxy = Settings(
        scenario_paths=(),
        upstream="https://user:secret@api.example.com/v1",
        record_file=Path("rec.yaml"),
    )
    assert _what_answers(proxy, ScenarioSet(), 3) == (
        "with no scenarios, forwarding to https://api.example.com/v1 (auto mode), 3 recordings from rec.yaml"
    )
    recording = Settings(scenario_paths=(), upstream="https://api.example.com/v1", record_mode="record",
                         record_file=Path("rec.yaml"))  # fmt: skip
    assert _what_answers(recording, ScenarioSet(), 0).endswith("(record mode), recordings in rec.yaml")


def test_replay_start_line_counts_the_recordings(tmp_path: Path) -> None:
    recordings = tmp_path / "session.yaml"
    recordings.write_text(
        "scenarios:\n"
        "  - {name: one, match: {input: {equals: a}}, response: A}\n"
        "  - {name: two, match: {input: {equals: b}}, response: B}\n"
    )
    with running_server("--mode", "replay", "--record", str(recordings)) as (_, line):
        assert line.strip().endswith(f"with no scenarios (replay mode), 2 recordings from {recordings}"), line


def test_library_use_is_quiet_and_serve_is_not() -> None:
    script = "from mockserver import MockServer, Settings\nwith MockServer(Settings(port=0)):\n    pass\n"
    library = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert library.stderr == "" and library.stdout == ""
    assert Settings().log_level == "warning" and settings_from_env({}).log_level == "info"


def test_replay_without_its_recording_file_stops_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "session.yaml"

    assert main(["serve", "--port", "0", "--mode", "replay", "--record", str(missing)]) == 2
    assert f"nothing to replay: {missing} does not exist" in capsys.readouterr().err
