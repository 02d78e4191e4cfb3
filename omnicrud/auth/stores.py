"""What a backend implements for authentication: one object for API keys, login throttling
and accounts (``Backend.auth_store``), on the tables/collections omnicrud owns."""

from __future__ import annotations

from typing import Protocol

from omnicrud.core.resources import Resource

from .keys import KeyStore
from .login import Account, ThrottleStore


class AuthStore(KeyStore, ThrottleStore, Protocol):
    async def find_account(self, res: Resource, username: str) -> Account | None:
        """The row of ``accounts=True`` resource ``res`` whose username field is exactly
        ``username`` (one statement), as an Account; None when there is none."""


class ResourceAccounts:
    """The AccountStore login uses: one resource's rows through an AuthStore."""

    def __init__(self, store: AuthStore, res: Resource) -> None:
        self._store = store
        self._res = res

    async def find_account(self, username: str) -> Account | None:
        return await self._store.find_account(self._res, username)
