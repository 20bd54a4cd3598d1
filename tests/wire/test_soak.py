"""A bounded soak: 64 concurrent clients mixing streamed and JSON creates, follow-ups, retrievals, faults and dropped
streams for `MOCKSERVER_SOAK_SECONDS` (default 30; the README's figures used 60 with
`python -m tests.benchmarks.bench_soak`). Nothing unexpected may happen and nothing may leak (see `bench_soak`).

    MOCKSERVER_SOAK_SECONDS=60 python -m pytest tests/wire/test_soak.py -s     # prints the one-line summary
"""

from __future__ import annotations

import os

from tests.benchmarks.bench_soak import run_soak

SOAK_SECONDS = float(os.environ.get("MOCKSERVER_SOAK_SECONDS", "30"))
CLIENTS = 64
RSS_MARGIN_MIB = 12.0  # the allocator keeps part of a higher peak; a leak of 4 KB a request would pass 12 MiB
BLOCKS_PER_REQUEST = 2  # a leak keeps at least a few objects per request; caches filling keep fewer, and stop


def test_soak_with_faults_and_disconnects_leaves_nothing_behind() -> None:
    report = run_soak(SOAK_SECONDS, CLIENTS)
    print("\n" + report.summary())
    first, second = report.phases

    assert report.problems == [], report.problems[:20]
    for phase in report.phases:
        assert phase.load.sent > CLIENTS  # every client got answers, over and over
        assert phase.journal_entries == phase.load.sent
        assert phase.journal_ends["client_disconnected"] == phase.load.outcomes["drop"] > 0
        assert phase.journal_ends["response.completed"] >= phase.load.outcomes["stream"] > 0
        assert phase.journal_ends["error"] == phase.load.outcomes["error_event"] > 0
        assert phase.load.outcomes["reset"] > 0 and phase.load.outcomes["cut"] > 0
        assert (
            phase.checked_stored
            == phase.load.outcomes["json"] + phase.load.outcomes["follow_up"] + (phase.load.outcomes["stream"])
        )
        assert phase.mismatched_stored == []
    assert second.tasks_after <= first.tasks_after + 1, (first.tasks_after, second.tasks_after)
    assert second.rss_after_mib <= first.rss_after_mib + max(RSS_MARGIN_MIB, first.rss_after_mib * 0.15), (
        first.rss_after_mib,
        second.rss_after_mib,
    )
    allowed_blocks = 2_000 + BLOCKS_PER_REQUEST * second.load.sent
    assert second.blocks_after - first.blocks_after <= allowed_blocks, (first.blocks_after, second.blocks_after)
