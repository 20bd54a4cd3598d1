"""A Response object as the live API streams it: the ordered events and their SSE bytes.

Event order (one item after another, never interleaved):

    response.created → response.in_progress →
      per item: output_item.added → (its content parts, deltas and dones) → output_item.done
    → response.completed | response.incomplete | response.failed

Every event has `type` first, then its fields in alphabetical order, as the live API writes them since 2026.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import TypeAlias

from ..core.ids import ResponseIds
from ..core.jsonio import dumps
from ..core.types import JSON, JSONObject
from ..engine.hosted import INITIAL_ITEM, ITEM_EVENTS
from .logprobs import TOKEN_PIECE as _DELTA_PIECE
from .render import in_progress_snapshot

_TERMINAL_EVENT = {"completed": "response.completed", "incomplete": "response.incomplete", "failed": "response.failed"}


# A word with its leading white space (and the white space that ends the text), or white space alone.
_WORD = re.compile(r"\s*\S+(?:\s+$)?|\s+$")

Splitter: TypeAlias = Callable[[str], list[str]]


def split_deltas(text: str, *, chars: int | None = None, words: int | None = None) -> list[str]:
    """Cut text into pieces whose concatenation is the text: token-like by default, else `chars` characters or
    `words` words per piece."""
    if chars:
        return [text[start : start + chars] for start in range(0, len(text), chars)] or [text]
    if words:
        pieces = _WORD.findall(text)
        return ["".join(pieces[start : start + words]) for start in range(0, len(pieces), words)] or [text]
    return _DELTA_PIECE.findall(text) or [text]


class _Sequencer:
    """Numbers events from 0 and remembers what a delta needs (obfuscation on or off)."""

    def __init__(self, ids: ResponseIds, obfuscate: bool, split: Splitter) -> None:
        self.next = 0
        self._ids = ids
        self._obfuscate = obfuscate
        self.split = split

    def event(self, kind: str, fields: JSONObject) -> JSONObject:
        event: JSONObject = {"type": kind, **fields, "sequence_number": self.next}
        self.next += 1
        return event

    def delta(self, kind: str, fields: JSONObject) -> JSONObject:
        if self._obfuscate:
            fields["obfuscation"] = self._ids.obfuscation()
        return self.event(kind, fields)


def response_events(
    final: JSONObject,
    ids: ResponseIds,
    *,
    request_service_tier: JSON = None,
    obfuscate: bool = True,
    split: Splitter = split_deltas,
) -> Iterator[JSONObject]:
    """Every event of the stream that ends in `final`, with `sequence_number` from 0; `split` cuts the deltas."""
    seq = _Sequencer(ids, obfuscate, split)
    snapshot = in_progress_snapshot(final, request_service_tier)
    yield seq.event("response.created", {"response": snapshot})
    yield seq.event("response.in_progress", {"response": snapshot})
    for index, item in enumerate(final["output"]):
        yield from _item_events(seq, index, item)
    yield seq.event(_TERMINAL_EVENT[final["status"]], {"response": final})


def _item_events(seq: _Sequencer, index: int, item: JSONObject) -> Iterator[JSONObject]:
    kind = item["type"]
    yield seq.event("response.output_item.added", {"item": _initial_item(item), "output_index": index})
    if kind == "message":
        for content_index, part in enumerate(item["content"]):
            yield from _part_events(seq, index, item["id"], content_index, part)
    elif kind == "function_call":
        yield from _arguments_events(seq, index, item)
    elif kind == "custom_tool_call" and isinstance(item.get("input"), str):
        yield from _custom_input_events(seq, index, item)
    elif kind == "reasoning":
        for summary_index, part in enumerate(item["summary"]):
            yield from _summary_events(seq, index, item["id"], summary_index, part["text"])
    elif kind in ITEM_EVENTS:
        yield from ITEM_EVENTS[kind](seq, index, item)
    yield seq.event("response.output_item.done", {"item": item, "output_index": index})


def _initial_item(item: JSONObject) -> JSONObject:
    kind = item["type"]
    if kind == "message":
        initial = {"id": item["id"], "type": "message", "status": "in_progress", "content": []}
        if "phase" in item:
            initial["phase"] = item["phase"]
        initial["role"] = "assistant"
        return initial
    if kind == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    if kind == "custom_tool_call" and isinstance(item.get("input"), str):
        return {**item, "input": ""}
    if kind == "reasoning":
        return {**item, "summary": []}
    if kind in INITIAL_ITEM:
        return INITIAL_ITEM[kind](item)
    return item


def _part_events(
    seq: _Sequencer, index: int, item_id: str, content_index: int, part: JSONObject
) -> Iterator[JSONObject]:
    where = {"content_index": content_index, "item_id": item_id, "output_index": index}
    if part["type"] == "refusal":
        yield seq.event("response.content_part.added", {**where, "part": {"type": "refusal", "refusal": ""}})
        for piece in seq.split(part["refusal"]):
            yield seq.event("response.refusal.delta", {**where, "delta": piece})
        yield seq.event("response.refusal.done", {**where, "refusal": part["refusal"]})
        yield seq.event("response.content_part.done", {**where, "part": part})
        return
    empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    yield seq.event("response.content_part.added", {**where, "part": empty})
    pieces = seq.split(part["text"])
    for piece, logprobs in zip(pieces, share_logprobs(pieces, part.get("logprobs") or []), strict=True):
        fields = {"content_index": content_index, "delta": piece, "item_id": item_id, "logprobs": logprobs}
        fields["output_index"] = index
        yield seq.delta("response.output_text.delta", fields)
    for annotation_index, annotation in enumerate(part["annotations"]):
        yield seq.event(
            "response.output_text.annotation.added",
            {"annotation": annotation, "annotation_index": annotation_index, **where},
        )
    done = {"content_index": content_index, "item_id": item_id, "logprobs": part.get("logprobs") or []}
    done["output_index"] = index
    yield seq.event("response.output_text.done", {**done, "text": part["text"]})
    yield seq.event("response.content_part.done", {**where, "part": part})


def share_logprobs(pieces: list[str], logprobs: list[JSONObject]) -> list[list[JSONObject]]:
    """The log probabilities each delta carries: those of the tokens that end within it (one a delta with the
    default, token-like cut). Entries whose tokens do not spell the text all go with the last delta."""
    shares: list[list[JSONObject]] = [[] for _ in pieces]
    if not logprobs or not pieces:
        return shares
    if "".join(str(entry.get("token", "")) for entry in logprobs) != "".join(pieces):
        shares[-1] = list(logprobs)
        return shares
    piece_ends = list(itertools.accumulate(len(piece) for piece in pieces))
    token_end = 0
    slot = 0
    for entry in logprobs:
        token_end += len(str(entry["token"]))
        while slot < len(pieces) - 1 and piece_ends[slot] < token_end:
            slot += 1
        shares[slot].append(entry)
    return shares


def _arguments_events(seq: _Sequencer, index: int, item: JSONObject) -> Iterator[JSONObject]:
    for piece in seq.split(item["arguments"]):
        yield seq.delta(
            "response.function_call_arguments.delta", {"delta": piece, "item_id": item["id"], "output_index": index}
        )
    yield seq.event(
        "response.function_call_arguments.done",
        {"arguments": item["arguments"], "item_id": item["id"], "output_index": index},
    )


def _custom_input_events(seq: _Sequencer, index: int, item: JSONObject) -> Iterator[JSONObject]:
    for piece in seq.split(item["input"]):
        yield seq.delta(
            "response.custom_tool_call_input.delta", {"delta": piece, "item_id": item["id"], "output_index": index}
        )
    yield seq.event(
        "response.custom_tool_call_input.done", {"input": item["input"], "item_id": item["id"], "output_index": index}
    )


def _summary_events(seq: _Sequencer, index: int, item_id: str, summary_index: int, text: str) -> Iterator[JSONObject]:
    where = {"item_id": item_id, "output_index": index, "summary_index": summary_index}
    yield seq.event("response.reasoning_summary_part.added", {**where, "part": {"type": "summary_text", "text": ""}})
    for piece in seq.split(text):
        yield seq.delta(
            "response.reasoning_summary_text.delta",
            {"delta": piece, "item_id": item_id, "output_index": index, "summary_index": summary_index},
        )
    yield seq.event("response.reasoning_summary_text.done", {**where, "text": text})
    yield seq.event("response.reasoning_summary_part.done", {**where, "part": {"type": "summary_text", "text": text}})


def encode_event(event: JSONObject) -> bytes:
    """One SSE frame: an `event:` line equal to the type, one compact `data:` line, a blank line."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + dumps(event) + b"\n\n"
