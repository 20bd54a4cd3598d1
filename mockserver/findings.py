"""Findings on scripted answers (`scenario_findings`): re-exported from `mockserver.checks.findings`.

Kept because the README documents `mockserver.findings`; new code imports `mockserver.checks.findings`.
"""

from __future__ import annotations

from .checks.findings import (
    BUILT_IN_CALLS as BUILT_IN_CALLS,
)
from .checks.findings import (
    CALL_ITEMS as CALL_ITEMS,
)
from .checks.findings import (
    FINDING_HEADER as FINDING_HEADER,
)
from .checks.findings import (
    FUNCTION_CALLS as FUNCTION_CALLS,
)
from .checks.findings import (
    HEADER_LIMIT as HEADER_LIMIT,
)
from .checks.findings import (
    HOSTED_CALLS as HOSTED_CALLS,
)
from .checks.findings import (
    MCP_ITEMS as MCP_ITEMS,
)
from .checks.findings import (
    NOT_STRICT_KEYWORDS as NOT_STRICT_KEYWORDS,
)
from .checks.findings import (
    header_value as header_value,
)
from .checks.findings import (
    scenario_findings as scenario_findings,
)
from .checks.findings import (
    schema_problem as schema_problem,
)
