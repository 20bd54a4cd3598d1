"""The response contract checks (`check_request`, `check_response`, `KNOWN_DRIFT`, ...).

Re-exported from `mockserver.checks.contract`.

Kept because the README documents `mockserver.contract`; new code imports `mockserver.checks.contract`.
"""

from __future__ import annotations

from .checks.contract import (
    ABSENT as ABSENT,
)
from .checks.contract import (
    KNOWN_DRIFT as KNOWN_DRIFT,
)
from .checks.contract import (
    Finding as Finding,
)
from .checks.contract import (
    KnownDrift as KnownDrift,
)
from .checks.contract import (
    SchemaIssue as SchemaIssue,
)
from .checks.contract import (
    StreamChecker as StreamChecker,
)
from .checks.contract import (
    check_request as check_request,
)
from .checks.contract import (
    check_response as check_response,
)
from .checks.contract import (
    summarize as summarize,
)
