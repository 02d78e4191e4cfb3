"""All-or-nothing bulk inserts: in a transaction where the server has them, else insert
and undo on failure."""

from __future__ import annotations

import logging
from typing import Any

from pymongo import AsyncMongoClient, ReturnDocument, WriteConcern
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

log = logging.getLogger("omnicrud.backends.mongo")

Doc = dict[str, Any]
_TRANSACTION_ATTEMPTS = 3


async def insert_in_transaction(
    client: AsyncMongoClient[Doc] | None,
    coll: AsyncCollection[Doc],
    docs: list[Doc],
    write_concern: WriteConcern,
    max_ms: int,
) -> None:
    assert client is not None
    async with client.start_session() as session:
        for attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                await session.start_transaction(
                    write_concern=write_concern, max_commit_time_ms=max_ms
                )
                await coll.insert_many(docs, ordered=True, session=session)
                await _commit(session)
                return
            except PyMongoError as exc:
                if session.in_transaction:
                    await _abort(session)
                transient = exc.has_error_label("TransientTransactionError")
                if not transient or attempt == _TRANSACTION_ATTEMPTS - 1:
                    raise


async def _commit(session: AsyncClientSession) -> None:
    try:
        await session.commit_transaction()
    except PyMongoError as exc:
        if not exc.has_error_label("UnknownTransactionCommitResult"):
            raise
        await session.commit_transaction()  # committing again is safe by design


async def _abort(session: AsyncClientSession) -> None:
    try:
        await session.abort_transaction()
    except PyMongoError as exc:  # the server aborts it on its own in the end
        log.warning("abortTransaction failed: %r", exc)


async def insert_or_undo(coll: AsyncCollection[Doc], docs: list[Doc]) -> None:
    """All-or-nothing without transactions: insert in order, delete what got in on error.

    Other readers may see the first rows for the moment between the two.
    """
    try:
        await coll.insert_many(docs, ordered=True)
    except BulkWriteError as exc:
        inserted = int(exc.details.get("nInserted", 0))
        if inserted:
            await coll.delete_many({"_id": {"$in": [d["_id"] for d in docs[:inserted]]}})
        raise
    except PyMongoError:
        try:
            await coll.delete_many({"_id": {"$in": [d["_id"] for d in docs]}})
        except PyMongoError as undo:
            log.error("could not undo a failed bulk insert: %r", undo)
        raise


async def restore(coll: AsyncCollection[Doc], doc: Doc) -> None:
    """Put back a row deleted while a reference to it appeared (see ``_storage``)."""
    try:
        await coll.insert_one(doc)
    except PyMongoError as exc:  # e.g. its unique value was taken in the meantime
        row = doc.get("_id")
        log.error("could not restore %s row %s after a reference race: %r", coll.name, row, exc)


async def bump_counter(counters: AsyncCollection[Doc], name: str, n: int, max_ms: int) -> Doc:
    """Add ``n`` to the id counter ``name`` (created at 0); the counter document after."""
    doc = await counters.find_one_and_update(
        {"_id": name},
        {"$inc": {"seq": n}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        maxTimeMS=max_ms,
    )
    assert doc is not None  # upsert with return_document=AFTER always returns one
    return doc


async def seed_counter(
    coll: AsyncCollection[Doc], counters: AsyncCollection[Doc], name: str, max_ms: int
) -> None:
    """Raise the counter to the highest id present (rows written by other means)."""
    last = await coll.find_one({}, {"_id": 1}, sort=[("_id", -1)], max_time_ms=max_ms)
    highest = int(last["_id"]) if last is not None and isinstance(last["_id"], int) else 0
    for attempt in range(2):
        try:
            await counters.update_one({"_id": name}, {"$max": {"seq": highest}}, upsert=True)
            return
        except DuplicateKeyError:  # a concurrent upsert created it first
            if attempt:
                raise
