"""The services of a deployment wired for relations, and the nested routes (CONTRACT §8):
``GET``/``HEAD``/``POST /{parent}/{id}/{relation}`` for every to-many relation.

A nested list is the child resource's list (every §4 feature) restricted to the parent; the
parent is read first through its own service (404 when it does not exist, or is not
visible to the caller). A nested create takes the reference from the path.
"""

from collections.abc import Sequence
from enum import Enum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from omnicrud.auth import Action, Authenticator
from omnicrud.config import Settings
from omnicrud.core.errors import NotFound
from omnicrud.core.keys import DeploymentKeys
from omnicrud.core.query import Cond
from omnicrud.core.relations import Relation, Relations
from omnicrud.core.resources import VERSION, Resource

from . import openapi
from .body import JSON, read_json
from .conditional import etag
from .deps import storage_of
from .expand import Expander
from .inputs import check_bulk
from .problems import validation_problem
from .router import JSON_TYPE, RowId, page_dependency
from .security import OPEN, Access, Caller
from .service import CrudService, Page


def build_services(
    resources: Sequence[Resource],
    settings: Settings,
    auth: bool = False,
    keys: DeploymentKeys | None = None,
) -> dict[str, CrudService]:
    """One CrudService per resource, sharing the relations and one expander (which reads
    embedded rows through these same services)."""
    relations = Relations(resources)
    services: dict[str, CrudService] = {}
    expander = Expander(services, settings.expand_limit)
    for res in resources:
        services[res.name] = CrudService(res, settings, auth, keys, relations, expander)
    return services


def _with_parent(
    body: Any, rel: Relation, parent: int, loc: list[str | int]
) -> tuple[Any, dict[str, Any] | None]:
    """``body`` with the reference set from the path; an error when it names another parent."""
    if not isinstance(body, dict) or rel.field not in body:
        return ({**body, rel.field: parent} if isinstance(body, dict) else body), None
    if body[rel.field] == parent and type(body[rel.field]) is int:
        return body, None
    error = {
        "loc": [*loc, rel.field],
        "msg": f"Must be {parent} (the parent in the path) or left out",
        "type": "parent_mismatch",
    }
    return body, error


def _nested_docs(docs: dict[str, Any], rel: Relation, op: str, summary: str) -> dict[str, Any]:
    """The child resource's route docs, renamed for the nested route, with the parent's 404."""
    extra = docs["openapi_extra"]
    responses = {**openapi.problem_responses("not-found"), **extra["responses"]}
    return {
        **docs,
        "operation_id": f"{op}_{rel.source}_{rel.name}",
        "summary": summary,
        "openapi_extra": {**extra, "responses": responses},
    }


def nested_router(
    services: dict[str, CrudService], settings: Settings, authenticator: Authenticator
) -> APIRouter:
    router = APIRouter()
    some = next(iter(services.values()), None)
    relations = some.relations if some is not None else Relations([])
    for rel in relations.to_many():
        _add_routes(router, services, rel, settings, authenticator)
    return router


def _add_routes(
    router: APIRouter,
    services: dict[str, CrudService],
    rel: Relation,
    settings: Settings,
    authenticator: Authenticator,
) -> None:
    """The parent must be visible to the caller (its read scope, its owner scoping: else
    404), and the child route's own scope and owner scoping apply to what is listed or
    created — the same Callers as the resources' own routes."""
    parent, child = services[rel.source], services[rel.target]
    parent_access = Access(authenticator, parent.res)
    child_access = Access(authenticator, child.res)
    auth = authenticator.enabled

    async def callers(request: Request, action: Action) -> tuple[Caller, Caller]:
        if not auth:
            return OPEN, OPEN
        return await parent_access.caller(request, "read"), await child_access.caller(
            request, action
        )

    path = f"/{rel.source}/{{id}}/{rel.name}"
    docs = openapi.RouteDocs(child.res, child.relations)
    tags: list[str | Enum] = [rel.source]
    page_of = page_dependency(settings)

    async def list_rows(request: Request, id: int, page: Page) -> Response:
        above, who = await callers(request, "read")
        storage = storage_of(request)
        await parent.get(storage, id, above)  # 404 when the parent does not exist
        params = request.query_params.multi_items()
        within = Cond(rel.field, "eq", id)
        body = await child.list(storage, params, page, who, within)
        return Response(orjson.dumps(body), 200, media_type=JSON_TYPE)

    @router.get(
        path,
        tags=tags,
        **_nested_docs(docs.list(), rel, "list", f"List the {rel.name} of one {rel.source} row"),
    )
    async def list_(
        request: Request, id: RowId, page: Annotated[Page, Depends(page_of)]
    ) -> Response:
        return await list_rows(request, id, page)

    @router.head(path, tags=tags, include_in_schema=False)
    async def head_list(
        request: Request, id: RowId, page: Annotated[Page, Depends(page_of)]
    ) -> Response:
        got = await list_rows(request, id, page)
        head = Response(b"", got.status_code, media_type=got.media_type)
        head.raw_headers = got.raw_headers
        return head

    create_docs = docs.create()
    summary = f"Create {rel.name} of one {rel.source} row (the reference comes from the path)"

    @router.post(
        path, status_code=201, tags=tags, **_nested_docs(create_docs, rel, "create", summary)
    )
    async def create(request: Request, id: RowId) -> Response:
        above, who = await callers(request, "write")
        storage = storage_of(request)
        body = await read_json(request, JSON, settings.max_body_bytes)
        await parent.get(storage, id, above)
        if rel.field in child.server_set:
            # The reference is the caller's own id (Owner() set from the token): the path
            # must name the caller, and the body may not send it (as on the child's route).
            if id != who.stamp:
                raise NotFound()
            return await _create(request, storage, body, rel, id, who, server_set=True)
        return await _create(request, storage, body, rel, id, who, server_set=False)

    async def _create(
        request: Request,
        storage: Any,
        body: Any,
        rel: Relation,
        id: int,
        who: Caller,
        server_set: bool,
    ) -> Response:
        if isinstance(body, list):
            check_bulk(body, settings.max_bulk)
            checked = [
                (b, None) if server_set else _with_parent(b, rel, id, ["body", i])
                for i, b in enumerate(body)
            ]
            errors = [e for _, e in checked if e is not None]
            if errors:
                raise validation_problem(errors)
            created = await child.create(storage, [b for b, _ in checked], who)
            for row in created:
                del row[VERSION]
            return Response(orjson.dumps(created), 201, media_type=JSON_TYPE)
        one, error = (body, None) if server_set else _with_parent(body, rel, id, ["body"])
        if error is not None:
            raise validation_problem([error])
        row = await child.create_one(storage, one, who)
        headers = {"ETag": etag(row.pop(VERSION)), "Location": f"/{rel.target}/{row['id']}"}
        return Response(orjson.dumps(row), 201, headers, JSON_TYPE)
