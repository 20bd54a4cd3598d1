"""HTTP errors a scenario can answer with, in the live API's envelope and with its headers."""

from __future__ import annotations

from collections.abc import Mapping

from .errors import InvalidSpec
from .replies import ErrorReply
from .types import JSON, Where

_STATUS_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "The request was invalid."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported.",
    ),
    404: ("invalid_request_error", None, "The requested resource was not found."),
    409: ("invalid_request_error", None, "The request conflicts with another request. Please try again."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 1ms."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
}


def compile_error(raw: JSON, where: Where) -> ErrorReply:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"status": raw}
    if not isinstance(raw, Mapping):
        raise InvalidSpec(where, "error takes {status, type, message, code, param, headers} or a status code")
    allowed = {"status", "type", "message", "code", "param", "headers", "retry_after", "retry_after_ms"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidSpec((*where, unknown[0]), f"unknown error key {unknown[0]!r}; use {', '.join(sorted(allowed))}")
    status = raw.get("status", 500)
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        raise InvalidSpec((*where, "status"), "error status must be an HTTP error code from 400 to 599")
    default_type, default_code, default_message = _STATUS_DEFAULTS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}")
    )
    headers = {str(k).lower(): str(v) for k, v in (raw.get("headers") or {}).items()}
    if "retry_after" in raw:
        headers["retry-after"] = str(raw["retry_after"])
    if "retry_after_ms" in raw:
        headers["retry-after-ms"] = str(raw["retry_after_ms"])
    if (status == 429 or status >= 500) and not {"retry-after", "retry-after-ms"} & set(headers):
        # Keeps SDK retries fast: the clients wait what retry-after-ms says before trying again.
        headers["retry-after-ms"] = "1"
    return ErrorReply(
        status=status,
        message=str(raw.get("message", default_message)),
        type=str(raw.get("type", default_type)),
        param=raw.get("param"),
        code=raw.get("code", default_code),
        headers=headers,
    )
