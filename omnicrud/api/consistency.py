"""``Omnicrud-Consistency`` on the routes: each route's ASGI app is wrapped so that its
requests run inside a consistency session (``core.consistency``), and a successful write's
response carries the signed position. Only the routes that need it are wrapped — writes
always, GET/HEAD only when replicas are configured — so a GET on a deployment without
replicas costs nothing more (a middleware would add a call to every request)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnicrud.core import consistency
from omnicrud.core.keys import DeploymentKeys

_HEADER = consistency.HEADER.lower().encode()
_READS = frozenset({"GET", "HEAD"})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _Session:
    def __init__(self, app: ASGIApp, keys: DeploymentKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read_only = scope["method"] in _READS
        session = consistency.Session(read_only)
        for name, value in scope["headers"]:
            if name == _HEADER:
                if self.keys.loaded:
                    key = self.keys.key("consistency")
                    session.floor = consistency.verify(key, value.decode("latin-1"))
                break
        token = consistency.begin(session)
        try:
            if read_only:
                await self.app(scope, receive, send)
                return

            async def send_with_token(message: Message) -> None:
                if (
                    message["type"] == "http.response.start"
                    and session.written is not None
                    and message["status"] < 300
                ):
                    signed = consistency.sign(self.keys.key("consistency"), session.written)
                    headers: list[Any] = list(message.get("headers", []))
                    headers.append((_HEADER, signed.encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_token)
        finally:
            consistency.end(token)


def session_app(app: ASGIApp, keys: DeploymentKeys) -> ASGIApp:
    """``app`` run inside a consistency session (the direct lane's handlers)."""
    return _Session(app, keys)


def install(routes: Iterable[BaseRoute], keys: DeploymentKeys, replicas: bool) -> None:
    """Wrap every write route, and with ``replicas`` every read route too."""
    wanted = _WRITES | _READS if replicas else _WRITES
    for route in routes:
        if isinstance(route, Route) and route.methods and route.methods & wanted:
            route.app = _Session(route.app, keys)
