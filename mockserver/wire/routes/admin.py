"""The admin API under `/__mock__/`: what test suites in any language drive over plain HTTP.

    GET    /__mock__/health                    {"status": "ok", "scenarios": N, "reload_error": null or {at, message}}
    GET    /__mock__/scenarios                 the scenarios, in selection order
    POST   /__mock__/scenarios                 add scenarios (JSON: one scenario, a list, or {"scenarios": [...]})
    DELETE /__mock__/scenarios                 remove every added scenario
    DELETE /__mock__/scenarios/{name}          remove one added scenario
    GET    /__mock__/journal                   the requests received (?scenario=, ?model=, ?path=)
    DELETE /__mock__/journal                   forget them
    GET    /__mock__/verdict                   did the client retry as it should? (see verdicts)
    POST   /__mock__/explain                   which scenario answers this create body, or why none does
    POST   /__mock__/reset                     forget calls, states, stored responses, conversations, the journal

Only clients on the loopback interface (decided by address: 127.0.0.0/8, ::1) may use it, unless the server has an
admin token (`--admin-token`); then every call must carry it in `x-mock-admin-token`.
"""

from __future__ import annotations

import asyncio
import secrets

from starlette.requests import Request
from starlette.responses import Response

from ...checks.verdicts import findings, verdict
from ...core.errors import APIError, InvalidSpec, invalid_request, refused
from ...core.yamlfile import YamlDocument
from ...engine.scenarios import Scenario, compile_scenario
from ..connections import IN_PROCESS_CLIENT, is_loopback_address
from .common import JSONBody, parse_json, read_json_object, service_of

TOKEN_HEADER = "x-mock-admin-token"


def _check_admin(request: Request) -> None:
    token = service_of(request).settings.admin_token
    if token is not None:
        if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), token):
            raise APIError(401, f"The admin API needs the admin token in the {TOKEN_HEADER} header.")
        return
    if not _from_loopback(request):
        raise APIError(403, "The admin API answers loopback clients only; start the server with --admin-token.")


def _from_loopback(request: Request) -> bool:
    """The client's address is a loopback one (decided by the address, not by how its text starts), or the client is
    Starlette's TestClient in this very process; that name is believed only while no forwarded header is, because a
    trusted proxy's X-Forwarded-For could carry it."""
    host = request.client.host if request.client else ""
    if host == IN_PROCESS_CLIENT:
        return service_of(request).settings.forwarded_allow_ips is None
    return is_loopback_address(host)


async def health(request: Request) -> Response:
    _check_admin(request)
    engine = service_of(request).engine
    return JSONBody({"status": "ok", "scenarios": len(engine.scenarios), "reload_error": engine.reload_error})


def _describe(scenario: Scenario, added: bool) -> dict[str, object]:
    return {
        "name": scenario.name,
        "source": scenario.source,
        "added": added,
        "priority": scenario.priority,
        "match": [condition.wanted for condition in scenario.conditions],
        "responses": len(scenario.replies),
    }


async def list_scenarios(request: Request) -> Response:
    _check_admin(request)
    engine = service_of(request).engine
    added = {scenario.name for scenario in engine.added}
    described = [_describe(s, s.name in added) for s in engine.scenarios.by_priority]
    return JSONBody({"scenarios": described})


async def add_scenarios(request: Request) -> Response:
    _check_admin(request)
    service = service_of(request)
    raw = await _read_any_json(request)
    items = raw.get("scenarios") if isinstance(raw, dict) and "scenarios" in raw else raw
    items = items if isinstance(items, list) else [items]
    document = YamlDocument(filename="<admin API>", data=items)
    try:
        compiled = [compile_scenario(item, (index,), document) for index, item in enumerate(items)]
    except InvalidSpec as exc:
        path = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in exc.where)
        raise invalid_request(f"Scenario {path.lstrip('.')}: {exc.problem}", code="invalid_scenario") from None
    try:
        service.engine.add(compiled)
    except ValueError as exc:
        raise invalid_request(str(exc), code="invalid_scenario") from None
    return JSONBody({"added": [scenario.name for scenario in compiled]}, status_code=201)


async def _read_any_json(request: Request) -> object:
    try:
        return parse_json(await request.body())
    except (ValueError, UnicodeError):
        raise invalid_request(
            'The body must be JSON: a scenario, a list of scenarios or {"scenarios": [...]}.'
        ) from None


async def remove_scenarios(request: Request) -> Response:
    _check_admin(request)
    engine = service_of(request).engine
    name = request.path_params.get("name")
    if name is None:
        removed = [scenario.name for scenario in engine.added]
        engine.clear_added()
        return JSONBody({"removed": removed})
    if not engine.remove(name):
        raise APIError(404, f"No added scenario named '{name}' (loaded scenarios cannot be removed).")
    return JSONBody({"removed": [name]})


async def read_journal(request: Request) -> Response:
    _check_admin(request)
    query = request.query_params
    entries = service_of(request).journal.to_json(
        scenario=query.get("scenario"), model=query.get("model"), path=query.get("path")
    )
    return JSONBody({"requests": entries})


async def clear_journal(request: Request) -> Response:
    _check_admin(request)
    service_of(request).journal.clear()
    return JSONBody({"cleared": True})


async def read_verdict(request: Request) -> Response:
    _check_admin(request)
    journal = service_of(request).journal
    found = [{"kind": f.kind, "message": f.message, "failure": f.failure} for f in findings(journal)]
    return JSONBody({"behaved": not any(f["failure"] for f in found), "findings": found, "verdict": verdict(journal)})


async def explain_request(request: Request) -> Response:
    _check_admin(request)
    service = service_of(request)
    body = await read_json_object(request, service.settings.max_body_bytes)
    try:
        ctx = service.admit(body, dict(request.headers))
    except APIError as refusal:
        answer = {"matched": None, "status": refusal.status, "refused": refusal.body(), "report": refused(refusal)}
        return JSONBody(answer)
    scenario = await asyncio.to_thread(service.engine.would_answer, ctx)  # off the event loop, as creates are
    report = await asyncio.to_thread(service.engine.explain, ctx)
    return JSONBody({"matched": scenario.name if scenario else None, "report": report})


async def reset(request: Request) -> Response:
    _check_admin(request)
    service_of(request).clear_state()
    return JSONBody({"reset": True})
