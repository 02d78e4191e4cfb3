"""Moving data between databases: ``copy`` from one deployment to another, ``export`` to and
``import`` from NDJSON, each verified by counts and checksums (CONTRACT §11). Talks to the
backends only through ``BulkStorage`` (omnicrud.core.transfer), found via bootstrap."""

from __future__ import annotations

from omnicrud.core.transfer import BulkStorage, RejectedRow

from .copy import DEFAULT_BATCH, Check, Copied, copy, table
from .ndjson import export, import_
from .progress import Reporter, reporter
from .sides import TargetNotEmpty

__all__ = [
    "DEFAULT_BATCH",
    "BulkStorage",
    "Check",
    "Copied",
    "RejectedRow",
    "Reporter",
    "TargetNotEmpty",
    "copy",
    "export",
    "import_",
    "reporter",
    "table",
]
