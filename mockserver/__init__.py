"""mockserver: a local, wire-faithful emulator of the OpenAI Responses API for tests."""

from __future__ import annotations

from .core.errors import APIError, MockServerError, ScenarioFileError
from .engine.scenarios import Scenario, ScenarioSet, load_scenarios
from .faults.config import Settings
from .wire.app import create_app
from .wire.server import MockServer

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "MockServer",
    "MockServerError",
    "Scenario",
    "ScenarioFileError",
    "ScenarioSet",
    "Settings",
    "create_app",
    "load_scenarios",
]
