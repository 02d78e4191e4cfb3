"""``/mcp``: the SDK's Streamable HTTP transport behind the same authentication as REST.

Every HTTP request is authenticated here, before the MCP transport reads it: invalid
credentials are a 401 problem+json with ``WWW-Authenticate`` (what MCP clients expect to
start their auth flow), and so is a request without credentials when the anonymous scopes
open no tool at all. Otherwise the Principal goes into the ASGI scope, where the tool
handlers find it (``ctx.request.scope``), so tools are listed and checked per request.

Stateless mode with JSON responses: each POST is answered on its own, nothing lives in
process memory between requests, so any number of service processes serve ``/mcp`` behind
one load balancer, like the REST routes (CONTRACT §6).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Receive, Scope, Send

from omnicrud.api.problems import PROBLEM_JSON, Problem, problem_body, to_problem
from omnicrud.api.service import CrudService
from omnicrud.auth import Authenticator
from omnicrud.config import Settings
from omnicrud.core.errors import Unavailable
from omnicrud.core.resources import Resource

from .server import PRINCIPAL_KEY, McpServer, auth_problem
from .tools import Catalog

PATH = "/mcp"


class McpEndpoint:
    """The ASGI app served at ``/mcp``; ``run()`` belongs in the app's lifespan."""

    def __init__(
        self,
        resources: Sequence[Resource],
        settings: Settings,
        authenticator: Authenticator,
        state: Any,
        services: Sequence[CrudService] | None = None,
    ) -> None:
        if services is None:
            services = [CrudService(res, settings, authenticator.enabled) for res in resources]
        self.authenticator = authenticator
        self.catalog = Catalog(resources, settings, services)
        self.server = McpServer(self.catalog, state)
        self.manager = StreamableHTTPSessionManager(
            self.server.server,
            json_response=True,
            stateless=True,
            max_request_body_size=settings.max_body_bytes,
        )

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield

    async def _refuse(self, send: Send, problem: Problem) -> None:
        body = orjson.dumps(problem_body(problem, PATH))
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(body))]
        headers += [(k.lower().encode(), v.encode()) for k, v in (problem.headers or {}).items()]
        await send({"type": "http.response.start", "status": problem.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.manager.handle_request(scope, receive, send)
            return
        header = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                header = value.decode("latin-1")
        try:
            principal = await self.authenticator.authenticate(header)
        except Unavailable as exc:
            await self._refuse(send, to_problem(exc))
            return
        except Exception as exc:
            problem = auth_problem(exc)
            if problem is None:
                raise
            await self._refuse(send, problem)
            return
        if principal.kind == "anonymous" and not self.catalog.visible(principal):
            challenge = {"WWW-Authenticate": "Bearer"}
            await self._refuse(send, Problem("unauthorized", "credentials are required", challenge))
            return
        scope[PRINCIPAL_KEY] = principal
        await self.manager.handle_request(scope, receive, send)
