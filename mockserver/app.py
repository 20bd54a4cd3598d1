"""The ASGI application: the only module that knows Starlette.

Each handler only orchestrates: request → read and validate the body → match a scenario → build the response →
JSON or SSE. Every answer, errors included, carries the headers the live API sends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import Settings
from .context import RequestContext
from .delivery import SSE_MEDIA_TYPE, DeliveredAnswer, Plan, json_plan, splitter, stream_plan
from .engine import ScenarioEngine
from .errors import APIError, invalid_request
from .faults import Delivery, Fault
from .http_errors import error_body
from .ids import IdSource
from .models import catalogue, model_object
from .overrides import DeliveryPolicy, drawn_error, read_overrides
from .render import Timing, build_response
from .replies import ErrorReply, ModelReply, Reply
from .responder import default_reply
from .scenarios import ScenarioSet, load_scenarios
from .stream_plan import plan_stream
from .streaming import encode_event, response_events
from .transport import ConnectionFault
from .types import JSONObject
from .validation import validate_create_request
from .watch import watch

logger = logging.getLogger("mockserver")

STRICT_HEADER = "x-mock-strict"
Clock = Callable[[], float]


class MockService:
    """What the handlers share: settings, the scenario engine, the id source and the clock."""

    def __init__(self, settings: Settings, scenarios: ScenarioSet, clock: Clock = time.time) -> None:
        self.settings = settings
        self.engine = ScenarioEngine(scenarios)
        self.ids = IdSource(settings.seed)
        self.clock = clock
        self.delivery = DeliveryPolicy(settings)

    @property
    def scenarios(self) -> ScenarioSet:
        return self.engine.scenarios

    def reply_for(self, ctx: RequestContext) -> Reply:
        """The scenario's reply; with none, the default answer, or in strict mode the near-miss report as a 400."""
        selection = self.engine.select(ctx)
        if selection is not None:
            return selection.reply
        if self.settings.strict or ctx.headers.get(STRICT_HEADER, "").lower() in ("1", "true", "yes"):
            raise invalid_request(self.engine.explain(ctx), code="no_scenario_matched")
        return default_reply(ctx)


# ---------------------------------------------------------------- request body


async def read_json_object(request: Request, limit: int) -> JSONObject:
    """The body as a JSON object, or the API's error for a wrong content type, an oversized or malformed body."""
    content_type = request.headers.get("content-type", "application/json")
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
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        detail = (
            f" ({exc.msg} at line {exc.lineno} column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        )
        raise invalid_request(
            "We could not parse the JSON body of your request" + detail + ". (HINT: This likely means you aren't "
            "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON.)"
        ) from None
    if not isinstance(body, dict):
        raise invalid_request(
            f"Invalid type for the request body: expected a JSON object, but got {_json_kind(body)} instead.",
            code="invalid_type",
        )
    return body


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


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


# ---------------------------------------------------------------- auth


def check_api_key(request: Request, allowed: tuple[str, ...]) -> None:
    """Any key passes unless keys are configured; then only those, with the live API's 401 bodies."""
    if not allowed:
        return
    authorization = request.headers.get("authorization", "")
    key = authorization[7:].strip() if authorization[:7].lower() == "bearer " else request.headers.get("x-api-key", "")
    if not key:
        raise APIError(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using "
            "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if key not in allowed:
        masked = key[:3] + "*" * max(len(key) - 7, 0) + key[-4:] if len(key) > 8 else "*" * len(key)
        raise APIError(401, f"Incorrect API key provided: {masked}.", code="invalid_api_key")


# ---------------------------------------------------------------- handlers


def _service(request: Request) -> MockService:
    service: MockService = request.app.state.service
    return service


async def create_response(request: Request) -> Response:
    service = _service(request)
    check_api_key(request, service.settings.api_keys)
    body = await read_json_object(request, service.settings.max_body_bytes)
    validate_create_request(body, service.settings.profile)
    ctx = RequestContext(body, dict(request.headers))
    overrides = read_overrides(ctx.headers)
    reply = overrides.error or service.reply_for(ctx)
    delivery, faults = service.delivery.resolve(reply.delivery, overrides)
    reply = drawn_error(faults) or reply
    if isinstance(reply, ErrorReply):
        return _error_answer(service, ctx, reply, delivery, faults)
    return _model_answer(service, ctx, reply, delivery, faults)


def _error_answer(
    service: MockService, ctx: RequestContext, reply: ErrorReply, delivery: Delivery, faults: list[Fault]
) -> Response:
    content = error_body(reply, ctx.model)
    if not faults and delivery.delay is None:
        return JSONResponse(content, status_code=reply.status, headers=reply.headers)
    rng = service.delivery.timing_rng
    return _Delivered(json_plan(reply.status, content, reply.headers, delivery, faults, rng), rng)


def _model_answer(
    service: MockService, ctx: RequestContext, reply: ModelReply, delivery: Delivery, faults: list[Fault]
) -> Response:
    now = int(service.clock())
    ids = service.ids.response_family(now)
    timing = Timing(created_at=now, completed_at=now)
    rng = service.delivery.timing_rng
    if not ctx.stream:
        content = build_response(ctx, reply, ids, timing)
        if not faults and delivery.delay is None:
            return JSONResponse(content)
        return _Delivered(json_plan(200, content, {}, delivery, faults, rng), rng)
    final = build_response(ctx, reply, ids, timing, billing=False)
    options = ctx.body.get("stream_options")
    obfuscate = not (isinstance(options, dict) and options.get("include_obfuscation") is False)
    events = response_events(
        final,
        ids,
        request_service_tier=ctx.body.get("service_tier"),
        obfuscate=obfuscate,
        split=splitter(delivery.stream.chunk),
    )
    if not faults and delivery.delay is None and delivery.stream.plain:
        return StreamingResponse(_sse(events), media_type=SSE_MEDIA_TYPE)
    return _Delivered(stream_plan(plan_stream(list(events), final, faults), delivery, faults, rng), rng)


class _Delivered(Response):
    """An answer that sends itself, delayed, paced or broken as its delivery says (see `delivery`)."""

    def __init__(self, plan: Plan, rng: random.Random) -> None:
        self.answer = DeliveredAnswer(plan, rng)
        self.status_code = plan.status
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.answer(scope, receive, send)


async def _sse(events: Iterator[JSONObject]) -> AsyncIterator[bytes]:
    for event in events:
        yield encode_event(event)


async def explain_request(request: Request) -> Response:
    """Admin: which scenario would answer this create body (and headers), and if none, the near-miss report."""
    service = _service(request)
    ctx = RequestContext(await read_json_object(request, service.settings.max_body_bytes), dict(request.headers))
    scenario = service.engine.would_answer(ctx)
    return JSONResponse({"matched": scenario.name if scenario else None, "report": service.engine.explain(ctx)})


async def reset_state(request: Request) -> Response:
    """Admin: forget scenario call counts and states."""
    _service(request).engine.reset()
    return JSONResponse({"reset": True})


async def list_models(request: Request) -> Response:
    names = catalogue(_service(request).scenarios.models())
    return JSONResponse({"object": "list", "data": [model_object(name) for name in names]})


async def retrieve_model(request: Request) -> Response:
    model_id = request.path_params["model_id"]
    if model_id not in catalogue(_service(request).scenarios.models()):
        raise APIError(
            404,
            f"The model `{model_id}` does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return JSONResponse(model_object(model_id))


# ---------------------------------------------------------------- errors and headers


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):
        message = f"Invalid URL ({request.method} {request.url.path})"
    else:
        message = str(exc.detail)
    return JSONResponse(APIError(exc.status_code, message).body(), status_code=exc.status_code)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ConnectionFault):  # a simulated fault in-process, where there is no socket to break
        return _RaiseAgain(exc)
    logger.exception("unexpected error while answering %s %s", request.method, request.url.path)
    error = APIError(
        500,
        f"The mock server failed while processing your request: {type(exc).__name__}: {exc}",
        type="server_error",
    )
    return JSONResponse(error.body(), status_code=500)


class _RaiseAgain(Response):
    """Sends nothing and raises the fault again: as the error handler's answer it keeps Starlette from sending a
    500 first, so an in-process client sees the broken connection itself."""

    def __init__(self, fault: ConnectionFault) -> None:
        self.fault = fault
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise self.fault


class OpenAIHeaders:
    """Adds the headers every live answer carries: request id, processing time, version, rate limits."""

    _STATIC = [
        (b"openai-organization", b"mockserver"),
        (b"openai-project", b"proj_mockserver"),
        (b"openai-version", b"2020-10-01"),
        (b"x-ratelimit-limit-requests", b"10000"),
        (b"x-ratelimit-limit-tokens", b"30000000"),
        (b"x-ratelimit-remaining-requests", b"9999"),
        (b"x-ratelimit-remaining-tokens", b"29999000"),
        (b"x-ratelimit-reset-requests", b"6ms"),
        (b"x-ratelimit-reset-tokens", b"0s"),
    ]

    def __init__(self, app: ASGIApp, ids: IdSource) -> None:
        self.app = app
        self.ids = ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = int((time.perf_counter() - started) * 1000)
                own = message.get("headers", ())
                named = {name for name, _ in own}  # e.g. a 429's x-ratelimit-remaining-requests: 0
                headers = [
                    *own,
                    (b"x-request-id", self.ids.request_id().encode()),
                    (b"openai-processing-ms", str(elapsed).encode()),
                    *(header for header in self._STATIC if header[0] not in named),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _watching(service: MockService) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(watch(service.engine, service.settings.scenario_paths))
        try:
            yield
        finally:
            task.cancel()

    return lifespan


def create_app(
    settings: Settings | None = None, scenarios: ScenarioSet | None = None, *, clock: Clock = time.time
) -> Starlette:
    """The mock API as an ASGI app. Scenarios load from `settings.scenario_paths` unless given."""
    settings = settings or Settings()
    if scenarios is None:
        scenarios = load_scenarios(settings.scenario_paths)
    service = MockService(settings, scenarios, clock)
    app = Starlette(
        lifespan=_watching(service) if settings.watch else None,
        routes=[
            Route("/v1/responses", create_response, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{model_id:path}", retrieve_model, methods=["GET"]),
            Route("/__mock__/explain", explain_request, methods=["POST"]),
            Route("/__mock__/reset", reset_state, methods=["POST"]),
        ],
        exception_handlers={APIError: _api_error, HTTPException: _http_error, Exception: _unexpected_error},
    )
    app.state.service = service
    app.add_middleware(OpenAIHeaders, ids=service.ids)
    return app
