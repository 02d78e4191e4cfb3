"""Who is calling, and what they may do: the Principal and the scope rules (CONTRACT §7).

Scopes: ``R:read`` (GET/HEAD of resource R, and embedding R through ``?expand``),
``R:write`` (POST/PUT/PATCH/DELETE of R), ``*:read``, ``*:write``, ``admin`` (everything,
and every owner's rows), ``metrics:read`` (``/metrics``). ``R:write`` does not imply
``R:read``: the contract lists them as separate grants, and a write-only client (an
ingester) is a real use. ``*:`` covers resources only, not ``metrics:read``: operational
data is not a resource. Unknown scopes (``openid``, ``profile``...) are kept and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["jwt", "api_key", "anonymous", "system"]
Action = Literal["read", "write"]

ADMIN = "admin"
METRICS_SCOPE = "metrics:read"
SERVICE_RESOURCES = frozenset({"metrics"})
"""Names that are scope targets but not resources: ``*:read`` does not reach them."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller. ``subject`` is the JWT ``sub`` or the API key's subject; None when
    anonymous or when auth is off (``kind == "system"``)."""

    subject: str | None
    scopes: frozenset[str]
    kind: Kind


SYSTEM = Principal(None, frozenset({ADMIN}), "system")
"""Every request's principal when auth is off, and the CLI's: allowed everything,
no owner scoping."""


def parse_scopes(text: str) -> frozenset[str]:
    """``"items:read  posts:write"`` -> ``{"items:read", "posts:write"}``."""
    return frozenset(text.split())


def required_scope(resource: str, action: Action) -> str:
    """The scope a 403 names and the OpenAPI document declares, e.g. ``items:write``."""
    return f"{resource}:{action}"


def allows(principal: Principal, resource: str, action: Action) -> bool:
    """May ``principal`` do ``action`` on ``resource`` (``"metrics"`` for ``/metrics``)?"""
    scopes = principal.scopes
    if ADMIN in scopes or f"{resource}:{action}" in scopes:
        return True
    return resource not in SERVICE_RESOURCES and f"*:{action}" in scopes


def sees_all_owners(principal: Principal) -> bool:
    """True when owner scoping does not apply (admin, or auth off).

    Otherwise the storage restricts every statement to ``owner == principal.subject``; a
    principal without a subject (anonymous) owns nothing, so it sees no owned rows.
    """
    return ADMIN in principal.scopes


def grants(principal: Principal, scope: str) -> bool:
    """Does ``principal`` hold ``scope`` itself or through ``*:`` or ``admin``?"""
    if scope in principal.scopes or ADMIN in principal.scopes:
        return True
    resource, _, action = scope.rpartition(":")
    if not resource:
        return False
    if action == "read":
        return allows(principal, resource, "read")
    if action == "write":
        return allows(principal, resource, "write")
    return False
