"""Log probabilities for output text, as `include: ["message.output_text.logprobs"]` asks for them.

The text is cut into token-like pieces (`token_pieces`, the same cut the stream's deltas use by default); each piece
gets an entry `{token, logprob, bytes, top_logprobs}`, the chosen token being the likeliest, followed by up to
`top_logprobs` alternatives (the chosen token first, as the live API lists it). Values come from a hash of the text
and the piece's position, so the same text always gets the same figures, and the probabilities of an entry's
`top_logprobs` never add up to more than 1.
"""

from __future__ import annotations

import hashlib
import math
import re

from ..core.types import JSONObject

LOGPROBS_INCLUDE = "message.output_text.logprobs"

# A word with its leading space, a run of punctuation, or bare white space: close to how tokens split text.
TOKEN_PIECE = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")

_COMMON = (
    " the", ",", ".", " a", " and", " to", " of", " is", " in", " it",
    "\n", " I", " that", " for", " you", " this", " with", " on", " be", " as",
)  # fmt: skip


def token_pieces(text: str) -> list[str]:
    """Token-like pieces whose concatenation is `text` (one piece for text the pattern cannot cut)."""
    return TOKEN_PIECE.findall(text) or ([text] if text else [])


def text_logprobs(text: str, top: int) -> list[JSONObject]:
    """One entry per token-like piece of `text`, each with `top` alternatives (0 to 20)."""
    digest = hashlib.sha256(text.encode()).digest()
    return [_entry(token, index, digest, max(0, min(top, 20))) for index, token in enumerate(token_pieces(text))]


def _entry(token: str, index: int, digest: bytes, top: int) -> JSONObject:
    draws = hashlib.sha256(digest + index.to_bytes(4, "big")).digest()
    chosen = 0.35 + 0.6499 * (int.from_bytes(draws[:4], "big") / 2**32) ** 0.5  # 0.35 ≤ p < 0.9999
    tops = [_top(token, chosen)]
    left = 1.0 - chosen
    for rank, alternative in enumerate(_alternatives(token, draws)[: max(0, top - 1)]):
        # A share of 50-90 % of what is left: each alternative is less likely than the one before it.
        share = left * (0.5 + 0.4 * draws[4 + rank] / 255)
        left -= share
        tops.append(_top(alternative, share))
    entry: JSONObject = {"token": token, "logprob": _log(chosen), "bytes": list(token.encode())}
    entry["top_logprobs"] = tops[:top]
    return entry


def _alternatives(token: str, draws: bytes) -> list[str]:
    """At least 19 tokens other than `token`, in an order drawn from `draws`."""
    stripped = token.strip()
    pool = dict.fromkeys((stripped, stripped.lower(), stripped.capitalize(), " " + stripped.lower(), *_COMMON))
    pool.pop(token, None)
    pool.pop("", None)
    return sorted(pool, key=lambda candidate: hashlib.sha256(draws + candidate.encode()).digest())


def _top(token: str, probability: float) -> JSONObject:
    return {"token": token, "logprob": _log(probability), "bytes": list(token.encode())}


def _log(probability: float) -> float:
    return round(math.log(max(probability, 1e-12)), 6)
