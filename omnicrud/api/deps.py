"""The ``get_storage`` dependency: the one Storage opened by the app's lifespan."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from omnicrud.core.storage import Storage


async def get_storage(request: Request) -> Storage:
    # async on purpose: FastAPI runs a plain-def dependency in a worker thread per request.
    return cast(Storage, request.app.state.storage)


StorageDep = Annotated[Storage, Depends(get_storage)]
"""For routes of your own next to the CRUD ones: ``async def f(storage: StorageDep)``."""


def storage_of(request: Request) -> Storage:
    """The CRUD router's way to the same Storage: FastAPI's dependency resolution costs
    about 70 µs per request, a third of a primary-key GET, so the hot path skips it."""
    return cast(Storage, request.app.state.storage)
