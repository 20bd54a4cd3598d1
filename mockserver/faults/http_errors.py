"""HTTP errors a scenario can answer with, in the live API's envelope and with its headers.

error: rate_limit                                   a preset from `PRESETS`
error: {preset: rate_limit, message: "…"}           a preset with some fields changed
error: 503                                          a status: the body of that status's preset
error: {status, type, message, code, param, headers, retry_after, retry_after_ms, should_retry}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..core.errors import InvalidSpec, unknown_key_message
from ..core.types import JSON, Headers, JSONObject, Where
from .replies import ErrorReply

ERROR_KEYS = (
    "preset",
    "status",
    "type",
    "message",
    "code",
    "param",
    "headers",
    "retry_after",
    "retry_after_ms",
    "should_retry",
)
MODEL_PLACEHOLDER = "{model}"
_RATE_LIMIT_DOCS = "Visit https://platform.openai.com/account/rate-limits to learn more."


@dataclass(frozen=True)
class Preset:
    """A live error: status, the envelope's fields, and the headers that come with it."""

    status: int
    type: str
    code: str | None
    message: str
    param: str | None = None
    headers: Headers = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "bad_request": Preset(400, "invalid_request_error", None, "The request was invalid."),
    "context_length_exceeded": Preset(
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "Your input exceeds the context window of this model. Please adjust your input and try again.",
        param="input",
    ),
    "model_not_found": Preset(
        400,
        "invalid_request_error",
        "model_not_found",
        f"The requested model '{MODEL_PLACEHOLDER}' does not exist.",
        param="model",
    ),
    "unauthorized": Preset(
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: sk-mock************1234. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    "forbidden": Preset(
        403, "request_forbidden", "unsupported_country_region_territory", "Country, region, or territory not supported"
    ),
    "not_found": Preset(404, "invalid_request_error", None, "Invalid URL (POST /v1/responses)"),
    "conflict": Preset(
        409, "invalid_request_error", None, "The request conflicts with another request. Please try again."
    ),
    "unprocessable": Preset(
        422, "invalid_request_error", None, "The request was well-formed but could not be processed."
    ),
    "rate_limit": Preset(
        429,
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for organization org-mockserver on requests per min (RPM): Limit 10000, Used 10000, "
        f"Requested 1. Please try again in 6ms. {_RATE_LIMIT_DOCS}",
        headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6ms"},
    ),
    "rate_limit_tokens": Preset(
        429,
        "tokens",
        "rate_limit_exceeded",
        "Rate limit reached for organization org-mockserver on tokens per min (TPM): Limit 30000000, "
        f"Used 30000000, Requested 1000. Please try again in 2ms. {_RATE_LIMIT_DOCS}",
        headers={"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "2ms"},
    ),
    "insufficient_quota": Preset(
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. For more information on "
        "this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
    ),
    "server_error": Preset(
        500, "server_error", None, "The server had an error while processing your request. Sorry about that!"
    ),
    # Cloudflare answers these itself: its envelope has the status as an integer `code` (see `error_body`).
    "bad_gateway": Preset(502, "cf_bad_gateway", None, "Bad gateway."),
    "overloaded": Preset(503, "server_error", None, "The engine is currently overloaded, please try again later"),
    "gateway_timeout": Preset(504, "cf_gateway_timeout", None, "Gateway timeout."),
}

_STATUS_PRESETS = {
    preset.status: name
    for name, preset in reversed(PRESETS.items())
    if name not in ("context_length_exceeded", "model_not_found")
}
_MESSAGES_WITH_MODEL = frozenset(p.message for p in PRESETS.values() if MODEL_PLACEHOLDER in p.message)


def compile_error(raw: JSON, where: Where) -> ErrorReply:
    """An `error:` value: a preset name, a status code, or a mapping of `ERROR_KEYS`."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"status": raw}
    elif isinstance(raw, str):
        raw = {"preset": raw}
    if not isinstance(raw, Mapping):
        raise InvalidSpec(where, "error takes a preset name (rate_limit, server_error, …), a status code or a mapping")
    unknown = sorted(set(raw) - set(ERROR_KEYS))
    if unknown:
        raise InvalidSpec((*where, unknown[0]), unknown_key_message("error key", unknown[0], ERROR_KEYS))
    preset = _preset(raw, where)
    status = raw.get("status", preset.status)
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        raise InvalidSpec((*where, "status"), "error status must be an HTTP error code from 400 to 599")
    return ErrorReply(
        status=status,
        message=_text(raw, "message", preset.message, where),
        type=_text(raw, "type", preset.type, where),
        param=_optional_text(raw, "param", preset.param, where),
        code=_optional_text(raw, "code", preset.code, where),
        headers=_headers(raw, preset, status, where),
    )


def _preset(raw: Mapping[str, JSON], where: Where) -> Preset:
    if "preset" in raw:
        name = raw["preset"]
        if name not in PRESETS:
            raise InvalidSpec((*where, "preset"), unknown_key_message("error preset", name, tuple(PRESETS)))
        return PRESETS[name]
    status = raw.get("status", 500)
    if isinstance(status, int) and status in _STATUS_PRESETS:
        return PRESETS[_STATUS_PRESETS[status]]
    kind = "server_error" if isinstance(status, int) and status >= 500 else "invalid_request_error"
    return Preset(status if isinstance(status, int) else 500, kind, None, f"HTTP {status}")


def _text(raw: Mapping[str, JSON], key: str, default: str, where: Where) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise InvalidSpec((*where, key), f"{key} takes a string")
    return value


def _optional_text(raw: Mapping[str, JSON], key: str, default: str | None, where: Where) -> str | None:
    value = raw.get(key, default)
    if value is not None and not isinstance(value, str):
        raise InvalidSpec((*where, key), f"{key} takes a string or null")
    return value


def _headers(raw: Mapping[str, JSON], preset: Preset, status: int, where: Where) -> Headers:
    given = raw.get("headers") or {}
    if not isinstance(given, Mapping):
        raise InvalidSpec((*where, "headers"), "headers takes a mapping of header names to values")
    headers = dict(preset.headers) if status == preset.status else {}
    headers.update({str(name).lower(): _header_value(value) for name, value in given.items()})
    if "retry_after" in raw:
        headers["retry-after"] = _header_value(raw["retry_after"])
    if "retry_after_ms" in raw:
        headers["retry-after-ms"] = _header_value(raw["retry_after_ms"])
    if "should_retry" in raw:
        if not isinstance(raw["should_retry"], bool):
            raise InvalidSpec((*where, "should_retry"), "should_retry takes true or false")
        headers["x-should-retry"] = _header_value(raw["should_retry"])
    if (status == 429 or status >= 500) and not {"retry-after", "retry-after-ms"} & set(headers):
        # Keeps SDK retries fast: the clients wait what retry-after-ms says before trying again.
        headers["retry-after-ms"] = "1"
    return headers


def _header_value(value: JSON) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def error_fields(reply: ErrorReply, model: str | None = None) -> JSONObject:
    """The error object of the envelope (and of a stream's `error` event), in the live API's key order."""
    return {"type": reply.type, "code": reply.code, "message": message_for(reply, model), "param": reply.param}


def error_body(reply: ErrorReply, model: str | None = None) -> JSONObject:
    """The JSON body of the answer, as the live API (or the CDN in front of it) writes it."""
    message = message_for(reply, model)
    if reply.type.startswith("cf_"):
        return {"error": {"code": reply.status, "message": message, "param": reply.param, "type": reply.type}}
    return {"error": {"message": message, "type": reply.type, "param": reply.param, "code": reply.code}}


def message_for(reply: ErrorReply, model: str | None) -> str:
    """The message, with the request's model named where a preset's wording names it."""
    # Only the presets' own wording is filled in: a message a scenario wrote is sent as written.
    if reply.message in _MESSAGES_WITH_MODEL:
        return reply.message.replace(MODEL_PLACEHOLDER, model or "")
    return reply.message
