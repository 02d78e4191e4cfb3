"""``crud_router(resource)``: the one router serving every resource on every backend.

It never knows which database it talks to: it validates, calls Storage, and serializes.
Rows from Storage are wire-ready, so responses are ``orjson.dumps`` of them, nothing more.
"""

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from omnicrud.config import Settings
from omnicrud.core.errors import BadQuery, Conflict, NotFound, PreconditionFailed
from omnicrud.core.query import (
    And,
    Cond,
    CursorCodec,
    Expr,
    ListQuery,
    parse_fields,
    parse_filters,
    parse_sort,
)
from omnicrud.core.resources import VERSION, Resource
from omnicrud.core.storage import Row, Storage
from omnicrud.core.values import now

from . import openapi
from .body import JSON, MERGE_PATCH, read_json
from .conditional import IfMatch, etag, if_match, none_match
from .deps import storage_of
from .inputs import (
    check,
    check_fields,
    fields_independent,
    hash_secrets,
    require_object,
    validate,
)
from .problems import Problem, validation_problem

JSON_TYPE = "application/json"
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PATCH_ATTEMPTS = 8
T = TypeVar("T")


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status, headers, JSON_TYPE)


def _head(response: Response) -> Response:
    """The GET response's headers without its body."""
    head = Response(b"", response.status_code, media_type=response.media_type)
    head.raw_headers = response.raw_headers
    return head


def _single(row: Row, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    tag = etag(row.pop(VERSION))
    return _json(row, status, {**(headers or {}), "ETag": tag})


async def _first_taken(
    storage: Storage, res: Resource, rows: list[Row], exclude: int | None, exc: Conflict
) -> Conflict:
    """The first declared unique field the write collides on.

    A database reports whichever unique index it checked first, which differs by backend;
    asking in declaration order makes the answer the same everywhere (error path only).
    """
    for f in res.user_fields:
        if not f.unique:
            continue
        values = [row[f.name] for row in rows if row.get(f.name) is not None]
        if len(set(values)) < len(values):
            return Conflict(f.name)
        for value in values:
            where: Expr = Cond(f.name, "eq", value)
            if exclude is not None:
                where = And((where, Cond("id", "ne", exclude)))
            if await storage.count(res, where):
                return Conflict(f.name)
    return exc


async def _expected(storage: Storage, res: Resource, id: int, cond: IfMatch | None) -> int | None:
    """The version a write must compare against (None: unconditional)."""
    if cond is None:
        return None
    if len(cond.versions) > 1 and not cond.any_row:
        row = await storage.get(res, id)
        if row is None:
            raise NotFound()
        if row[VERSION] not in cond.versions:
            raise PreconditionFailed()
        return int(row[VERSION])
    return cond.expected()


def crud_router(res: Resource, settings: Settings) -> APIRouter:
    router = APIRouter(tags=[res.name])
    base = f"/{res.name}"
    codec = CursorCodec(settings.cursor_secret)
    docs = openapi.RouteDocs(res)
    writable = {f.name for f in res.user_fields}
    independent = fields_independent(res.create_model)

    async def create_rows(bodies: list[Any], storage: Storage) -> list[Row]:
        rows: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        stamp = now()
        for i, body in enumerate(bodies):
            values, problems = validate(res.create_model, body, ("body", i))
            errors += problems
            if values is not None:
                rows.append({**values, "created_at": stamp, "updated_at": stamp})
        if errors:
            raise validation_problem(errors)
        await hash_secrets(res, rows)
        return await write(storage.create(res, rows), storage, rows, None)

    async def write(op: Awaitable[T], storage: Storage, rows: list[Row], id: int | None) -> T:
        try:
            return await op
        except Conflict as exc:
            raise await _first_taken(storage, res, rows, id, exc) from None

    @router.post(base, status_code=201, **docs.create())
    async def create(request: Request) -> Response:
        storage = storage_of(request)
        body = await read_json(request, JSON, settings.max_body_bytes)
        if isinstance(body, list):
            if not body:
                raise validation_problem(
                    [{"loc": ["body"], "msg": "List should not be empty", "type": "too_short"}]
                )
            if len(body) > settings.max_bulk:
                raise Problem("payload-too-large", f"at most {settings.max_bulk} rows per request")
            created = await create_rows(body, storage)
            for row in created:
                del row[VERSION]
            return _json(created, 201)
        values = check(res.create_model, body)
        stamp = now()
        row = {**values, "created_at": stamp, "updated_at": stamp}
        await hash_secrets(res, [row])
        (created_row,) = await write(storage.create(res, [row]), storage, [row], None)
        return _single(created_row, 201, {"Location": f"/{res.name}/{created_row['id']}"})

    async def list_rows(
        request: Request,
        storage: Storage,
        limit: int,
        offset: int | None,
        skip: int | None,
        cursor: str | None,
        sort: str | None,
        fields: str | None,
        count: bool,
    ) -> Response:
        if offset is not None and skip is not None:
            raise BadQuery("use offset or skip, not both", "skip")
        start = offset if offset is not None else (skip or 0)
        if cursor is not None and (offset is not None or skip is not None):
            raise BadQuery("cursor and offset cannot be used together", "cursor")
        filters = parse_filters(res, request.query_params.multi_items())
        keys = parse_sort(res, sort)
        shown = parse_fields(res, fields)
        needed = {k.field for k in keys}
        columns = tuple(n for n in res.readable if n in shown or n in needed)
        where: Expr | None = None
        if filters:
            where = And(tuple(filters)) if len(filters) > 1 else filters[0]
        seek = where
        if cursor is not None:
            after = codec.decode(res, keys, cursor)
            seek = after if where is None else And((where, after))
        query = ListQuery(seek, keys, columns, limit + 1, start)
        rows = await storage.list(res, query)
        next_cursor = None
        if len(rows) > limit:
            del rows[limit:]
            next_cursor = codec.encode(res, keys, rows[-1])
        if columns != shown:
            rows = [{k: row[k] for k in shown} for row in rows]
        total = await storage.count(res, where) if count else None
        return _json({"items": rows, "next_cursor": next_cursor, "total": total})

    @router.get(base, **docs.list())
    async def list_(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=settings.max_limit)] = settings.default_limit,
        offset: Annotated[int | None, Query(ge=0)] = None,
        skip: Annotated[int | None, Query(ge=0, description="Alias of offset.")] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of a page.")] = None,
        sort: Annotated[str | None, Query(description="e.g. -price,name")] = None,
        fields: Annotated[str | None, Query(description="e.g. id,name")] = None,
        count: Annotated[bool, Query(description="Count all matching rows.")] = False,
    ) -> Response:
        storage = storage_of(request)
        return await list_rows(request, storage, limit, offset, skip, cursor, sort, fields, count)

    @router.head(base, **docs.head_list())
    async def head_list(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=settings.max_limit)] = settings.default_limit,
        offset: Annotated[int | None, Query(ge=0)] = None,
        skip: Annotated[int | None, Query(ge=0)] = None,
        cursor: str | None = None,
        sort: str | None = None,
        fields: str | None = None,
        count: bool = False,
    ) -> Response:
        storage = storage_of(request)
        return _head(
            await list_rows(request, storage, limit, offset, skip, cursor, sort, fields, count)
        )

    async def read(request: Request, storage: Storage, id: int) -> Response:
        row = await storage.get(res, id)
        if row is None:
            raise NotFound()
        tag = etag(row.pop(VERSION))
        if none_match(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers={"ETag": tag})
        return _json(row, headers={"ETag": tag})

    @router.get(base + "/{id}", **docs.read())
    async def read_one(request: Request, id: RowId) -> Response:
        storage = storage_of(request)
        return await read(request, storage, id)

    @router.head(base + "/{id}", **docs.head_one())
    async def head_one(request: Request, id: RowId) -> Response:
        storage = storage_of(request)
        return _head(await read(request, storage, id))

    @router.put(base + "/{id}", **docs.replace())
    async def replace(request: Request, id: RowId) -> Response:
        storage = storage_of(request)
        cond = if_match(request, settings.require_if_match)
        body = await read_json(request, JSON, settings.max_body_bytes)
        values = check(res.create_model, body)
        values["updated_at"] = now()
        await hash_secrets(res, [values])
        expected = await _expected(storage, res, id, cond)
        return _single(
            await write(storage.update(res, id, values, expected), storage, [values], id)
        )

    @router.patch(base + "/{id}", **docs.patch())
    async def patch(request: Request, id: RowId) -> Response:
        storage = storage_of(request)
        cond = if_match(request, settings.require_if_match)
        changes = require_object(await read_json(request, MERGE_PATCH, settings.max_body_bytes))
        if independent:  # one UPDATE, no read: the compare-and-set still guards If-Match
            values = check_fields(res, changes)
            values["updated_at"] = now()
            await hash_secrets(res, [values])
            expected = await _expected(storage, res, id, cond)
            return _single(
                await write(storage.update(res, id, values, expected), storage, [values], id)
            )
        for attempt in range(PATCH_ATTEMPTS):
            current = await storage.get(res, id)
            if current is None:
                raise NotFound()
            version = current.pop(VERSION)
            if cond is not None and not cond.any_row and version not in cond.versions:
                raise PreconditionFailed()
            merged = {k: current[k] for k in writable if k in current}
            merged.update(changes)
            validated = check(res.update_model, merged)
            values = {k: validated[k] for k in changes if k in writable}
            values["updated_at"] = now()
            await hash_secrets(res, [values])
            try:
                updated = storage.update(res, id, values, version)
                return _single(await write(updated, storage, [values], id))
            except PreconditionFailed:
                # Someone wrote between our read and our write: without If-Match, merge the
                # patch onto their version instead of losing either update.
                if cond is not None or attempt == PATCH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    @router.delete(base + "/{id}", status_code=204, **docs.delete())
    async def delete(request: Request, id: RowId) -> Response:
        storage = storage_of(request)
        cond = if_match(request, settings.require_if_match)
        await storage.delete(res, id, await _expected(storage, res, id, cond))
        return Response(status_code=204)

    return router
