"""Readiness beyond "the server answers": a Storage may implement ``ready()`` (e.g. a
Galera node that is up but not synced is not ready); /readyz calls it when present."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Readiness(Protocol):
    async def ready(self) -> None:
        """Return when the storage can serve requests; raise Unavailable otherwise. Cheap:
        /readyz calls it on every probe."""
