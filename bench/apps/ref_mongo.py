"""Reference on PyMongo's AsyncMongoClient: ``_id`` is the integer id, BSON dates are UTC."""

from __future__ import annotations

import os
import re
from typing import Any

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.uri_parser import parse_uri
from ref_common import Row, build, wire_time

# omnicrud's id allocator: one counter document per collection (see backends/mongo).
COUNTERS = "_omnicrud_counters"
COUNTER_FIELD = "seq"
PROJECTION = {"name": 1, "description": 1, "price": 1, "created_at": 1, "updated_at": 1}
POST_FIELDS = ("title", "body", "owner_id")
USER_FIELDS = ("username", "email", "full_name", "is_active")


def _doc_row(doc: dict[str, Any], fields: tuple[str, ...]) -> Row:
    row: Row = {"id": doc["_id"]}
    for name in fields:
        row[name] = doc.get(name)
    row["created_at"] = wire_time(doc["created_at"])
    row["updated_at"] = wire_time(doc["updated_at"])
    return row


def _row(doc: dict[str, Any], version: bool = True) -> Row:
    row = {
        "id": doc["_id"],
        "name": doc["name"],
        "description": doc.get("description"),
        "price": doc["price"],
        "created_at": wire_time(doc["created_at"]),
        "updated_at": wire_time(doc["updated_at"]),
    }
    if version:
        row["_version"] = doc["_version"]
    return row


class MongoStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client: Any = None

    async def connect(self) -> None:
        self.client = AsyncMongoClient(
            self.url,
            maxPoolSize=int(os.environ.get("BENCH_POOL", "64")),
            tz_aware=False,
            journal=True,
        )
        db = self.client[parse_uri(self.url).get("database") or "omnicrud"]
        self.items = db["items"]
        self.counters = db[COUNTERS]
        self.posts_ = db["posts"]
        self.users_ = db["users"]

    async def close(self) -> None:
        await self.client.close()

    async def get(self, item_id: int) -> Row | None:
        doc = await self.items.find_one({"_id": item_id}, {**PROJECTION, "_version": 1})
        return None if doc is None else _row(doc)

    async def list(self, prefix: str, limit: int) -> list[Row]:
        cursor = (
            self.items.find({"name": {"$regex": "^" + re.escape(prefix)}}, PROJECTION)
            .sort([("price", -1), ("_id", 1)])
            .limit(limit)
        )
        return [_row(doc, version=False) async for doc in cursor]

    async def create(self, values: Row) -> Row:
        counter = await self.counters.find_one_and_update(
            {"_id": "items"},
            {"$inc": {COUNTER_FIELD: 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        doc = {"_id": counter[COUNTER_FIELD], **values, "_version": 1}
        await self.items.insert_one(doc)
        return _row(doc)

    async def update(self, item_id: int, values: Row) -> Row | None:
        doc = await self.items.find_one_and_update(
            {"_id": item_id},
            {"$set": values, "$inc": {"_version": 1}},
            projection={**PROJECTION, "_version": 1},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else _row(doc)

    async def posts(self, after: int, limit: int) -> list[Row]:
        projection = dict.fromkeys((*POST_FIELDS, "created_at", "updated_at"), 1)
        cursor = self.posts_.find({"_id": {"$gt": after}}, projection).sort("_id", 1).limit(limit)
        return [_doc_row(doc, POST_FIELDS) async for doc in cursor]

    async def users(self, ids: list[int]) -> list[Row]:
        projection = dict.fromkeys((*USER_FIELDS, "created_at", "updated_at"), 1)
        cursor = self.users_.find({"_id": {"$in": ids}}, projection)
        return [_doc_row(doc, USER_FIELDS) async for doc in cursor]


app = build(MongoStore(os.environ["BENCH_URL"]))
