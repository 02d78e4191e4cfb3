"""BulkStorage on MongoDB: raw documents read in ``_id`` order, loaded with ``insert_many``
(in a transaction where the server has them, else inserted in order and undone on error),
and the ``_omnicrud_counters`` counter raised past the highest copied id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pymongo
from pymongo.errors import BulkWriteError, PyMongoError

from omnicrud.core.errors import Conflict
from omnicrud.core.resources import VERSION, Resource
from omnicrud.core.storage import Row
from omnicrud.core.transfer import RejectedRow
from omnicrud.core.values import UTC

from ._errors import conflict_field, duplicate_details, translate
from ._layout import encode_value, key_of
from ._storage import COUNTERS
from ._traced import TracedMongo
from ._writes import insert_in_transaction, insert_or_undo

Doc = dict[str, Any]


def _python(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if kind == "int":
        return int(value)  # bson.Int64 -> int
    if kind == "float":
        return float(value)
    return value


class MongoBulk(TracedMongo):
    async def dump(self, res: Resource, after_id: int, limit: int) -> list[Row]:
        layout = self._layouts[res.name]
        cursor = self._colls[res.name].find(
            {"_id": {"$gt": after_id}},
            sort=[("_id", 1)],
            limit=limit,
            batch_size=limit,
            max_time_ms=self._ms,
        )
        try:
            docs = await cursor.to_list()
        except PyMongoError as exc:
            raise translate(exc, layout) from exc
        keys = [(f.name, key_of(f.name)) for f in res.fields]
        out: list[Row] = [{name: doc.get(key) for name, key in keys} for doc in docs]
        for i, doc in enumerate(docs):
            out[i][VERSION] = int(doc[VERSION])
        for f in res.fields:
            if f.kind in ("datetime", "int", "float"):
                for row in out:
                    value = row[f.name]
                    if value is not None:
                        row[f.name] = _python(f.kind, value)
        return out

    def _documents(self, res: Resource, rows: Sequence[Row]) -> list[Doc]:
        docs: list[Doc] = []
        specs = res.fields[1:]
        for row in rows:
            doc: Doc = {"_id": int(row["id"])}
            for f in specs:
                try:
                    doc[f.name] = encode_value(f, row[f.name])
                except TypeError:
                    raise RejectedRow(
                        res.name, int(row["id"]), f.name, "has the wrong type"
                    ) from None
            doc[VERSION] = int(row[VERSION])
            docs.append(doc)
        return docs

    async def load(self, res: Resource, rows: Sequence[Row]) -> None:
        if not rows:
            return
        layout = self._layouts[res.name]
        docs = self._documents(res, rows)
        coll = self._colls[res.name]
        try:
            with pymongo.timeout(self._ms / 1000):
                if self.transactions:
                    await insert_in_transaction(
                        self._client, coll, docs, self._write_concern, self._ms
                    )
                else:
                    await insert_or_undo(coll, docs)
        except PyMongoError as exc:
            details = duplicate_details(exc)
            if details is not None:
                raise Conflict(conflict_field(layout, details)) from exc
            if isinstance(exc, BulkWriteError):
                for error in exc.details.get("writeErrors", ()):
                    index = int(error.get("index", 0))
                    field = _field_in(res, error)
                    raise RejectedRow(
                        res.name, int(rows[index]["id"]), field, "is refused"
                    ) from exc
            raise translate(exc, layout) from exc

    async def max_id(self, res: Resource) -> int | None:
        try:
            last = await self._colls[res.name].find_one(
                {}, {"_id": 1}, sort=[("_id", -1)], max_time_ms=self._ms
            )
        except PyMongoError as exc:
            raise translate(exc, self._layouts[res.name]) from exc
        return None if last is None else int(last["_id"])

    async def reserve_past(self, res: Resource, id: int) -> None:
        counters = self._database()[COUNTERS]
        try:
            await counters.update_one({"_id": res.name}, {"$max": {"seq": id}}, upsert=True)
        except PyMongoError as exc:
            raise translate(exc, None) from exc


def _field_in(res: Resource, error: Doc) -> str:
    """The field a document-validation error names (MongoDB 5+ ``errInfo``), if any."""
    text = str(error.get("errInfo", "")) + " " + str(error.get("errmsg", ""))
    for f in res.fields[1:]:
        if f"'{f.name}'" in text:
            return f.name
    return "?"
