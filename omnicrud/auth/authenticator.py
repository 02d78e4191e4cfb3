"""Credentials -> Principal: the one entry point the API calls before any route logic.

Auth is **on** when any of ``OMNICRUD_JWT_SECRET``, ``OMNICRUD_JWKS_URL``,
``OMNICRUD_OIDC_ISSUER`` is set or ``OMNICRUD_API_KEYS=true``; otherwise ``enabled`` is
False and every request is ``SYSTEM`` (everything allowed, no owner scoping, the
``Authorization`` header ignored). API keys need an explicit switch rather than "a key
exists in the database": whether a deployment is open must be visible in its
configuration, not change when someone runs ``omnicrud keys create``.

With auth on: no ``Authorization`` header (or an empty one) -> the anonymous principal
with ``OMNICRUD_ANONYMOUS_SCOPES``; ``Bearer ock_...`` -> API key; any other bearer
token -> JWT. Everything is decided here, before any resource query.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError

from .errors import Forbidden, Unauthorized
from .jwks import JWKSource
from .jwt import MIN_SECRET_BYTES, CacheInfo, JWTVerifier
from .keys import KeyCache, KeyStore, key_matches, looks_like_key, parse_key
from .principal import SYSTEM, Action, Principal, allows, parse_scopes, required_scope

log = logging.getLogger("omnicrud.auth")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
Clock = Callable[[], float]


def hs256_secret(settings: Settings) -> bytes | None:
    """``OMNICRUD_JWT_SECRET`` as bytes; ConfigError when shorter than 32 bytes."""
    if settings.jwt_secret is None:
        return None
    secret = settings.jwt_secret.get_secret_value().encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"OMNICRUD_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes; make one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return secret


def _check_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL, not {url!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        log.warning("%s uses plain http: signing keys can be forged on the way", name)


def require(principal: Principal, resource: str, action: Action) -> None:
    """Raise unless ``principal`` may do ``action`` on ``resource``: Unauthorized
    ("missing") for an anonymous caller (credentials would help), Forbidden otherwise."""
    if allows(principal, resource, action):
        return
    if principal.kind == "anonymous":
        raise Unauthorized("missing", token_sent=False)
    raise Forbidden(required_scope(resource, action))


class Authenticator:
    def __init__(
        self,
        *,
        jwt: JWTVerifier | None = None,
        keys: KeyCache | None = None,
        anonymous_scopes: frozenset[str] = frozenset(),
        seen_size: int = 10_000,
    ) -> None:
        self._jwt = jwt
        self._keys = keys
        self._anonymous = Principal(None, anonymous_scopes, "anonymous")
        self._enabled = jwt is not None or keys is not None
        self._seen: OrderedDict[str, tuple[Principal, float, Clock]] = OrderedDict()
        """Header value -> its Principal until a time on a clock: a token's ``exp`` (+
        leeway), or when the key cache rereads the key. Only successes are kept."""
        self._seen_size = seen_size
        self._forgotten = 0
        self._hits = 0
        self._misses = 0
        if jwt is not None:
            jwt.on_clear = self.forget
        if keys is not None:
            keys.on_forget = self.forget

    @classmethod
    def from_settings(
        cls, settings: Settings, *, key_store: KeyStore | None = None
    ) -> Authenticator:
        """Raises ConfigError on a short secret, a bad URL, or API keys without a store."""
        secret = hs256_secret(settings)
        jwks: JWKSource | None = None
        if settings.jwks_url is not None or settings.oidc_issuer is not None:
            for name, url in (
                ("OMNICRUD_JWKS_URL", settings.jwks_url),
                ("OMNICRUD_OIDC_ISSUER", settings.oidc_issuer),
            ):
                if url is not None:
                    _check_url(name, url)
            jwks = JWKSource(
                jwks_url=settings.jwks_url,
                issuer=settings.oidc_issuer,
                timeout=settings.jwks_timeout,
                max_age=settings.jwks_max_age,
            )
        verifier: JWTVerifier | None = None
        if secret is not None or jwks is not None:
            verifier = JWTVerifier(
                secret=secret,
                jwks=jwks,
                audience=settings.jwt_audience,
                hs_issuer=settings.jwt_issuer,
                jwks_issuer=settings.oidc_issuer or settings.jwt_issuer,
                leeway=settings.jwt_leeway,
            )
            if jwks is not None:
                jwks.on_keys_removed = verifier.clear_cache
        keys: KeyCache | None = None
        if settings.api_keys:
            if key_store is None:
                raise ConfigError("OMNICRUD_API_KEYS=true needs a backend that stores API keys")
            keys = KeyCache(key_store, ttl=settings.api_key_cache_seconds)
        return cls(
            jwt=verifier, keys=keys, anonymous_scopes=parse_scopes(settings.anonymous_scopes)
        )

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def anonymous(self) -> Principal:
        return self._anonymous

    @property
    def jwt(self) -> JWTVerifier | None:
        return self._jwt

    @property
    def keys(self) -> KeyCache | None:
        return self._keys

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller of a request with this ``Authorization`` header value.

        Raises Unauthorized (401), IssuerUnavailable (503), or the key store's Unavailable.
        A header seen before costs one dict lookup and one clock read.
        """
        if not self._enabled:
            return SYSTEM
        if not authorization:
            return self._anonymous
        seen = self._seen.get(authorization)
        if seen is not None:
            if seen[2]() < seen[1]:
                self._hits += 1
                return seen[0]
            del self._seen[authorization]
        self._misses += 1
        forgotten = self._forgotten
        principal, until, clock = await self._verify(authorization)
        if forgotten == self._forgotten:  # else a key was dropped while this one was read
            self._seen[authorization] = (principal, until, clock)
            if len(self._seen) > self._seen_size:
                self._seen.popitem(last=False)
        return principal

    def cache_info(self) -> CacheInfo:
        """Headers answered from memory (hits) or verified (misses), and how many are kept."""
        return CacheInfo(self._hits, self._misses, len(self._seen))

    def forget(self) -> None:
        """Drop every remembered header (a key was revoked here or a JWKS key removed)."""
        self._seen.clear()
        self._forgotten += 1

    async def _verify(self, authorization: str) -> tuple[Principal, float, Clock]:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthorized("unsupported_scheme", token_sent=False)
        token = credentials.strip()
        if not token:
            raise Unauthorized("malformed", token_sent=True)
        if looks_like_key(token):
            return await self._api_key(token)
        if self._jwt is None:
            raise Unauthorized("unsupported_token", token_sent=True)
        principal, until = await self._jwt.check(token)
        return principal, until, self._jwt.clock

    async def aclose(self) -> None:
        if self._jwt is not None:
            await self._jwt.aclose()

    async def _api_key(self, token: str) -> tuple[Principal, float, Clock]:
        if self._keys is None:
            raise Unauthorized("unsupported_token", token_sent=True)
        key_id = parse_key(token)
        if key_id is None:
            raise Unauthorized("malformed", token_sent=True)
        record, until = await self._keys.lookup(key_id)
        if record is None or not key_matches(record, token):
            raise Unauthorized("unknown_key", token_sent=True)
        if record.revoked_at is not None:
            raise Unauthorized("revoked_key", token_sent=True)
        principal = Principal(record.principal_subject, record.scopes, "api_key")
        return principal, until, self._keys.clock
