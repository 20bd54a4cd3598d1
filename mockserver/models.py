"""The model catalog (`CONTEXT_WINDOWS`, `model_info`, ...): re-exported from `mockserver.core.models`.

Kept because the README documents `mockserver.models`; new code imports `mockserver.core.models`.
"""

from __future__ import annotations

from .core.models import (
    CONTEXT_WINDOWS as CONTEXT_WINDOWS,
)
from .core.models import (
    DEFAULT_CONTEXT_WINDOW as DEFAULT_CONTEXT_WINDOW,
)
from .core.models import (
    DEFAULT_MODEL as DEFAULT_MODEL,
)
from .core.models import (
    DEFAULT_MODELS as DEFAULT_MODELS,
)
from .core.models import (
    Catalog as Catalog,
)
from .core.models import (
    ModelInfo as ModelInfo,
)
from .core.models import (
    Sampling as Sampling,
)
from .core.models import (
    catalog as catalog,
)
from .core.models import (
    catalogue as catalogue,
)
from .core.models import (
    context_window as context_window,
)
from .core.models import (
    default_effort as default_effort,
)
from .core.models import (
    is_reasoning_model as is_reasoning_model,
)
from .core.models import (
    model_info as model_info,
)
from .core.models import (
    model_object as model_object,
)
from .core.models import (
    reported_model as reported_model,
)
