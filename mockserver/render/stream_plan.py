"""The frames of a stream once its event-level faults are applied: events inserted, cut, repeated or reordered.

A frame is an event (sent as `event:` + `data:` lines) or raw bytes (a malformed line). Positions count the frames
before them. Events are numbered from 0 once the stream's content is settled; a duplicate keeps the number of the
event it repeats and a swap carries the numbers along, so those two show up in `sequence_number`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from ..core.types import JSONObject
from ..faults.faults import Duplicate, ErrorEvent, Failed, Fault, Malformed, Swap, Truncate, UnknownEvent
from ..faults.http_errors import error_fields
from .streaming import encode_event

Frame: TypeAlias = JSONObject | bytes


def plan_stream(events: Sequence[JSONObject], final: JSONObject, faults: Sequence[Fault]) -> list[Frame]:
    """The frames to send for `events` (the stream that ends in `final`) under `faults`."""
    frames: list[Frame] = list(events)
    for fault in faults:
        if isinstance(fault, UnknownEvent):
            at = _position(fault.after_events, frames)
            frames.insert(at, {"type": fault.type, "sequence_number": 0})
        elif isinstance(fault, Malformed):
            at = _position(fault.after_events, frames)
            frames.insert(at, _malformed_line(fault, frames, at))
    ending = next((f for f in faults if isinstance(f, Truncate | ErrorEvent | Failed)), None)
    if ending is not None:
        frames = _end_early(frames, final, ending)
    _number(frames)
    for fault in faults:
        if isinstance(fault, Duplicate):
            at = _index(fault.event, frames)
            original = frames[at]
            frames.insert(at + 1, dict(original) if isinstance(original, dict) else original)
        elif isinstance(fault, Swap):
            at = min(_index(fault.event, frames), max(len(frames) - 2, 0))
            frames[at : at + 2] = reversed(frames[at : at + 2])
    return frames


def _position(after: int | None, frames: Sequence[Frame]) -> int:
    """Where to insert: after `after` frames (default halfway), within the stream."""
    return len(frames) // 2 if after is None else min(after, len(frames))


def _index(event: int | None, frames: Sequence[Frame]) -> int:
    return len(frames) // 2 if event is None else min(event, len(frames) - 1)


def _malformed_line(fault: Malformed, frames: Sequence[Frame], at: int) -> bytes:
    if fault.line is not None:
        return fault.line.rstrip("\n").encode() + b"\n\n"
    # An event whose JSON stops halfway: a server that died mid-write, then went on.
    model = next((frame for frame in frames[at:] if isinstance(frame, dict)), {"type": "response.in_progress"})
    whole = encode_event(model).rstrip(b"\n")
    return whole[: max(len(whole) // 2, whole.index(b"data: ") + 8)] + b"\n\n"


def _end_early(frames: list[Frame], final: JSONObject, ending: Truncate | ErrorEvent | Failed) -> list[Frame]:
    if isinstance(ending, Truncate):
        return frames[: _position(ending.after_events, frames) if ending.after_events is not None else -1]
    if isinstance(ending, Failed):
        kept = frames[: _position(ending.after_events, frames)]
        return [*kept, _failed_event(final, kept, ending.code, ending.message)]
    kept = frames[: _position(ending.after_events, frames)]
    fields = error_fields(ending.error, final.get("model"))
    tail: list[Frame] = [_error_event(fields, ending.flat)]
    if ending.failed:
        tail.append(_failed_event(final, kept, fields["code"] or ending.error.type, fields["message"]))
    return [*kept, *tail]


def _error_event(fields: JSONObject, flat: bool) -> JSONObject:
    """The live API nests the error; `flat` adds the documented top-level fields beside it (keys alphabetical)."""
    if not flat:
        return {"type": "error", "error": fields, "sequence_number": 0}
    return {
        "type": "error",
        "code": fields["code"],
        "error": fields,
        "message": fields["message"],
        "param": fields["param"],
        "sequence_number": 0,
    }


def _failed_event(final: JSONObject, sent: Sequence[Frame], code: str, message: str) -> JSONObject:
    """`response.failed` whose output holds the items finished before it."""
    done = [f["item"] for f in sent if isinstance(f, dict) and f.get("type") == "response.output_item.done"]
    response = dict(final)
    response.update(
        status="failed",
        completed_at=None,
        error={"code": code, "message": message},
        incomplete_details=None,
        output=done,
        usage=None,
    )
    return {"type": "response.failed", "response": response, "sequence_number": 0}


def _number(frames: Sequence[Frame]) -> None:
    number = 0
    for frame in frames:
        if isinstance(frame, dict):
            frame["sequence_number"] = number
            number += 1
