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
from urllib.parse import urlsplit

from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError

from .errors import Forbidden, Unauthorized
from .jwks import JWKSource
from .jwt import MIN_SECRET_BYTES, JWTVerifier
from .keys import KeyCache, KeyStore, key_matches, looks_like_key, parse_key
from .principal import SYSTEM, Action, Principal, allows, parse_scopes, required_scope

log = logging.getLogger("omnicrud.auth")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


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
    ) -> None:
        self._jwt = jwt
        self._keys = keys
        self._anonymous = Principal(None, anonymous_scopes, "anonymous")

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
        return self._jwt is not None or self._keys is not None

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
        """
        if self._jwt is None and self._keys is None:
            return SYSTEM
        if not authorization:
            return self._anonymous
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
        return await self._jwt.verify(token)

    async def aclose(self) -> None:
        if self._jwt is not None:
            await self._jwt.aclose()

    async def _api_key(self, token: str) -> Principal:
        if self._keys is None:
            raise Unauthorized("unsupported_token", token_sent=True)
        key_id = parse_key(token)
        if key_id is None:
            raise Unauthorized("malformed", token_sent=True)
        record = await self._keys.get(key_id)
        if record is None or not key_matches(record, token):
            raise Unauthorized("unknown_key", token_sent=True)
        if record.revoked_at is not None:
            raise Unauthorized("revoked_key", token_sent=True)
        return Principal(record.principal_subject, record.scopes, "api_key")
