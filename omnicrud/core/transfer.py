"""The BulkStorage protocol: what ``omnicrud copy``, ``export`` and ``import`` ask of a backend.

Rows here are *raw*: every column, secrets' stored hashes and the ``_version`` key
included, as Python values of each field's kind (``datetime`` aware UTC with millisecond
precision, ``bool``, ``int``, ``float``, ``str`` or None). A backend that implements it
next to its Storage can be the source or the target of a copy; a third-party backend does
the same to join in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .errors import OmnicrudError
from .resources import Resource
from .storage import Row


class RejectedRow(OmnicrudError):
    """The target cannot hold a row: names the resource, the row's id and the field."""

    def __init__(self, resource: str, id: int, field: str, reason: str) -> None:
        super().__init__(f"{resource} id {id}: field {field!r} {reason}")
        self.resource = resource
        self.id = id
        self.field = field
        self.reason = reason


@runtime_checkable
class BulkStorage(Protocol):
    async def dump(self, res: Resource, after_id: int, limit: int) -> list[Row]:
        """At most ``limit`` raw rows with ``id > after_id``, in id order."""

    async def load(self, res: Resource, rows: Sequence[Row]) -> None:
        """Insert raw rows as they are (ids, timestamps, versions, hashes): all of them or
        none. RejectedRow when one cannot be stored; Conflict on an id already present."""

    async def max_id(self, res: Resource) -> int | None:
        """The highest id present, None when the resource holds no row."""

    async def reserve_past(self, res: Resource, id: int) -> None:
        """Make ids the storage assigns from now on greater than ``id``."""
