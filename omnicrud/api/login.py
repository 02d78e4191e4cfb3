"""``POST /auth/token``: the OAuth2 password grant for a resource with ``accounts=True``.

The form (``application/x-www-form-urlencoded``) is parsed here with ``urllib.parse``:
FastAPI's ``Form`` would add python-multipart as a dependency for two fields. The work —
Argon2 off the event loop, equal answers for unknown user and wrong password, throttling
shared by every process through the database — is ``omnicrud.auth.Login``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from omnicrud.auth import Login, ResourceAccounts
from omnicrud.config import Settings
from omnicrud.core.resources import Resource

from .problems import Problem, validation_problem
from .security import StateAuthStore

TOKEN_PATH = "/auth/token"
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16_384

_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        FORM: {
            "schema": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "grant_type": {"type": "string", "enum": ["password"]},
                    "username": {"type": "string"},
                    "password": {"type": "string", "format": "password"},
                    "scope": {"type": "string", "description": "Narrows the granted scopes."},
                },
            }
        }
    },
}
_TOKEN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "enum": ["bearer"]},
        "expires_in": {"type": "integer"},
    },
}


def accounts_resource(resources: Sequence[Resource]) -> Resource | None:
    """The resource whose rows log in (the first declared with ``accounts=True``)."""
    return next((r for r in resources if r.accounts is not None), None)


async def _form(request: Request) -> dict[str, str]:
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != FORM:
        raise Problem("unsupported-media-type", f"send the form as {FORM}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Problem("payload-too-large", f"the form exceeds {MAX_FORM_BYTES} bytes")
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise Problem("malformed-json", "the form is not UTF-8") from None


def install_login(app: FastAPI, settings: Settings, res: Resource, store: StateAuthStore) -> None:
    """Add ``POST /auth/token`` (needs ``OMNICRUD_JWT_SECRET``: its tokens are HS256)."""
    login = Login.from_settings(settings, accounts=ResourceAccounts(store, res), throttle=store)

    async def token(request: Request) -> Response:
        form = await _form(request)
        grant = form.get("grant_type", "password")
        if grant != "password":
            raise Problem("bad-query", "grant_type must be password", param="grant_type")
        missing = [
            {"loc": ["body", name], "msg": "Field required", "type": "missing"}
            for name in ("username", "password")
            if not form.get(name)
        ]
        if missing:
            raise validation_problem(missing)
        client = request.client.host if request.client is not None else "-"
        issued = await login.login(
            form["username"], form["password"], client, form.get("scope", "")
        )
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        return Response(orjson.dumps(issued.as_json()), 200, headers, "application/json")

    app.add_api_route(
        TOKEN_PATH,
        token,
        methods=["POST"],
        tags=["auth"],
        summary=f"Log in as a {res.name} row (OAuth2 password grant)",
        responses={
            200: {
                "description": "A bearer token",
                "content": {"application/json": {"schema": _TOKEN_SCHEMA}},
            },
            401: {"description": "Wrong username or password"},
            429: {"description": "Too many failed logins (Retry-After)"},
        },
        openapi_extra={"requestBody": _REQUEST_BODY},
    )
