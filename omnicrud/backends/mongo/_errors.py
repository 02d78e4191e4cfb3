"""PyMongo exceptions -> domain errors. No driver exception leaves this backend."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from omnicrud.core.errors import Conflict, OmnicrudError, StorageError, Unavailable

from ._layout import Layout

log = logging.getLogger("omnicrud.backends.mongo")

DUPLICATE_KEY = 11000
_INDEX_NAME = re.compile(r"index: (\S+) dup key")


def duplicate_details(exc: PyMongoError) -> Mapping[str, Any] | None:
    """The write error describing a duplicate key, if ``exc`` is one."""
    if isinstance(exc, BulkWriteError):
        for error in exc.details.get("writeErrors", ()):
            if error.get("code") == DUPLICATE_KEY:
                return error  # type: ignore[no-any-return]
        return None
    if isinstance(exc, OperationFailure) and exc.code == DUPLICATE_KEY:
        return exc.details or {}
    return None


def conflict_field(layout: Layout, details: Mapping[str, Any]) -> str:
    pattern = details.get("keyPattern")
    if isinstance(pattern, Mapping) and pattern:
        key = str(next(iter(pattern)))
        return "id" if key == "_id" else key
    match = _INDEX_NAME.search(str(details.get("errmsg", "")))
    if match:
        name = match.group(1)
        if name == "_id_":
            return "id"
        if name in layout.unique_by_index:
            return layout.unique_by_index[name]
    return "id"


def translate(exc: PyMongoError, layout: Layout | None) -> OmnicrudError:
    """The domain error for a driver error: Conflict for duplicate keys; Unavailable for
    timeouts, lost connections, failed server selection and elections (ConnectionFailure
    covers NotPrimaryError); StorageError for anything the server refused for reasons of
    its own — as on the SQL backends."""
    details = duplicate_details(exc)
    if details is not None and layout is not None:
        return Conflict(conflict_field(layout, details))
    if isinstance(exc, ConnectionFailure) or getattr(exc, "timeout", False):
        log.warning("MongoDB unreachable or too slow: %s", type(exc).__name__)
        return Unavailable("the database did not answer in time")
    log.error("MongoDB refused an operation: %r", exc)
    return StorageError("the database failed to run the operation")


_AUTHENTICATION_FAILED = 18


def connect_reason(exc: PyMongoError) -> str:
    """Why the first command failed, in words an operator acts on (no driver text: the
    topology description it carries names every host and its error)."""
    if isinstance(exc, OperationFailure) and exc.code == _AUTHENTICATION_FAILED:
        return "authentication failed"
    if isinstance(exc, ServerSelectionTimeoutError):
        return "no server answered (refused, unreachable or timed out)"
    if getattr(exc, "timeout", False):
        return "timed out"
    return "cannot be reached"
