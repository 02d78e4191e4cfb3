"""The OpenAPI document's security (CONTRACT §7): schemes and each operation's scopes.

Kept beside ``openapi.py`` rather than in it: it only decorates the finished document.
``bearerAuth`` (HTTP bearer: a JWT or an API key) always; ``oauth2`` (password flow,
``tokenUrl`` = the built-in login) when login is on, so Swagger UI's Authorize button
logs in. Each resource operation lists the scope it needs; 401/403 are documented.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omnicrud.auth import ADMIN, required_scope
from omnicrud.core.resources import Resource

from .problems import PROBLEM_JSON

_READ = frozenset({"get", "head"})
_PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _scopes(resources: Sequence[Resource]) -> dict[str, str]:
    scopes = {
        ADMIN: "Everything, and every owner's rows",
        "*:read": "Read every resource",
        "*:write": "Write every resource",
    }
    for res in resources:
        scopes[required_scope(res.name, "read")] = f"GET/HEAD {res.name}"
        scopes[required_scope(res.name, "write")] = f"POST/PUT/PATCH/DELETE {res.name}"
    return scopes


def secure(spec: dict[str, Any], resources: Sequence[Resource], token_url: str | None) -> None:
    """Add the security schemes and per-operation requirements to ``spec`` in place."""
    schemes: dict[str, Any] = {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "A JWT (HS256 secret, or JWKS/OIDC) or an API key (ock_...).",
        }
    }
    if token_url is not None:
        schemes["oauth2"] = {
            "type": "oauth2",
            "flows": {"password": {"tokenUrl": token_url, "scopes": _scopes(resources)}},
        }
    spec.setdefault("components", {})["securitySchemes"] = schemes
    names = {f"/{r.name}" for r in resources} | {f"/{r.name}/{{id}}" for r in resources}
    for path, item in spec.get("paths", {}).items():
        if path not in names:
            continue
        resource = path.strip("/").split("/")[0]
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            scope = required_scope(resource, "read" if method in _READ else "write")
            op["security"] = [{"bearerAuth": []}, *([{"oauth2": [scope]}] if token_url else [])]
            op.setdefault("description", "")
            op["description"] = (op["description"] + f"\n\nRequires scope `{scope}`.").strip()
            responses = op.setdefault("responses", {})
            responses.setdefault(
                "401", {"description": "Missing or invalid credentials", "content": _PROBLEM}
            )
            responses.setdefault("403", {"description": f"Lacks {scope}", "content": _PROBLEM})
