"""Peer: fastapi-crudrouter's ``DatabasesCRUDRouter`` (encode/databases) on ``items``.

Runs in its own venv (pydantic v1). The router has no filters or sorting on its list
route and no PATCH (updates are PUT of the whole item).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Optional

import databases
from fastapi import FastAPI
from fastapi_crudrouter import DatabasesCRUDRouter
from peer_table import items_table, now
from pydantic import BaseModel, Field

BACKEND = os.environ["BENCH_BACKEND"]
SCHEMES = {"postgres": "postgresql+asyncpg", "mysql": "mysql+aiomysql", "sqlite": "sqlite"}
Time = str if BACKEND == "sqlite" else dt.datetime


class ItemUpdate(BaseModel):
    name: str
    description: Optional[str] = None  # noqa: UP045 - pydantic v1 on purpose
    price: float
    # encode/databases ignores SQLAlchemy's Python-side column defaults: set them here.
    updated_at: dt.datetime = Field(default_factory=now)


class ItemCreate(ItemUpdate):
    created_at: dt.datetime = Field(default_factory=now)
    version: int = 1


class Item(BaseModel):
    id: int
    name: str
    description: Optional[str] = None  # noqa: UP045
    price: float
    created_at: Time  # type: ignore[valid-type]
    updated_at: Time  # type: ignore[valid-type]


url = SCHEMES[BACKEND] + "://" + os.environ["BENCH_URL"].partition("://")[2]
options = {} if BACKEND == "sqlite" else {"min_size": 4, "max_size": 64}
database = databases.Database(url, **options)
app = FastAPI()
app.include_router(
    DatabasesCRUDRouter(
        schema=Item,
        create_schema=ItemCreate,
        update_schema=ItemUpdate,
        table=items_table(BACKEND),
        database=database,
        prefix="items",
        delete_all_route=False,
    )
)


@app.on_event("startup")
async def startup() -> None:
    await database.connect()


@app.on_event("shutdown")
async def shutdown() -> None:
    await database.disconnect()
