"""The ``get_storage`` dependency: the one Storage opened by the app's lifespan."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from omnicrud.core.storage import Storage


def get_storage(request: Request) -> Storage:
    return cast(Storage, request.app.state.storage)


StorageDep = Annotated[Storage, Depends(get_storage)]
