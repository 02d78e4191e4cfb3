"""Peer: FastCRUD's ``crud_router`` on omnicrud's ``items`` table (SQLAlchemy async ORM)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastcrud import FilterConfig, crud_router
from peer_table import items_table, sqlalchemy_url
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

BACKEND = os.environ["BENCH_BACKEND"]
DRIVERS = {"postgres": "asyncpg", "mysql": "aiomysql", "sqlite": "aiosqlite"}


class Base(DeclarativeBase):
    pass


class Item(Base):
    __table__ = items_table(BACKEND, Base.metadata)


class ItemCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)
    price: float = Field(ge=0)


class ItemUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)
    price: float | None = Field(None, ge=0)


class ItemRead(BaseModel):
    id: int
    name: str
    description: str | None
    price: float
    created_at: dt.datetime
    updated_at: dt.datetime


url = sqlalchemy_url(BACKEND, os.environ["BENCH_URL"], DRIVERS[BACKEND])
engine = create_async_engine(url, pool_size=64, max_overflow=0)
sessions = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


app = FastAPI()
app.include_router(
    crud_router(
        session=get_session,
        model=Item,
        create_schema=ItemCreate,
        update_schema=ItemUpdate,
        select_schema=ItemRead,
        path="/items",
        tags=["items"],
        filter_config=FilterConfig(name__startswith=None),
    )
)
