"""The MCP server on the official SDK's low-level ``Server``: ``tools/list`` answers the
tools the caller may use, ``tools/call`` runs one and answers its JSON as
``structuredContent`` (and as text, for clients that read only text), or a tool error
(``isError``) carrying the problem+json body REST would answer.

The caller (a ``Principal``) is decided once per HTTP request by ``omnicrud.mcp.http``
before the SDK sees the request, and read here from that request's ASGI scope. The two
handlers are registered as request handlers directly rather than through the SDK's
decorators: those validate arguments against a tool cache shared by every caller (the
lists here differ per caller) and answer plain-text errors instead of problem documents.
"""

from __future__ import annotations

import importlib.metadata
import logging
from typing import Any

import mcp.types as types
import orjson
from mcp.server.lowlevel import Server
from starlette.requests import Request

from omnicrud.api.problems import Problem, problem_body, to_problem
from omnicrud.auth import Forbidden, Principal, Unauthorized
from omnicrud.core.storage import Storage

from .tools import Catalog

log = logging.getLogger("omnicrud.mcp")
PRINCIPAL_KEY = "omnicrud.principal"
"""Where ``omnicrud.mcp.http`` leaves the request's Principal in the ASGI scope."""
NOBODY = Principal(None, frozenset(), "anonymous")
INSTRUCTIONS = (
    "omnicrud: CRUD over the resources below. Call describe_resources first. Writes take "
    "if_match (the etag of the row you read) to fail with a 412 problem instead of "
    "overwriting someone else's change. Errors are RFC 9457 problem documents."
)


def auth_problem(exc: Exception) -> Problem | None:
    """401/403 as problems (the REST mapping, CONTRACT §7); None for other errors."""
    if isinstance(exc, Unauthorized):
        return Problem("unauthorized", exc.detail, {"WWW-Authenticate": exc.challenge})
    if isinstance(exc, Forbidden):
        return Problem("forbidden", exc.detail, {"WWW-Authenticate": exc.challenge})
    return None


def tool_error(problem: Problem, instance: str) -> types.CallToolResult:
    body = problem_body(problem, instance)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=orjson.dumps(body).decode())],
        structuredContent=body,
        isError=True,
    )


def tool_result(value: dict[str, Any]) -> types.CallToolResult:
    text = orjson.dumps(value)  # the bytes REST would send
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text.decode())],
        structuredContent=orjson.loads(text),
    )


class McpServer:
    """The SDK server over one catalog; ``state.storage`` is the app's Storage."""

    def __init__(self, catalog: Catalog, state: Any) -> None:
        self.catalog = catalog
        self.state = state
        self.server: Server[Any, Any] = Server(
            "omnicrud", version=importlib.metadata.version("omnicrud"), instructions=INSTRUCTIONS
        )
        self.server.request_handlers[types.ListToolsRequest] = self.list_tools
        self.server.request_handlers[types.CallToolRequest] = self.call_tool

    def principal(self) -> Principal:
        """The current request's caller; nobody (no scopes) when there is no HTTP request
        behind the message, so a transport without our gate fails closed."""
        request = self.server.request_context.request
        if isinstance(request, Request):
            found = request.scope.get(PRINCIPAL_KEY)
            if isinstance(found, Principal):
                return found
        return NOBODY

    async def list_tools(self, req: types.ListToolsRequest) -> types.ServerResult:
        tools = self.catalog.visible(self.principal())
        return types.ServerResult(types.ListToolsResult(tools=tools))

    async def call_tool(self, req: types.CallToolRequest) -> types.ServerResult:
        return types.ServerResult(await self.call(req.params.name, req.params.arguments))

    async def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        instance = f"tools/call:{name}"
        entry = self.catalog.entries.get(name)
        if entry is None:
            return tool_error(Problem("not-found", f"no tool {name}"), instance)
        storage: Storage = self.state.storage
        try:
            value = await entry.run(storage, self.principal(), dict(arguments or {}))
        except Exception as exc:
            return tool_error(auth_problem(exc) or to_problem(exc), instance)
        return tool_result(value)
