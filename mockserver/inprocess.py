"""In-process transports for the OpenAI SDK: re-exported from `mockserver.testing.inprocess`.

Kept because the README documents `mockserver.inprocess`; new code imports `mockserver.testing.inprocess`.
"""

from __future__ import annotations

from .testing.inprocess import (
    async_transport as async_transport,
)
from .testing.inprocess import (
    sync_transport as sync_transport,
)
