"""Conversations (`/v1/conversations`): a durable list of items that responses created with `conversation` extend.

A conversation is stored as `{"conversation": {id, object, created_at, metadata}, "items": [...], "turns": N}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import APIError, invalid_request
from ..core.ids import IdSource
from ..core.pagination import page
from ..core.types import JSON, JSONObject
from .history import item_resource
from .store import Store

CONVERSATION = "conversation"
MAX_ITEMS_PER_CALL = 20
MAX_METADATA_PAIRS = 16


def not_found(conversation_id: str) -> APIError:
    return APIError(404, f"Conversation with id '{conversation_id}' not found.")


def missing(param: str) -> APIError:
    return invalid_request(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def check_metadata(metadata: JSON, param: str = "metadata") -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise invalid_request(
            f"Invalid type for '{param}': expected an object, but got {type(metadata).__name__} instead.",
            param=param,
            code="invalid_type",
        )
    if len(metadata) > MAX_METADATA_PAIRS:
        raise invalid_request(
            f"Invalid '{param}': too many properties. Expected an object with at most {MAX_METADATA_PAIRS} "
            f"properties, but got an object with {len(metadata)} properties instead.",
            param=param,
            code="object_above_max_properties",
        )
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise invalid_request(
                f"Invalid type for '{param}.{key}': expected a string, but got {type(value).__name__} instead.",
                param=f"{param}.{key}",
                code="invalid_type",
            )
    return dict(metadata)


def check_items(items: JSON, param: str = "items") -> list[JSONObject]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise invalid_request(
            f"Invalid type for '{param}': expected an array of items.", param=param, code="invalid_type"
        )
    if len(items) > MAX_ITEMS_PER_CALL:
        raise invalid_request(
            f"Invalid '{param}': array too long. Expected an array with maximum length {MAX_ITEMS_PER_CALL}, "
            f"but got an array with length {len(items)} instead.",
            param=param,
            code="array_above_max_length",
        )
    for index, item in enumerate(items):
        if "type" not in item and "role" not in item:
            raise invalid_request(
                f"Missing required parameter: '{param}[{index}].type'.",
                param=f"{param}[{index}].type",
                code="missing_required_parameter",
            )
    return list(items)


class Conversations:
    """The conversation endpoints' logic over a store."""

    def __init__(self, store: Store, ids: IdSource) -> None:
        self.store = store
        self.ids = ids

    def _load(self, conversation_id: str) -> JSONObject:
        document = self.store.get(CONVERSATION, conversation_id)
        if document is None:
            raise not_found(conversation_id)
        return document

    def create(self, body: JSONObject, now: int) -> JSONObject:
        unknown = [key for key in body if key not in ("metadata", "items")]
        if unknown:
            raise invalid_request(f"Unknown parameter: '{unknown[0]}'.", param=unknown[0], code="unknown_parameter")
        metadata = check_metadata(body.get("metadata"))
        items = check_items(body.get("items"))
        conversation_id = self.ids.response_family(now).new("conv")
        conversation = {"id": conversation_id, "object": "conversation", "created_at": now, "metadata": metadata}
        resources = [self._resource(item, now) for item in items]
        self.store.put(CONVERSATION, conversation_id, {"conversation": conversation, "items": resources, "turns": 0})
        return conversation

    def retrieve(self, conversation_id: str) -> JSONObject:
        conversation: JSONObject = self._load(conversation_id)["conversation"]
        return conversation

    def update(self, conversation_id: str, body: JSONObject) -> JSONObject:
        if "metadata" not in body:
            raise invalid_request(
                "Missing required parameter: 'metadata'.", param="metadata", code="missing_required_parameter"
            )
        metadata = check_metadata(body["metadata"])
        return self._modify(conversation_id, lambda document: document["conversation"].update(metadata=metadata))

    def delete(self, conversation_id: str) -> JSONObject:
        if not self.store.delete(CONVERSATION, conversation_id):
            raise not_found(conversation_id)
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    def add_items(self, conversation_id: str, body: JSONObject, now: int) -> JSONObject:
        if "items" not in body:
            raise invalid_request(
                "Missing required parameter: 'items'.", param="items", code="missing_required_parameter"
            )
        added = [self._resource(item, now) for item in check_items(body["items"])]
        self._modify(conversation_id, lambda document: document["items"].extend(added))
        return {
            "object": "list",
            "data": added,
            "first_id": added[0]["id"] if added else None,
            "last_id": added[-1]["id"] if added else None,
            "has_more": False,
        }

    def list_items(self, conversation_id: str, **paging: Any) -> JSONObject:
        return page(self._load(conversation_id)["items"], **paging)

    def item(self, conversation_id: str, item_id: str) -> JSONObject:
        for item in self._load(conversation_id)["items"]:
            if item.get("id") == item_id:
                found: JSONObject = item
                return found
        raise APIError(404, f"Item with id '{item_id}' not found.")

    def delete_item(self, conversation_id: str, item_id: str) -> JSONObject:
        def remove(document: JSONObject) -> None:
            kept = [item for item in document["items"] if item.get("id") != item_id]
            if len(kept) == len(document["items"]):
                raise APIError(404, f"Item with id '{item_id}' not found.")
            document["items"] = kept

        return self._modify(conversation_id, remove)

    def history(self, conversation_id: str) -> tuple[list[JSONObject], int]:
        """The items a response in this conversation continues from, and the turn it will be."""
        document = self._load(conversation_id)
        return list(document["items"]), int(document.get("turns", 0)) + 1

    def append_turn(self, conversation_id: str, input_items: list[JSONObject], output: list[JSONObject]) -> None:
        """Add a response's input and output to the conversation."""

        def add_turn(document: JSONObject) -> None:
            document["items"].extend([*input_items, *output])
            document["turns"] = int(document.get("turns", 0)) + 1

        self._modify(conversation_id, add_turn)

    def _modify(self, conversation_id: str, change: Callable[[JSONObject], None]) -> JSONObject:
        """Change the stored conversation as one step (see `Store.modify`), so that servers sharing a state file
        never write over each other's items; returns the conversation object."""

        def apply(document: JSONObject) -> JSONObject:
            change(document)
            conversation: JSONObject = document["conversation"]
            return conversation

        conversation = self.store.modify(CONVERSATION, conversation_id, apply)
        if conversation is None:
            raise not_found(conversation_id)
        return conversation

    def _resource(self, item: JSONObject, now: int) -> JSONObject:
        return item_resource(item, self.ids.response_family(now))
