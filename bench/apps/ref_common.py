"""The hand-written reference: FastAPI routes straight on a raw driver, orjson bodies.

It answers the benchmark's four requests with the same bytes omnicrud sends (same keys,
same order, datetimes as ``YYYY-MM-DDTHH:MM:SS.mmmZ``, the same signed ``next_cursor``), and
does the least work a careful hand-written endpoint would: one statement per request,
pydantic-core validation of bodies, no ORM.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import os
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

UTC = dt.UTC
COLUMNS = ("id", "name", "description", "price", "created_at", "updated_at")
"""Output keys in omnicrud's order; single-row reads add ``_version`` (the ETag)."""
USER_FIELDS = ("name", "description", "price")
POST_COLUMNS = ("id", "title", "body", "owner_id", "created_at", "updated_at")
USER_COLUMNS = ("id", "username", "email", "full_name", "is_active", "created_at", "updated_at")
JSON = "application/json"
_SECRET = os.environ.get("OMNICRUD_CURSOR_SECRET", "omnicrud")
"""The harness gives every server one secret: omnicrud's own default is random per database."""
_KEY = hashlib.sha256(b"omnicrud-cursor\0" + _SECRET.encode()).digest()  # omnicrud's derivation


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)
    price: float = Field(ge=0)


Row = dict[str, Any]


class Store(Protocol):
    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    async def get(self, item_id: int) -> Row | None: ...
    async def list(self, prefix: str, limit: int) -> list[Row]: ...
    async def create(self, values: Row) -> Row: ...
    async def update(self, item_id: int, values: Row) -> Row | None: ...
    async def posts(self, after: int, limit: int) -> list[Row]: ...
    async def users(self, ids: list[int]) -> list[Row]: ...


def now() -> dt.datetime:
    value = dt.datetime.now(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def wire_time(value: dt.datetime) -> str:
    """Naive values are UTC already (MySQL DATETIME, BSON dates)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}Z"
    )


def like_prefix(prefix: str, escape: str = "\\") -> str:
    for char in (escape, "%", "_"):
        prefix = prefix.replace(char, escape + char)
    return prefix + "%"


def next_cursor(row: Row) -> str:
    body = orjson.dumps(["items", "-price,id", [row["price"], row["id"]]])
    tag = hmac.new(_KEY, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode()


def post_cursor(row: Row) -> str:
    body = orjson.dumps(["posts", "id", [row["id"]]])
    tag = hmac.new(_KEY, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode()


def _problem(status: int, title: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": title}
    return Response(orjson.dumps(body), status, media_type="application/problem+json")


def _row_response(row: Row, status: int = 200) -> Response:
    version = row.pop("_version")
    headers = {"ETag": f'"{version}"'}
    if status == 201:
        headers["Location"] = f"/items/{row['id']}"
    return Response(orjson.dumps(row), status, headers=headers, media_type=JSON)


def build(store: Store) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.connect()
        yield
        await store.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> Response:
        row = await store.get(item_id)
        if row is None:
            return _problem(404, "Not Found")
        return _row_response(row)

    @app.get("/items")
    async def list_items(name__startswith: str, sort: str = "-price", limit: int = 50) -> Response:
        if sort != "-price" or not 1 <= limit <= 1000:
            return _problem(400, "only sort=-price and 1 <= limit <= 1000")
        rows = await store.list(name__startswith, limit + 1)
        cursor = next_cursor(rows[limit - 1]) if len(rows) > limit else None
        body = {"items": rows[:limit], "next_cursor": cursor, "total": None}
        return Response(orjson.dumps(body), media_type=JSON)

    @app.get("/posts")
    async def list_posts(id__gt: int = 0, limit: int = 50, expand: str | None = None) -> Response:
        """A page of posts by id, with ``expand=owner`` the same two statements omnicrud
        runs: the page, then the distinct owners in one ``IN`` list."""
        if expand not in (None, "owner") or not 1 <= limit <= 1000:
            return _problem(400, "only expand=owner and 1 <= limit <= 1000")
        rows = await store.posts(id__gt, limit + 1)
        cursor = post_cursor(rows[limit - 1]) if len(rows) > limit else None
        rows = rows[:limit]
        if expand:
            ids = list(dict.fromkeys(r["owner_id"] for r in rows))
            owners = {u["id"]: u for u in await store.users(ids)} if ids else {}
            for row in rows:
                row["owner"] = owners.get(row["owner_id"])
        body = {"items": rows, "next_cursor": cursor, "total": None}
        return Response(orjson.dumps(body), media_type=JSON)

    @app.post("/items")
    async def create_item(request: Request) -> Response:
        try:
            item = ItemIn.model_validate_json(await request.body())
        except ValidationError:
            return _problem(422, "Unprocessable Content")
        values = item.model_dump()
        values["created_at"] = values["updated_at"] = now()
        return _row_response(await store.create(values), 201)

    @app.patch("/items/{item_id}")
    async def patch_item(item_id: int, request: Request) -> Response:
        try:
            patch = orjson.loads(await request.body())
            if not isinstance(patch, dict) or not patch or not set(patch) <= set(USER_FIELDS):
                raise ValueError
            # Validate the patched fields with the same model (placeholders for the rest).
            ItemIn.model_validate({"name": "x", "price": 0.0, **patch})
        except (ValueError, ValidationError):
            return _problem(422, "Unprocessable Content")
        patch["updated_at"] = now()
        row = await store.update(item_id, patch)
        if row is None:
            return _problem(404, "Not Found")
        return _row_response(row)

    return app
