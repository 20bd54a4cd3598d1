"""The contract proxy: every request a proxy forwards and every upstream answer, checked against the API's contract.

`ContractWatch` is an `ExchangeObserver` (see `upstream`): it checks the request body (`contract.check_request`), a
JSON answer (`contract.check_response`) or each event of a stream as it arrives (`contract.StreamChecker`), and keeps
the findings. What becomes of them is the `--contract` setting's:

- `report` (the default with an upstream): the answer goes to the client as the upstream sent it; the findings go
  to the `x-mock-contract` header (those known before the headers left: all of them for a JSON answer, the
  request's for a stream relayed as it arrives), a warning in the log, and the journal entry's `contract`;
- `strict`: a request that breaks the contract gets the local 400 and is not forwarded; streams are read whole
  before they are relayed, and an answer with findings is replaced by a 502 whose error lists them;
- `off`: nothing is checked.
"""

from __future__ import annotations

import logging

from ..checks.contract import Finding, StreamChecker, check_request, check_response, summarize
from ..core.jsonio import dumps
from ..core.types import JSON, Headers, JSONObject
from ..state.journal import Entry
from .upstream import SSE_MEDIA_TYPE, Relayed, SSEEvent

logger = logging.getLogger("mockserver.proxy")

CONTRACT_HEADER = "x-mock-contract"


class ContractWatch:
    """The findings of one forwarded exchange, gathered as it happens."""

    def __init__(self, entry: Entry | None, describe: str) -> None:
        self.entry = entry
        self.describe = describe
        self.request_findings: list[Finding] = []
        self.answer_findings: list[Finding] = []
        self._stream: StreamChecker | None = None
        self._events = 0

    @property
    def findings(self) -> list[Finding]:
        return [*self.request_findings, *self.answer_findings]

    def on_request(self, body: JSONObject) -> None:
        self.request_findings = check_request(body)

    def on_response(self, status: int, headers: Headers) -> None:
        if headers.get("content-type", "").startswith(SSE_MEDIA_TYPE):
            self._stream = StreamChecker()

    def on_event(self, event: SSEEvent) -> None:
        if self._stream is None:
            return
        self._events += 1
        if event.json is None:
            where = f"event {self._events - 1}" + (f" {event.name}" if event.name else "")
            self.answer_findings.append(Finding(where, "", f"the data is not a JSON object: {event.data[:80]!r}"))
            return
        self.answer_findings.extend(self._stream.feed(event.json, event.name))

    def on_json(self, status: int, body: JSON, raw: bytes) -> None:
        if body is None and raw:
            self.answer_findings.append(Finding("response", "", "the body is not JSON"))
            return
        self.answer_findings.extend(check_response(status, body))

    def on_end(self, error: str | None) -> None:
        if self._stream is not None:
            self.answer_findings.extend(self._stream.finish())
        findings = self.findings
        if self.entry is not None:
            self.entry.contract = [str(finding) for finding in findings]
        if findings:
            logger.warning("the contract is broken (%s): %s", self.describe, summarize(findings, limit=10))


def contract_violation(findings: list[Finding], upstream: str) -> Relayed:
    """What a strict contract proxy answers instead of an upstream answer that breaks the contract."""
    message = f"The upstream {upstream} answered in breach of the API's contract: {summarize(findings, limit=10)}"
    body = {"error": {"message": message, "type": "server_error", "param": None, "code": "contract_violation"}}
    headers = {"content-type": "application/json", "x-should-retry": "false", CONTRACT_HEADER: summarize(findings)}
    return Relayed(502, headers, dumps(body))
