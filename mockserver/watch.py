"""`serve --watch`: reload scenario files when they change; a broken edit keeps the last good set and says why.

A file is reloaded once its change has settled: the same modification time and size over a short interval. A file
rewritten in place is empty, then half-written, for a moment; loading it then would answer from a partial set.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .engine import ScenarioEngine
from .errors import MockServerError
from .scenarios import load_scenarios, scenario_files

logger = logging.getLogger("mockserver")

Snapshot = dict[Path, tuple[int, int]]
DEFAULT_INTERVAL = 0.5


def snapshot(paths: Iterable[Path]) -> Snapshot:
    """Modification time (ns) and size of every scenario file the paths name (folders are listed afresh)."""
    try:
        found = {}
        for path in scenario_files(paths):
            stat = path.stat()
            found[path] = (stat.st_mtime_ns, stat.st_size)
        return found
    except (OSError, MockServerError):
        return {}


class ScenarioWatch:
    """Polls the scenario files of an engine and reloads them once a change has held for `settle` seconds."""

    def __init__(
        self,
        engine: ScenarioEngine,
        paths: tuple[Path, ...],
        settle: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.paths = paths
        self.settle = settle
        self.clock = clock
        self.loaded = snapshot(paths)
        self._changed: Snapshot | None = None
        self._changed_at = 0.0

    def poll(self) -> bool:
        """Look at the files once; True when this look reloaded them."""
        current = snapshot(self.paths)
        if current == self.loaded:
            self._changed = None
            return False
        now = self.clock()
        if current != self._changed:
            self._changed, self._changed_at = current, now
        if now - self._changed_at < self.settle:
            return False
        self.loaded, self._changed = current, None
        return self._reload()

    def _reload(self) -> bool:
        try:
            scenarios = load_scenarios(self.paths)
        except MockServerError as exc:
            logger.error(
                "scenario files changed but cannot be loaded; keeping the previous %d scenarios: %s",
                len(self.engine.scenarios),
                exc,
            )
            return False
        self.engine.replace(scenarios)
        logger.warning("scenario files changed: reloaded %d scenarios", len(scenarios))
        return True


async def watch(engine: ScenarioEngine, paths: tuple[Path, ...], interval: float = DEFAULT_INTERVAL) -> None:
    """Poll the files until cancelled (polling needs no extra package and works on every file system)."""
    watcher = ScenarioWatch(engine, paths, settle=interval)
    while True:
        await asyncio.sleep(interval)
        watcher.poll()
