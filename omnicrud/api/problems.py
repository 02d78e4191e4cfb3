"""RFC 9457 problem+json: the one error format, and the mapping from domain errors.

Problem ``type`` URIs are ``urn:omnicrud:problem:<slug>``; the README lists every slug.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from omnicrud.auth import AuthError, Forbidden, IssuerUnavailable, Throttled, Unauthorized
from omnicrud.core.errors import (
    BadQuery,
    Conflict,
    NotFound,
    PreconditionFailed,
    ReferenceConflict,
    StorageError,
    Unavailable,
)
from omnicrud.core.hooks import REQUEST_ID  # ops: request_id in every problem body

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:omnicrud:problem:"
RETRY_AFTER = "5"

TITLES: dict[str, tuple[int, str]] = {
    "malformed-json": (400, "Malformed JSON"),
    "bad-query": (400, "Bad query parameter"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "unique-conflict": (409, "Unique field already taken"),
    "reference-conflict": (409, "Reference conflict"),
    "precondition-failed": (412, "Precondition failed"),
    "payload-too-large": (413, "Payload too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "validation-error": (422, "Validation error"),
    "precondition-required": (428, "Precondition required"),
    "too-many-requests": (429, "Too many requests"),
    "internal-error": (500, "Internal server error"),
    "unavailable": (503, "Database unavailable"),
    "issuer-unavailable": (503, "Token issuer unavailable"),
}

log = logging.getLogger("omnicrud")


class Problem(Exception):
    """Raise to answer with a problem document; ``extra`` adds extension members."""

    def __init__(
        self, slug: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.status = TITLES[slug][0]
        self.detail = detail
        self.headers = headers
        self.extra = extra


def problem_body(problem: Problem, instance: str) -> dict[str, Any]:
    """The problem+json document (also what an MCP tool error carries)."""
    return {
        "type": TYPE_PREFIX + problem.slug,
        "title": TITLES[problem.slug][1],
        "status": problem.status,
        "detail": problem.detail,
        "instance": instance,
        **problem.extra,
        "request_id": REQUEST_ID.get(),  # ops: CONTRACT §10
    }


def problem_response(request: Request, problem: Problem) -> Response:
    body = problem_body(problem, request.url.path)
    return Response(
        orjson.dumps(body), problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


def validation_problem(errors: Sequence[dict[str, Any]]) -> Problem:
    """422 from pydantic-style errors, reduced to ``loc``/``msg``/``type``."""
    clean = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
    count = len(clean)
    detail = f"{count} field{'s' if count != 1 else ''} failed validation"
    return Problem("validation-error", detail, errors=clean)


def to_problem(exc: Exception) -> Problem:
    """The problem for a domain error (the single place where errors meet HTTP statuses)."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, NotFound):
        return Problem("not-found", "no such row")
    if isinstance(exc, AuthError):
        return _auth_problem(exc)
    if isinstance(exc, Conflict):
        return Problem(
            "unique-conflict", f"another row already has this {exc.field}", field=exc.field
        )
    if isinstance(exc, ReferenceConflict):
        if exc.missing_target:
            detail = f"{exc.field} refers to a row that does not exist"
        else:
            detail = f"the row is still referenced by {exc.resource}.{exc.field}"
        return Problem("reference-conflict", detail, field=exc.field)
    if isinstance(exc, PreconditionFailed):
        return Problem("precondition-failed", "If-Match does not match the current ETag")
    if isinstance(exc, Unavailable):
        return Problem(
            "unavailable",
            "the database did not answer; try again later",
            headers={"Retry-After": RETRY_AFTER},
        )
    if isinstance(exc, BadQuery):
        if exc.param:
            return Problem("bad-query", exc.detail, param=exc.param)
        return Problem("bad-query", exc.detail)
    if isinstance(exc, StorageError):  # logged by the backend, without parameters
        return Problem("internal-error", "the database failed to run this request")
    log.exception("unhandled error", exc_info=exc)
    return Problem("internal-error", "the server failed to answer this request")


def _auth_problem(exc: AuthError) -> Problem:
    """401 / 403 with their ``WWW-Authenticate`` challenge (RFC 6750), 429 and 503 with
    ``Retry-After``. Details never hold the credentials (``omnicrud.auth.errors``)."""
    if isinstance(exc, Unauthorized):
        return Problem("unauthorized", exc.detail, headers={"WWW-Authenticate": exc.challenge})
    if isinstance(exc, Forbidden):
        return Problem("forbidden", exc.detail, headers={"WWW-Authenticate": exc.challenge})
    if isinstance(exc, Throttled):
        return Problem("too-many-requests", exc.detail, {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, IssuerUnavailable):
        return Problem(
            "issuer-unavailable", exc.detail, headers={"Retry-After": str(exc.retry_after)}
        )
    return Problem("unauthorized", "the credentials are not valid")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (RFC 9110: the full list in Allow).
    Each method of a path is a route of its own, so Starlette's own Allow names one."""
    methods: set[str] = {"OPTIONS"}
    scope = {**request.scope, "method": "GET"}
    for route in request.app.router.routes:
        if isinstance(route, BaseRoute) and route.matches(scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


async def _domain_error(request: Request, exc: Exception) -> Response:
    return problem_response(request, to_problem(exc))


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e["loc"][:1] == ("path",) for e in errors):
        return problem_response(request, Problem("not-found", "no such row"))
    return problem_response(request, validation_problem(errors))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        problem = Problem("not-found", f"no route {request.url.path}")
    elif exc.status_code == 405:
        allow = ", ".join(allowed_methods(request))
        problem = Problem(
            "method-not-allowed",
            f"{request.method} is not allowed here",
            headers={"Allow": allow},
        )
    else:
        slug = next((s for s, (code, _) in TITLES.items() if code == exc.status_code), None)
        problem = Problem(slug or "internal-error", str(exc.detail))
    return problem_response(request, problem)


def install(app: FastAPI) -> None:
    for exc_type in (
        Problem,
        NotFound,
        Conflict,
        ReferenceConflict,
        PreconditionFailed,
        Unavailable,
        BadQuery,
        AuthError,
        Exception,
    ):
        app.add_exception_handler(exc_type, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "field": {"type": "string"},
        "param": {"type": "string"},
        "request_id": {"type": "string"},  # ops: CONTRACT §10
    },
}
