"""What the server answers to one create request, before ids and timestamps are filled in.

A scenario's `response:` block and the default responder both produce a `Reply`:

    Reply
     ├── ModelReply   a Response object: output items and a final status (completed, incomplete, failed)
     └── ErrorReply   an HTTP error with OpenAI's error envelope
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from ..core.errors import APIError
from ..core.types import Headers, JSONObject
from .faults import NO_DELIVERY, Delivery


@dataclass(frozen=True)
class BackgroundTiming:
    """How long a `background: true` response waits in the queue, then runs (milliseconds)."""

    queue_ms: int = 50
    run_ms: int = 200


ResponseStatus: TypeAlias = Literal["completed", "incomplete", "failed"]


@dataclass(frozen=True)
class ModelReply:
    """A Response to render.

    `output` holds output items without ids or statuses: `{"type": "message", "content": [...]}`,
    `{"type": "function_call", "name", "arguments"}` (arguments a JSON string),
    `{"type": "reasoning", "summary": [...]}`.
    """

    output: tuple[JSONObject, ...]
    status: ResponseStatus = "completed"
    incomplete_reason: str | None = None
    error: JSONObject | None = None
    usage: JSONObject | None = None
    model: str | None = None
    delivery: Delivery = NO_DELIVERY
    background: BackgroundTiming | None = None  # for `background: true` requests; None: the defaults
    adds_reasoning: bool = True
    """Whether a reasoning model's reasoning item is added when `output` has none (False: `reasoning: none`)."""


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error: status, the four fields of the envelope, and extra headers (e.g. `retry-after-ms`)."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None
    headers: Headers = field(default_factory=dict)
    delivery: Delivery = NO_DELIVERY

    def to_exception(self) -> APIError:
        return APIError(
            self.status, self.message, type=self.type, param=self.param, code=self.code, headers=self.headers
        )


Reply: TypeAlias = ModelReply | ErrorReply
