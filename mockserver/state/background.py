"""Background responses (`background: true`): they progress on the server's clock, not in a task.

Create answers at once with the response `queued`; it is `in_progress` after `queue_ms` and reaches its final state
`run_ms` later. Its state is worked out from the clock whenever it is read (GET, cancel, a stream), so polling sees
the progression, an injected clock makes it deterministic, and nothing runs in the background. Its stream is planned
up front, each event with the moment it is due, so a dropped stream resumed with `starting_after` repeats and loses
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.errors import invalid_request
from ..core.types import JSONObject
from ..faults.replies import BackgroundTiming
from ..render.render import in_progress_snapshot


def plan(final: JSONObject, events: Iterable[JSONObject], created: float, timing: BackgroundTiming) -> JSONObject:
    """The stored `background` block: the timeline, and every stream event with the moment it is due."""
    started = created + timing.queue_ms / 1000
    done = started + timing.run_ms / 1000
    listed = list(events)
    created_event, in_progress_event, *rest = listed
    queued_snapshot = {**created_event["response"], "status": "queued"}
    timeline = [
        (created, {"type": "response.created", "response": queued_snapshot}),
        (created, {"type": "response.queued", "response": queued_snapshot}),
        (started, in_progress_event),
    ]
    for index, event in enumerate(rest, start=1):
        timeline.append((started + (done - started) * index / len(rest), event))
    numbered = [[at, {**event, "sequence_number": number}] for number, (at, event) in enumerate(timeline)]
    return {"started": started, "done": done, "cancelled_at": None, "events": numbered, "final": final}


def is_background(document: JSONObject) -> bool:
    return document.get("background") is not None


def current(document: JSONObject, now: float) -> JSONObject:
    """The response as it stands at `now`."""
    background = document.get("background")
    if background is None:
        response: JSONObject = document["response"]
        return response
    final: JSONObject = background["final"]
    cancelled_at = background["cancelled_at"]
    if cancelled_at is not None:
        return {**in_progress_snapshot(final, final.get("service_tier")), "status": "cancelled"}
    if now >= background["done"]:
        return final
    snapshot = in_progress_snapshot(final, final.get("service_tier"))
    snapshot["status"] = "in_progress" if now >= background["started"] else "queued"
    return snapshot


def cancel(document: JSONObject, now: float) -> JSONObject:
    """Cancel a background response that has not finished (again: the same answer); the API's 400 otherwise."""
    background = document.get("background")
    if background is None:
        raise invalid_request("Only responses created with background mode can be cancelled.", param="response_id")
    if background["cancelled_at"] is None:
        if now >= background["done"]:
            status = background["final"]["status"]
            raise invalid_request(f"Cannot cancel a {status} response.", param="response_id")
        background["cancelled_at"] = now
    return document


def due_events(document: JSONObject, starting_after: int | None) -> list[tuple[float, JSONObject]]:
    """The stream's events after the cursor, each with when it is due; none past a cancellation."""
    background = document["background"]
    cancelled_at = background["cancelled_at"]
    events: list[tuple[float, JSONObject]] = []
    for at, event in background["events"]:
        if starting_after is not None and event["sequence_number"] <= starting_after:
            continue
        if cancelled_at is not None and at > cancelled_at:
            break
        events.append((at, event))
    return events
