"""The tool catalog: five tools per resource plus ``describe_resources``, each calling the
resource's ``CrudService`` exactly as the REST route does (no second path to the database).

Results are the JSON the REST API answers: a list page ``{items, next_cursor, total}``;
one row with its ``etag`` (the ETag header's value) as an extra member. Errors are raised
as the domain errors / problems the routes raise; ``server`` turns them into tool errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mcp.types as types

from omnicrud.api.conditional import IfMatch, etag
from omnicrud.api.inputs import require_object
from omnicrud.api.problems import Problem, validation_problem
from omnicrud.api.security import caller_for
from omnicrud.api.service import CrudService, Page
from omnicrud.auth import Action, Principal, allows, require
from omnicrud.config import Settings
from omnicrud.core.resources import VERSION, Resource
from omnicrud.core.storage import Row, Storage

from .schemas import (
    create_schema,
    delete_schema,
    describe,
    describe_schema,
    filter_params,
    get_schema,
    list_schema,
    update_schema,
)

Handler = Callable[[Storage, Principal, dict[str, Any]], Awaitable[dict[str, Any]]]
# Hints for clients (which tools need a human's confirmation): a merge patch overwrites what
# it names, so update is destructive too; neither update nor create is idempotent.
READ = types.ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True)
CREATE = types.ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False)
UPDATE = types.ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=False)
DELETE = types.ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True)
DESCRIBE = "describe_resources"


@dataclass(frozen=True, slots=True)
class Entry:
    tool: types.Tool
    resource: str | None  # None: describe_resources, open to anyone who may use any tool
    action: Action
    run: Handler


def _invalid(loc: str, msg: str, kind: str) -> Problem:
    return validation_problem([{"loc": ["arguments", loc], "msg": msg, "type": kind}])


def _arguments(args: Mapping[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    extra = sorted(set(args) - set(allowed))
    if extra:
        raise _invalid(extra[0], "Extra inputs are not permitted", "extra_forbidden")
    return dict(args)


def _int(args: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = args.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(name, "Input should be a valid integer", "int_type")
    if not low <= value <= high:
        raise _invalid(name, f"Input should be between {low} and {high}", "range")
    return value


def _str(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(name, "Input should be a valid string", "string_type")
    return value


def _row_id(args: Mapping[str, Any]) -> int:
    value = _int(args, "id", 1, 2**63 - 1)
    if value is None:
        raise _invalid("id", "Field required", "missing")
    return value


def _if_match(args: Mapping[str, Any], settings: Settings) -> IfMatch | None:
    header = _str(args, "if_match")
    if header is None:
        if settings.require_if_match:
            raise Problem("precondition-required", "send if_match with the etag you last read")
        return None
    return IfMatch(header)


def single(row: Row) -> dict[str, Any]:
    """A row as GET /R/{id} answers it, plus the ETag header's value as ``etag``."""
    tag = etag(row.pop(VERSION))
    return {**row, "etag": tag}


class ResourceTools:
    """The five tools of one resource, around its one CrudService."""

    def __init__(self, res: Resource, settings: Settings, service: CrudService) -> None:
        self.res = res
        self.settings = settings
        self.service = service

    def caller(self, principal: Principal, action: Action) -> dict[str, Any]:
        """THE place where the principal is handed to the service: the extra keyword
        arguments of every CrudService call — the same Caller (scope and owner scoping) as
        the REST routes build."""
        require(principal, self.res.name, action)
        return {"caller": caller_for(self.res, principal)}

    async def list_rows(
        self, storage: Storage, who: Principal, args: dict[str, Any]
    ) -> dict[str, Any]:
        scope = self.caller(who, "read")
        names = ("filter", "sort", "fields", "cursor", "offset", "limit", "count", "expand")
        args = _arguments(args, names)
        filters = args.get("filter") or {}
        if not isinstance(filters, dict):
            raise _invalid("filter", "Input should be an object", "dict_type")
        count = args.get("count", False)
        if not isinstance(count, bool):
            raise _invalid("count", "Input should be a valid boolean", "bool_type")
        limit = _int(args, "limit", 1, self.settings.max_limit) or self.settings.default_limit
        page = Page(
            limit=limit,
            offset=_int(args, "offset", 0, 2**31 - 1),
            cursor=_str(args, "cursor"),
            sort=_str(args, "sort"),
            fields=_str(args, "fields"),
            count=count,
            expand=_str(args, "expand"),
        )
        params = list(filter_params(filters))
        return await self.service.list(storage, params, page, **scope)

    async def get(self, storage: Storage, who: Principal, args: dict[str, Any]) -> dict[str, Any]:
        scope = self.caller(who, "read")
        args = _arguments(args, ("id",))
        return single(await self.service.get(storage, _row_id(args), **scope))

    async def create(
        self, storage: Storage, who: Principal, args: dict[str, Any]
    ) -> dict[str, Any]:
        scope = self.caller(who, "write")
        return single(await self.service.create_one(storage, args, **scope))

    async def update(
        self, storage: Storage, who: Principal, args: dict[str, Any]
    ) -> dict[str, Any]:
        scope = self.caller(who, "write")
        args = _arguments(args, ("id", "patch", "if_match"))
        id = _row_id(args)
        cond = _if_match(args, self.settings)
        if "patch" not in args:
            raise _invalid("patch", "Field required", "missing")
        changes = require_object(args["patch"])
        return single(await self.service.patch(storage, id, changes, cond, **scope))

    async def delete(
        self, storage: Storage, who: Principal, args: dict[str, Any]
    ) -> dict[str, Any]:
        scope = self.caller(who, "write")
        args = _arguments(args, ("id", "if_match"))
        id = _row_id(args)
        await self.service.delete(storage, id, _if_match(args, self.settings), **scope)
        return {"id": id, "deleted": True}

    def entries(self) -> list[Entry]:
        r = self.res.name
        tools: list[tuple[str, str, dict[str, Any], types.ToolAnnotations, Action, Handler]] = [
            (
                f"list_{r}",
                f"List {r} rows: filters (field or field__op keys), sort, fields, cursor "
                "pages, count, expand (embed related rows). Returns {items, next_cursor, total}.",
                list_schema(self.res, self.settings, self.service.relations.paths(self.res)),
                READ,
                "read",
                self.list_rows,
            ),
            (
                f"get_{r}",
                f"Read one {r} row by id; etag is its current version (for if_match).",
                get_schema(),
                READ,
                "read",
                self.get,
            ),
            (
                f"create_{r}",
                f"Create one {r} row; the arguments are its fields. Returns the row and etag.",
                create_schema(self.res),
                CREATE,
                "write",
                self.create,
            ),
            (
                f"update_{r}",
                f"Change one {r} row with a JSON Merge Patch; with if_match, only if the "
                "row still has that etag.",
                update_schema(self.res),
                UPDATE,
                "write",
                self.update,
            ),
            (
                f"delete_{r}",
                f"Delete one {r} row; with if_match, only if the row still has that etag.",
                delete_schema(),
                DELETE,
                "write",
                self.delete,
            ),
        ]
        return [
            Entry(
                types.Tool(name=name, description=text, inputSchema=schema, annotations=notes),
                r,
                action,
                run,
            )
            for name, text, schema, notes, action, run in tools
        ]


class Catalog:
    """Every tool of the deployment, and which of them a principal may see and call."""

    def __init__(
        self, resources: Sequence[Resource], settings: Settings, services: Sequence[CrudService]
    ) -> None:
        self.resources = list(resources)
        self.entries: dict[str, Entry] = {}
        for res, service in zip(resources, services, strict=True):
            for entry in ResourceTools(res, settings, service).entries():
                self.entries[entry.tool.name] = entry
        describe = types.Tool(
            name=DESCRIBE,
            description="The resources you can reach: fields, types, filter names, "
            "relations and the tools for each.",
            inputSchema=describe_schema(),
            annotations=READ,
        )
        self.entries[DESCRIBE] = Entry(describe, None, "read", self.describe)

    def usable(self, principal: Principal, entry: Entry) -> bool:
        if entry.resource is None:
            return any(self.usable(principal, e) for e in self.entries.values() if e.resource)
        return allows(principal, entry.resource, entry.action)

    def visible(self, principal: Principal) -> list[types.Tool]:
        return [e.tool for e in self.entries.values() if self.usable(principal, e)]

    async def describe(
        self, storage: Storage, who: Principal, args: dict[str, Any]
    ) -> dict[str, Any]:
        _arguments(args, ())
        out = []
        for res in self.resources:
            names = [
                name
                for name, e in self.entries.items()
                if e.resource == res.name and self.usable(who, e)
            ]
            if names:
                out.append(describe(res, names))
        return {"resources": out}
