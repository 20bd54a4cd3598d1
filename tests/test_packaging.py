"""What a user installs: the wheel carries the package data, the built-in scenarios and the typing marker."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_data_scenarios_and_marker(tmp_path: Path) -> None:
    pytest.importorskip("hatchling", reason="building the wheel offline needs hatchling installed")
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "*.egg-info", "__pycache__", ".*cache"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("mockserver-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "mockserver/py.typed" in names
    assert "mockserver/data/create_response.schema.json" in names
    assert "mockserver/_builtin/scenarios/default.yaml" in names
    assert any(name.startswith("mockserver-") and name.endswith("entry_points.txt") for name in names)

    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    probe = subprocess.run(
        [sys.executable, "-c", "from mockserver.faults.config import builtin_scenarios_dir as d; print(d())"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == str(target / "mockserver" / "_builtin" / "scenarios"), probe.stderr
