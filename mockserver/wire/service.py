"""`MockService`: everything the HTTP handlers share, with no knowledge of HTTP.

It holds the settings, the scenario engine, ids and clock, the delivery policy (faults, timing), the store with its
stored responses and conversations, and the request journal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..checks.coherence import check_coherence
from ..checks.model_rules import check_known_model, check_model_parameters
from ..core.context import RequestContext
from ..core.errors import invalid_request
from ..core.ids import IdSource
from ..core.types import Headers, JSONObject
from ..core.validation import validate_create_request
from ..engine.responder import default_reply
from ..engine.scenario_engine import SCENARIO_HEADER, ScenarioEngine
from ..engine.scenarios import ScenarioSet
from ..faults.config import Settings
from ..faults.overrides import ERROR_HEADER, DeliveryPolicy
from ..faults.replies import Reply
from ..state.conversations import Conversations
from ..state.history import history_for
from ..state.journal import Journal
from ..state.prompt_cache import PromptCache
from ..state.records import ResponseRecords
from ..state.store import MemoryStore, SqliteStore, Store

if TYPE_CHECKING:
    from ..proxy.proxy import Proxy

STRICT_HEADER = "x-mock-strict"
Clock = Callable[[], float]


def _generates(ctx: RequestContext) -> bool:
    """Whether the default responder would generate JSON from a schema for this request."""
    return bool(ctx.body.get("tools")) or ctx.text_format.get("type") == "json_schema"


def _proxy_for(service: MockService) -> Proxy:
    from ..proxy.proxy import Proxy  # only servers that record or replay load it (and httpx)

    return Proxy(service.settings, service.engine, service.records, service.conversations, service.ids, service.clock)


def open_store(settings: Settings) -> Store:
    if settings.state_file is not None:
        return SqliteStore(settings.state_file, max_documents=settings.store_max_items)
    return MemoryStore(max_documents=settings.store_max_items, max_bytes=settings.store_max_bytes)


class MockService:
    """The state and collaborators of one mock server."""

    def __init__(self, settings: Settings, scenarios: ScenarioSet, clock: Clock = time.time) -> None:
        self.settings = settings
        self.strict = settings.strict  # the pytest fixture turns it on and off per test
        self.engine = ScenarioEngine(scenarios)
        self.ids = IdSource(settings.seed)
        self.clock = clock
        self.delivery = DeliveryPolicy(settings)
        self.store = open_store(settings)
        self.records = ResponseRecords(self.store, clock)
        self.conversations = Conversations(self.store, self.ids)
        self.journal = Journal(settings.journal_size, settings.journal_max_bytes, settings.journal_entry_bytes)
        self.prompt_cache = PromptCache()
        self.proxy = _proxy_for(self) if settings.proxy_mode is not None else None

    @property
    def scenarios(self) -> ScenarioSet:
        return self.engine.scenarios

    def context_for(self, body: JSONObject, headers: Headers) -> RequestContext:
        """The request with the context it continues: a `previous_response_id` chain or a conversation."""
        previous_id = body.get("previous_response_id")
        conversation = body.get("conversation")
        if previous_id is not None and conversation is not None:
            raise invalid_request(
                "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or "
                "'conversation'.",
                code="mutually_exclusive_parameters",
            )
        if isinstance(conversation, dict):
            conversation = conversation.get("id")
        if isinstance(conversation, str):
            history, turn = self.conversations.history(conversation)
            return RequestContext(body, headers, history=history, turn=turn)
        if isinstance(previous_id, str):
            history, turn = history_for(self.store, previous_id)
            return RequestContext(body, headers, history=history, turn=turn)
        return RequestContext(body, headers)

    def admit(self, body: JSONObject, headers: Headers) -> RequestContext:
        """The create request in its context, once it has passed every check the live API makes before answering;
        the first problem raises its `APIError`. The create route and `explain` both go through here."""
        validate_create_request(body, self.settings.profile)
        if self.proxy is None and ERROR_HEADER not in headers:  # forwarded and replayed: the upstream's word counts
            if SCENARIO_HEADER not in headers:  # a request that names its scenario has chosen its answer
                check_known_model(body, self.settings, self.scenarios)
            check_model_parameters(body)
        if body.get("background") is True and body.get("store") is False:
            raise invalid_request("Background mode requires 'store' to be true.", param="store")
        ctx = self.context_for(body, headers)
        check_coherence(ctx, self.store)
        return ctx

    def reply_for(self, ctx: RequestContext) -> tuple[Reply, str | None]:
        """The answering scenario's reply and name; with none, the default answer (or, in strict mode, the near-miss
        report as a 400)."""
        selection = self.engine.select(ctx)
        if selection is not None:
            return selection.reply, selection.scenario.name
        return self._unmatched(ctx)

    def _unmatched(self, ctx: RequestContext) -> tuple[Reply, None]:
        """The default answer to a request no scenario answers (in strict mode, the near-miss report as a 400)."""
        if self.strict or ctx.headers.get(STRICT_HEADER, "").lower() in ("1", "true", "yes"):
            raise invalid_request(self.engine.explain(ctx), code="no_scenario_matched")
        return default_reply(ctx, self.settings.seed), None

    async def reply_off_loop(self, ctx: RequestContext) -> tuple[Reply, str | None]:
        """`reply_for`, in a worker thread when it may take long: matching a `regex`, rendering templates and
        generating structured output or tool arguments are bounded (`limits`), but can still take up to a second,
        and the event loop must keep answering other clients meanwhile. The rest is answered at once: the hop costs
        a few tens of microseconds, and a client that closes its sending side after the request (as `nc -N` does)
        is taken by uvicorn for gone once the handler waits."""
        if self.engine.may_be_slow:
            return await asyncio.to_thread(self.reply_for, ctx)
        selection = self.engine.select(ctx)  # fixed answers, no regex: chosen at once
        if selection is not None:
            return selection.reply, selection.scenario.name
        if _generates(ctx):  # only the default responder's generation may take long (~100 µs a hop otherwise)
            return await asyncio.to_thread(self._unmatched, ctx)
        return self._unmatched(ctx)

    def clear_state(self) -> None:
        """Forget stored responses, conversations, call counts, states, the journal and the prompt cache."""
        self.store.clear()
        self.engine.reset()
        self.journal.clear()
        self.prompt_cache.clear()
