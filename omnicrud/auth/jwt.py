"""Bearer JWT verification: HS256 with a shared secret, RS256/ES256/EdDSA from a JWKS.

PyJWT rather than joserfc: we only verify JWS tokens (no JWE), PyJWT is typed, the most
deployed choice in FastAPI services, depends on nothing but ``cryptography``, and its
``decode(algorithms=[...], audience=, issuer=, leeway=, options={"require": ...})`` is
exactly the claim check §7 asks for, with a per-call algorithm allow-list.

Algorithm confusion is closed by choosing the key *from* the algorithm, never the other
way round: ``HS256`` is checked only against ``OMNICRUD_JWT_SECRET``, the asymmetric
algorithms only against a JWKS key whose own algorithm is the token's. So an HS256 token
"signed" with a public key's PEM finds no secret (or the wrong one), and an RS256 token
finds no JWKS when only the secret is configured: both are ``bad_algorithm`` (401).

A verified token is cached (LRU keyed by the token string, until its ``exp`` + leeway),
so a client repeating its token costs one dict lookup per request, no crypto, no I/O.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    InvalidSubjectError,
    MissingRequiredClaimError,
    PyJWTError,
)

from .errors import Unauthorized
from .jwks import JWKS_ALGORITHMS, JWKSource
from .principal import Principal

MAX_TOKEN_BYTES = 8192
MIN_SECRET_BYTES = 32
HS_ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "sub")
"""``exp``: a token that never expires cannot be taken back; ``sub``: owner scoping."""

_REASONS: tuple[tuple[type[PyJWTError], str], ...] = (
    # Subclasses before their bases (InvalidSignatureError is a DecodeError).
    (ExpiredSignatureError, "expired"),
    (ImmatureSignatureError, "not_yet_valid"),
    (InvalidAudienceError, "bad_audience"),
    (InvalidIssuerError, "bad_issuer"),
    (MissingRequiredClaimError, "missing_claim"),
    (InvalidSubjectError, "bad_claim"),
    (InvalidIssuedAtError, "bad_claim"),
    (InvalidSignatureError, "bad_signature"),
    (InvalidAlgorithmError, "bad_algorithm"),
    (InvalidKeyError, "bad_algorithm"),
)


@dataclass(frozen=True, slots=True)
class CacheInfo:
    hits: int
    misses: int
    size: int


def scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """Scopes from ``scope`` (space-separated) and ``scp`` (string or list of strings)."""
    scopes: set[str] = set()
    scope = claims.get("scope")
    if scope is not None:
        if not isinstance(scope, str):
            raise Unauthorized("bad_claim", token_sent=True)
        scopes.update(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, str):
        scopes.update(scp.split())
    elif isinstance(scp, list) and all(isinstance(s, str) for s in scp):
        scopes.update(s for item in scp for s in item.split())
    elif scp is not None:
        raise Unauthorized("bad_claim", token_sent=True)
    return frozenset(scopes)


def _reason(exc: PyJWTError) -> str:
    return next((reason for kind, reason in _REASONS if isinstance(exc, kind)), "malformed")


class JWTVerifier:
    """Turns a bearer JWT into a Principal or raises Unauthorized / IssuerUnavailable.

    ``secret`` enables HS256; ``jwks`` enables RS256/ES256/EdDSA. ``hs_issuer`` and
    ``jwks_issuer`` are the required ``iss`` for each (None: not checked);
    ``audience`` the required ``aud`` (None: not checked).
    """

    def __init__(
        self,
        *,
        secret: bytes | None = None,
        jwks: JWKSource | None = None,
        audience: str | None = None,
        hs_issuer: str | None = None,
        jwks_issuer: str | None = None,
        leeway: float = 30.0,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if secret is not None and len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"an HS256 secret needs at least {MIN_SECRET_BYTES} bytes")
        if secret is None and jwks is None:
            raise ValueError("JWTVerifier needs a secret or a JWKS")
        self._secret = secret
        self._jwks = jwks
        self._audience = audience
        self._hs_issuer = hs_issuer
        self._jwks_issuer = jwks_issuer
        self._leeway = leeway
        self._cache_size = cache_size
        self._clock = clock
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self.on_clear: Callable[[], None] | None = None
        """Called by ``clear_cache``: caches built on ``check`` forget their tokens too."""

    async def verify(self, token: str) -> Principal:
        return (await self.check(token))[0]

    async def check(self, token: str) -> tuple[Principal, float]:
        """The token's Principal and until when it holds, on ``clock`` (``exp`` + leeway)."""
        cached = self._cache.get(token)
        if cached is not None:
            if self._clock() < cached[1]:
                self._cache.move_to_end(token)
                self._hits += 1
                return cached
            del self._cache[token]
        self._misses += 1
        key, algorithm, issuer = await self._key_for(token)
        claims = self._decode(token, key, algorithm, issuer)
        subject = claims["sub"]
        if not subject:
            raise Unauthorized("bad_claim", token_sent=True)
        entry = (Principal(subject, scopes_of(claims), "jwt"), float(claims["exp"]) + self._leeway)
        self._cache[token] = entry
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return entry

    @property
    def clock(self) -> Callable[[], float]:
        """The clock ``check``'s expiry times are on."""
        return self._clock

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self._hits, self._misses, len(self._cache))

    def clear_cache(self) -> None:
        """Forget every verified token (called when a JWKS key disappears)."""
        self._cache.clear()
        if self.on_clear is not None:
            self.on_clear()

    async def aclose(self) -> None:
        if self._jwks is not None:
            await self._jwks.aclose()

    async def _key_for(self, token: str) -> tuple[bytes | PyJWK, str, str | None]:
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthorized("too_large", token_sent=True)
        if not token.isascii():
            raise Unauthorized("malformed", token_sent=True)
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise Unauthorized("malformed", token_sent=True) from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str):
            raise Unauthorized("malformed", token_sent=True)
        if algorithm == HS_ALGORITHM and self._secret is not None:
            return self._secret, algorithm, self._hs_issuer
        if algorithm in JWKS_ALGORITHMS and self._jwks is not None:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise Unauthorized("missing_kid", token_sent=True)
            return await self._jwks.key(kid), algorithm, self._jwks_issuer
        raise Unauthorized("bad_algorithm", token_sent=True)

    def _decode(
        self, token: str, key: bytes | PyJWK, algorithm: str, issuer: str | None
    ) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "verify_aud": bool(self._audience)},
            )
        except PyJWTError as exc:
            raise Unauthorized(_reason(exc), token_sent=True) from None
