"""The direct lane: the CRUD routes' common requests served straight from ASGI.

A generic router knows every route's shape at start-up, so the plain cases — ``GET``,
``PUT``, ``PATCH``, ``DELETE /{resource}/{id}``, ``GET``/``POST /{resource}`` — skip
Starlette's route matching, FastAPI's parameter solving and the per-request ``Request`` and
``Response`` objects: one dict lookup finds the resource, the handler calls the same
``CrudService`` the routes call and sends the same bytes.

Anything the lane is not sure about — an id that is not plain digits, a list parameter that
is not plainly valid, a repeated one, ``HEAD``, a query string on a GET of one row, a
``root_path`` — goes to the FastAPI app unchanged (before any body is read), which answers
it exactly as before, errors included. The routes stay declared in the app as they are, so
``/openapi.json`` documents them. Off while tracing is on: FastAPI makes the server spans.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from omnicrud.auth import Action
from omnicrud.config import Settings
from omnicrud.core.hooks import set_subject
from omnicrud.core.keys import DeploymentKeys
from omnicrud.core.query import MAX_OFFSET
from omnicrud.core.resources import VERSION
from omnicrud.core.storage import Storage

from . import consistency
from .body import JSON, MERGE_PATCH, check_headers, parse_json, too_large
from .conditional import IfMatch, etag, if_match_header, none_match
from .inputs import check_bulk, require_object
from .problems import PROBLEM_JSON, problem_body, to_problem
from .security import OPEN, Access, Caller
from .service import CrudService, Page

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]
_JSON = b"application/json"
_MAX_ID = 2**63 - 1
_SCALARS = frozenset({"limit", "offset", "skip", "cursor", "sort", "fields", "count"})
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


class _Fallback(Exception):
    """The request is not plainly one the lane serves: the app answers it."""


def _plain_int(text: str, low: int, high: int) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise _Fallback
    value = int(text)
    if not low <= value <= high:
        raise _Fallback
    return value


def _row_id(text: str) -> int | None:
    if not text or text[0] == "0" or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= _MAX_ID else None


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """Request headers by lower-case name; the first of repeated ones, as Starlette reads."""
    return {name: value for name, value in reversed(scope["headers"])}


def _text(headers: Mapping[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(
    send: Send, status: int, content: Any, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = orjson.dumps(content)
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", _JSON), *extra]
    await _respond(send, status, body, headers)


async def _problem(scope: Scope, send: Send, exc: Exception) -> None:
    problem = to_problem(exc)
    body = orjson.dumps(problem_body(problem, scope["path"]))
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", PROBLEM_JSON.encode()),
    ]
    for name, value in (problem.headers or {}).items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    await _respond(send, problem.status, body, headers)


class _Disconnected(Exception):
    """The client went away while sending its body: nothing to answer."""


async def _body(receive: Receive, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > max_bytes:
            raise too_large(max_bytes)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class ResourceLane:
    """One resource's handlers; each is an ASGI app reading the row id from ``path_params``."""

    def __init__(
        self, service: CrudService, access: Access, settings: Settings, state: Any
    ) -> None:
        self.service = service
        self.access = access
        self.auth = access.enabled
        self.settings = settings
        self.state = state
        self.location = f"/{service.res.name}/"

    async def _caller(self, scope: Scope, headers: Mapping[bytes, bytes], action: Action) -> Caller:
        if not self.auth:
            return OPEN
        who = await self.access.resolve(_text(headers, b"authorization"), action)
        set_subject(scope, who.principal.subject)
        return who

    def _page(self, params: list[tuple[str, str]]) -> Page:
        seen: dict[str, str] = {}
        expand: list[str] = []
        for name, value in params:
            if name in _SCALARS:
                if name in seen:
                    raise _Fallback
                seen[name] = value
            elif name == "expand":
                expand.append(value)
        limit = self.settings.default_limit
        if "limit" in seen:
            limit = _plain_int(seen["limit"], 1, self.settings.max_limit)
        offset = _plain_int(seen["offset"], 0, MAX_OFFSET) if "offset" in seen else None
        skip = _plain_int(seen["skip"], 0, MAX_OFFSET) if "skip" in seen else None
        count = False
        if "count" in seen:
            if seen["count"] not in _BOOLS:
                raise _Fallback
            count = _BOOLS[seen["count"]]
        return Page(
            limit,
            offset,
            skip,
            seen.get("cursor"),
            seen.get("sort"),
            seen.get("fields"),
            count,
            ",".join(expand) if expand else None,
        )

    async def list(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope["query_string"]
        params = parse_qsl(query.decode("latin-1"), keep_blank_values=True) if query else []
        page = self._page(params)  # before anything else: a fallback must change nothing
        who = await self._caller(scope, _headers(scope), "read")
        storage: Storage = self.state.storage
        await _json(send, 200, await self.service.list(storage, params, page, who))

    async def read(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        who = await self._caller(scope, headers, "read")
        row = await self.service.get(self.state.storage, scope["path_params"]["id"], who)
        tag = etag(row.pop(VERSION))
        tag_bytes = tag.encode()
        if none_match(_text(headers, b"if-none-match"), tag):
            await _respond(send, 304, b"", [(b"etag", tag_bytes)])
            return
        await _json(send, 200, row, ((b"etag", tag_bytes),))

    async def _read_body(
        self, headers: Mapping[bytes, bytes], receive: Receive, accepted: frozenset[str]
    ) -> Any:
        limit = self.settings.max_body_bytes
        check_headers(
            _text(headers, b"content-type"), _text(headers, b"content-length"), accepted, limit
        )
        return parse_json(await _body(receive, limit))

    async def create(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        who = await self._caller(scope, headers, "write")
        storage: Storage = self.state.storage
        body = await self._read_body(headers, receive, JSON)
        if isinstance(body, list):
            check_bulk(body, self.settings.max_bulk)
            created = await self.service.create(storage, body, who)
            for row in created:
                del row[VERSION]
            await _json(send, 201, created)
            return
        row = await self.service.create_one(storage, body, who)
        tag = etag(row.pop(VERSION)).encode()
        location = f"{self.location}{row['id']}".encode()
        await _json(send, 201, row, ((b"location", location), (b"etag", tag)))

    async def _written(self, send: Send, row: dict[str, Any]) -> None:
        await _json(send, 200, row, ((b"etag", etag(row.pop(VERSION)).encode()),))

    async def _change(self, scope: Scope) -> tuple[Mapping[bytes, bytes], Caller, IfMatch | None]:
        """What PUT, PATCH and DELETE of one row check first, in the routes' order."""
        headers = _headers(scope)
        who = await self._caller(scope, headers, "write")
        cond = if_match_header(_text(headers, b"if-match"), self.settings.require_if_match)
        return headers, who, cond

    async def replace(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers, who, cond = await self._change(scope)
        body = await self._read_body(headers, receive, JSON)
        row_id = scope["path_params"]["id"]
        row = await self.service.replace(self.state.storage, row_id, body, cond, who)
        await self._written(send, row)

    async def patch(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers, who, cond = await self._change(scope)
        changes = require_object(await self._read_body(headers, receive, MERGE_PATCH))
        row_id = scope["path_params"]["id"]
        row = await self.service.patch(self.state.storage, row_id, changes, cond, who)
        await self._written(send, row)

    async def delete(self, scope: Scope, receive: Receive, send: Send) -> None:
        _, who, cond = await self._change(scope)
        await self.service.delete(self.state.storage, scope["path_params"]["id"], cond, who)
        await _respond(send, 204, b"", [])


class DirectLane:
    """ASGI middleware in front of the app's router (inside CORS and the ops middleware)."""

    def __init__(self, app: ASGIApp, table: dict[tuple[str, str, bool], tuple[Handler, Any]]):
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            path: str = scope["path"]
            name, slash, rest = path[1:].partition("/")
            method: str = scope["method"]
            entry = None
            if not slash:
                entry = self.table.get((method, name, False))
            elif (row_id := _row_id(rest)) is not None and (
                method != "GET" or not scope["query_string"]
            ):
                entry = self.table.get((method, name, True))
                scope["path_params"] = {"id": row_id}
            if entry is not None:
                handler, route = entry
                scope["route"] = route
                try:
                    await handler(scope, receive, send)
                except _Fallback:
                    await self.app(scope, receive, send)
                except _Disconnected:
                    return
                except Exception as exc:  # every error is a problem response, as the app makes
                    await _problem(scope, send, exc)
                return
        await self.app(scope, receive, send)


def build_table(
    lanes: Mapping[str, ResourceLane],
    routes: Sequence[BaseRoute],
    keys: DeploymentKeys,
    replicas: bool,
) -> dict[tuple[str, str, bool], tuple[Handler, Any]]:
    """(method, resource, has id) -> (handler, the app's route it stands for). Writes run in
    a consistency session (and reads too with replicas), as the routes do."""
    templates = {
        (method, str(getattr(route, "path", ""))): route
        for route in routes
        for method in getattr(route, "methods", None) or ()
    }
    table: dict[tuple[str, str, bool], tuple[Handler, Any]] = {}
    for name, lane in lanes.items():
        for method, with_id, handler in (
            ("GET", False, lane.list),
            ("POST", False, lane.create),
            ("GET", True, lane.read),
            ("PUT", True, lane.replace),
            ("PATCH", True, lane.patch),
            ("DELETE", True, lane.delete),
        ):
            route = templates.get((method, f"/{name}/{{id}}" if with_id else f"/{name}"))
            if route is None:
                continue
            app: Handler = handler
            if method != "GET" or replicas:
                app = consistency.session_app(handler, keys)
            table[(method, name, with_id)] = (app, route)
    return table
