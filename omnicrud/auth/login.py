"""Built-in password login (``POST /auth/token``), independent of HTTP.

- The password is checked with Argon2id (``omnicrud.core.secrets``) in a worker thread:
  a verify takes tens of milliseconds of CPU, which would stall every other request if
  run on the event loop.
- An unknown user costs the same as a wrong password: the password is verified against
  a dummy hash made with the same parameters, the same statements run, and both end in
  ``Unauthorized("invalid_credentials")``. An inactive account fails the same way.
- Failures are counted in a ``ThrottleStore`` (a table every process shares, not process
  memory), per username + client (``max_failures``) and per username over all clients
  (``max_failures_per_username``, higher: it stops a distributed guesser without letting
  one client lock a user out cheaply). Over a limit, logins for that key get 429 with
  ``Retry-After`` until the window ends, without any password check.
- A success issues an HS256 token: ``sub`` = the account's row id, ``scope``, ``iat``,
  ``exp``, ``iss`` (``omnicrud`` unless configured), ``aud`` when an audience is set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import jwt

from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError
from omnicrud.core.secrets import hash_secret, verify_secret

from .authenticator import hs256_secret
from .errors import Throttled, Unauthorized
from .jwt import HS_ALGORITHM, MIN_SECRET_BYTES
from .principal import Principal, grants, parse_scopes

DEFAULT_ISSUER = "omnicrud"


@dataclass(frozen=True, slots=True)
class Account:
    """What login needs of an ``accounts=True`` row; ``id`` becomes the token's ``sub``."""

    id: str
    password_hash: str
    active: bool = True


class AccountStore(Protocol):
    async def find_account(self, username: str) -> Account | None:
        """The account with exactly this username, or None (one statement either way)."""


@dataclass(frozen=True, slots=True)
class ThrottleState:
    failures: int
    window_start: dt.datetime


class ThrottleStore(Protocol):
    """Failure counters shared by every process: one row per ``key`` (≤ 64 ASCII
    characters) holding ``failures`` and ``window_start`` (aware UTC)."""

    async def peek(self, key: str) -> ThrottleState | None:
        """The counter under ``key``, or None."""

    async def hit(self, key: str, now: dt.datetime, window: float) -> ThrottleState:
        """Count one failure in ONE atomic statement (upsert / findOneAndUpdate): a
        missing row, or one whose window started ``window`` seconds or more before
        ``now``, becomes ``(1, now)``; otherwise ``failures`` + 1. Return the new state."""

    async def clear(self, key: str) -> None:
        """Forget ``key`` (after a successful login)."""

    async def purge(self, before: dt.datetime) -> None:
        """Delete the counters whose window started before ``before``."""


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    max_failures: int = 5
    max_failures_per_username: int = 50
    window: float = 300.0


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"

    def as_json(self) -> dict[str, str | int]:
        """The token endpoint's body (RFC 6749 §5.1)."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }


class TokenIssuer:
    """Signs the built-in login's tokens with ``OMNICRUD_JWT_SECRET``."""

    def __init__(
        self,
        secret: bytes,
        *,
        lifetime: int = 3600,
        issuer: str = DEFAULT_ISSUER,
        audience: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"an HS256 secret needs at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._lifetime = lifetime
        self._issuer = issuer
        self._audience = audience
        self._clock = clock

    def issue(self, subject: str, scopes: frozenset[str]) -> IssuedToken:
        now = int(self._clock())
        claims: dict[str, str | int] = {
            "sub": subject,
            "scope": " ".join(sorted(scopes)),
            "iat": now,
            "exp": now + self._lifetime,
            "iss": self._issuer,
        }
        if self._audience is not None:
            claims["aud"] = self._audience
        token = jwt.encode(claims, self._secret, algorithm=HS_ALGORITHM)
        return IssuedToken(token, self._lifetime)


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password, same parameters as real ones (made once, ~50 ms)."""
    return hash_secret(secrets.token_urlsafe(16))


def narrow_scopes(granted: frozenset[str], requested: str) -> frozenset[str]:
    """The OAuth2 ``scope`` form field narrows what login grants, never widens it."""
    if not requested.strip():
        return granted
    holder = Principal(None, granted, "jwt")
    return frozenset(s for s in parse_scopes(requested) if grants(holder, s))


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:48]


class Login:
    """``await login.login(username, password, client)`` -> IssuedToken, or raises
    ``Unauthorized("invalid_credentials", token_sent=False)`` / ``Throttled``."""

    def __init__(
        self,
        *,
        accounts: AccountStore,
        throttle: ThrottleStore,
        issuer: TokenIssuer,
        scopes: frozenset[str],
        policy: ThrottlePolicy | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._accounts = accounts
        self._throttle = throttle
        self._issuer = issuer
        self._scopes = scopes
        self._policy = policy or ThrottlePolicy()
        self._now = now
        self._purged_at: dt.datetime | None = None
        dummy_hash()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, accounts: AccountStore, throttle: ThrottleStore
    ) -> Login:
        """Raises ConfigError without ``OMNICRUD_JWT_SECRET`` (login tokens are HS256)."""
        secret = hs256_secret(settings)
        if secret is None:
            raise ConfigError("the token endpoint needs OMNICRUD_JWT_SECRET to sign tokens")
        issuer = TokenIssuer(
            secret,
            lifetime=settings.token_lifetime,
            issuer=settings.jwt_issuer or DEFAULT_ISSUER,
            audience=settings.jwt_audience,
        )
        policy = ThrottlePolicy(
            settings.login_max_failures,
            settings.login_max_failures_per_username,
            settings.login_window,
        )
        scopes = parse_scopes(settings.login_scopes)
        return cls(
            accounts=accounts, throttle=throttle, issuer=issuer, scopes=scopes, policy=policy
        )

    async def login(
        self, username: str, password: str, client: str, scope: str = ""
    ) -> IssuedToken:
        now = self._now()
        policy = self._policy
        limits = (
            (f"login:{_key(username, client)}", policy.max_failures),
            (f"login-user:{_key(username)}", policy.max_failures_per_username),
        )
        for key, limit in limits:
            state = await self._throttle.peek(key)
            if state is not None and state.failures >= limit:
                left = (state.window_start - now).total_seconds() + policy.window
                if left > 0:
                    raise Throttled(math.ceil(left))
        account = await self._accounts.find_account(username)
        stored = account.password_hash if account is not None else dummy_hash()
        valid = await asyncio.to_thread(verify_secret, stored, password)
        if not valid or account is None or not account.active:
            for key, _ in limits:
                await self._throttle.hit(key, now, policy.window)
            await self._purge(now)
            raise Unauthorized("invalid_credentials", token_sent=False)
        for key, _ in limits:
            await self._throttle.clear(key)
        return self._issuer.issue(account.id, narrow_scopes(self._scopes, scope))

    async def _purge(self, now: dt.datetime) -> None:
        window = dt.timedelta(seconds=self._policy.window)
        if self._purged_at is None or now - self._purged_at >= window:
            self._purged_at = now
            await self._throttle.purge(now - window)
