"""What a response remembers: its input as stored items, and the chain of turns `previous_response_id` links.

A stored response is the document `{"response": …, "input_items": […], "previous_response_id": …}`. The context of a
turn is every earlier turn's input items and output, oldest first (not their `instructions`), then its own input.
"""

from __future__ import annotations

import base64
import zlib

from ..core.context import RequestContext
from ..core.errors import invalid_request
from ..core.ids import ResponseIds
from ..core.types import JSON, JSONObject
from .store import Store

RESPONSE = "response"
MAX_CHAIN = 10_000

_ITEM_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}


def input_item_resources(ctx: RequestContext, ids: ResponseIds) -> list[JSONObject]:
    """This turn's input items as `input_items` lists them: each with an id and a status."""
    return input_item_resources_of(ctx.turn_items, ids)


def input_item_resources_of(items: list[JSONObject], ids: ResponseIds) -> list[JSONObject]:
    return [item_resource(item, ids) for item in items]


def compaction_blob(item_id: str, text: str) -> JSONObject:
    """A `compaction` item: opaque content standing for a compacted context (its text, encoded)."""
    encoded = base64.urlsafe_b64encode(zlib.compress(text.encode())).decode()
    return {"type": "compaction", "id": item_id, "encrypted_content": "gAAAAA" + encoded}


def item_resource(item: JSONObject, ids: ResponseIds) -> JSONObject:
    """An input item as stored and listed: with an id (kept if it has one) and a status."""
    kind = str(item.get("type", "message"))
    if kind == "item_reference":
        return dict(item)
    resource: JSONObject = {"id": item.get("id") or ids.new(_ITEM_PREFIXES.get(kind, kind.split("_")[0][:3]))}
    if kind == "message":
        resource.update(type="message", role=item.get("role"), content=_content_parts(item))
    else:
        resource.update({key: value for key, value in item.items() if key != "id"})
        resource["type"] = kind
    resource["status"] = item.get("status") or "completed"
    return resource


def _content_parts(message: JSONObject) -> JSON:
    content = message.get("content")
    if not isinstance(content, str):
        return content
    if message.get("role") == "assistant":
        return [{"type": "output_text", "text": content, "annotations": [], "logprobs": []}]
    return [{"type": "input_text", "text": content}]


def stored_document(
    response: JSONObject, input_items: list[JSONObject], previous_response_id: str | None
) -> JSONObject:
    return {"response": response, "input_items": input_items, "previous_response_id": previous_response_id}


def chain_of(store: Store, response_id: str) -> list[JSONObject]:
    """The stored documents of a chain, oldest first, ending with `response_id`'s own."""
    chain: list[JSONObject] = []
    next_id: str | None = response_id
    while next_id is not None and len(chain) < MAX_CHAIN:
        document = store.get(RESPONSE, next_id)
        if document is None:
            break
        chain.append(document)
        next_id = document.get("previous_response_id")
    chain.reverse()
    return chain


def context_items(chain: list[JSONObject]) -> list[JSONObject]:
    """Every item of the chain's turns: each turn's input, then its output."""
    items: list[JSONObject] = []
    for document in chain:
        items.extend(document["input_items"])
        items.extend(document["response"].get("output") or ())
    return items


def history_for(store: Store, previous_response_id: str) -> tuple[list[JSONObject], int]:
    """The context a new turn continues from, and which turn it is; an unknown or deleted id is the API's 400."""
    chain = chain_of(store, previous_response_id)
    if not chain or chain[-1]["response"].get("id") != previous_response_id:
        raise invalid_request(
            f"Previous response with id '{previous_response_id}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    return context_items(chain), len(chain) + 1
