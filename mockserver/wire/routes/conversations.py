"""`/v1/conversations`: create, retrieve, update, delete, and the items of a conversation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...core.pagination import page_params
from .common import JSONBody, authorized, read_json_object


async def create_conversation(request: Request) -> Response:
    service = authorized(request)
    body = await read_json_object(request, service.settings.max_body_bytes)
    return JSONBody(service.conversations.create(body, int(service.clock())))


async def retrieve_conversation(request: Request) -> Response:
    service = authorized(request)
    return JSONBody(service.conversations.retrieve(request.path_params["conversation_id"]))


async def update_conversation(request: Request) -> Response:
    service = authorized(request)
    body = await read_json_object(request, service.settings.max_body_bytes)
    return JSONBody(service.conversations.update(request.path_params["conversation_id"], body))


async def delete_conversation(request: Request) -> Response:
    service = authorized(request)
    return JSONBody(service.conversations.delete(request.path_params["conversation_id"]))


async def create_items(request: Request) -> Response:
    service = authorized(request)
    body = await read_json_object(request, service.settings.max_body_bytes)
    added = service.conversations.add_items(request.path_params["conversation_id"], body, int(service.clock()))
    return JSONBody(added)


async def list_items(request: Request) -> Response:
    service = authorized(request)
    limit, order, after, before = page_params(request.query_params)
    conversation_id = request.path_params["conversation_id"]
    page = service.conversations.list_items(conversation_id, limit=limit, order=order, after=after, before=before)
    return JSONBody(page)


async def retrieve_item(request: Request) -> Response:
    service = authorized(request)
    params = request.path_params
    return JSONBody(service.conversations.item(params["conversation_id"], params["item_id"]))


async def delete_item(request: Request) -> Response:
    service = authorized(request)
    params = request.path_params
    return JSONBody(service.conversations.delete_item(params["conversation_id"], params["item_id"]))
