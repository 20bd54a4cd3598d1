"""The ASGI application: routes, error answers, and the headers and journal entry every request gets.

A request flows one way: `routes.common` reads and checks the body → `validation` → `service` (chain or conversation
context, scenario `engine`) → `render` → `streaming`/`delivery` (JSON or SSE, delayed or broken on purpose). The
handlers live in `routes/`, one module per resource; this module and those are the only ones that know Starlette.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.errors import APIError
from ..core.ids import IdSource
from ..engine.scenarios import ScenarioSet, load_scenarios
from ..faults.config import Settings
from ..faults.transport import ConnectionFault
from ..state.journal import Entry, Journal, unfinished_end
from .connections import head_size, head_too_large
from .routes import admin, conversations, models, responses
from .routes.common import headers_of
from .routes.responses import JOURNAL_ENTRY
from .service import Clock, MockService
from .watch import watch

logger = logging.getLogger("mockserver")

TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed", "error"})


# ---------------------------------------------------------------- errors and headers


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    entry: Entry | None = request.scope.get(JOURNAL_ENTRY)
    if entry is not None and exc.status != 401:  # a 401 repeats the key it refused: it stays out of the journal
        entry.extra["error"] = {"code": exc.code, "message": exc.message}  # why the mock refused (strict, replay…)
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


_STATIC_HEADERS = [
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
_STATIC_NAMES = frozenset(name for name, _ in _STATIC_HEADERS)


class Envelope:
    """What every answer goes out in: the headers every live answer carries (request id, processing time, version,
    rate limits), and for a `/v1/` request a journal entry noting how it was answered (status, retry hint, and for a
    stream the last event type it carried and whether it ended cleanly). One layer, because it runs for every
    request and every chunk sent."""

    def __init__(self, app: ASGIApp, ids: IdSource, journal: Journal, max_header_bytes: int) -> None:
        self.app = app
        self.ids = ids
        self.journal = journal
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        handler = self.app
        if head_size(scope) > self.max_header_bytes:  # a head that arrived whole (one read) passed the server's bound
            error = head_too_large(self.max_header_bytes)
            handler = JSONResponse(error.body(), status_code=error.status, headers=error.headers)
        entry: Entry | None = None
        if scope["path"].startswith("/v1/"):
            entry = scope[JOURNAL_ENTRY] = self.journal.open(
                time.time(), scope["method"], scope["path"], headers_of(scope)
            )
        last_event: str | None = None
        finished = False
        at_line_start = True  # whether the body so far ends a line: an `event:` line starts there

        async def send_enveloped(message: Message) -> None:
            nonlocal last_event, finished, at_line_start
            if message["type"] == "http.response.start":
                message = {**message, "headers": self._headers(message.get("headers", ()), started)}
                if entry is not None:
                    entry.status = message["status"]
                    if entry.status >= 400:  # only refusals ask a client to wait before it retries
                        entry.retry_hint_ms = _retry_hint_ms(message["headers"])
            elif entry is not None and message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if entry.streamed and chunk:
                    # JSON escapes newlines, so an `event:` at a line's start is an event, never text inside data.
                    entry.events += chunk.count(b"\nevent: ") + (at_line_start and chunk.startswith(b"event: "))
                    at_line_start = chunk.endswith(b"\n")
                    if b"event: " in chunk:
                        start = chunk.rfind(b"event: ") + 7
                        last_event = chunk[start : chunk.find(b"\n", start)].decode("utf-8", "replace")
                if not message.get("more_body", False):
                    finished = True
            await send(message)

        try:
            await handler(scope, receive, send_enveloped)
        finally:
            if entry is not None:
                entry.finished_at = time.time()
                if entry.streamed and entry.status == 200:
                    if finished:
                        entry.stream_end = last_event if last_event in TERMINAL_EVENTS else "no_terminal_event"
                    else:
                        entry.stream_end = unfinished_end(entry.fault)

    def _headers(self, own: Iterable[tuple[bytes, bytes]], started: float) -> list[tuple[bytes, bytes]]:
        own = list(own)
        named = {name for name, _ in own}  # e.g. a 429's x-ratelimit-remaining-requests: 0
        static = _STATIC_HEADERS if named.isdisjoint(_STATIC_NAMES) else [
            header for header in _STATIC_HEADERS if header[0] not in named
        ]  # fmt: skip
        elapsed = int((time.perf_counter() - started) * 1000)
        return [
            *own,
            (b"x-request-id", self.ids.request_id().encode()),
            (b"openai-processing-ms", str(elapsed).encode()),
            *static,
        ]


def _retry_hint_ms(headers: object) -> float | None:
    values = {name: value for name, value in headers}  # type: ignore[attr-defined]
    try:
        if b"retry-after-ms" in values:
            return float(values[b"retry-after-ms"])
        if b"retry-after" in values:
            return float(values[b"retry-after"]) * 1000
    except ValueError:
        return None
    return None


def _watching(service: MockService) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(watch(service.engine, service.settings.scenario_paths))
        try:
            yield
        finally:
            task.cancel()

    return lifespan


ROUTES = [
    Route("/v1/responses", responses.create_response, methods=["POST"]),
    Route("/v1/responses/input_tokens", responses.count_tokens, methods=["POST"]),
    Route("/v1/responses/compact", responses.compact, methods=["POST"]),
    Route("/v1/responses/{response_id}", responses.retrieve_response, methods=["GET"]),
    Route("/v1/responses/{response_id}", responses.delete_response, methods=["DELETE"]),
    Route("/v1/responses/{response_id}/cancel", responses.cancel_response, methods=["POST"]),
    Route("/v1/responses/{response_id}/input_items", responses.list_input_items, methods=["GET"]),
    Route("/v1/conversations", conversations.create_conversation, methods=["POST"]),
    Route("/v1/conversations/{conversation_id}", conversations.retrieve_conversation, methods=["GET"]),
    Route("/v1/conversations/{conversation_id}", conversations.update_conversation, methods=["POST"]),
    Route("/v1/conversations/{conversation_id}", conversations.delete_conversation, methods=["DELETE"]),
    Route("/v1/conversations/{conversation_id}/items", conversations.create_items, methods=["POST"]),
    Route("/v1/conversations/{conversation_id}/items", conversations.list_items, methods=["GET"]),
    Route("/v1/conversations/{conversation_id}/items/{item_id}", conversations.retrieve_item, methods=["GET"]),
    Route("/v1/conversations/{conversation_id}/items/{item_id}", conversations.delete_item, methods=["DELETE"]),
    Route("/v1/models", models.list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", models.retrieve_model, methods=["GET"]),
    Route("/__mock__/health", admin.health, methods=["GET"]),
    Route("/__mock__/scenarios", admin.list_scenarios, methods=["GET"]),
    Route("/__mock__/scenarios", admin.add_scenarios, methods=["POST"]),
    Route("/__mock__/scenarios", admin.remove_scenarios, methods=["DELETE"]),
    Route("/__mock__/scenarios/{name}", admin.remove_scenarios, methods=["DELETE"]),
    Route("/__mock__/journal", admin.read_journal, methods=["GET"]),
    Route("/__mock__/journal", admin.clear_journal, methods=["DELETE"]),
    Route("/__mock__/verdict", admin.read_verdict, methods=["GET"]),
    Route("/__mock__/explain", admin.explain_request, methods=["POST"]),
    Route("/__mock__/reset", admin.reset, methods=["POST"]),
]


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
        routes=ROUTES,
        exception_handlers={APIError: _api_error, HTTPException: _http_error, Exception: _unexpected_error},
    )
    app.state.service = service
    app.add_middleware(Envelope, ids=service.ids, journal=service.journal, max_header_bytes=settings.max_header_bytes)
    return app
