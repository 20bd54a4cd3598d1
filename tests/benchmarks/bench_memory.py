"""Memory of stored responses: RSS per stored ~1 KB response, and whether the store's bounds hold.

    python -m tests.benchmarks.bench_memory [--responses 100000] [--app-requests 10000]

Each measurement runs in a fresh process, so one does not inherit the other's heap. A stored response is the
document the server keeps for a real create (its Response object, input items and chain link), about 1 KB as
compact JSON; the rows store `--responses` of them through the server's own `ResponseRecords` (what a create does
after answering) with the store bound set high enough to keep them all, then with the default bounds (10,000
documents, 256 MiB) and with a small byte bound; the last row sends `--app-requests` creates through the app
in-process.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(mode: str, count: int, max_items: int, max_bytes: int) -> dict[str, float]:
    """Runs in the child process: store `count` responses and report the figures as JSON."""
    from starlette.testclient import TestClient

    from mockserver import Settings, create_app
    from mockserver.core.validation import build_fast_validator

    settings = Settings(seed=1, store_max_items=max_items, store_max_bytes=max_bytes)
    app = create_app(settings)
    service = app.state.service
    body = {"model": "gpt-4.1", "input": "Tell me about the weather in Paris, briefly.", "metadata": {"n": "1"}}
    with TestClient(app, headers={"authorization": "Bearer sk-test"}) as client:
        sample = client.post("/v1/responses", json=body).json()
        items = client.get(f"/v1/responses/{sample['id']}/input_items").json()["data"]
        service.clear_state()
        build_fast_validator()  # otherwise built in the background during the loop below, and counted
        gc.collect()
        before = rss_bytes()
        if mode == "records":
            prefix = sample["id"][:-12]
            for index in range(count):
                response = {**sample, "id": f"{prefix}{index:012x}"}
                service.records.record(response, items, None)
        else:
            for index in range(count):
                body["metadata"] = {"n": str(index)}
                client.post("/v1/responses", json=body).raise_for_status()
        gc.collect()
        after = rss_bytes()
    store = service.store
    return {
        "stored": store.count(),
        "store_bytes": store.size_bytes,
        "rss_growth": after - before,
        "document_bytes": len(json.dumps(sample, separators=(",", ":"))),
    }


def run(mode: str, count: int, max_items: int, max_bytes: int) -> dict[str, float]:
    child = ["--child", mode, str(count), str(max_items), str(max_bytes)]
    output = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_memory", *child],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--app-requests", type=int, default=10_000)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, count, max_items, max_bytes = args.child
        print(json.dumps(measure(mode, int(count), int(max_items), int(max_bytes))))
        return 0
    from mockserver.state.store import DEFAULT_MAX_BYTES, DEFAULT_MAX_DOCUMENTS

    small = 16 * 1024 * 1024
    rows = [
        ("records, bound above N", "records", args.responses, args.responses * 2, DEFAULT_MAX_BYTES * 4),
        ("records, default bounds", "records", args.responses, DEFAULT_MAX_DOCUMENTS, DEFAULT_MAX_BYTES),
        ("records, 16 MiB bound", "records", args.responses, args.responses * 2, small),
        ("POST through the app", "app", args.app_requests, args.app_requests * 2, DEFAULT_MAX_BYTES),
    ]
    print(f"{'how':<26} {'sent':>8} {'kept':>8} {'bound':>18} {'store MiB':>10} {'RSS MiB':>8} {'RSS/kept':>9}")
    failures = 0
    for name, mode, count, max_items, max_bytes in rows:
        figures = run(mode, count, max_items, max_bytes)
        kept = int(figures["stored"])
        within = kept <= max_items and figures["store_bytes"] <= max_bytes
        failures += not within
        bound = f"{min(max_items, 10**9):,} / {max_bytes // 2**20} MiB"
        per = figures["rss_growth"] / max(kept, 1)
        print(
            f"{name:<26} {count:>8,} {kept:>8,} {bound:>18} {figures['store_bytes'] / 2**20:>10.1f} "
            f"{figures['rss_growth'] / 2**20:>8.1f} {per / 1024:>7.2f}KB" + ("" if within else "  BOUND EXCEEDED")
        )
    print(f"a stored response's Response object: {int(figures['document_bytes']):,} bytes as compact JSON")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
