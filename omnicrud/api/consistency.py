"""The ``Omnicrud-Consistency`` middleware: a pure ASGI wrapper (no per-request task, no
Request object) that opens the request's consistency session and adds the token to the
response of a successful write. A GET without the header, on a deployment without
replicas, passes straight through."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnicrud.core import consistency
from omnicrud.core.keys import DeploymentKeys

_HEADER = consistency.HEADER.lower().encode()
_READS = frozenset({"GET", "HEAD"})


class ConsistencyMiddleware:
    def __init__(self, app: ASGIApp, keys: DeploymentKeys, replicas: bool) -> None:
        self.app = app
        self.keys = keys
        self.replicas = replicas

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        read_only = scope["method"] in _READS
        sent: bytes | None = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                sent = value
                break
        if read_only and sent is None and not self.replicas:
            await self.app(scope, receive, send)
            return
        session = consistency.Session(read_only)
        if sent is not None and self.keys.loaded:
            session.floor = consistency.verify(self.keys.key("consistency"), sent.decode("latin-1"))
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
