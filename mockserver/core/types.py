"""Type aliases shared by every module. No logic lives here."""

from __future__ import annotations

from typing import Any, TypeAlias

JSON: TypeAlias = Any
"""Any value that `json.loads` can return."""

JSONObject: TypeAlias = dict[str, Any]
"""A decoded JSON object: a request body, a Response, an output item, a stream event."""

Headers: TypeAlias = dict[str, str]
"""HTTP headers with lower-case names."""

Where: TypeAlias = tuple[str | int, ...]
"""A key path inside a scenario file (`("scenarios", 0, "match", "input")`), for error messages."""
