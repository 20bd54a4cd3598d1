"""Where the tests find the official API reference: `tests/reference_data/`, copied into the repository with the
source of each file noted in its README, so that a plain clone runs every test.

`MOCKSERVER_REFERENCE_DIR` points at another copy of the folder (a newer reference, say); `MOCKSERVER_OPENAPI_SPEC`
names the OpenAPI file itself. A file that is absent fails the test that reads it: nothing skips for missing data.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CAPTURE_SUFFIXES = (".json", ".sse", ".chunks.jsonl")


def reference_dir() -> Path:
    return Path(os.environ.get("MOCKSERVER_REFERENCE_DIR", REPO_ROOT / "tests" / "reference_data"))


def openapi_spec_path() -> Path:
    return Path(os.environ.get("MOCKSERVER_OPENAPI_SPEC", reference_dir() / "openapi-responses-subset.json"))


def live_captures_dir() -> Path:
    return reference_dir() / "live-captures"


def reference_file(path: Path) -> Path:
    """`path`, which must exist: a missing reference file fails the test instead of skipping it."""
    if not path.is_file():
        pytest.fail(f"reference file not found: {path} (see tests/reference_data/README.md)", pytrace=False)
    return path


def live_capture_files() -> list[Path]:
    """Every capture (bodies and streams; not the notes), sorted by name. Raises when the folder is missing, so a
    collection that finds no capture fails."""
    root = live_captures_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"live captures not found at {root} (see tests/reference_data/README.md)")
    return sorted(path for path in root.iterdir() if path.name.endswith(CAPTURE_SUFFIXES))


@cache
def _load_spec(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        spec: dict[str, Any] = json.load(f)
    return spec


def openapi_spec() -> dict[str, Any]:
    """The official OpenAPI document (a failure when it is not found)."""
    return _load_spec(str(reference_file(openapi_spec_path())))
