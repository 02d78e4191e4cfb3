"""The auth package's stores on MongoDB: API keys, login throttling, accounts (CONTRACT §7).

Two collections omnicrud owns, ``_omnicrud_api_keys`` (``_id`` = the key's id, a unique
index on ``name``) and ``_omnicrud_login_throttle`` (``_id`` = the throttle key), created
by the schema manager (``ensure_collections``). Times are epoch seconds (doubles), as on
the SQL backends. A throttle ``hit`` is one ``findOneAndUpdate`` with an update pipeline
and ``upsert``: atomic on the server, so concurrent processes never lose a count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from omnicrud.auth import Account, KeyRecord, ThrottleState
from omnicrud.core.errors import Conflict
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Storage

from ._errors import translate
from ._layout import key_of
from ._storage import MongoStorage

Doc = dict[str, Any]
KEYS = "_omnicrud_api_keys"
THROTTLE = "_omnicrud_login_throttle"
NAME_INDEX = "omnicrud_unique_name"
_NAMESPACE_EXISTS = 48


async def ensure_collections(db: Any) -> list[str]:
    """Create the collections and index omnicrud owns when missing; what was created."""
    existing = set(await db.list_collection_names())
    made: list[str] = []
    for name in (KEYS, THROTTLE):
        if name not in existing:
            try:
                await db.command("create", name)
            except OperationFailure as exc:
                if exc.code != _NAMESPACE_EXISTS:
                    raise
            made.append(f"created collection {name}")
    await db[KEYS].create_index([("name", ASCENDING)], name=NAME_INDEX, unique=True)
    return made


def _time(value: Any) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(float(value), dt.UTC)


def _record(doc: Doc) -> KeyRecord:
    created = _time(doc["created_at"])
    assert created is not None
    scopes = frozenset(str(doc["scopes"]).split())
    return KeyRecord(
        str(doc["_id"]),
        str(doc["name"]),
        str(doc["hash"]),
        scopes,
        created,
        doc.get("subject"),
        _time(doc.get("revoked_at")),
    )


class MongoAuthStore:
    """KeyStore, ThrottleStore and AccountStore on a connected MongoDB storage."""

    def __init__(self, storage: Storage) -> None:
        if not isinstance(storage, MongoStorage):
            raise TypeError("the MongoDB auth store needs a MongoDB storage")
        self._storage = storage
        self._ms = int(storage._settings.query_timeout * 1000)

    def _coll(self, name: str) -> AsyncCollection[Doc]:
        return self._storage.database()[name]

    # ---- KeyStore

    async def create_key(self, record: KeyRecord) -> None:
        doc: Doc = {
            "_id": record.id,
            "name": record.name,
            "hash": record.hash,
            "scopes": " ".join(sorted(record.scopes)),
            "subject": record.subject,
            "created_at": record.created_at.timestamp(),
            "revoked_at": None if record.revoked_at is None else record.revoked_at.timestamp(),
        }
        try:
            await self._coll(KEYS).insert_one(doc)
        except DuplicateKeyError as exc:
            raise Conflict("name") from exc
        except PyMongoError as exc:
            raise translate(exc, None) from exc

    async def list_keys(self) -> list[KeyRecord]:
        try:
            cursor = self._coll(KEYS).find({}, sort=[("created_at", 1), ("_id", 1)])
            return [_record(doc) for doc in await cursor.to_list()]
        except PyMongoError as exc:
            raise translate(exc, None) from exc

    async def revoke_key(self, name: str, at: dt.datetime) -> bool:
        try:
            result = await self._coll(KEYS).update_one(
                {"name": name, "revoked_at": None}, {"$set": {"revoked_at": at.timestamp()}}
            )
        except PyMongoError as exc:
            raise translate(exc, None) from exc
        return result.modified_count > 0

    async def get_key(self, key_id: str) -> KeyRecord | None:
        try:
            doc = await self._coll(KEYS).find_one({"_id": key_id}, max_time_ms=self._ms)
        except PyMongoError as exc:
            raise translate(exc, None) from exc
        return None if doc is None else _record(doc)

    # ---- ThrottleStore

    async def peek(self, key: str) -> ThrottleState | None:
        try:
            doc = await self._coll(THROTTLE).find_one({"_id": key}, max_time_ms=self._ms)
        except PyMongoError as exc:
            raise translate(exc, None) from exc
        return None if doc is None else _state(doc)

    async def hit(self, key: str, now: dt.datetime, window: float) -> ThrottleState:
        at = now.timestamp()
        live = {"$gt": ["$window_start", at - window]}  # a missing document is not live
        update = [
            {
                "$set": {
                    "failures": {"$cond": [live, {"$add": ["$failures", 1]}, 1]},
                    "window_start": {"$cond": [live, "$window_start", at]},
                }
            }
        ]
        coll = self._coll(THROTTLE)
        try:
            try:
                doc = await coll.find_one_and_update(
                    {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
                )
            except DuplicateKeyError:  # two first-ever upserts raced; the loser retries
                doc = await coll.find_one_and_update(
                    {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
                )
        except PyMongoError as exc:
            raise translate(exc, None) from exc
        return ThrottleState(1, now) if doc is None else _state(doc)

    async def clear(self, key: str) -> None:
        try:
            await self._coll(THROTTLE).delete_one({"_id": key})
        except PyMongoError as exc:
            raise translate(exc, None) from exc

    async def purge(self, before: dt.datetime) -> None:
        try:
            await self._coll(THROTTLE).delete_many({"window_start": {"$lt": before.timestamp()}})
        except PyMongoError as exc:
            raise translate(exc, None) from exc

    # ---- AccountStore

    async def find_account(self, res: Resource, username: str) -> Account | None:
        spec = res.accounts
        assert spec is not None
        fields = [spec.password] + ([spec.active] if spec.active else [])
        projection = {key_of(f): 1 for f in fields}
        try:
            doc = await self._coll(res.name).find_one(
                {key_of(spec.username): username}, projection, max_time_ms=self._ms
            )
        except PyMongoError as exc:
            raise translate(exc, None) from exc
        if doc is None or not isinstance(doc.get(spec.password), str):
            return None
        active = bool(doc.get(spec.active, True)) if spec.active else True
        return Account(str(doc["_id"]), doc[spec.password], active)


def _state(doc: Doc) -> ThrottleState:
    start = _time(doc["window_start"])
    assert start is not None
    return ThrottleState(int(doc["failures"]), start)
