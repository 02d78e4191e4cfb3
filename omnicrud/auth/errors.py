"""Authentication errors: enough data for the API to answer them, no HTTP imports here.

The mapping the API installs (CONTRACT §5, §7; RFC 6750 §3 for the challenge):

==================  ======  ==========================================================
error               status  headers
==================  ======  ==========================================================
Unauthorized        401     ``WWW-Authenticate: Bearer`` — plus ``error="invalid_token"``
                            when a token was sent (``Unauthorized.challenge``)
Forbidden           403     ``WWW-Authenticate: Bearer error="insufficient_scope",
                            scope="R:read"`` (``Forbidden.challenge``)
Throttled           429     ``Retry-After: <seconds>``
IssuerUnavailable   503     ``Retry-After: <seconds>`` (a subclass of ``Unavailable``, so
                            the existing mapping already answers 503, never 500)
==================  ======  ==========================================================

``detail`` is safe to show to clients: it never contains the token, key or password.
"""

from __future__ import annotations

from omnicrud.core.errors import OmnicrudError, Unavailable

REASONS: dict[str, str] = {
    "missing": "credentials are required",
    "unsupported_scheme": "use Authorization: Bearer <token>",
    "unsupported_token": "this kind of credential is not accepted here",
    "malformed": "the token is malformed",
    "too_large": "the token is too large",
    "bad_algorithm": "the token's algorithm is not accepted",
    "missing_kid": "the token names no key (kid)",
    "unknown_kid": "the token is signed with an unknown key",
    "bad_signature": "the token's signature does not verify",
    "expired": "the token has expired",
    "not_yet_valid": "the token is not valid yet",
    "bad_audience": "the token is for another audience",
    "bad_issuer": "the token comes from another issuer",
    "missing_claim": "the token lacks a required claim",
    "bad_claim": "the token has a claim of the wrong type",
    "unknown_key": "the API key is unknown",
    "revoked_key": "the API key was revoked",
    "invalid_credentials": "wrong username or password",
}
"""Every ``Unauthorized.reason`` and its client-safe sentence."""


class AuthError(OmnicrudError):
    """Base of the errors ``omnicrud.auth`` raises."""


class Unauthorized(AuthError):
    """401: no valid credentials. ``reason`` is a key of ``REASONS``."""

    def __init__(self, reason: str, *, token_sent: bool) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(reason)
        self.reason = reason
        self.token_sent = token_sent

    @property
    def detail(self) -> str:
        return REASONS[self.reason]

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` value."""
        if self.token_sent:
            return f'Bearer error="invalid_token", error_description="{self.detail}"'
        return "Bearer"


class Forbidden(AuthError):
    """403: valid credentials without the scope ``scope`` (e.g. ``items:write``)."""

    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope

    @property
    def detail(self) -> str:
        return f"the credentials lack the scope {self.scope}"

    @property
    def challenge(self) -> str:
        return f'Bearer error="insufficient_scope", scope="{self.scope}"'


class Throttled(AuthError):
    """429: too many failed logins; try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = max(1, retry_after)

    @property
    def detail(self) -> str:
        return "too many failed logins; try again later"


class IssuerUnavailable(Unavailable, AuthError):
    """503: the token may be valid but its keys cannot be fetched (JWKS or discovery down).

    Not a 401: ``invalid_token`` tells a client to throw the token away and log in again,
    which would turn an identity-provider outage into a login storm. Like a database
    outage (§5) it is the server's trouble, so 503 + ``Retry-After``.
    """

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = max(1, retry_after)

    @property
    def detail(self) -> str:
        return "the token's signing keys cannot be fetched; try again later"
