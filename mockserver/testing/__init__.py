"""The testing wing: `MockAPI` (what a test holds to script the fake API and check what its code sent), the in-process
transports and the partial matchers. The pytest plugin (`mockserver.pytest_plugin`) hands a test a `MockAPI`."""

from __future__ import annotations

from .mock_api import (
    IN_PROCESS_BASE_URL as IN_PROCESS_BASE_URL,
)
from .mock_api import (
    IN_PROCESS_URL as IN_PROCESS_URL,
)
from .mock_api import (
    MockAPI as MockAPI,
)
from .mock_api import (
    ScenarioBuilder as ScenarioBuilder,
)
from .mock_api import (
    ScriptedScenario as ScriptedScenario,
)
