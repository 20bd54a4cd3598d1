"""Hosted tools: web search, file search, code interpreter, image generation, MCP, computer use, shell, apply_patch.

One module a tool. Each knows the items the live API writes for its tool, the events that stream them (between an
item's `output_item.added` and `output_item.done`), the short form a scenario's `response:` block uses for it, and how
the default responder answers with it. This package only gathers them into the tables the rest of the server reads:

- `ITEM_EVENTS`: an item's type → the events between its `added` and its `done` (the stream renderer calls it);
- `INITIAL_ITEM`: an item's type → the item as `output_item.added` shows it (statuses that move: `in_progress`);
- `REPLY_SHORTHANDS`: a `response:` key (`web_search: {…}`) → the output items it stands for, compiled at load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeAlias

from ...core.types import JSON, JSONObject, Where


class EventSink(Protocol):
    """What an item's events are made with: numbered events, and deltas (obfuscated when the stream is)."""

    def event(self, kind: str, fields: JSONObject) -> JSONObject: ...

    def delta(self, kind: str, fields: JSONObject) -> JSONObject: ...

    def split(self, text: str) -> list[str]: ...


ItemEvents: TypeAlias = Callable[[EventSink, int, JSONObject], Iterator[JSONObject]]
InitialItem: TypeAlias = Callable[[JSONObject], JSONObject]
ReplyShorthand: TypeAlias = Callable[[JSON, Where], list[JSONObject]]

ITEM_EVENTS: dict[str, ItemEvents] = {}
INITIAL_ITEM: dict[str, InitialItem] = {}
REPLY_SHORTHANDS: dict[str, ReplyShorthand] = {}
