"""JWT verification against a real local OIDC issuer and an HS256 secret."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from omnicrud.auth import Authenticator, JWTVerifier, Principal, Unauthorized
from omnicrud.config import Settings
from tests.auth.issuer import Issuer, generate, raw_hs256

SECRET = "s" * 40
AUDIENCE = "omnicrud-tests"


def oidc_auth(issuer: Issuer, **extra: Any) -> Authenticator:
    return Authenticator.from_settings(
        Settings(oidc_issuer=issuer.url, jwt_audience=AUDIENCE, **extra)
    )


def hs_auth(**extra: Any) -> Authenticator:
    return Authenticator.from_settings(Settings(jwt_secret=SECRET, jwt_audience=AUDIENCE, **extra))


def authenticate(auth: Authenticator, token: str) -> Principal:
    return asyncio.run(auth.authenticate(f"Bearer {token}"))


def hs_token(**overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "bob", "aud": AUDIENCE, "exp": now + 600, "iat": now}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, SECRET, algorithm="HS256")


# (config, token made from the issuer, expected reason)
Case = tuple[str, Callable[[Issuer], str], str]


def _public_pem(issuer: Issuer) -> bytes:
    return (
        issuer.published[0]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _wrong_signature(issuer: Issuer) -> str:
    other = generate("rsa")
    kid = issuer.published[0].kid
    return jwt.encode(issuer.claims(), other, algorithm="RS256", headers={"kid": kid})


def _ec_alg_on_rsa_kid(issuer: Issuer) -> str:
    ec_key = issuer.published[1].private
    kid = issuer.published[0].kid
    return jwt.encode(issuer.claims(), ec_key, algorithm="ES256", headers={"kid": kid})


BAD: dict[str, Case] = {
    "expired": ("oidc", lambda i: i.sign(i.published[0], exp=int(time.time()) - 120), "expired"),
    "not yet valid": (
        "oidc",
        lambda i: i.sign(i.published[0], nbf=int(time.time()) + 120),
        "not_yet_valid",
    ),
    "wrong aud": ("oidc", lambda i: i.sign(i.published[0], aud="someone-else"), "bad_audience"),
    "no aud": ("oidc", lambda i: i.sign(i.published[0], aud=None), "missing_claim"),
    "wrong iss": ("oidc", lambda i: i.sign(i.published[0], iss="https://evil"), "bad_issuer"),
    "unknown kid": (
        "oidc",
        lambda i: jwt.encode(
            i.claims(), i.published[0].private, algorithm="RS256", headers={"kid": "nope"}
        ),
        "unknown_kid",
    ),
    "no kid": (
        "oidc",
        lambda i: jwt.encode(i.claims(), i.published[0].private, algorithm="RS256"),
        "missing_kid",
    ),
    "alg none": ("oidc", lambda i: jwt.encode(i.claims(), "", algorithm="none"), "bad_algorithm"),
    "HS256 signed with the RSA public key": (
        "oidc",
        lambda i: raw_hs256(
            {"alg": "HS256", "typ": "JWT", "kid": i.published[0].kid}, i.claims(), _public_pem(i)
        ),
        "bad_algorithm",
    ),
    "ES256 header on an RSA kid": ("oidc", _ec_alg_on_rsa_kid, "bad_algorithm"),
    "RS256 against an HS-only config": ("hs", lambda i: i.sign(i.published[0]), "bad_algorithm"),
    "HS256 with another secret": (
        "hs",
        lambda i: jwt.encode({"sub": "x", "exp": 2**31}, "t" * 40, algorithm="HS256"),
        "bad_signature",
    ),
    "over 8 KiB": ("oidc", lambda i: i.sign(i.published[0], pad="x" * 8200), "too_large"),
    "garbage": ("oidc", lambda i: "not-a-jwt", "malformed"),
    "three garbage segments": ("oidc", lambda i: "eyJ.eyJ.sig", "malformed"),
    "non-ascii": ("oidc", lambda i: "é" + i.sign(i.published[0]), "malformed"),
    "wrong signature": ("oidc", _wrong_signature, "bad_signature"),
    "missing sub": ("oidc", lambda i: i.sign(i.published[0], sub=None), "missing_claim"),
    "empty sub": ("hs", lambda i: hs_token(sub=""), "bad_claim"),
    "numeric sub": ("hs", lambda i: hs_token(sub=42), "bad_claim"),
    "missing exp": ("hs", lambda i: hs_token(exp=None), "missing_claim"),
    "scope not a string": ("hs", lambda i: hs_token(scope=["a"]), "bad_claim"),
    "scp not strings": ("hs", lambda i: hs_token(scp=[1, 2]), "bad_claim"),
}


@pytest.mark.parametrize("case", BAD.values(), ids=list(BAD))
def test_bad_tokens_are_401_invalid_token(issuer: Issuer, case: Case) -> None:
    config, make, reason = case
    issuer.publish("rsa", "rsa-1")
    issuer.publish("ec", "ec-1")
    auth = oidc_auth(issuer) if config == "oidc" else hs_auth()
    with pytest.raises(Unauthorized) as caught:
        authenticate(auth, make(issuer))
    assert caught.value.reason == reason
    assert caught.value.token_sent
    assert caught.value.challenge.startswith('Bearer error="invalid_token"')


@pytest.mark.parametrize("kind", ["rsa", "ec", "ed25519"])
def test_every_jwks_algorithm_verifies(issuer: Issuer, kind: str) -> None:
    key = issuer.publish(kind, f"{kind}-1")
    principal = authenticate(oidc_auth(issuer), issuer.sign(key, scope="items:read posts:write"))
    assert principal == Principal("alice", frozenset({"items:read", "posts:write"}), "jwt")


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": "a:read  b:write"}, {"a:read", "b:write"}),
        ({"scope": None, "scp": "a:read b:read"}, {"a:read", "b:read"}),
        ({"scope": None, "scp": ["a:read", "admin"]}, {"a:read", "admin"}),
        ({"scope": "a:read", "scp": ["b:read"]}, {"a:read", "b:read"}),
        ({"scope": None}, set()),
    ],
)
def test_scope_and_scp_forms(issuer: Issuer, claims: dict[str, Any], scopes: set[str]) -> None:
    key = issuer.publish("ec", "ec-1")
    principal = authenticate(oidc_auth(issuer), issuer.sign(key, **claims))
    assert principal.scopes == frozenset(scopes)


def test_leeway_accepts_a_token_just_expired() -> None:
    token = hs_token(exp=int(time.time()) - 10)
    assert authenticate(hs_auth(), token).subject == "bob"
    with pytest.raises(Unauthorized, match="expired"):
        authenticate(hs_auth(jwt_leeway=0), token)


def test_hs256_and_jwks_together_pick_the_key_from_the_algorithm(issuer: Issuer) -> None:
    key = issuer.publish("rsa", "rsa-1")
    auth = Authenticator.from_settings(
        Settings(jwt_secret=SECRET, oidc_issuer=issuer.url, jwt_audience=AUDIENCE)
    )
    assert authenticate(auth, hs_token()).subject == "bob"
    assert authenticate(auth, issuer.sign(key)).subject == "alice"
    forged = raw_hs256({"alg": "HS256", "kid": "rsa-1"}, issuer.claims(), _public_pem(issuer))
    with pytest.raises(Unauthorized, match="bad_signature"):
        authenticate(auth, forged)


def test_jwt_issuer_is_required_of_hs256_tokens_when_set() -> None:
    auth = hs_auth(jwt_issuer="https://me")
    assert authenticate(auth, hs_token(iss="https://me")).subject == "bob"
    with pytest.raises(Unauthorized, match="bad_issuer"):
        authenticate(auth, hs_token(iss="https://other"))


def test_a_repeated_token_costs_a_lookup_not_a_verification(issuer: Issuer) -> None:
    key = issuer.publish("rsa", "rsa-1")
    auth = oidc_auth(issuer)
    verifier = auth.jwt
    assert verifier is not None
    tokens = [issuer.sign(key, jti=str(n)) for n in range(200)]
    header = f"Bearer {tokens[0]}"

    async def run() -> tuple[float, float]:
        started = time.perf_counter()
        for token in tokens:
            await auth.authenticate(f"Bearer {token}")
        uncached = (time.perf_counter() - started) / len(tokens)
        started = time.perf_counter()
        for _ in range(10_000):
            await auth.authenticate(header)
        return uncached, (time.perf_counter() - started) / 10_000

    uncached, cached = asyncio.run(run())
    info = verifier.cache_info()
    assert (info.misses, info.hits, info.size) == (200, 0, 200)  # the header was enough
    info = auth.cache_info()
    assert (info.misses, info.hits, info.size) == (200, 10_000, 200)
    assert cached < uncached / 5, (cached, uncached)
    assert cached < 50e-6


def test_a_cached_token_still_expires() -> None:
    now = [time.time()]
    verifier = JWTVerifier(secret=SECRET.encode(), leeway=0, clock=lambda: now[0])
    token = jwt.encode({"sub": "x", "exp": int(now[0]) + 5}, SECRET, algorithm="HS256")
    assert asyncio.run(verifier.verify(token)).subject == "x"
    assert asyncio.run(verifier.verify(token)).subject == "x"
    assert verifier.cache_info().hits == 1
    now[0] += 10  # past exp on the cache's clock: the entry is dropped, the token re-verified
    asyncio.run(verifier.verify(token))
    assert (verifier.cache_info().hits, verifier.cache_info().misses) == (1, 2)


def test_the_cache_is_bounded() -> None:
    verifier = JWTVerifier(secret=SECRET.encode(), cache_size=3)
    for n in range(5):
        token = jwt.encode({"sub": str(n), "exp": 2**31}, SECRET, algorithm="HS256")
        asyncio.run(verifier.verify(token))
    assert verifier.cache_info().size == 3
