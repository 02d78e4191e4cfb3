"""``_omnicrud_settings``: deployment-wide values (the generated cursor secret) in their own
collection; the first upsert wins and every process reads the winner's value."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from omnicrud.core.keys import SETTINGS_TABLE

from ._errors import translate


async def shared_setting(db: AsyncDatabase[Any], name: str, candidate: str, ms: int) -> str:
    coll = db[SETTINGS_TABLE]
    for attempt in range(3):
        try:
            doc = await coll.find_one_and_update(
                {"_id": name},
                {"$setOnInsert": {"value": candidate}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                maxTimeMS=ms,
            )
            assert doc is not None  # upsert with AFTER returns the document
            return str(doc["value"])
        except DuplicateKeyError:  # a concurrent upsert inserted it first: read theirs
            if attempt == 2:
                raise
        except PyMongoError as exc:
            raise translate(exc, None) from exc
    raise AssertionError("unreachable")
