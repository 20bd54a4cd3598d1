"""What every handler needs: the service, the JSON body with the API's errors, the API key check, query values."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import Scope

from ...core.deadlines import BodyDeadline, BodyTimeout
from ...core.errors import APIError, invalid_request
from ...core.jsonio import dumps
from ...core.types import Headers, JSONObject
from ..service import MockService

MAX_NESTING = 100  # levels of arrays and objects in a request body; deeper is refused with a 400


class JSONBody(JSONResponse):
    """A JSON answer rendered by `jsonio` (compact, UTF-8, as the other answers)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


HEADERS = "mockserver.headers"


def headers_of(scope: Scope) -> Headers:
    """The request headers as a dict with lower-case names, decoded once per request (journal and handler share it)."""
    headers: Headers | None = scope.get(HEADERS)
    if headers is None:
        headers = scope[HEADERS] = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    return headers


def service_of(request: Request) -> MockService:
    service: MockService = request.app.state.service
    return service


def authorized(request: Request) -> MockService:
    """The service, once the request's API key has passed (see `check_api_key`)."""
    service = service_of(request)
    check_api_key(request, service.settings.api_keys, no_auth=service.settings.no_auth)
    return service


def query_flag(request: Request, name: str) -> bool | None:
    """A boolean query parameter as the SDKs write it (`true`/`false`); absent: None."""
    value = request.query_params.get(name)
    if value is None:
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise invalid_request(f"Invalid value: '{value}'. Supported values are: 'true' and 'false'.", param=name)


def query_int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid_request(
            f"Invalid type for '{name}': expected an integer, but got a string instead.",
            param=name,
            code="invalid_type",
        ) from None


async def read_json_object(request: Request, limit: int) -> JSONObject:
    """The body as a JSON object, or the API's error for a wrong content type, an oversized or malformed body."""
    content_type = headers_of(request.scope).get("content-type", "application/json")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise APIError(
            415,
            f"Unsupported content type: '{content_type}'. This API method only accepts 'application/json' "
            f"requests, but you specified the header 'Content-Type: {content_type}'. Please try again with a "
            "supported content type.",
            code="unsupported_content_type",
        )
    raw = await _read_limited(request, limit)
    try:
        body = parse_json(raw)
        if raw.count(b"[") + raw.count(b"{") > MAX_NESTING and _depth(body) > MAX_NESTING:
            raise RecursionError
    except RecursionError:  # answering would recurse as deep again (matching, rendering, the journal)
        raise invalid_request(
            f"We could not parse the JSON body of your request: it nests arrays and objects more than "
            f"{MAX_NESTING} levels deep."
        ) from None
    except (ValueError, UnicodeError) as exc:
        raise invalid_request(
            "We could not parse the JSON body of your request"
            + _parse_problem(exc)
            + ". (HINT: This likely means you aren't "
            "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON.)"
        ) from None
    if not isinstance(body, dict):
        raise invalid_request(
            f"Invalid type for the request body: expected a JSON object, but got {_json_kind(body)} instead.",
            code="invalid_type",
        )
    return body


class LoneSurrogate(ValueError):
    """A string escapes half of a UTF-16 surrogate pair (`"\\ud800"`): valid JSON text, but not Unicode, so no
    answer, journal entry or stored copy could encode it."""

    reason = "a string holds a lone UTF-16 surrogate escape, which is not a Unicode character"


def _parse_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f" ({exc.msg} at line {exc.lineno} column {exc.colno})"
    if isinstance(exc, LoneSurrogate):
        return f" ({exc.reason})"
    return ""


def parse_json(raw: bytes) -> Any:
    """Any JSON value (`ValueError` or `UnicodeError` when it is not one): orjson for the bodies it accepts; the
    standard library for the rest, which names what is wrong (and reads what orjson refuses but JSON allows: integers
    past 64 bits, UTF-16 and UTF-32 bodies). orjson refuses lone surrogates; the standard library reads them, so
    what it returns is checked for them."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = json.loads(raw, parse_constant=_reject_constant)
        if _has_lone_surrogate(body):
            raise LoneSurrogate from None
        return body


def _has_lone_surrogate(value: object) -> bool:
    """Whether any string in `value` (keys included) cannot be encoded as UTF-8, checked iteratively."""
    pending: list[object] = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(node, dict):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return False


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = headers_of(request.scope).get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    seconds = service_of(request).settings.body_timeout_s
    try:  # a body trickling in a few bytes a second must not hold the server forever
        async with BodyDeadline(seconds):
            return await _read_chunks(request, limit)
    except BodyTimeout:
        raise APIError(
            408,
            f"The request body was not received within {seconds:g} seconds.",
            code="request_timeout",
            headers={"connection": "close"},
        ) from None


async def _read_chunks(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:  # the ASGI messages themselves: Request.stream() costs a generator per request
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _depth(value: object) -> int:
    """How deep arrays and objects nest in `value` (iteratively: the value may be nested too deep to recurse)."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in children)
    return deepest


def _too_large(size: int, limit: int) -> APIError:
    return APIError(
        413,
        f"The request body is too large: {size} bytes is more than the limit of {limit} bytes.",
        code="request_too_large",
    )


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _json_kind(value: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return kinds.get(type(value), "null")


# The live API's 401 bodies, as quoted in public issue threads: a missing key (type invalid_request_error, param and
# code null; github.com/ioanmo226/chatgpt-web-application/issues/18, github.com/Koischizo/AI-Vtuber/issues/40) and
# a wrong one (code invalid_api_key; github.com/popjane/free_chatgpt_api/issues/3,
# github.com/continuedev/continue/issues/11745 and /12660 for the masking of long and short keys).
NO_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
    "(i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the "
    "API from your browser and are prompted for a username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)


def check_api_key(request: Request, allowed: tuple[str, ...], *, no_auth: bool = False) -> None:
    """A request needs a key (`Authorization: Bearer KEY` or `x-api-key: KEY`), as on the live API, unless
    `no_auth`; any key passes unless keys are configured, then only those (compared in constant time)."""
    key = api_key_of(headers_of(request.scope))
    if not key:
        if no_auth:
            return
        raise APIError(401, NO_KEY_MESSAGE)
    if allowed and not is_allowed_key(key, allowed):
        raise APIError(
            401,
            f"Incorrect API key provided: {masked_key(key)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )


def api_key_of(headers: Headers) -> str:
    """The key a request carries: the `Authorization: Bearer` token (or the password of `Basic` auth, which the
    live message offers to browsers), else the `x-api-key` header; "" for none."""
    authorization = headers.get("authorization", "")
    scheme = authorization[:6].lower()
    if scheme == "bearer" and authorization[6:7] == " ":
        return authorization[7:].strip()
    if scheme == "basic " and (password := _basic_password(authorization[6:].strip())):
        return password
    return headers.get("x-api-key", "").strip()


def _basic_password(credentials: str) -> str:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


def is_allowed_key(key: str, allowed: tuple[str, ...]) -> bool:
    """Whether `key` is one of `allowed`, compared in constant time and against every allowed key, so that the
    time taken says nothing about how much of a key was right nor which key came close."""
    given = key.encode()
    matches = [hmac.compare_digest(given, candidate.encode()) for candidate in allowed]
    return any(matches)


def masked_key(key: str) -> str:
    """A key as the live 401 shows it: the first 8 and last 4 characters with a `*` for each one between
    (`sk-WRQsP***…***xQBt`); a key of 12 characters or fewer as it was given (`Method`, `sk jj`)."""
    if len(key) <= 12:
        return key
    return key[:8] + "*" * (len(key) - 12) + key[-4:]
