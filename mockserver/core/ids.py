"""Identifiers in the live API's formats, from a seedable source so tests can be deterministic.

Response and item ids are a prefix and 50 hex digits; hex digits 18–25 are the creation time, and the items of one
response share the first 18 digits with the response id, as on the live API.
"""

from __future__ import annotations

import random
import string

_BASE62 = string.digits + string.ascii_letters


class IdSource:
    """Makes ids; pass a `seed` for a reproducible sequence."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)

    def _hex(self, digits: int) -> str:
        return f"{self._random.getrandbits(digits * 4):0{digits}x}"

    def response_family(self, created_at: int) -> ResponseIds:
        """Ids for one response and its items, all sharing one hex segment."""
        return ResponseIds(self, self._hex(18), f"{created_at & 0xFFFFFFFF:08x}")

    def call_id(self) -> str:
        choice = self._random.choice
        return "call_" + "".join(choice(_BASE62) for _ in range(24))

    def request_id(self) -> str:
        return "req_" + self._hex(32)

    def obfuscation(self) -> str:
        """Padding of the length the live API puts on delta events (1–16 characters)."""
        choice = self._random.choice
        return "".join(choice(_BASE62) for _ in range(self._random.randint(1, 16)))


class ResponseIds:
    """The ids of one response: `resp_…` and its items' `msg_…`, `fc_…`, `rs_…`."""

    def __init__(self, source: IdSource, shared: str, time_hex: str) -> None:
        self._source = source
        self._shared = shared
        self._time_hex = time_hex
        self.response_id = self.new("resp")

    def new(self, prefix: str) -> str:
        return f"{prefix}_{self._shared}{self._time_hex}{self._source._hex(24)}"

    def call_id(self) -> str:
        return self._source.call_id()

    def obfuscation(self) -> str:
        return self._source.obfuscation()
