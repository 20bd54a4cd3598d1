"""Cursor pages of items, as the list endpoints answer them (`input_items`, conversation items).

`order` is `desc` (newest first, the API's default) or `asc`; `after`/`before` are item ids; `has_more` is always a
boolean, because the SDKs keep asking for `after=<last_id>` when it is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .errors import invalid_request
from .types import JSONObject

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def page_params(query: Mapping[str, str]) -> tuple[int, str, str | None, str | None]:
    """`limit`, `order`, `after`, `before` from a query string, with the API's errors for bad values."""
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(raw_limit)
    except ValueError:
        raise invalid_request(
            "Invalid type for 'limit': expected an integer, but got a string instead.",
            param="limit",
            code="invalid_type",
        ) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid_request(
            f"Invalid 'limit': integer {'below minimum' if limit < 1 else 'above maximum'} value. "
            f"Expected a value {'>= 1' if limit < 1 else f'<= {MAX_LIMIT}'}, but got {limit} instead.",
            param="limit",
            code="integer_below_min_value" if limit < 1 else "integer_above_max_value",
        )
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_request(
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", param="order", code="invalid_value"
        )
    return limit, order, query.get("after") or None, query.get("before") or None


def page(items: Sequence[JSONObject], *, limit: int, order: str, after: str | None, before: str | None) -> JSONObject:
    """One page of `items` (given oldest first) as a list object."""
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [item.get("id") for item in ordered]
    start = 0
    end = len(ordered)
    if after is not None:
        start = _position(ids, after, "after") + 1
    if before is not None:
        end = _position(ids, before, "before")
    window = ordered[start:end]
    if before is not None and after is None:
        # Items just before the cursor, the closest ones last (as the cursor pages expect).
        chosen = window[-limit:]
        has_more = len(window) > limit
    else:
        chosen = window[:limit]
        has_more = len(window) > limit
    return {
        "object": "list",
        "data": chosen,
        "first_id": chosen[0]["id"] if chosen else None,
        "last_id": chosen[-1]["id"] if chosen else None,
        "has_more": has_more,
    }


def _position(ids: list[object], cursor: str, name: str) -> int:
    try:
        return ids.index(cursor)
    except ValueError:
        raise invalid_request(f"No item with id '{cursor}' in this list (the '{name}' cursor).", param=name) from None
