"""Record and replay: which create requests go to the upstream API, and what becomes of its answers.

Modes (`--mode`):

- `record`: every request is forwarded, and every answer recorded (the record file starts anew);
- `replay`: nothing is forwarded; a request no scenario answers is a 400 `no_recording_matched` that shows the
  nearest recordings;
- `auto` (the default with an upstream): recordings and scenarios answer what they match, the rest is forwarded and
  recorded;
- `verify`: every request is forwarded, the client gets the upstream's answer, and its structure is compared with
  the recording's (see `drift`): differences go to the `x-mock-drift` header, the log and the journal.

A forwarded answer bypasses the local responder; a successful one is also stored, with the upstream's ids, so that
`GET /v1/responses/{id}`, `input_items` and `previous_response_id` work for it. Every other endpoint is served locally.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path

from ..checks.contract import summarize
from ..core.context import RequestContext
from ..core.errors import InvalidSpec, invalid_request
from ..core.ids import IdSource
from ..core.types import Headers, JSONObject
from ..engine.reasoning import live_output
from ..engine.scenario_engine import ScenarioEngine
from ..faults.config import Settings
from ..faults.replies import ModelReply, Reply
from ..state.conversations import Conversations
from ..state.history import input_item_resources
from ..state.journal import SECRET_HEADERS, Entry
from ..state.records import ResponseRecords
from .contract_proxy import CONTRACT_HEADER, ContractWatch, contract_violation
from .drift import compare
from .recording import (
    HASH_HEADER,
    Capture,
    Exchange,
    RecordingFile,
    check_scenario,
    header_comment,
    match_for,
    redact,
    redact_match,
    request_hash,
    scenario_name,
    without_secrets,
)
from .response_block import response_block
from .upstream import ExchangeObserver, Relayed, Upstream

logger = logging.getLogger("mockserver.proxy")

DRIFT_HEADER = "x-mock-drift"
UNFINISHED = ("queued", "in_progress")
Clock = Callable[[], float]


class Proxy:
    """The record/replay side of one server: its mode, upstream, recordings and the observers of each exchange."""

    def __init__(
        self,
        settings: Settings,
        engine: ScenarioEngine,
        records: ResponseRecords,
        conversations: Conversations,
        ids: IdSource,
        clock: Clock,
    ) -> None:
        mode = settings.proxy_mode
        assert mode is not None
        self.mode = mode
        self.rule = settings.record_match
        self.timing = settings.record_timing
        self.contract = settings.contract
        self.redacted = frozenset(name.lower() for name in (*SECRET_HEADERS, *settings.redact))
        self.upstream = Upstream(settings.upstream, settings.upstream_key) if settings.upstream else None
        self.engine = engine
        self._records = records
        self._conversations = conversations
        self._ids = ids
        self._clock = clock
        self._unfinished: set[str] = set()
        self._upstream_ids: set[str] = set()  # responses the upstream made (and so can continue)
        self._pending: dict[str, tuple[RequestContext, Exchange]] = {}  # background creates not finished yet
        self.observers: list[Callable[[RequestContext], ExchangeObserver]] = []
        """Factories of extra observers: each forwarded exchange gets a fresh one from each (see `upstream`)."""
        self.file = RecordingFile(None, fresh=True, header="")
        self.use_file(settings.record_file)

    def use_file(self, path: Path | None) -> None:
        """Record to and replay from this YAML file from now on (None: keep recordings in memory). In `record`
        mode the file starts anew at its first recording; otherwise what it holds answers at once."""
        upstream = self.upstream.display_url if self.upstream else None
        header = header_comment(upstream, self.rule)
        self.file = RecordingFile(path, fresh=self.mode == "record", header=header)
        self.engine.set_recorded(self.file.compiled)

    @property
    def reports_requests(self) -> bool:
        """A reporting contract proxy forwards a request that breaks the contract (and reports it); otherwise such
        a request gets the local 400."""
        return self.contract == "report"

    # ------------------------------------------------------------ which requests go upstream

    def forwards(self, ctx: RequestContext) -> bool:
        """Whether this create request goes to the upstream. In `replay` mode a request nothing answers is refused
        here. (With the `hash` match rule, the request first gets its hash as the `x-mock-request-hash` header.)"""
        if self.rule == "hash":
            ctx.headers.setdefault(HASH_HEADER, request_hash(ctx.body))
        if self.mode in ("record", "verify"):
            return True
        if self.engine.would_answer(ctx) is not None:
            return False
        if self.mode == "auto":
            return True
        raise invalid_request(
            "This request was not recorded, and in replay mode nothing is forwarded. " + self.engine.explain(ctx),
            code="no_recording_matched",
        )

    async def forward(self, ctx: RequestContext, entry: Entry | None) -> Relayed:
        """Send the request upstream and relay the answer; record it, store it, or compare it, as the mode says."""
        assert self.upstream is not None
        recorded = self._replayed_answer(ctx) if self.mode == "verify" else None
        outcome: dict[str, str | None] = {}
        if entry is not None:
            entry.upstream = True

        def complete(exchange: Exchange) -> None:
            if entry is not None:
                entry.upstream_status = exchange.status
            self._store(ctx, exchange)
            if self.mode == "verify":
                outcome["drift"] = self._verify(ctx, recorded, exchange, entry)
            elif self.mode in ("record", "auto") and _unfinished_id(exchange) is not None:
                # A background response is recorded once a poll through the proxy sees it finished.
                self._pending[str(_unfinished_id(exchange))] = (ctx, exchange)
            elif self.mode in ("record", "auto"):
                name = self._record(ctx, exchange)
                if entry is not None:
                    entry.recorded_as = name

        capture = Capture(complete)
        watch = ContractWatch(entry, _describe(ctx)) if self.contract != "off" else None
        observers: list[ExchangeObserver] = [capture, *([watch] if watch else [])]
        observers.extend(make(ctx) for make in self.observers)
        # verify (and a strict contract) wait for the whole answer, so that what they find can go into a header.
        buffer = self.mode == "verify" or self.contract == "strict"
        body = upstream_body(ctx, self._upstream_ids)
        relayed = await self.upstream.forward("/v1/responses", body, ctx.headers, observers, buffer=buffer)
        drift = outcome.get("drift")
        if drift:
            relayed = replace(relayed, headers={**relayed.headers, DRIFT_HEADER: drift})
        return self._with_contract(relayed, watch)

    def _with_contract(self, relayed: Relayed, watch: ContractWatch | None) -> Relayed:
        """The answer with the contract findings known before its headers leave (all of them, unless a stream is
        relayed as it arrives); with a strict contract, an answer with findings is a 502 listing them."""
        if watch is None:
            return relayed
        known = watch.findings if isinstance(relayed.body, bytes) else watch.request_findings
        if self.contract == "strict" and watch.answer_findings:
            return contract_violation(watch.answer_findings, self.upstream.display_url if self.upstream else "")
        if not known:
            return relayed
        return replace(relayed, headers={**relayed.headers, CONTRACT_HEADER: summarize(known)})

    # ------------------------------------------------------------ what becomes of an answer

    def _replayed_answer(self, ctx: RequestContext) -> Reply | None:
        """What a replay would answer (counted as a call, as a replay counts it), to compare with the upstream."""
        selection = self.engine.select(ctx)
        if selection is None:
            return None
        reply = selection.reply
        # Compared as it is sent: with the reasoning item a reasoning model's answer gets.
        return replace(reply, output=live_output(reply, ctx)) if isinstance(reply, ModelReply) else reply

    def _verify(
        self, ctx: RequestContext, recorded: Reply | None, exchange: Exchange, entry: Entry | None
    ) -> str | None:
        drift = compare(recorded, exchange)
        if drift is not None:
            logger.warning("drift from the recording (%s): %s", _describe(ctx), drift)
        if entry is not None:
            entry.drift = drift
        return drift

    def _record(self, ctx: RequestContext, exchange: Exchange) -> str | None:
        """Add the exchange to the recordings (the file and the engine); its scenario's name, or None when it
        cannot be replayed (the upstream was not reached, or the stream broke)."""
        block = response_block(exchange, timing=self.timing)
        if block is None:
            logger.warning("not recorded (%s): %s", _describe(ctx), exchange.error or "no complete answer")
            return None
        taken = self.file.names | {scenario.name for scenario in self.engine.scenarios.scenarios}
        number = len(self.file.scenarios) + 1
        name = scenario_name(number, ctx)
        while name in taken:
            number += 1
            name = scenario_name(number, ctx)
        scenario: JSONObject = {
            "name": name,
            "match": redact_match(match_for(ctx, self.rule), self.redacted),
            "response": redact(block, self.redacted),
        }
        scenario = json.loads(without_secrets(json.dumps(scenario, ensure_ascii=False), self._secrets(ctx)))
        try:
            check_scenario(scenario)
        except InvalidSpec as exc:
            logger.warning("not recorded (%s): the answer does not make a scenario: %s", _describe(ctx), exc)
            return None
        held_by = self.file.add(scenario)
        self.engine.set_recorded(self.file.compiled)
        return held_by

    def _secrets(self, ctx: RequestContext) -> list[str]:
        """The API keys this exchange carried: never written, wherever they appear."""
        keys = [self.upstream.key] if self.upstream is not None and self.upstream.key else []
        for name in ("authorization", "x-api-key", "api-key"):
            value = ctx.headers.get(name, "")
            keys.append(value.split(" ", 1)[1] if name == "authorization" and " " in value else value)
        return keys

    def _store(self, ctx: RequestContext, exchange: Exchange) -> None:
        """Keep a successful answer (with the upstream's ids), so GET, input_items and chains work for it."""
        final = exchange.final_response
        if exchange.status != 200 or final is None or not isinstance(final.get("id"), str):
            return
        ids = self._ids.response_family(int(self._clock()))
        input_items = input_item_resources(ctx, ids)
        conversation = _conversation_id(ctx)
        if conversation is not None:
            self._conversations.append_turn(conversation, input_items, list(final.get("output") or ()))
        if ctx.body.get("store") is False:
            return
        self._records.record(final, input_items, ctx.body.get("previous_response_id"))
        self._upstream_ids.add(final["id"])
        if final.get("status") in UNFINISHED:
            self._unfinished.add(final["id"])

    # ------------------------------------------------------------ responses the upstream is still working on

    def follows(self, response_id: str) -> bool:
        """Whether a GET or cancel of this response goes upstream: a forwarded background response that was not
        finished when last seen (the upstream is the one working on it)."""
        return self.upstream is not None and response_id in self._unfinished

    async def follow(self, method: str, path: str, query: str, headers: Headers, response_id: str) -> Relayed:
        """Forward a GET (or a resumed stream) or a cancel of an unfinished upstream response, and keep what it
        says in the local store."""
        assert self.upstream is not None
        relayed = await self.upstream.forward(path, None, headers, method=method, query=query)
        if isinstance(relayed.body, bytes) and relayed.status == 200:
            try:
                answer = json.loads(relayed.body)
            except ValueError:
                return relayed
            if isinstance(answer, dict) and answer.get("id") == response_id and answer.get("object") == "response":
                self._records.update(answer)
                if answer.get("status") not in UNFINISHED:
                    self._unfinished.discard(response_id)
                    self._record_finished(response_id, answer)
        return relayed

    def _record_finished(self, response_id: str, answer: JSONObject) -> None:
        pending = self._pending.pop(response_id, None)
        if pending is not None:
            ctx, exchange = pending
            self._record(ctx, replace(exchange, body=answer, events=[]))


def upstream_body(ctx: RequestContext, upstream_ids: Collection[str]) -> JSONObject:
    """The body sent upstream. What the upstream cannot know is sent as items instead: a request that names a
    (local) conversation, or continues a response the upstream did not make (a replayed one, in `auto` mode),
    carries the earlier items before its own input, without their local ids and statuses and without reasoning
    items."""
    previous = ctx.body.get("previous_response_id")
    local_chain = isinstance(previous, str) and previous not in upstream_ids
    if _conversation_id(ctx) is None and not local_chain:
        return ctx.body
    earlier = [
        {key: value for key, value in item.items() if key not in ("id", "status")}
        for item in ctx.history
        if item.get("type") != "reasoning"
    ]
    body = {key: value for key, value in ctx.body.items() if key not in ("conversation", "previous_response_id")}
    if not local_chain and previous is not None:
        body["previous_response_id"] = previous
    body["input"] = [*earlier, *ctx.turn_items]
    return body


def _conversation_id(ctx: RequestContext) -> str | None:
    conversation = ctx.body.get("conversation")
    if isinstance(conversation, dict):
        conversation = conversation.get("id")
    return conversation if isinstance(conversation, str) else None


def _unfinished_id(exchange: Exchange) -> str | None:
    """The id of a successful answer that is still queued or in progress (a background response), else None."""
    final = exchange.final_response
    if exchange.status == 200 and final is not None and final.get("status") in UNFINISHED:
        response_id = final.get("id")
        return response_id if isinstance(response_id, str) else None
    return None


def _describe(ctx: RequestContext) -> str:
    text = " ".join(ctx.last_user_text.split())
    text = text if len(text) <= 60 else text[:59] + "…"
    return f"model {ctx.model!r}, last user message {text!r}"
