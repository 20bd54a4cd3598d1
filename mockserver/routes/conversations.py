"""`/v1/conversations`: create, retrieve, update, delete, and the items of a conversation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..pagination import page_params
from .common import JSONBody, check_api_key, read_json_object, service_of


async def create_conversation(request: Request) -> Response:
    service = service_of(request)
    check_api_key(request, service.settings.api_keys)
    body = await read_json_object(request, service.settings.max_body_bytes)
    return JSONBody(service.conversations.create(body, int(service.clock())))


async def retrieve_conversation(request: Request) -> Response:
    service = service_of(request)
    check_api_key(request, service.settings.api_keys)
    return JSONBody(service.conversations.retrieve(request.path_params["conversation_id"]))


async def update_conversation(request: Request) -> Response:
    service = service_of(request)
    check_api_key(request, service.settings.api_keys)
    body = await read_json_object(request, service.settings.max_body_bytes)
    return JSONBody(service.conversations.update(request.path_params["conversation_id"], body))


async def delete_conversation(request: Request) -> Response:
    service = service_of(request)
    check_api_key(request, service.settings.api_keys)
    return JSONBody(service.conversations.delete(request.path_params["conversation_id"]))


async def create_items(request: Request) -> Response:
    service = service_of(request)
    check_api_key(request, service.settings.api_keys)
    body = await read_json_object(request, service.settings.max_body_bytes)
    added = service.conversations.add_items(request.path_params["conversation_id"], body, int(service.clock()))
    return JSONBody(added)


async def list_items(request: Request) -> Response:
    service = service_of(request)
    check_api_key(request, service.settings.api_keys)
    limit, order, after, before = page_params(request.query_params)
    conversation_id = request.path_params["conversation_id"]
    page = service.conversations.list_items(conversation_id, limit=limit, order=order, after=after, before=before)
    return JSONBody(page)


async def retrieve_item(request: Request) -> Response:
    service = service_of(request)
    check_api_key(request, service.settings.api_keys)
    params = request.path_params
    return JSONBody(service.conversations.item(params["conversation_id"], params["item_id"]))


async def delete_item(request: Request) -> Response:
    service = service_of(request)
    check_api_key(request, service.settings.api_keys)
    params = request.path_params
    return JSONBody(service.conversations.delete_item(params["conversation_id"], params["item_id"]))
