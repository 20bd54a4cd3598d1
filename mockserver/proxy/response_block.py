"""A recorded answer as the scenario `response` block that replays it: the shortest form (`text`, `output`,
`reasoning`, `usage`, `model`, `incomplete`, `failed`, `error`, an `error_event` fault) and, when asked, the measured
timing (`delay`, `stream: {first_event, gap}`). Ids and timestamps are left out: a replay makes its own.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping

from ..core.types import JSON, JSONObject
from ..engine.reasoning import NO_REASONING, answered_without_reasoning
from .recording import Exchange


def response_block(exchange: Exchange, *, timing: bool) -> JSONObject | None:
    """The scenario `response` that replays the exchange; None when there is nothing to replay (the upstream was
    not reached, or its stream broke before the end)."""
    if exchange.status is None:
        return None
    if exchange.status >= 400:
        block: JSONObject = {"error": error_spec(exchange)}
    elif exchange.streamed and exchange.error_event is not None:
        block = _error_event_block(exchange)
    elif (final := exchange.final_response) is not None and exchange.error is None:
        block = response_spec(final)
    else:
        return None
    if timing:
        block.update(timing_spec(exchange))
    return block


def response_spec(response: Mapping[str, JSON]) -> JSONObject:
    """A Response object as the shortest `response` block that replays it (ids and timestamps left out)."""
    items = [item for item in response.get("output") or () if isinstance(item, dict)]
    spec: JSONObject = _short_form(items) or {"output": [_item_spec(item) for item in items]}
    status = response.get("status")
    if answered_without_reasoning(response):
        spec["reasoning"] = NO_REASONING
    details = response.get("incomplete_details")
    if status == "incomplete":
        reason = details.get("reason") if isinstance(details, dict) else None
        spec["incomplete"] = reason if reason in ("max_output_tokens", "content_filter") else "max_output_tokens"
    elif status == "failed":
        error = response.get("error")
        error = error if isinstance(error, dict) else {}
        spec["failed"] = {key: error[key] for key in ("code", "message") if isinstance(error.get(key), str)}
    usage = response.get("usage")
    if isinstance(usage, dict):
        spec["usage"] = _usage_spec(usage)
    if isinstance(response.get("model"), str):
        spec["model"] = response["model"]
    return spec


_SHORT_REASONING_KEYS = frozenset(("type", "id", "summary", "content"))


def _short_form(items: list[JSONObject]) -> JSONObject | None:
    """`{reasoning: [...], text: "…"}` (or `refusal:`) when the output is at most a reasoning summary and one
    message with one plain part."""
    spec: JSONObject = {}
    # `content` (`[]`) is on every 2026 reasoning item, and is written back on replay.
    if len(items) == 2 and items[0].get("type") == "reasoning" and set(items[0]) <= _SHORT_REASONING_KEYS:
        spec["reasoning"] = _summary_texts(items[0])
        items = items[1:]
    if len(items) != 1 or items[0].get("type") != "message":
        return None
    parts = items[0].get("content")
    if not isinstance(parts, list) or len(parts) != 1 or not isinstance(parts[0], dict):
        return None
    part = parts[0]
    if part.get("type") == "output_text" and not part.get("annotations") and isinstance(part.get("text"), str):
        spec["text"] = part["text"]
    elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
        spec["refusal"] = part["refusal"]
    else:
        return None
    if items[0].get("phase") is not None:
        spec["phase"] = items[0]["phase"]
    return spec


def _item_spec(item: JSONObject) -> JSONObject:
    kind = item.get("type")
    if kind == "message":
        parts = [part for part in item.get("content") or () if isinstance(part, dict)]
        spec: JSONObject = {"type": "message"}
        if len(parts) == 1 and parts[0].get("type") == "output_text" and not parts[0].get("annotations"):
            spec["text"] = parts[0].get("text", "")
        else:
            spec["content"] = [_part_spec(part) for part in parts]
        if item.get("phase") is not None:
            spec["phase"] = item["phase"]
        return spec
    if kind == "function_call":
        return {"type": "function_call", "name": item.get("name"), "arguments": readable_arguments(item)}
    if kind == "reasoning":
        return {"type": "reasoning", "summary": _summary_texts(item)}
    return {key: value for key, value in item.items() if key not in ("id", "status", "call_id")}


def _part_spec(part: JSONObject) -> JSONObject:
    if part.get("type") == "refusal":
        return {"type": "refusal", "refusal": part.get("refusal", "")}
    spec: JSONObject = {"type": "output_text", "text": part.get("text", "")}
    if part.get("annotations"):
        spec["annotations"] = part["annotations"]
    return spec


def _summary_texts(item: JSONObject) -> list[str]:
    return [part.get("text", "") for part in item.get("summary") or () if isinstance(part, dict)]


def readable_arguments(item: JSONObject) -> JSON:
    """A function call's arguments as a mapping when the replay writes them back byte for byte (compact JSON),
    else the string as sent."""
    text = item.get("arguments", "{}")
    if not isinstance(text, str):
        return "{}"
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    compact = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    return parsed if isinstance(parsed, dict) and compact == text else text


def _usage_spec(usage: JSONObject) -> JSONObject:
    spec = {"input_tokens": usage.get("input_tokens", 0), "output_tokens": usage.get("output_tokens", 0)}
    reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0)
    cached = (usage.get("input_tokens_details") or {}).get("cached_tokens", 0)
    if reasoning:
        spec["reasoning_tokens"] = reasoning
    if cached:
        spec["cached_tokens"] = cached
    return {key: value for key, value in spec.items() if isinstance(value, int) and not isinstance(value, bool)}


def error_spec(exchange: Exchange) -> JSONObject:
    """An upstream HTTP error as an `error:` mapping: the same status, envelope and retry hints."""
    assert exchange.status is not None
    body = exchange.body
    envelope = body.get("error") if isinstance(body, dict) else None
    spec: JSONObject = {"status": exchange.status}
    if isinstance(envelope, dict):
        for key in ("type", "message", "code", "param"):
            if isinstance(envelope.get(key), str):
                spec[key] = envelope[key]
        if isinstance(envelope.get("code"), int) and str(envelope.get("type", "")).startswith("cf_"):
            spec.pop("code", None)  # Cloudflare's envelope carries the status there; the replay writes it again
    elif exchange.raw:
        spec["message"] = exchange.raw.decode("utf-8", "replace")[:500]
    headers = exchange.headers
    if headers.get("retry-after-ms", "").replace(".", "", 1).isdigit():
        spec["retry_after_ms"] = _number(headers["retry-after-ms"])
    elif headers.get("retry-after", "").replace(".", "", 1).isdigit():
        spec["retry_after"] = _number(headers["retry-after"])
    if headers.get("x-should-retry") in ("true", "false"):
        spec["should_retry"] = headers["x-should-retry"] == "true"
    return spec


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _error_event_block(exchange: Exchange) -> JSONObject:
    found = exchange.error_event
    assert found is not None
    position, error = found
    params: JSONObject = {
        key: error[key] for key in ("type", "code", "message", "param") if isinstance(error.get(key), str)
    }
    params["after_events"] = position
    if any(e.json is not None and e.json.get("type") == "response.failed" for e in exchange.events[position:]):
        params["failed"] = True
    items = exchange.finished_items
    block: JSONObject = _short_form(items) or {"output": [_item_spec(item) for item in items]}
    block["fault"] = {"error_event": params}
    return block


def timing_spec(exchange: Exchange) -> JSONObject:
    """`delay` (to the headers, or to the whole body of a JSON answer) and, for a stream, `first_event` and the
    median `gap`, in whole milliseconds."""
    start = exchange.sent_at
    if not exchange.streamed:
        end = exchange.ended_at or exchange.headers_at or start
        return {"delay": round((end - start) * 1000)}
    headers_at = exchange.headers_at or start
    times = [event.at for event in exchange.events]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    stream: JSONObject = {"first_event": round((times[0] - headers_at) * 1000)}
    if gaps:
        stream["gap"] = round(statistics.median(gaps) * 1000)
    return {"delay": round((headers_at - start) * 1000), "stream": stream}
