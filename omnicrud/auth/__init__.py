"""Authentication and authorization (CONTRACT §7): credentials -> Principal, scopes.

The API calls ``Authenticator.authenticate(authorization_header)`` before any route logic,
then ``require(principal, resource, action)``; storages filter owned rows unless
``sees_all_owners(principal)``. Backends implement ``KeyStore`` (API keys),
``ThrottleStore`` (login failures) and ``AccountStore`` (built-in login).
"""

from .authenticator import LOOPBACK_HOSTS, Authenticator, hs256_secret, require
from .errors import REASONS, AuthError, Forbidden, IssuerUnavailable, Throttled, Unauthorized
from .jwks import JWKS_ALGORITHMS, JWKSource, parse_jwks
from .jwt import MAX_TOKEN_BYTES, CacheInfo, JWTVerifier, scopes_of
from .keys import KeyCache, KeyRecord, KeyStore, hash_key, key_matches, new_key, parse_key
from .login import (
    Account,
    AccountStore,
    IssuedToken,
    Login,
    ThrottlePolicy,
    ThrottleState,
    ThrottleStore,
    TokenIssuer,
)
from .principal import (
    ADMIN,
    METRICS_SCOPE,
    SYSTEM,
    Action,
    Kind,
    Principal,
    allows,
    grants,
    parse_scopes,
    required_scope,
    sees_all_owners,
)
from .stores import AuthStore, ResourceAccounts

__all__ = [
    "ADMIN",
    "JWKS_ALGORITHMS",
    "LOOPBACK_HOSTS",
    "MAX_TOKEN_BYTES",
    "METRICS_SCOPE",
    "REASONS",
    "SYSTEM",
    "Account",
    "AccountStore",
    "Action",
    "AuthError",
    "AuthStore",
    "Authenticator",
    "CacheInfo",
    "Forbidden",
    "IssuedToken",
    "IssuerUnavailable",
    "JWKSource",
    "JWTVerifier",
    "KeyCache",
    "KeyRecord",
    "KeyStore",
    "Kind",
    "Login",
    "Principal",
    "ResourceAccounts",
    "ThrottlePolicy",
    "ThrottleState",
    "ThrottleStore",
    "Throttled",
    "TokenIssuer",
    "Unauthorized",
    "allows",
    "grants",
    "hash_key",
    "hs256_secret",
    "key_matches",
    "new_key",
    "parse_jwks",
    "parse_key",
    "parse_scopes",
    "require",
    "required_scope",
    "scopes_of",
    "sees_all_owners",
]
