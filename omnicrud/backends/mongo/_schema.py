"""MongoDB's SchemaManager: the collections follow the resource declarations.

There are no scripts: an upgrade creates the collections, drops and creates ``omnicrud_*``
indexes to match the markers, gives existing documents every declared field (its default,
or null), installs a ``$jsonSchema`` validator per collection and records the schema version
(a counter plus a fingerprint of the declarations) in ``_omnicrud_schema``. A lock document
there lets exactly one of several starting processes do it; the others wait, then find
nothing left to do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pymongo
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from omnicrud.core.errors import MigrationError, Unavailable
from omnicrud.core.resources import VERSION, FieldSpec, Resource
from omnicrud.core.schema import UPGRADE_HINT, SchemaStatus, SchemaTarget, required_message
from omnicrud.core.storage import Storage

from ._auth_store import ensure_collections
from ._errors import translate
from ._layout import index_specs
from ._storage import MongoStorage

Doc = dict[str, Any]

SCHEMA = "_omnicrud_schema"
SCHEMA_TIMEOUT = 300.0
"""Index builds may take long on big collections: upgrades run under this client-side
deadline (CSOT) instead of the per-query limit."""
"""Lock, current version and history documents (no resource name starts with ``_``)."""
LOCK_SECONDS = 600.0
_POLL = 0.1
_NAMESPACE_EXISTS = 48
_INDEX_NOT_FOUND = 27
_INDEX_CONFLICTS = (85, 86)
_BSON_TYPES: dict[str, list[str]] = {
    "int": ["int", "long"],
    "float": ["double", "int", "long"],  # integral numbers written by others read as floats
    "str": ["string"],
    "bool": ["bool"],
    "datetime": ["date"],
}
_PARTIAL_TYPE = {"str": "string", "int": "number", "float": "number", "bool": "bool"}


def fingerprint(resources: Sequence[Resource]) -> str:
    """Changes whenever a declaration that the database reflects changes."""
    shape = [
        [
            r.name,
            [
                [f.name, f.kind, f.nullable, repr(f.default), f.unique, f.indexed, f.references]
                for f in r.user_fields
            ],
        ]
        for r in resources
    ]
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]


def validator(res: Resource) -> Doc:
    """Every declared field of its kind; the non-nullable ones present (a nullable field may
    be missing: it reads as null)."""
    properties: Doc = {"_id": {"bsonType": _BSON_TYPES["int"]}}
    required = ["_id"]
    for f in res.fields[1:]:
        types = list(_BSON_TYPES[f.kind])
        if f.nullable:
            types.append("null")
        else:
            required.append(f.name)
        properties[f.name] = {"bsonType": types}
    properties[VERSION] = {"bsonType": _BSON_TYPES["int"]}
    required.append(VERSION)
    return {"$jsonSchema": {"bsonType": "object", "required": required, "properties": properties}}


def _backfill_value(f: FieldSpec) -> Any:
    return f.default if f.default is not None else None


@dataclass(frozen=True)
class Version:
    number: int
    fingerprint: str
    applied_at: str


async def current(db: AsyncDatabase[Doc]) -> Version | None:
    doc = await db[SCHEMA].find_one({"_id": "version"})
    if doc is None:
        return None
    return Version(int(doc["version"]), str(doc["fingerprint"]), str(doc["applied_at"]))


async def behind(db: AsyncDatabase[Doc], resources: Sequence[Resource]) -> str | None:
    """None when the database matches the declarations; else why, naming the command."""
    version = await current(db)
    if version is None:
        return f"the MongoDB schema was never applied: run {UPGRADE_HINT}"
    if version.fingerprint != fingerprint(resources):
        return (
            f"the MongoDB schema (version {version.number}) is behind the resource "
            f"declarations: run {UPGRADE_HINT}"
        )
    return None


async def _lock(db: AsyncDatabase[Doc]) -> str:
    owner = secrets.token_hex(8)
    coll = db[SCHEMA]
    deadline = time.monotonic() + LOCK_SECONDS
    while True:
        now = dt.datetime.now(dt.UTC)
        try:
            await coll.insert_one(
                {"_id": "lock", "owner": owner, "expires": now + dt.timedelta(seconds=LOCK_SECONDS)}
            )
            return owner
        except DuplicateKeyError:
            # A holder that died leaves its lock behind until it expires.
            await coll.delete_one({"_id": "lock", "expires": {"$lt": now}})
        if time.monotonic() > deadline:
            raise Unavailable("timed out waiting for another process's schema upgrade")
        await asyncio.sleep(_POLL)


async def _unlock(db: AsyncDatabase[Doc], owner: str) -> None:
    await db[SCHEMA].delete_one({"_id": "lock", "owner": owner})


async def _create_collection(db: AsyncDatabase[Doc], name: str) -> None:
    try:
        await db.command("create", name)
    except OperationFailure as exc:
        if exc.code != _NAMESPACE_EXISTS:
            raise


async def _sync_indexes(db: AsyncDatabase[Doc], res: Resource) -> list[str]:
    coll = db[res.name]
    wanted = index_specs(res)
    names = {name for name, _, _ in wanted}
    changes: list[str] = []
    existing = await coll.index_information()
    for name in existing:
        if name.startswith("omnicrud_") and name not in names:
            await coll.drop_index(name)
            changes.append(f"dropped index {res.name}.{name}")
    for name, f, unique in wanted:
        options: Doc = {"name": name}
        if unique:
            options["unique"] = True
            if f.nullable:  # SQL UNIQUE lets many rows hold NULL; index only real values
                options["partialFilterExpression"] = {f.name: {"$type": _PARTIAL_TYPE[f.kind]}}
        keys = [(f.name, pymongo.ASCENDING)]
        try:
            await coll.create_index(keys, **options)
        except OperationFailure as exc:
            if exc.code not in _INDEX_CONFLICTS:
                raise
            await coll.drop_index(name)  # declared differently now (e.g. became nullable)
            await coll.create_index(keys, **options)
        if name not in existing:
            changes.append(f"created index {res.name}.{name}")
    return changes


async def _missing_required(db: AsyncDatabase[Doc], resources: Sequence[Resource]) -> list[str]:
    bad: list[str] = []
    for res in resources:
        for f in res.user_fields:
            if (
                not f.nullable
                and f.default is None
                and await db[res.name].find_one({f.name: {"$exists": False}}, {"_id": 1})
            ):
                bad.append(f"{res.name}.{f.name}")
    return bad


async def _backfill(db: AsyncDatabase[Doc], res: Resource) -> int:
    changed = 0
    for f in res.user_fields:
        result = await db[res.name].update_many(
            {f.name: {"$exists": False}}, {"$set": {f.name: _backfill_value(f)}}
        )
        changed += result.modified_count
    return changed


async def _upgrade(db: AsyncDatabase[Doc], resources: Sequence[Resource]) -> list[str]:
    """Bring the collections in line with the declarations; what changed (empty when
    nothing did). Safe when several processes race: one works, the others wait."""
    owner = await _lock(db)
    try:
        version = await current(db)
        wanted = fingerprint(resources)
        changes: list[str] = []
        existing = set(await db.list_collection_names())
        for res in resources:
            if res.name not in existing:
                await _create_collection(db, res.name)
                changes.append(f"created collection {res.name}")
            changes.extend(await _sync_indexes(db, res))
        if version is not None and version.fingerprint == wanted:
            return changes
        bad = await _missing_required(db, resources)
        if bad:
            raise MigrationError(required_message(bad))
        for res in resources:
            filled = await _backfill(db, res)
            if filled:
                changes.append(f"filled new fields in {filled} {res.name} documents")
            await db.command(
                "collMod",
                res.name,
                validator=validator(res),
                validationLevel="strict",
                validationAction="error",
            )
        number = 1 if version is None else version.number + 1
        applied = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        record = {"version": number, "fingerprint": wanted, "applied_at": applied}
        await db[SCHEMA].replace_one({"_id": "version"}, record, upsert=True)
        await db[SCHEMA].insert_one({"_id": f"v{number}", **record})
        changes.append(f"schema version {number}")
        return changes
    finally:
        await _unlock(db, owner)


async def _history(db: AsyncDatabase[Doc]) -> list[Version]:
    found: list[Version] = []
    async for doc in db[SCHEMA].find({"_id": {"$regex": "^v[0-9]+$"}}).sort("version", -1):
        found.append(Version(int(doc["version"]), str(doc["fingerprint"]), str(doc["applied_at"])))
    return found


def _scripts_only(command: str) -> MigrationError:
    return MigrationError(
        f"MongoDB has no migration scripts, so `db {command}` does not apply: "
        f"`{UPGRADE_HINT}` brings the collections in line with the resource declarations"
    )


class MongoSchema:
    """The SchemaManager of the MongoDB backend (on the storage's own client)."""

    def __init__(self, storage: Storage, target: SchemaTarget) -> None:
        if not isinstance(storage, MongoStorage):
            raise TypeError("the MongoDB schema manager needs a MongoDB storage")
        self._storage = storage
        self._resources = list(target.resources)

    async def upgrade(self, revision: str = "head") -> list[str]:
        if revision != "head":
            raise MigrationError("MongoDB upgrades always go to the declarations (no REV)")
        try:
            with pymongo.timeout(SCHEMA_TIMEOUT):
                changes = await _upgrade(self._storage.database(), self._resources)
                changes += await ensure_collections(self._storage.database())
                await self._storage.seed_counters()
        except PyMongoError as exc:
            raise translate(exc, None) from exc
        return changes

    async def status(self) -> SchemaStatus:
        try:
            db = self._storage.database()
            version = await current(db)
            late = await behind(db, self._resources)
        except PyMongoError as exc:
            raise translate(exc, None) from exc
        if version is None:
            return SchemaStatus("no schema version", late)
        at = (
            f"schema version {version.number} (fingerprint {version.fingerprint}, "
            f"applied {version.applied_at})"
        )
        return SchemaStatus(at if late else f"{at}: up to date", late)

    async def history(self) -> list[str]:
        try:
            found = await _history(self._storage.database())
        except PyMongoError as exc:
            raise translate(exc, None) from exc
        return [
            f"version {v.number}: fingerprint {v.fingerprint}, applied {v.applied_at}"
            for v in found
        ]

    async def downgrade(self, revision: str) -> list[str]:
        raise _scripts_only("downgrade")

    async def revision(self, message: str, autogenerate: bool) -> list[str]:
        raise _scripts_only("revision")

    async def stamp(self, revision: str) -> None:
        raise _scripts_only("stamp")
