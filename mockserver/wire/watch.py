"""`serve --watch`: reload scenario files when they change; a broken edit keeps the last good set and says why.

A file is reloaded once its change has settled: the same modification time and size over a short interval. A file
rewritten in place is empty, then half-written, for a moment; loading it then would answer from a partial set. And
a writer can be held up mid-write for longer than that interval (a busy machine), so a change that loses scenarios is
suspect too:

- a file that had scenarios and is now empty (or only comments) is a broken edit: the previous set stays until the
  file changes again; a file that says `scenarios: []` (or `[]`) is taken at its word;
- a change that leaves a file with fewer scenarios (or removes a file) is taken only once it has held for
  `CONFIRM_SETTLES` times the settle interval (2 s by default), long after any write in progress would have ended.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..core.errors import MockServerError
from ..core.yamlfile import load_yaml
from ..engine.scenario_engine import ScenarioEngine
from ..engine.scenarios import ScenarioSet, load_scenarios, scenario_files

logger = logging.getLogger("mockserver")

Snapshot = dict[Path, tuple[int, int]]
DEFAULT_INTERVAL = 0.5
CONFIRM_SETTLES = 4  # a change that loses scenarios must hold this many settle intervals


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
    """Polls the scenario files of an engine and reloads them once a change has held for `settle` seconds (one that
    loses scenarios: `CONFIRM_SETTLES` times as long)."""

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
        self.counts = per_file(engine.loaded)  # scenarios each file gave, when last loaded
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
        held = now - self._changed_at
        if held < self.settle:
            return False
        return self._reload(current, held)

    def _reload(self, current: Snapshot, held: float) -> bool:
        try:
            scenarios = load_scenarios(self.paths)
        except MockServerError as exc:
            self.loaded, self._changed = current, None  # said once; the next change is looked at afresh
            self._keep(f"cannot be loaded: {exc}")
            return False
        counts = per_file(scenarios)
        shrunk = [path for path, before in self.counts.items() if counts[path] < before]
        emptied = [path for path in shrunk if path in current and not counts[path]]
        blank = [path for path in emptied if is_blank(path)]
        if blank:
            self.loaded, self._changed = current, None
            self._keep(f"{blank[0]} is empty (an edit in progress?); write `scenarios: []` to mean no scenarios")
            return False
        if held < self.settle * CONFIRM_SETTLES and len(emptied) < len(shrunk):
            return False  # fewer scenarios: maybe a file still being written; looked at again until confirmed
        self.loaded, self._changed, self.counts = current, None, counts
        self.engine.replace(scenarios)
        logger.warning("scenario files changed: reloaded %d scenarios", len(scenarios))
        return True

    def _keep(self, why: str) -> None:
        message = f"scenario files changed but {why}; keeping the previous {len(self.engine.loaded)} scenarios"
        self.engine.reload_error = {"at": time.time(), "message": message}
        logger.error("%s", message)


def per_file(scenarios: ScenarioSet) -> Counter[Path]:
    """How many scenarios each file gave (from their `file:line` sources)."""
    return Counter(Path(scenario.source.rsplit(":", 1)[0]) for scenario in scenarios.scenarios)


def is_blank(path: Path) -> bool:
    """A file that gives no scenarios without saying so (`scenarios: []`): empty, only comments, or `scenarios:` with
    nothing after it."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8"), str(path)).data
    except (OSError, UnicodeDecodeError, MockServerError):
        return True
    return not (data == [] or (isinstance(data, Mapping) and data.get("scenarios") == []))


async def watch(engine: ScenarioEngine, paths: tuple[Path, ...], interval: float = DEFAULT_INTERVAL) -> None:
    """Poll the files until cancelled (polling needs no extra package and works on every file system)."""
    watcher = ScenarioWatch(engine, paths, settle=interval)
    while True:
        await asyncio.sleep(interval)
        watcher.poll()
