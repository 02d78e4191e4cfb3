"""A third-party backend as a plugin author would write one: its own storage and its own
schema management, registered through the ``omnicrud.backends`` entry point (``toy://``).

It keeps its schema state in a JSON file (the URL's path); rows are not its point."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from pathlib import Path

from omnicrud.config import Settings
from omnicrud.core.errors import MigrationError, NotFound
from omnicrud.core.query import Expr, ListQuery
from omnicrud.core.registry import Backend
from omnicrud.core.resources import Resource
from omnicrud.core.schema import SchemaStatus, SchemaTarget
from omnicrud.core.storage import OwnerFilter, Row, Storage


class ToyStorage:
    def __init__(self, url: str, settings: Settings, resources: Sequence[Resource]) -> None:
        self.path = Path(url.partition("://")[2])

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def server_version(self) -> str:
        return "Toy 1"

    async def create(self, res: Resource, rows: Sequence[Row]) -> list[Row]:
        raise NotImplementedError

    async def get(self, res: Resource, id: int, owner: OwnerFilter | None = None) -> Row | None:
        return None

    async def list(self, res: Resource, query: ListQuery) -> list[Row]:
        return []

    async def count(self, res: Resource, where: Expr | None) -> int:
        return 0

    async def children(
        self,
        res: Resource,
        field: str,
        parent_ids: Sequence[int],
        limit: int,
        columns: tuple[str, ...],
        where: Expr | None = None,
    ) -> builtins.list[Row]:
        return []

    async def update(
        self,
        res: Resource,
        id: int,
        values: Row,
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> Row:
        raise NotFound()

    async def delete(
        self,
        res: Resource,
        id: int,
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> None:
        raise NotFound()


class ToySchema:
    def __init__(self, storage: Storage, target: SchemaTarget) -> None:
        assert isinstance(storage, ToyStorage)
        self.path = storage.path
        self.wanted = sorted(r.name for r in target.resources)

    def _applied(self) -> list[str]:
        if not self.path.exists():
            return []
        applied: list[str] = json.loads(self.path.read_text())
        return applied

    async def upgrade(self, revision: str = "head") -> list[str]:
        missing = [name for name in self.wanted if name not in self._applied()]
        self.path.write_text(json.dumps(self.wanted))
        return [f"toy table {name}" for name in missing]

    async def downgrade(self, revision: str) -> list[str]:
        raise MigrationError("the toy backend cannot downgrade")

    async def status(self) -> SchemaStatus:
        applied = self._applied()
        behind = None if applied == self.wanted else "toy tables missing: run omnicrud db upgrade"
        return SchemaStatus(f"toy tables: {', '.join(applied) or 'none'}", behind)

    async def revision(self, message: str, autogenerate: bool) -> list[str]:
        raise MigrationError("the toy backend has no scripts")

    async def stamp(self, revision: str) -> None:
        raise MigrationError("the toy backend has no scripts")

    async def history(self) -> list[str]:
        return [f"applied {name}" for name in self._applied()]


backend = Backend("toy", frozenset(), "toy", ToyStorage, ToySchema)
