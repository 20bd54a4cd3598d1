"""Stored responses: what `GET`, `DELETE`, `cancel` and `input_items` on `/v1/responses/{id}` answer.

Responses created with `store: true` (the default) are kept with their input items; `store: false` keeps nothing, so
a later GET is a 404, as on the live API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import APIError, invalid_request
from ..core.pagination import page
from ..core.types import JSONObject
from . import background
from .history import RESPONSE, chain_of, context_items, stored_document
from .store import Store

Clock = Callable[[], float]


def not_found(response_id: str) -> APIError:
    return APIError(404, f"Response with id '{response_id}' not found.")


class ResponseRecords:
    """The stored responses of one server."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def record(
        self,
        response: JSONObject,
        input_items: list[JSONObject],
        previous_response_id: str | None,
        background_plan: JSONObject | None = None,
    ) -> None:
        document = stored_document(response, input_items, previous_response_id)
        if background_plan is not None:
            document["background"] = background_plan
        self.store.put(RESPONSE, response["id"], document)

    def update(self, response: JSONObject) -> None:
        """Replace a stored response with a newer state of it (its input items and chain stay)."""
        self.store.modify(RESPONSE, response["id"], lambda document: document.update(response=response))

    def document(self, response_id: str) -> JSONObject:
        document = self.store.get(RESPONSE, response_id)
        if document is None:
            raise not_found(response_id)
        return document

    def retrieve(self, response_id: str) -> JSONObject:
        """The response as it stands now (a background one may still be queued or in progress)."""
        return background.current(self.document(response_id), self.clock())

    def delete(self, response_id: str) -> JSONObject:
        if not self.store.delete(RESPONSE, response_id):
            raise not_found(response_id)
        return {"id": response_id, "object": "response", "deleted": True}

    def cancel(self, response_id: str) -> JSONObject:
        now = self.clock()

        def cancel(document: JSONObject) -> JSONObject:
            return background.current(background.cancel(document, now), now)  # `cancel` changes the document

        cancelled = self.store.modify(RESPONSE, response_id, cancel)
        if cancelled is None:
            raise not_found(response_id)
        return cancelled

    def input_items(self, response_id: str, **paging: Any) -> JSONObject:
        """The items the response was generated from: the chain's earlier turns, then its own input."""
        chain = chain_of(self.store, response_id)
        if not chain:
            raise not_found(response_id)
        *earlier, own = chain
        return page([*context_items(earlier), *own["input_items"]], **paging)

    def stream_plan(self, response_id: str, starting_after: int | None) -> list[tuple[float, JSONObject]]:
        """The stored stream of a background response after the cursor, each event with when it is due."""
        document = self.document(response_id)
        if not background.is_background(document):
            raise invalid_request(
                "Streaming a stored response is only possible for responses created with background mode.",
                param="stream",
            )
        return background.due_events(document, starting_after)

    def is_cancelled(self, response_id: str) -> bool:
        document = self.store.get(RESPONSE, response_id)
        return document is not None and background.current(document, self.clock()).get("status") == "cancelled"
