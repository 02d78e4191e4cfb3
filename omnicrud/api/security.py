"""Authentication at the HTTP edge: who calls (``Caller``), checked before any storage call.

With auth off the router never comes here: every request is ``OPEN`` (one flag check).
With auth on, ``Access.caller`` (``Access.resolve`` given the header value) turns the
``Authorization`` header into a Principal (a header seen before: one dict lookup; JWTs
until ``exp``, API keys at most 5 s), checks the route's scope and, for a resource with an
``Owner()`` field, says which rows the caller may see (decided once per principal).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from starlette.requests import Request
from starlette.types import Scope

from omnicrud.auth import (
    SYSTEM,
    Account,
    Action,
    Authenticator,
    AuthStore,
    KeyRecord,
    Principal,
    ThrottleState,
    require,
    sees_all_owners,
)
from omnicrud.core.errors import Unavailable
from omnicrud.core.hooks import set_subject
from omnicrud.core.resources import INT64, FieldSpec, Resource
from omnicrud.core.storage import OwnerFilter

_INT = re.compile(r"-?[0-9]{1,19}")
MAX_CALLERS = 10_000
"""Remembered decisions per resource; past it they start over (many distinct subjects)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller as a CRUD operation sees it.

    ``owner``: the condition every statement on an owned resource carries (None: none).
    ``stamp``: the owner value a create stores (None: the subject cannot own rows here).
    ``sees_nothing``: owner scoping applies but the subject cannot own a row of this
    resource (an API key's ``key:<id>`` for an int owner field): it sees no owned rows.
    """

    principal: Principal
    owner: OwnerFilter | None = None
    stamp: Any = None
    sees_nothing: bool = False


OPEN = Caller(SYSTEM)
"""Every request's caller when auth is off."""

EMBEDDING: ContextVar[Principal] = ContextVar("omnicrud_embedding", default=SYSTEM)
"""Whose request an expansion embeds rows for (read by the embedded resource's service)."""


@contextmanager
def embedding_for(principal: Principal) -> Iterator[None]:
    token = EMBEDDING.set(principal)
    try:
        yield
    finally:
        EMBEDDING.reset(token)


def owner_value(f: FieldSpec, subject: str | None) -> Any:
    """The ``sub`` as a value of the owner field; None when it cannot be one."""
    if subject is None:
        return None
    if f.kind == "str":
        return subject
    if _INT.fullmatch(subject) and INT64[0] <= int(subject) <= INT64[1]:
        return int(subject)
    return None


def caller_for(res: Resource, principal: Principal) -> Caller:
    """What ``principal`` sees of ``res`` (its scope already checked): every route and every
    MCP tool hands the CrudService this, so owner scoping has one definition."""
    owner_field = res.owner
    if owner_field is None:
        return Caller(principal)
    stamp = owner_value(owner_field, principal.subject)
    if sees_all_owners(principal):
        return Caller(principal, None, stamp)
    if stamp is None:
        return Caller(principal, None, None, sees_nothing=True)
    return Caller(principal, (owner_field.name, stamp), stamp)


def authorization_of(scope: Scope) -> str | None:
    """The ``Authorization`` header of an ASGI scope (names arrive lower-cased)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return cast(bytes, value).decode("latin-1")
    return None


class Access:
    """One resource's view of the app's Authenticator."""

    def __init__(self, authenticator: Authenticator, res: Resource) -> None:
        self.authenticator = authenticator
        self.res = res
        self.enabled = authenticator.enabled
        self._callers: dict[tuple[Principal, Action], Caller] = {}
        """Allowed (principal, action) -> its Caller: a Principal is immutable, so the
        scope check and the owner condition are decided once per principal."""

    async def caller(self, request: Request, action: Action) -> Caller:
        """Raises Unauthorized (401), Forbidden (403) or Unavailable (503), before any
        resource query."""
        who = await self.resolve(authorization_of(request.scope), action)
        set_subject(request.scope, who.principal.subject)  # the access line's subject
        return who

    async def resolve(self, authorization: str | None, action: Action) -> Caller:
        """``caller`` from the ``Authorization`` header value (None: no header)."""
        principal = await self.authenticator.authenticate(authorization)
        key = (principal, action)
        caller = self._callers.get(key)
        if caller is None:
            require(principal, self.res.name, action)
            caller = caller_for(self.res, principal)
            if len(self._callers) >= MAX_CALLERS:
                self._callers.clear()
            self._callers[key] = caller
        return caller


class StateAuthStore:
    """The backend's AuthStore as the app sees it before the database is open: it asks
    the store on ``app.state`` (set once the database is served; 503 until then). The
    Authenticator and Login are built with it at app creation."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def _store(self) -> AuthStore:
        store = getattr(self._state, "auth_store", None)
        if store is None:
            raise Unavailable("the database is not reachable yet")
        return cast(AuthStore, store)

    async def create_key(self, record: KeyRecord) -> None:
        await self._store().create_key(record)

    async def list_keys(self) -> list[KeyRecord]:
        return await self._store().list_keys()

    async def revoke_key(self, name: str, at: dt.datetime) -> bool:
        return await self._store().revoke_key(name, at)

    async def get_key(self, key_id: str) -> KeyRecord | None:
        return await self._store().get_key(key_id)

    async def peek(self, key: str) -> ThrottleState | None:
        return await self._store().peek(key)

    async def hit(self, key: str, now: dt.datetime, window: float) -> ThrottleState:
        return await self._store().hit(key, now, window)

    async def clear(self, key: str) -> None:
        await self._store().clear(key)

    async def purge(self, before: dt.datetime) -> None:
        await self._store().purge(before)

    async def find_account(self, res: Resource, username: str) -> Account | None:
        return await self._store().find_account(res, username)
