"""Partial matchers for journal assertions (`ANY`, `contains`, ...): re-exported from `mockserver.testing.matchers`.

Kept because the README documents `mockserver.matchers`; new code imports `mockserver.testing.matchers`.
"""

from __future__ import annotations

from .testing.matchers import (
    ABSENT as ABSENT,
)
from .testing.matchers import (
    ANY as ANY,
)
from .testing.matchers import (
    Matcher as Matcher,
)
from .testing.matchers import (
    contains as contains,
)
from .testing.matchers import (
    matches as matches,
)
