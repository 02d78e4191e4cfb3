"""``crud_router(resource)``: the one router serving every resource on every backend.

It speaks only HTTP: it reads headers, bodies and query parameters, calls the resource's
``CrudService`` and turns rows (wire-ready, from Storage) into responses with
``orjson.dumps``. It never knows which database it talks to.
"""

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from omnicrud.auth import Authenticator
from omnicrud.config import Settings
from omnicrud.core.query import MAX_OFFSET
from omnicrud.core.resources import VERSION, Resource
from omnicrud.core.storage import Row

from . import openapi
from .body import JSON, MERGE_PATCH, read_json
from .conditional import etag, if_match, none_match
from .deps import storage_of
from .inputs import check_bulk, require_object
from .security import OPEN, Access
from .service import CrudService, Page

JSON_TYPE = "application/json"
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


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


def expand_param(request: Request) -> str | None:
    """``?expand=`` (declared in the OpenAPI document by ``openapi``; read here, off
    FastAPI's parameter parsing, so the hot path pays nothing for it)."""
    if not request.scope["query_string"]:
        return None
    values = request.query_params.getlist("expand")
    return ",".join(values) if values else None


def page_dependency(settings: Settings) -> Callable[..., Page]:
    """The list routes' query parameters other than filters (a resource's own lists and the
    nested ones, GET and HEAD). The direct lane reads the same ones for the plain case."""

    def page(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=settings.max_limit)] = settings.default_limit,
        offset: Annotated[int | None, Query(ge=0, le=MAX_OFFSET)] = None,
        skip: Annotated[
            int | None, Query(ge=0, le=MAX_OFFSET, description="Alias of offset.")
        ] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of a page.")] = None,
        sort: Annotated[
            str | None, Query(description="Sort keys, - for descending, e.g. -id")
        ] = None,
        fields: Annotated[str | None, Query(description="Fields to return, e.g. id")] = None,
        count: Annotated[bool, Query(description="Count all matching rows.")] = False,
    ) -> Page:
        return Page(limit, offset, skip, cursor, sort, fields, count, expand_param(request))

    return page


def crud_router(
    res: Resource,
    settings: Settings,
    authenticator: Authenticator | None = None,
    service: CrudService | None = None,
) -> APIRouter:
    """With an enabled ``authenticator`` every route resolves its caller and checks the
    route's scope before anything else; otherwise that is one flag check per request.
    ``service``: the resource's CrudService, shared with relations and MCP."""
    router = APIRouter(tags=[res.name])
    base = f"/{res.name}"
    access = Access(authenticator or Authenticator(), res)
    auth = access.enabled
    service = service or CrudService(res, settings, auth)
    docs = openapi.RouteDocs(res, service.relations)

    @router.post(base, status_code=201, **docs.create())
    async def create(request: Request) -> Response:
        who = await access.caller(request, "write") if auth else OPEN
        storage = storage_of(request)
        body = await read_json(request, JSON, settings.max_body_bytes)
        if isinstance(body, list):
            check_bulk(body, settings.max_bulk)
            created = await service.create(storage, body, who)
            for row in created:
                del row[VERSION]
            return _json(created, 201)
        row = await service.create_one(storage, body, who)
        return _single(row, 201, {"Location": f"/{res.name}/{row['id']}"})

    async def list_rows(request: Request, page: Page) -> Response:
        who = await access.caller(request, "read") if auth else OPEN
        storage = storage_of(request)
        body = await service.list(storage, request.query_params.multi_items(), page, who)
        return _json(body)

    page_of = page_dependency(settings)

    @router.get(base, **docs.list())
    async def list_(request: Request, page: Annotated[Page, Depends(page_of)]) -> Response:
        return await list_rows(request, page)

    @router.head(base, **docs.head_list())
    async def head_list(request: Request, page: Annotated[Page, Depends(page_of)]) -> Response:
        return _head(await list_rows(request, page))

    async def read(request: Request, id: int) -> Response:
        who = await access.caller(request, "read") if auth else OPEN
        expand = expand_param(request)
        if expand is not None:  # a composite of several rows: no single version, no ETag
            return _json(await service.get_expanded(storage_of(request), id, expand, who))
        row = await service.get(storage_of(request), id, who)
        tag = etag(row.pop(VERSION))
        if none_match(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers={"ETag": tag})
        return _json(row, headers={"ETag": tag})

    @router.get(base + "/{id}", **docs.read())
    async def read_one(request: Request, id: RowId) -> Response:
        return await read(request, id)

    @router.head(base + "/{id}", **docs.head_one())
    async def head_one(request: Request, id: RowId) -> Response:
        return _head(await read(request, id))

    @router.put(base + "/{id}", **docs.replace())
    async def replace(request: Request, id: RowId) -> Response:
        who = await access.caller(request, "write") if auth else OPEN
        storage = storage_of(request)
        cond = if_match(request, settings.require_if_match)
        body = await read_json(request, JSON, settings.max_body_bytes)
        return _single(await service.replace(storage, id, body, cond, who))

    @router.patch(base + "/{id}", **docs.patch())
    async def patch(request: Request, id: RowId) -> Response:
        who = await access.caller(request, "write") if auth else OPEN
        storage = storage_of(request)
        cond = if_match(request, settings.require_if_match)
        changes = require_object(await read_json(request, MERGE_PATCH, settings.max_body_bytes))
        return _single(await service.patch(storage, id, changes, cond, who))

    @router.delete(base + "/{id}", status_code=204, **docs.delete())
    async def delete(request: Request, id: RowId) -> Response:
        who = await access.caller(request, "write") if auth else OPEN
        storage = storage_of(request)
        cond = if_match(request, settings.require_if_match)
        await service.delete(storage, id, cond, who)
        return Response(status_code=204)

    return router
