"""The MongoDB Storage: one ``AsyncMongoClient`` per process, one collection per resource.

Ids come from ``_omnicrud_counters`` (one ``$inc`` per create): processes never hand out
the same id, ids are never reused. Every command carries ``maxTimeMS``; the socket timeout
a little above it backs up the writes that cannot (no client-wide CSOT ``timeoutMS``: an
unreachable server would then take query_timeout, not connect_timeout, to report).

References are checked here, not by the database; the check-then-write race is closed by
checking again after the write and undoing it when the check now fails (a create/update
deletes or reverts what it wrote, a delete re-inserts): racing writes may both fail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import pymongo
from pymongo import AsyncMongoClient, ReturnDocument, WriteConcern
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    ConfigurationError,
    DuplicateKeyError,
    PyMongoError,
)

from omnicrud.config import Settings
from omnicrud.core.errors import (
    ConfigError,
    Conflict,
    NotFound,
    PreconditionFailed,
    ReferenceConflict,
    Unavailable,
)
from omnicrud.core.query import Expr, ListQuery
from omnicrud.core.registry import mask_url
from omnicrud.core.resources import VERSION, FieldSpec, Resource
from omnicrud.core.storage import OwnerFilter, Row

from ._errors import conflict_field, connect_reason, duplicate_details, translate
from ._layout import Layout, index_specs
from ._query import to_filter, to_sort
from ._relations import RelatedReads, has_related
from ._shared import shared_setting
from ._writes import bump_counter, insert_in_transaction, insert_or_undo, restore, seed_counter

log = logging.getLogger("omnicrud.backends.mongo")

Doc = dict[str, Any]
Docs = list[Doc]
Rows = list[Row]  # aliases: inside the class, "list" names the method

COUNTERS = "_omnicrud_counters"
"""Collection of id counters, one document per resource (resource names never start
with ``_``, so no resource can collide with it)."""

DEFAULT_DATABASE = "omnicrud"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1  # BSON integers; no row has an id outside
_SOCKET_MARGIN = 1.0  # seconds past maxTimeMS before the client gives up on a socket


class MongoStorage(RelatedReads):
    def __init__(self, url: str, settings: Settings, resources: Sequence[Resource]) -> None:
        self._url = url
        self._settings = settings
        self._layouts = {r.name: Layout(r) for r in resources}
        for layout in self._layouts.values():
            for name, f, unique in index_specs(layout.res):
                if unique:
                    layout.unique_by_index[name] = f.name
        self._incoming: dict[str, list[tuple[Layout, FieldSpec]]] = {
            name: [] for name in self._layouts
        }
        """For each resource, the (resource, field) pairs that reference it."""
        for layout in self._layouts.values():
            for f in layout.res.references:
                assert f.references is not None
                self._incoming[f.references].append((layout, f))
        self._client: AsyncMongoClient[Doc] | None = None
        self._db: AsyncDatabase[Doc] | None = None
        self._colls: dict[str, AsyncCollection[Doc]] = {}
        self._write_concern = WriteConcern(j=True)
        self._ms = int(settings.query_timeout * 1000)
        self.transactions = False
        """Whether multi-document transactions are available (replica set or mongos)."""

    # -- lifecycle ---------------------------------------------------------------------

    async def connect(self) -> None:
        if self._client is not None:
            return
        s = self._settings
        try:
            client: AsyncMongoClient[Doc] = AsyncMongoClient(
                self._url,
                socketTimeoutMS=int((s.query_timeout + _SOCKET_MARGIN) * 1000),
                serverSelectionTimeoutMS=int(s.connect_timeout * 1000),
                connectTimeoutMS=int(s.connect_timeout * 1000),
                waitQueueTimeoutMS=int(s.pool_timeout * 1000),
                maxPoolSize=s.pool_size,
                journal=True,
                # A read retried after a socket timeout would wait a second timeout: the
                # contract bounds every request by the configured timeouts, then 503.
                retryReads=False,
                appname="omnicrud",
            )
        except (ConfigurationError, ValueError, TypeError) as exc:
            shown = mask_url(self._url)
            raise ConfigError(f"DATABASE_URL={shown} is not a usable MongoDB URL") from exc
        try:
            hello = await client.admin.command("hello", maxTimeMS=self._ms)
        except PyMongoError as exc:
            await client.close()
            raise Unavailable(f"MongoDB at {mask_url(self._url)}: {connect_reason(exc)}") from exc
        replicated = "setName" in hello or hello.get("msg") == "isdbgrid"
        # Sessions (logicalSessionTimeoutMinutes) plus a replica set or mongos: transactions.
        self.transactions = replicated and "logicalSessionTimeoutMinutes" in hello
        self._write_concern = (
            WriteConcern(w="majority", j=True) if replicated else WriteConcern(j=True)
        )
        try:
            db = client.get_default_database(DEFAULT_DATABASE, write_concern=self._write_concern)
        except (ConfigurationError, ValueError) as exc:
            await client.close()
            raise ConfigError(f"DATABASE_URL={mask_url(self._url)}: bad database name") from exc
        self._client = client
        self._db = db
        self._colls = {name: db[name] for name in self._layouts}

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    def _database(self) -> AsyncDatabase[Doc]:
        if self._db is None:
            raise Unavailable("the storage is not connected")
        return self._db

    async def server_version(self) -> str:
        try:
            info = await self._database().command("buildInfo", maxTimeMS=self._ms)
        except PyMongoError as exc:
            raise translate(exc, None) from exc
        text = f"MongoDB {info.get('version', '?')}"
        if "secantusVersion" in info:
            text += f" (SecantusDB {info['secantusVersion']})"
        return text

    async def shared_setting(self, name: str, candidate: str) -> str:
        return await shared_setting(self._database(), name, candidate, self._ms)

    def database(self) -> AsyncDatabase[Doc]:
        """The connected database (for the schema manager)."""
        return self._database()

    def resources(self) -> list[Resource]:
        return [layout.res for layout in self._layouts.values()]

    async def seed_counters(self) -> None:
        """Raise every id counter to the highest id present (rows written by other means)."""
        for name in self._layouts:
            await self._seed_counter(name)

    async def _seed_counter(self, name: str) -> None:
        await seed_counter(self._colls[name], self._database()[COUNTERS], name, self._ms)

    # -- reads -------------------------------------------------------------------------

    async def get(self, res: Resource, id: int, owner: OwnerFilter | None = None) -> Row | None:
        layout = self._layouts[res.name]
        if not _INT64_MIN <= id <= _INT64_MAX:
            return None
        try:
            doc = await self._colls[res.name].find_one(
                _by_id(layout, id, owner), layout.projection, max_time_ms=self._ms
            )
        except PyMongoError as exc:
            raise translate(exc, layout) from exc
        return None if doc is None else layout.row(doc)

    async def list(self, res: Resource, query: ListQuery) -> Rows:
        if has_related(query.where):
            return await self.list_related(res, query)
        layout = self._layouts[res.name]
        decoders = layout.list_decoders(query.columns)
        cursor = self._colls[res.name].find(
            to_filter(res, query.where),
            layout.projection_for(query.columns),
            sort=to_sort(query.sort),
            skip=query.offset,
            limit=query.limit,
            batch_size=query.limit,
            max_time_ms=self._ms,
        )
        try:
            docs = await cursor.to_list()
        except PyMongoError as exc:
            raise translate(exc, layout) from exc
        return [layout.list_row(doc, decoders) for doc in docs]

    async def count(self, res: Resource, where: Expr | None) -> int:
        if has_related(where):
            return await self.count_related(res, where)
        layout = self._layouts[res.name]
        try:
            return await self._colls[res.name].count_documents(
                to_filter(res, where), maxTimeMS=self._ms
            )
        except PyMongoError as exc:
            raise translate(exc, layout) from exc

    # -- writes ------------------------------------------------------------------------

    async def create(self, res: Resource, rows: Sequence[Row]) -> Rows:
        layout = self._layouts[res.name]
        if not rows:
            return []
        values = [layout.encode(row) for row in rows]
        coll = self._colls[res.name]
        try:
            await self._check_targets(layout, values)
            first = await self._reserve_ids(res.name, len(values))
            docs = [{"_id": first + i, **v, VERSION: 1} for i, v in enumerate(values)]
            ids = [d["_id"] for d in docs]
            try:
                # The driver has no maxTimeMS argument for inserts; a CSOT block adds one.
                # Server selection already succeeded for the counter, so no slow failure.
                with pymongo.timeout(self._ms / 1000):
                    if len(docs) == 1:
                        await coll.insert_one(docs[0])
                    elif self.transactions:
                        await insert_in_transaction(
                            self._client, coll, docs, self._write_concern, self._ms
                        )
                    else:
                        await insert_or_undo(coll, docs)
            except PyMongoError as exc:
                details = duplicate_details(exc)
                if details is None:
                    raise
                # Which field when several collide is settled by the API, the same way for
                # every backend.
                raise Conflict(conflict_field(layout, details)) from exc
            try:
                await self._check_targets(layout, values)
            except ReferenceConflict:
                await coll.delete_many({"_id": {"$in": ids}})
                raise
        except PyMongoError as exc:
            raise translate(exc, layout) from exc
        return [layout.row(doc) for doc in docs]

    async def _reserve_ids(self, name: str, n: int) -> int:
        """The first of ``n`` fresh ids; the counter is never rolled back (gaps are fine)."""
        counters = self._database()[COUNTERS]
        try:
            doc = await bump_counter(counters, name, n, self._ms)
        except DuplicateKeyError:  # two first-ever upserts raced; the loser tries again
            doc = await bump_counter(counters, name, n, self._ms)
        return int(doc["seq"]) - n + 1

    async def update(
        self,
        res: Resource,
        id: int,
        values: Row,
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> Row:
        layout = self._layouts[res.name]
        if not _INT64_MIN <= id <= _INT64_MAX:
            raise NotFound()
        changes = layout.encode(values)
        where = _by_id(layout, id, owner)
        if expected_version is not None:
            where[VERSION] = expected_version
        update: Doc = {"$inc": {VERSION: 1}}
        if changes:
            update["$set"] = changes
        references = [f for f in res.references if changes.get(f.name) is not None]
        coll = self._colls[res.name]
        try:
            if not references:
                doc = await coll.find_one_and_update(
                    where,
                    update,
                    layout.projection,
                    return_document=ReturnDocument.AFTER,
                    maxTimeMS=self._ms,
                )
                if doc is None:
                    raise await self._missing(coll, where, expected_version)
                return layout.row(doc)
            await self._check_targets(layout, [changes])
            before = await coll.find_one_and_update(
                where, update, return_document=ReturnDocument.BEFORE, maxTimeMS=self._ms
            )
            if before is None:
                raise await self._missing(coll, where, expected_version)
            after = {**before, **changes, VERSION: int(before[VERSION]) + 1}
            try:
                await self._check_targets(layout, [changes])
            except ReferenceConflict:
                undo = {"$set": {k: before.get(k) for k in changes}, "$inc": {VERSION: 1}}
                await coll.update_one({"_id": id, VERSION: after[VERSION]}, undo)
                raise
            return layout.row(after)
        except PyMongoError as exc:
            details = duplicate_details(exc)
            if details is None:
                raise translate(exc, layout) from exc
            raise Conflict(conflict_field(layout, details)) from exc

    async def delete(
        self,
        res: Resource,
        id: int,
        expected_version: int | None,
        owner: OwnerFilter | None = None,
    ) -> None:
        layout = self._layouts[res.name]
        if not _INT64_MIN <= id <= _INT64_MAX:
            raise NotFound()
        coll = self._colls[res.name]
        where = _by_id(layout, id, owner)
        if expected_version is not None:
            where[VERSION] = expected_version
        try:
            if not self._incoming[res.name]:
                gone = await coll.find_one_and_delete(where, {"_id": 1}, maxTimeMS=self._ms)
                if gone is None:
                    raise await self._missing(coll, where, expected_version)
                return
            # Same precedence as SQL: no row, then stale version, then still referenced.
            mine = {k: v for k, v in where.items() if k != VERSION}
            current = await coll.find_one(mine, {VERSION: 1}, max_time_ms=self._ms)
            if current is None:
                raise NotFound()
            if expected_version is not None and current.get(VERSION) != expected_version:
                raise PreconditionFailed()
            await self._check_unreferenced(res.name, id)
            doc = await coll.find_one_and_delete(where, maxTimeMS=self._ms)
            if doc is None:
                raise await self._missing(coll, where, expected_version)
            try:
                await self._check_unreferenced(res.name, id)
            except ReferenceConflict:
                await restore(coll, doc)
                raise
        except PyMongoError as exc:
            raise translate(exc, layout) from exc

    # -- helpers -----------------------------------------------------------------------

    async def _missing(
        self, coll: AsyncCollection[Doc], where: Doc, expected_version: int | None
    ) -> NotFound | PreconditionFailed:
        """Why a write filtered by id (owner, version) matched nothing: another owner's
        row is missing (the owner condition stays)."""
        if expected_version is None:
            return NotFound()
        mine = {k: v for k, v in where.items() if k != VERSION}
        exists = await coll.find_one(mine, {"_id": 1}, max_time_ms=self._ms)
        return NotFound() if exists is None else PreconditionFailed()

    async def _check_targets(self, layout: Layout, values: Iterable[Doc]) -> None:
        """ReferenceConflict(missing_target=True) when a referenced row does not exist."""
        rows = list(values)
        for f in layout.res.references:
            assert f.references is not None
            wanted = {v[f.name] for v in rows if v.get(f.name) is not None}
            if not wanted:
                continue
            if not all(_INT64_MIN <= v <= _INT64_MAX for v in wanted):
                raise ReferenceConflict(layout.name, f.name, missing_target=True)
            target = self._colls[f.references]
            cursor = target.find({"_id": {"$in": sorted(wanted)}}, {"_id": 1}, max_time_ms=self._ms)
            found = await cursor.to_list()
            if len(found) < len(wanted):
                raise ReferenceConflict(layout.name, f.name, missing_target=True)

    async def _check_unreferenced(self, name: str, id: int) -> None:
        """ReferenceConflict(missing_target=False) when some row still references ``id``."""
        for source, f in self._incoming[name]:
            where: Doc = {f.name: id}
            if source.name == name:  # a row referencing itself goes away with itself
                where["_id"] = {"$ne": id}
            found = await self._colls[source.name].find_one(where, {"_id": 1}, max_time_ms=self._ms)
            if found is not None:
                raise ReferenceConflict(source.name, f.name, missing_target=False)


def _by_id(layout: Layout, id: int, owner: OwnerFilter | None) -> Doc:
    if owner is None:
        return {"_id": id}
    return {"_id": id, **layout.encode({owner[0]: owner[1]})}
