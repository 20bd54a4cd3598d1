"""Where the tests find the official API reference (read-only, outside the project).

The reference lives beside the checkout in `../shared/reference/`. `MOCKSERVER_REFERENCE_DIR` points elsewhere;
`MOCKSERVER_OPENAPI_SPEC` names the OpenAPI file itself. Tests that need a file that is absent skip.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def reference_dir() -> Path:
    return Path(os.environ.get("MOCKSERVER_REFERENCE_DIR", REPO_ROOT.parent / "shared" / "reference"))


def openapi_spec_path() -> Path:
    return Path(os.environ.get("MOCKSERVER_OPENAPI_SPEC", reference_dir() / "openapi-responses-subset.json"))


def live_captures_dir() -> Path:
    return reference_dir() / "live-captures"


@cache
def _load_spec(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        spec: dict[str, Any] = json.load(f)
    return spec


def openapi_spec() -> dict[str, Any]:
    """The official OpenAPI document, or a skip when it is not on this machine."""
    path = openapi_spec_path()
    if not path.is_file():
        pytest.skip(f"official OpenAPI file not found at {path} (set MOCKSERVER_OPENAPI_SPEC)")
    return _load_spec(str(path))
