"""Connection faults at the transport (`ConnectionFault`): re-exported from `mockserver.faults.transport`.

Kept because the README documents `mockserver.transport`; new code imports `mockserver.faults.transport`.
"""

from __future__ import annotations

from .faults.transport import (
    Connection as Connection,
)
from .faults.transport import (
    ConnectionFault as ConnectionFault,
)
from .faults.transport import (
    RawTransport as RawTransport,
)
from .faults.transport import (
    find_transport as find_transport,
)
