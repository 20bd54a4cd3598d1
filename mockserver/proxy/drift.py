"""Drift: how the upstream's answer differs in structure from the recording that answers the same request.

Compared: the HTTP status; how the answer ended (`completed`, `incomplete`, `failed`, an `error` event); the output
item types in order; each function call's name and argument keys (not their values); the error type. Wording never
counts: a model that says the same thing differently has not drifted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from ..core.types import JSON, JSONObject
from ..faults.faults import ErrorEvent
from ..faults.replies import ErrorReply, Reply
from .recording import Exchange

MAX_LINE = 400


@dataclass(frozen=True)
class ItemShape:
    type: str
    name: str | None = None
    argument_keys: tuple[str, ...] | None = None

    def __str__(self) -> str:
        if self.name is None:
            return self.type
        keys = ", ".join(self.argument_keys or ())
        return f"{self.type} {self.name}({keys})"


@dataclass(frozen=True)
class Shape:
    """The structure of an answer."""

    http_status: int
    ending: str  # completed, incomplete, failed, error_event, http_error, or broken (the stream did not end)
    items: tuple[ItemShape, ...] = ()
    error_type: str | None = None


def item_shape(item: Mapping[str, JSON]) -> ItemShape:
    kind = str(item.get("type", "message"))
    if kind in ("function_call", "custom_tool_call"):
        return ItemShape(kind, str(item.get("name")), _argument_keys(item.get("arguments")))
    return ItemShape(kind)


def _argument_keys(arguments: JSON) -> tuple[str, ...]:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return ()
    return tuple(sorted(arguments)) if isinstance(arguments, dict) else ()


def shape_of_reply(reply: Reply) -> Shape:
    """The shape of what a recording replays."""
    if isinstance(reply, ErrorReply):
        return Shape(reply.status, "http_error", error_type=reply.type)
    items = tuple(item_shape(item) for item in reply.output)
    event = next((i.fault for i in reply.delivery.faults or () if isinstance(i.fault, ErrorEvent)), None)
    if event is not None:
        return Shape(200, "error_event", items, error_type=event.error.type)
    return Shape(200, reply.status, items)


def shape_of_exchange(exchange: Exchange) -> Shape:
    """The shape of what the upstream answered."""
    status = exchange.status or 0
    if status >= 400 or status == 0:
        envelope = exchange.body.get("error") if isinstance(exchange.body, dict) else None
        kind = envelope.get("type") if isinstance(envelope, dict) else None
        return Shape(status, "http_error", error_type=kind if isinstance(kind, str) else None)
    found = exchange.error_event
    if found is not None:
        items = tuple(item_shape(item) for item in exchange.finished_items)
        return Shape(status, "error_event", items, error_type=str(found[1].get("type")))
    final = exchange.final_response
    if final is None:
        return Shape(status, "broken", tuple(item_shape(item) for item in exchange.finished_items))
    output: list[JSONObject] = [item for item in final.get("output") or () if isinstance(item, dict)]
    return Shape(status, str(final.get("status")), tuple(item_shape(item) for item in output))


def differences(recorded: Shape, upstream: Shape) -> list[str]:
    """What changed from the recording to the upstream's answer, in words (empty: no drift)."""
    found = []
    if recorded.http_status != upstream.http_status:
        found.append(f"HTTP status {recorded.http_status} -> {upstream.http_status}")
    if recorded.ending != upstream.ending:
        found.append(f"ending {recorded.ending} -> {upstream.ending}")
    if recorded.error_type != upstream.error_type:
        found.append(f"error type {recorded.error_type} -> {upstream.error_type}")
    if [i.type for i in recorded.items] != [i.type for i in upstream.items]:
        found.append(f"output item types [{_types(recorded)}] -> [{_types(upstream)}]")
    else:
        for before, after in zip(recorded.items, upstream.items, strict=True):
            if before != after:
                found.append(f"{before} -> {after}")
    return found


def _types(shape: Shape) -> str:
    return ", ".join(item.type for item in shape.items)


def drift_line(found: list[str]) -> str:
    """The differences as one ASCII line of at most `MAX_LINE` characters (for a header and the log)."""
    text = "; ".join(found).encode("ascii", "replace").decode("ascii")
    text = "".join(char if char.isprintable() else " " for char in text)
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


def compare(recorded: Reply | None, exchange: Exchange) -> str | None:
    """The drift line for an exchange against the reply its recording gives (None: no recording); None when the
    structure is the same."""
    if recorded is None:
        return "not recorded"
    found = differences(shape_of_reply(recorded), shape_of_exchange(exchange))
    return drift_line(found) if found else None
