"""`/v1/responses`: create (JSON or SSE, stored, chained, in the background), retrieve (and resume a stream),
delete, cancel, input items, and input token counts."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ...checks.findings import FINDING_HEADER, header_value, scenario_findings
from ...checks.model_rules import check_known_model
from ...core.context import RequestContext
from ...core.errors import APIError, invalid_request
from ...core.ids import ResponseIds
from ...core.pagination import page_params
from ...core.tokens import count_input_tokens
from ...core.types import JSONObject
from ...core.validation import validate_create_request
from ...faults.faults import Delivery, Fault, fault_name
from ...faults.hangs import pause
from ...faults.http_errors import error_body
from ...faults.overrides import drawn_error, read_overrides
from ...faults.replies import BackgroundTiming, ErrorReply, ModelReply
from ...proxy.upstream import Relayed
from ...render.delivery import SSE_MEDIA_TYPE, DeliveredAnswer, Plan, json_plan, splitter, stream_plan
from ...render.render import Timing, build_response
from ...render.stream_plan import plan_stream
from ...render.streaming import Splitter, encode_event, response_events, split_deltas
from ...state import background
from ...state.history import compaction_blob, input_item_resources, input_item_resources_of
from ...state.journal import Entry
from ..service import MockService
from .common import JSONBody, authorized, headers_of, query_flag, query_int, read_json_object

if TYPE_CHECKING:
    from ...proxy.proxy import Proxy  # only servers that record or replay load it (and httpx)

logger = logging.getLogger("mockserver.findings")

JOURNAL_ENTRY = "mockserver.journal_entry"
TOKEN_COUNT_FIELDS = frozenset(
    {
        "model", "input", "previous_response_id", "tools", "text", "reasoning", "truncation", "instructions",
        "conversation", "tool_choice", "parallel_tool_calls", "personality",
    }
)  # fmt: skip


def journal_entry(request: Request) -> Entry | None:
    entry: Entry | None = request.scope.get(JOURNAL_ENTRY)
    return entry


async def create_response(request: Request) -> Response:
    service = authorized(request)
    entry = journal_entry(request)
    body = await read_json_object(request, service.settings.max_body_bytes)
    if entry is not None:
        service.journal.keep_body(entry, body)
        entry.streamed = body.get("stream") is True
    headers = dict(headers_of(request.scope))
    if service.proxy is not None and (relayed := await _forwarded(service, service.proxy, body, headers, entry)):
        return relayed
    ctx = service.admit(body, headers)
    overrides = read_overrides(ctx.headers)
    reply, scenario = (overrides.error, None) if overrides.error else await service.reply_off_loop(ctx)
    delivery, faults = service.delivery.resolve(reply.delivery, overrides)
    reply = drawn_error(faults) or reply
    if entry is not None:
        entry.scenario = scenario
        entry.fault = ", ".join(fault_name(fault) for fault in faults) or None
    if isinstance(reply, ErrorReply):
        return _error_answer(service, ctx, reply, delivery, faults)
    return _model_answer(service, ctx, reply, delivery, faults, scenario, entry)


async def _forwarded(
    service: MockService, proxy: Proxy, body: JSONObject, headers: dict[str, str], entry: Entry | None
) -> Response | None:
    """The upstream's answer when the proxy forwards this request, else None. A reporting contract proxy forwards a
    request as it is (the upstream judges it, the findings are reported); otherwise a request that breaks the
    request schema gets the local 400 first. The checks across requests are left to the upstream, which knows
    the ids it made."""
    if not proxy.reports_requests:
        validate_create_request(body, service.settings.profile)
    ctx = service.context_for(body, headers)
    if read_overrides(ctx.headers).error or not proxy.forwards(ctx):
        return None
    return _relayed(await proxy.forward(ctx, entry))


def _relayed(answer: Relayed) -> Response:
    """The upstream's answer, as it came (a stream chunk by chunk as it arrives)."""
    if isinstance(answer.body, bytes):
        return Response(answer.body, status_code=answer.status, headers=answer.headers)
    return StreamingResponse(answer.body, status_code=answer.status, headers=answer.headers)


def _error_answer(
    service: MockService, ctx: RequestContext, reply: ErrorReply, delivery: Delivery, faults: list[Fault]
) -> Response:
    content = error_body(reply, ctx.model)
    if not faults and delivery.delay is None:
        return JSONBody(content, status_code=reply.status, headers=reply.headers)
    rng = service.delivery.timing_rng
    return _Delivered(json_plan(reply.status, content, reply.headers, delivery, faults, rng), rng)


def _model_answer(
    service: MockService,
    ctx: RequestContext,
    reply: ModelReply,
    delivery: Delivery,
    faults: list[Fault],
    scenario: str | None = None,
    entry: Entry | None = None,
) -> Response:
    created = service.clock()
    now = int(created)
    ids = service.ids.response_family(now)
    final = build_response(ctx, reply, ids, Timing(created_at=now, completed_at=now), billing=not ctx.stream)
    usage = final.get("usage")
    if usage is not None and not (reply.usage and "cached_tokens" in reply.usage):
        cached = service.prompt_cache.cached_tokens(ctx, usage["input_tokens"])
        usage["input_tokens_details"]["cached_tokens"] = cached
    found = _scripted_findings(ctx, final, scenario, entry)
    if found and service.settings.findings == "error":
        return _refused_for_findings(found)
    headers = {FINDING_HEADER: header_value(found)} if found else {}
    if ctx.body.get("background") is True:
        return _background_answer(service, ctx, reply, final, ids, created, headers)
    _remember(service, ctx, final, ids)
    rng = service.delivery.timing_rng
    if not ctx.stream:
        if not faults and delivery.delay is None:
            return JSONBody(final, headers=headers)
        return _Delivered(json_plan(200, final, headers, delivery, faults, rng), rng)
    events = _events(ctx, final, ids, splitter(delivery.stream.chunk))
    if not faults and delivery.delay is None and delivery.stream.plain:
        return StreamingResponse(_sse(events), media_type=SSE_MEDIA_TYPE, headers=headers)
    plan = plan_stream(list(events), final, faults)
    return _Delivered(stream_plan(plan, delivery, faults, rng, headers), rng)


def _scripted_findings(ctx: RequestContext, final: JSONObject, scenario: str | None, entry: Entry | None) -> list[str]:
    """What the scenario answered that the live API could not have (see `findings`), logged and journaled; the
    default responder's answers are not checked (they keep to the request by construction)."""
    if scenario is None:
        return []
    found = scenario_findings(ctx, final, scenario)
    if found:
        logger.warning("an answer the live API could not give: %s", " ".join(found))
        if entry is not None:
            entry.findings = found
    return found


def _refused_for_findings(found: list[str]) -> Response:
    """`--findings error`: a 500 naming the scenario and its findings, which the SDKs do not retry."""
    message = "The mock server refused a scripted answer the live API could not give (--findings error): "
    error = APIError(500, message + " ".join(found), type="server_error", code="scenario_finding")
    headers = {"x-should-retry": "false", FINDING_HEADER: header_value(found)}
    return JSONBody(error.body(), status_code=500, headers=headers)


def _events(
    ctx: RequestContext, final: JSONObject, ids: ResponseIds, split: Splitter = split_deltas
) -> Iterator[JSONObject]:
    options = ctx.body.get("stream_options")
    obfuscate = not (isinstance(options, dict) and options.get("include_obfuscation") is False)
    tier = ctx.body.get("service_tier")
    return response_events(final, ids, request_service_tier=tier, obfuscate=obfuscate, split=split)


def _remember(service: MockService, ctx: RequestContext, final: JSONObject, ids: ResponseIds) -> list[JSONObject]:
    """Store the response (unless `store: false`) and extend its conversation; returns its stored input items."""
    input_items = input_item_resources(ctx, ids)
    if ctx.body.get("store") is not False:
        service.records.record(final, input_items, ctx.body.get("previous_response_id"))
    conversation = ctx.body.get("conversation")
    if isinstance(conversation, dict):
        conversation = conversation.get("id")
    if isinstance(conversation, str):
        service.conversations.append_turn(conversation, input_items, list(final["output"]))
    return input_items


def _background_answer(
    service: MockService,
    ctx: RequestContext,
    reply: ModelReply,
    final: JSONObject,
    ids: ResponseIds,
    created: float,
    headers: dict[str, str],
) -> Response:
    input_items = _remember(service, ctx, final, ids)
    streamed_final = {key: value for key, value in final.items() if key != "billing"}
    plan = background.plan(final, _events(ctx, streamed_final, ids), created, reply.background or BackgroundTiming())
    service.records.record(final, input_items, ctx.body.get("previous_response_id"), plan)
    if not ctx.stream:
        return JSONBody(service.records.retrieve(final["id"]), headers=headers)
    events = service.records.stream_plan(final["id"], None)
    return StreamingResponse(_paced(service, final["id"], events), media_type=SSE_MEDIA_TYPE, headers=headers)


async def _paced(
    service: MockService, response_id: str, events: list[tuple[float, JSONObject]]
) -> AsyncIterator[bytes]:
    """A background response's stored events, each sent when it is due; none after a cancellation. When the server
    stops, the rest goes out at once (as for every paced answer)."""
    paced = True
    for due, event in events:
        wait = due - service.clock()
        if wait > 0 and paced:
            paced = await pause(wait)
        if service.records.is_cancelled(response_id):
            return
        yield encode_event(event)


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


# ---------------------------------------------------------------- stored responses


async def retrieve_response(request: Request) -> Response:
    service = authorized(request)
    response_id = request.path_params["response_id"]
    if service.proxy is not None and service.proxy.follows(response_id):
        return await _followed(service, request, response_id)
    if query_flag(request, "stream"):
        events = service.records.stream_plan(response_id, query_int(request, "starting_after"))
        return StreamingResponse(_paced(service, response_id, events), media_type=SSE_MEDIA_TYPE)
    return JSONBody(service.records.retrieve(response_id))


async def delete_response(request: Request) -> Response:
    service = authorized(request)
    return JSONBody(service.records.delete(request.path_params["response_id"]))


async def cancel_response(request: Request) -> Response:
    service = authorized(request)
    response_id = request.path_params["response_id"]
    if service.proxy is not None and service.proxy.follows(response_id):
        return await _followed(service, request, response_id)
    return JSONBody(service.records.cancel(response_id))


async def _followed(service: MockService, request: Request, response_id: str) -> Response:
    """A background response the upstream is still working on: asked upstream (see `proxy`)."""
    assert service.proxy is not None
    headers = headers_of(request.scope)
    return _relayed(
        await service.proxy.follow(request.method, request.url.path, request.url.query, headers, response_id)
    )


async def list_input_items(request: Request) -> Response:
    service = authorized(request)
    limit, order, after, before = page_params(request.query_params)
    page = service.records.input_items(
        request.path_params["response_id"], limit=limit, order=order, after=after, before=before
    )
    return JSONBody(page)


COMPACT_FIELDS = frozenset(
    {
        "model", "input", "previous_response_id", "instructions", "prompt_cache_key", "prompt_cache_retention",
        "prompt_cache_options", "service_tier",
    }
)  # fmt: skip


async def compact(request: Request) -> Response:
    """`POST /v1/responses/compact`: the context (a chain and/or input) compacted to its user messages and one
    opaque `compaction` item, which later requests may send back as input."""
    service = authorized(request)
    body = await read_json_object(request, service.settings.max_body_bytes)
    unknown = [key for key in body if key not in COMPACT_FIELDS]
    if unknown:
        raise invalid_request(f"Unknown parameter: '{unknown[0]}'.", param=unknown[0], code="unknown_parameter")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise invalid_request("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    check_known_model(body, service.settings, service.scenarios)
    ctx = service.context_for(body, dict(request.headers))
    now = int(service.clock())
    ids = service.ids.response_family(now)
    kept = [item for item in input_item_resources_of(ctx.input_items, ids) if item.get("role") == "user"]
    summary = compaction_blob(ids.new("cmp"), ctx.input_text)
    input_tokens = count_input_tokens(body, ctx.history)
    output_tokens = max(1, len(summary["encrypted_content"]) // 16)
    return JSONBody(
        {
            "id": ids.response_id,
            "object": "response.compaction",
            "created_at": now,
            "output": [*kept, summary],
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
        }
    )


async def count_tokens(request: Request) -> Response:
    service = authorized(request)
    body = await read_json_object(request, service.settings.max_body_bytes)
    unknown = [key for key in body if key not in TOKEN_COUNT_FIELDS]
    if unknown:
        raise invalid_request(f"Unknown parameter: '{unknown[0]}'.", param=unknown[0], code="unknown_parameter")
    check_known_model(body, service.settings, service.scenarios)
    ctx = service.context_for(body, dict(request.headers))
    return JSONBody({"object": "response.input_tokens", "input_tokens": count_input_tokens(body, ctx.history)})
