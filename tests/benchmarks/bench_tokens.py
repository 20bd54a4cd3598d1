"""How far the server's token estimate is from a real tokenizer (o200k_base, the GPT-4o / GPT-5 encoding).

    pip install bpe-openai && python -m tests.benchmarks.bench_tokens

`bpe-openai` ships the encodings inside the package, so nothing is downloaded. Prints the error per kind of text and
overall (mean absolute error, in percent of the real count).
"""

from __future__ import annotations

import json
import statistics
import sys

from mockserver.core.tokens import estimate_tokens

SAMPLES: dict[str, list[str]] = {
    "English prose": [
        "Hello! How can I help you today?",
        "The history of the maple tree begins in the temperate forests of the northern hemisphere, where its "
        "winged seeds spread on the autumn wind and its leaves turn red, orange and gold before they fall.",
        "Please summarise the following meeting notes in three bullet points and flag any action items that have "
        "no owner yet.",
        "I'm sorry, but I can't help with that request.",
    ],
    "code": [
        "def fibonacci(n: int) -> int:\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n",
        "for (let i = 0; i < items.length; i++) { total += items[i].price * items[i].quantity; }",
    ],
    "JSON": [
        json.dumps({"city": "Paris", "temperature_c": 18, "conditions": "sunny", "wind_kph": 12}),
        json.dumps({"name": "Ada Lovelace", "email": "ada@example.com", "tags": ["math", "poetry"], "age": 36}),
    ],
    "other languages": [
        "Bonjour, pourriez-vous m'indiquer le chemin de la gare, s'il vous plaît ?",
        "Wie spät ist es in Berlin, und wird es morgen regnen?",
        "今日はとても良い天気ですね。散歩に行きましょう。",
    ],
}


def main() -> int:
    try:
        import bpe_openai
    except ImportError:
        print("bpe-openai is not installed: pip install bpe-openai", file=sys.stderr)
        return 2
    encoding = bpe_openai.get_encoding("o200k_base")
    print(f"{'text':<18} {'samples':>8} {'mean abs error':>15}")
    errors: list[float] = []
    for kind, texts in SAMPLES.items():
        kind_errors = [abs(estimate_tokens(t) - len(encoding.encode(t))) / len(encoding.encode(t)) for t in texts]
        errors.extend(kind_errors)
        print(f"{kind:<18} {len(texts):>8} {statistics.mean(kind_errors) * 100:>14.0f}%")
    print(f"{'all':<18} {len(errors):>8} {statistics.mean(errors) * 100:>14.0f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
