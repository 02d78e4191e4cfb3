"""One pure ASGI middleware for request ids, the access line, metrics and draining.

Pure ASGI (not ``BaseHTTPMiddleware``, which runs the app in a second task): a few dict
reads and one wrapped ``send`` per request. It wraps the whole Starlette stack, outside
``ServerErrorMiddleware``, so even a 500 is counted, logged and carries its request id.
"""

from __future__ import annotations

import logging
import os
import re
from time import perf_counter
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnicrud.core import hooks

from .logs import ACCESS_LOGGER
from .metrics import METHODS, UNMATCHED, Recorder

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}").fullmatch
access_log = logging.getLogger(ACCESS_LOGGER)


class Drain:
    """Set when SIGTERM arrives: ``/readyz`` answers 503 from then on."""

    draining = False


def request_id(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when it is ≤ 128 chars of ``[A-Za-z0-9._-]``, else new."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if _VALID_ID(value):
                return str(value.decode("ascii"))
            break
    return os.urandom(16).hex()


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


_NOT_READY = orjson.dumps(
    {
        "type": "urn:omnicrud:problem:unavailable",
        "title": "Database unavailable",
        "status": 503,
        "detail": "the server is shutting down",
        "instance": "/readyz",
    }
)


class OpsMiddleware:
    def __init__(
        self, app: ASGIApp, *, recorder: Recorder | None, access: bool, drain: Drain
    ) -> None:
        self.app = app
        self.recorder = recorder
        self.access = access
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        hooks.REQUEST_ID.set(rid)  # each request runs in its own task (and context)
        echo = (REQUEST_ID_HEADER, rid.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echo]
            await send(message)

        began = perf_counter()
        recorder = self.recorder
        if recorder is not None:
            recorder.in_flight += 1
        try:
            if self.drain.draining and scope["path"] == "/readyz":
                await _not_ready(send_with_id, rid)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            seconds = perf_counter() - began
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            if recorder is not None:
                recorder.in_flight -= 1
                recorder.observe(method, template, status, seconds)
            if self.access and access_log.isEnabledFor(logging.INFO):
                _log_access(scope, rid, method, template, status, seconds)


def _log_access(
    scope: Scope, rid: str, method: str, route: str, status: int, seconds: float
) -> None:
    fields = {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "subject": hooks.subject_of(scope),
        "client": _client(scope),
    }
    access_log.info(
        "%s %s %d %.1fms",
        method,
        route,
        status,
        seconds * 1000,
        extra={"access": fields, "request_id": rid},
    )


async def _not_ready(send: Send, rid: str) -> None:
    body = orjson.loads(_NOT_READY)
    body["request_id"] = rid
    data = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(data)).encode()),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
