"""`serve --watch`: reload scenario files when they change; a broken edit keeps the last good set and says why."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path

from .engine import ScenarioEngine
from .errors import MockServerError
from .scenarios import load_scenarios, scenario_files

logger = logging.getLogger("mockserver")

Snapshot = dict[Path, float]


def snapshot(paths: Iterable[Path]) -> Snapshot:
    """Modification times of every scenario file the paths name (folders are listed afresh each time)."""
    try:
        return {path: path.stat().st_mtime for path in scenario_files(paths)}
    except (OSError, MockServerError):
        return {}


def reload_if_changed(engine: ScenarioEngine, paths: tuple[Path, ...], seen: Snapshot) -> Snapshot:
    """Reload when the files changed since `seen`; returns the new snapshot."""
    current = snapshot(paths)
    if current == seen:
        return seen
    try:
        scenarios = load_scenarios(paths)
    except MockServerError as exc:
        logger.error(
            "scenario files changed but cannot be loaded; keeping the previous %d scenarios: %s",
            len(engine.scenarios),
            exc,
        )
        return current
    engine.replace(scenarios)
    logger.warning("scenario files changed: reloaded %d scenarios", len(scenarios))
    return current


async def watch(engine: ScenarioEngine, paths: tuple[Path, ...], interval: float = 0.5) -> None:
    """Poll the files until cancelled (polling needs no extra package and works on every file system)."""
    seen = snapshot(paths)
    while True:
        await asyncio.sleep(interval)
        seen = reload_if_changed(engine, paths, seen)
