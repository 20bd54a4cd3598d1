"""Recorded exchanges as scenarios: what the upstream answered to a request becomes a readable scenario in a YAML
file, which replays it.

    scenarios:
      - name: recorded-1-what-is-the-weather-in-paris
        match: {model: gpt-4.1, input: {equals: What is the weather in Paris?}, not: {json: {…}}}
        response:
          output: [{type: function_call, name: get_weather, arguments: {city: Paris}}]
          usage: {input_tokens: 41, output_tokens: 9}

The `match` comes from the request by a rule (`match_for`); the `response` is the answer in the scenario
vocabulary (`text`, `output`, `reasoning`, `usage`, `model`, `incomplete`, `failed`, `error`, `fault`), with the
measured timing when asked. Never written: ids and timestamps (a replay makes its own), headers other than the retry
hints of an error, the API keys seen, and the values of the fields named in the redaction list.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import yaml

from ..core.context import RequestContext
from ..core.jsonio import dumps_sorted
from ..core.types import JSON, Headers, JSONObject, Where
from ..core.yamlfile import Position, YamlDocument
from ..engine.scenarios import Scenario, compile_scenario, load_file
from .upstream import SSEEvent

HASH_HEADER = "x-mock-request-hash"
REDACTED = "[redacted]"
TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")
# Fields of a request that say how to deliver or keep the answer, not what to answer: left out of the hash.
VOLATILE_FIELDS = frozenset(
    {
        "stream", "stream_options", "store", "background", "metadata", "user", "safety_identifier",
        "prompt_cache_key", "prompt_cache_retention", "service_tier", "previous_response_id", "conversation",
    }
)  # fmt: skip
# Fields of input items that a replay makes anew (ids) or that are opaque: never matched on.
_ITEM_IDENTITY = frozenset({"id", "call_id", "status", "encrypted_content"})


# ---------------------------------------------------------------- one exchange


@dataclass
class Exchange:
    """A forwarded request and everything the upstream answered, with when it arrived (`time.monotonic()`)."""

    request: JSONObject = field(default_factory=dict)
    sent_at: float = 0.0
    status: int | None = None
    headers: Headers = field(default_factory=dict)
    headers_at: float | None = None
    body: JSON = None
    raw: bytes = b""
    events: list[SSEEvent] = field(default_factory=list)
    ended_at: float | None = None
    error: str | None = None  # why the answer did not arrive whole; None when it did

    @property
    def streamed(self) -> bool:
        return bool(self.events)

    @property
    def final_response(self) -> JSONObject | None:
        """The Response object the upstream ended with: the JSON body, or the terminal event's `response`."""
        if not self.streamed:
            body = self.body
            return body if isinstance(body, dict) and body.get("object") == "response" else None
        for event in reversed(self.events):
            if event.json is not None and event.json.get("type") in TERMINAL_EVENTS:
                response = event.json.get("response")
                return response if isinstance(response, dict) else None
        return None

    @property
    def error_event(self) -> tuple[int, JSONObject] | None:
        """A streamed `error` event: how many events came before it, and its error (the nested `error` object of
        the live API, or the event itself in the flat shape)."""
        for index, event in enumerate(self.events):
            if event.json is not None and event.json.get("type") == "error":
                nested = event.json.get("error")
                return index, nested if isinstance(nested, dict) else event.json
        return None

    @property
    def finished_items(self) -> list[JSONObject]:
        """The output items a stream finished (`response.output_item.done`), in order."""
        items = [
            event.json.get("item")
            for event in self.events
            if event.json is not None and event.json.get("type") == "response.output_item.done"
        ]
        return [item for item in items if isinstance(item, dict)]


class Capture:
    """An `ExchangeObserver` that fills an `Exchange`, then hands it on when it ends."""

    def __init__(self, on_complete: Callable[[Exchange], None]) -> None:
        self.exchange = Exchange()
        self._on_complete = on_complete

    def on_request(self, body: JSONObject) -> None:
        self.exchange.request = body
        self.exchange.sent_at = time.monotonic()

    def on_response(self, status: int, headers: Headers) -> None:
        self.exchange.status = status
        self.exchange.headers = headers
        self.exchange.headers_at = time.monotonic()

    def on_event(self, event: SSEEvent) -> None:
        self.exchange.events.append(event)

    def on_json(self, status: int, body: JSON, raw: bytes) -> None:
        self.exchange.body = body
        self.exchange.raw = raw

    def on_end(self, error: str | None) -> None:
        self.exchange.ended_at = time.monotonic()
        self.exchange.error = error
        self._on_complete(self.exchange)


# ---------------------------------------------------------------- match rules


def match_for(ctx: RequestContext, rule: str) -> JSONObject:
    """The `match` block a recording of this request gets.

    `input`: the model, the last user message, and where the request stands after it (the number of input items
    and the last one's role, or its output when it is a tool result), so that the turns of a tool loop, which repeat
    the user message, each get their own recording; `full_input`: the model, the instructions, the tools offered
    and every input item (ids left out); `hash`: the model and a hash of the body (`request_hash`)."""
    match: JSONObject = {"model": ctx.model} if ctx.model else {}
    if rule == "hash":
        match["headers"] = {HASH_HEADER: request_hash(ctx.body)}
        return match
    if rule == "full_input":
        return {**match, **_full_input(ctx)}
    raw = ctx.body.get("input")
    if isinstance(raw, str):
        match["json"] = {"input": raw}
        return match
    if ctx.last_user_text:
        match["input"] = {"equals": ctx.last_user_text}
    items = ctx.turn_items
    if items:
        last, tail = len(items) - 1, items[-1]
        paths: JSONObject = {}
        if tail.get("type") == "function_call_output":
            paths[f"input[{last}].type"] = "function_call_output"
            _flatten(paths, f"input[{last}].output", tail.get("output"))
        elif isinstance(tail.get("role"), str):
            paths[f"input[{last}].role"] = tail["role"]
        elif isinstance(tail.get("type"), str):
            paths[f"input[{last}].type"] = tail["type"]
        paths[f"input[{last + 1}]"] = {"exists": False}
        match["json"] = paths
    return match


def _full_input(ctx: RequestContext) -> JSONObject:
    match: JSONObject = {}
    instructions = ctx.body.get("instructions")
    if isinstance(instructions, str):
        match["instructions"] = {"equals": instructions}
    if ctx.tool_names:
        match["tools"] = sorted(ctx.tool_names)
    if isinstance(ctx.body.get("previous_response_id"), str):
        match["previous_response_id"] = True
    raw = ctx.body.get("input")
    if isinstance(raw, str):
        match["json"] = {"input": raw}
        return match
    paths: JSONObject = {}
    items = normalized_items(ctx.turn_items)
    for index, item in enumerate(items):
        for key, value in item.items():
            _flatten(paths, f"input[{index}].{key}", value)
    paths[f"input[{len(items)}]"] = {"exists": False}
    match["json"] = paths
    return match


def _flatten(paths: JSONObject, path: str, value: JSON) -> None:
    """A json condition per value; a list of content parts gives one per part field (the request's parts may carry
    more fields, such as annotations, which are not compared)."""
    if isinstance(value, list) and value and all(isinstance(part, dict) and "type" in part for part in value):
        for index, part in enumerate(value):
            for key, inner in part.items():
                _flatten(paths, f"{path}[{index}].{key}", inner)
    else:
        paths[path] = value if isinstance(value, str | int | float | bool) else {"equals": value}


def normalized_items(items: Iterable[JSONObject]) -> list[JSONObject]:
    """Input items without what a replay makes anew or cannot repeat: ids, call ids, statuses, encrypted content,
    and the annotations and log probabilities of text parts."""
    normalized = []
    for item in items:
        kept = {key: value for key, value in item.items() if key not in _ITEM_IDENTITY}
        content = kept.get("content")
        if isinstance(content, list):
            kept["content"] = [
                {k: v for k, v in part.items() if k in ("type", "text", "refusal")} if isinstance(part, dict) else part
                for part in content
            ]
        normalized.append(kept)
    return normalized


def request_hash(body: JSONObject) -> str:
    """16 hex digits of SHA-256 over the body without `VOLATILE_FIELDS` and with `normalized_items`."""
    kept = {key: value for key, value in body.items() if key not in VOLATILE_FIELDS}
    raw = kept.get("input")
    if isinstance(raw, list):
        kept["input"] = normalized_items(item for item in raw if isinstance(item, dict))
    return hashlib.sha256(dumps_sorted(kept).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- redaction


def redact(value: JSON, names: frozenset[str]) -> JSON:
    """The value with every field named in `names` (at any depth) replaced by `[redacted]`."""
    if isinstance(value, dict):
        return {key: REDACTED if key.lower() in names else redact(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, names) for item in value]
    return value


def redact_match(match: JSONObject, names: frozenset[str]) -> JSONObject:
    """A match block without the conditions on redacted fields (a condition on `[redacted]` would never hold)."""
    kept = {key: value for key, value in match.items() if key.lower() not in names}
    paths = kept.get("json")
    if isinstance(paths, dict):
        steps = {path: re.findall(r"[A-Za-z_][\w-]*", path) for path in paths}
        kept["json"] = {path: value for path, value in paths.items() if not {s.lower() for s in steps[path]} & names}
        if not kept["json"]:
            del kept["json"]
    return kept


def without_secrets(text: str, secrets: Iterable[str]) -> str:
    """The text with every secret (an API key seen) replaced by `[redacted]`."""
    for secret in sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


# ---------------------------------------------------------------- the file


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as `|` blocks, keys in the order written."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _mapping(dumper: yaml.SafeDumper, value: dict[str, JSON]) -> yaml.MappingNode:
    """Small mappings of short scalars on one line (`usage: {input_tokens: 12, output_tokens: 9}`)."""
    scalars = all(
        item is None or isinstance(item, bool | int | float) or (isinstance(item, str) and "\n" not in item)
        for item in value.values()
    )
    flow = bool(value) and scalars and len(json.dumps(value, ensure_ascii=False)) <= 80
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=flow)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(dict, _mapping)


def dump_scenarios(scenarios: list[JSONObject]) -> tuple[str, list[int]]:
    """The `scenarios:` document, and the line (from 1, in this text) where each scenario starts."""
    lines = ["scenarios:"]
    starts = []
    for scenario in scenarios:
        starts.append(len(lines) + 1)
        text = yaml.dump([scenario], Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
        lines.extend("  " + line if line else line for line in text.rstrip("\n").split("\n"))
    return "\n".join(lines) + "\n", starts


def header_comment(upstream: str | None, rule: str) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    source = f"from {upstream}" if upstream else "through mockserver"
    return (
        f"# Recorded by mockserver {source} on {when} (matched by {rule}).\n"
        "# Replay: mockserver serve --mode replay --record THIS_FILE (ids and timestamps are made anew).\n"
    )


def write_atomically(path: Path, text: str) -> None:
    """Write a temporary file beside `path`, then rename it over `path`: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def scenario_name(number: int, ctx: RequestContext) -> str:
    """`recorded-3-what-is-the-weather`: the number in the file and the first words of the last user message."""
    words = re.findall(r"[a-z0-9]+", ctx.last_user_text.lower())[:6]
    slug = "-".join(words)[:48].rstrip("-") or re.sub(r"[^a-z0-9.]+", "-", (ctx.model or "request").lower())
    return f"recorded-{number}-{slug}"


class RecordingFile:
    """The recordings of one YAML file (or of memory alone, without a path): their scenario mappings, compiled
    for the engine, rewritten whole at every recording."""

    def __init__(self, path: Path | None, *, fresh: bool, header: str) -> None:
        self.path = path
        self.header = header
        self.scenarios: list[JSONObject] = []
        self.compiled: list[Scenario] = []
        if path is not None and path.is_file() and not fresh:
            self.compiled = load_file(path)
            self.scenarios = _scenario_mappings(path)

    @property
    def names(self) -> set[str]:
        return {str(scenario.get("name")) for scenario in self.scenarios}

    def add(self, scenario: JSONObject) -> str:
        """Add a recording and write the file; a recording whose `match` is already recorded becomes the next answer
        of that scenario's `responses` sequence. Returns the name of the scenario that holds it."""
        for existing in self.scenarios:
            if existing.get("match") == scenario["match"]:
                answers = existing.pop("responses", None) or [existing.pop("response")]
                existing["responses"] = [*answers, scenario["response"]]
                break
        else:
            existing = scenario
            self.scenarios.append(scenario)
        text, starts = dump_scenarios(self.scenarios)
        self.compiled = self._compile(starts)
        if self.path is not None:
            write_atomically(self.path, self.header + text)
        return str(existing["name"])

    def _compile(self, starts: list[int]) -> list[Scenario]:
        offset = self.header.count("\n") if self.path is not None else 0
        filename = str(self.path) if self.path is not None else "<recorded>"
        positions: dict[Where, Position] = {
            ("scenarios", i): Position(line + offset, 5) for i, line in enumerate(starts)
        }
        document = YamlDocument(filename, {"scenarios": self.scenarios}, positions)
        return [compile_scenario(raw, ("scenarios", i), document) for i, raw in enumerate(self.scenarios)]


def check_scenario(scenario: JSONObject) -> None:
    """Raises `InvalidSpec` when the mapping is not a scenario the engine can replay."""
    compile_scenario(scenario, (0,), YamlDocument("<recorded>", [scenario]))


def _scenario_mappings(path: Path) -> list[JSONObject]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("scenarios") if isinstance(data, dict) else data
    return [dict(item) for item in items or () if isinstance(item, dict)]
