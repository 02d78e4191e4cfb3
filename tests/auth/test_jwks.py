"""JWKS fetching: rotation, refetch limits, outages (never a hang, never a 500)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import pytest

from omnicrud.auth import Authenticator, IssuerUnavailable, JWKSource, JWTVerifier, Unauthorized
from omnicrud.config import Settings
from tests.auth.issuer import Issuer, b64


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier_for(
    issuer: Issuer, clock: Clock, max_age: float = 300
) -> tuple[JWTVerifier, JWKSource]:
    source = JWKSource(issuer=issuer.url, clock=clock, max_age=max_age)
    verifier = JWTVerifier(jwks=source, jwks_issuer=issuer.url)
    source.on_keys_removed = verifier.clear_cache
    return verifier, source


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_rotation_refetches_once_per_30_seconds(issuer: Issuer) -> None:
    clock = Clock()
    verifier, _ = verifier_for(issuer, clock)
    first = issuer.publish("rsa", "k1")

    async def run() -> None:
        assert (await verifier.verify(issuer.sign(first))).subject == "alice"
        assert issuer.jwks_fetches == 1
        assert issuer.requests["/.well-known/openid-configuration"] == 1
        clock.now += 31
        second = issuer.publish("ec", "k2")  # rotation: a new kid appears
        assert (await verifier.verify(issuer.sign(second))).subject == "alice"
        assert issuer.jwks_fetches == 2
        clock.now += 5
        third = issuer.publish("ed25519", "k3")  # another new kid, within 30 s
        for _ in range(3):
            with pytest.raises(Unauthorized, match="unknown_kid"):
                await verifier.verify(issuer.sign(third))
        assert issuer.jwks_fetches == 2
        assert (await verifier.verify(issuer.sign(first, jti="a"))).subject == "alice"
        clock.now += 30
        assert (await verifier.verify(issuer.sign(third))).subject == "alice"
        assert issuer.jwks_fetches == 3
        assert issuer.requests["/.well-known/openid-configuration"] == 1

    asyncio.run(run())


def test_a_first_unknown_kid_refetches_immediately(issuer: Issuer) -> None:
    """The 30 s limit counts from the last fetch, so rotation right after start works."""
    clock = Clock()
    verifier, _ = verifier_for(issuer, clock)
    first = issuer.publish("rsa", "k1")
    asyncio.run(verifier.verify(issuer.sign(first)))
    clock.now += 30
    second = issuer.publish("rsa", "k2", n=1)
    assert asyncio.run(verifier.verify(issuer.sign(second))).subject == "alice"
    assert issuer.jwks_fetches == 2


def test_a_removed_key_drops_the_tokens_it_signed(issuer: Issuer) -> None:
    clock = Clock()
    verifier, _ = verifier_for(issuer, clock)
    old = issuer.publish("rsa", "old")
    token = issuer.sign(old)

    async def run() -> None:
        await verifier.verify(token)
        issuer.published.clear()
        new = issuer.publish("ec", "new")
        clock.now += 31
        await verifier.verify(issuer.sign(new))  # refetch: "old" is gone
        with pytest.raises(Unauthorized, match="unknown_kid"):
            await verifier.verify(token)

    asyncio.run(run())


def test_stale_keys_refresh_in_the_background(issuer: Issuer) -> None:
    clock = Clock()
    verifier, source = verifier_for(issuer, clock, max_age=300)
    key = issuer.publish("rsa", "k1")

    async def run() -> None:
        await verifier.verify(issuer.sign(key))
        clock.now += 301
        issuer.status = 500  # the IdP is down: cached keys keep serving
        assert (await verifier.verify(issuer.sign(key, jti="1"))).subject == "alice"
        await asyncio.sleep(0.2)
        assert issuer.jwks_fetches == 2
        assert (await verifier.verify(issuer.sign(key, jti="2"))).subject == "alice"
        await source.aclose()

    asyncio.run(run())


def test_unknown_kid_while_the_issuer_is_down_is_503(issuer: Issuer) -> None:
    clock = Clock()
    verifier, _ = verifier_for(issuer, clock)
    key = issuer.publish("rsa", "k1")
    asyncio.run(verifier.verify(issuer.sign(key)))
    issuer.status = 500
    clock.now += 31
    rotated = issuer.publish("ec", "k2")
    with pytest.raises(IssuerUnavailable) as caught:
        asyncio.run(verifier.verify(issuer.sign(rotated)))
    assert caught.value.retry_after >= 1


@pytest.mark.parametrize("where", ["refused", "silent", "http 500", "not json"])
def test_unreachable_keys_fail_fast_with_503(issuer: Issuer, silent_port: int, where: str) -> None:
    key = issuer.publish("rsa", "k1")
    url = {
        "refused": f"http://127.0.0.1:{closed_port()}/jwks",
        "silent": f"http://127.0.0.1:{silent_port}/jwks",
        "http 500": issuer.url + "/jwks",
        "not json": issuer.url + "/nothing-here",
    }[where]
    if where == "http 500":
        issuer.status = 500
    if where == "not json":
        issuer.status = 200  # answers {} : not a JWKS
    auth = Authenticator.from_settings(Settings(jwks_url=url, jwks_timeout=0.5))
    token = issuer.sign(key)
    started = time.monotonic()
    with pytest.raises(IssuerUnavailable):
        asyncio.run(auth.authenticate(f"Bearer {token}"))
    assert time.monotonic() - started < 1.5
    # A second attempt within 30 s does not fetch again: it fails at once.
    started = time.monotonic()
    with pytest.raises(IssuerUnavailable):
        asyncio.run(auth.authenticate(f"Bearer {token}"))
    assert time.monotonic() - started < 0.1


def test_a_hanging_fetch_does_not_block_the_event_loop(silent_port: int) -> None:
    source = JWKSource(jwks_url=f"http://127.0.0.1:{silent_port}/jwks", timeout=0.5)
    verifier = JWTVerifier(jwks=source)
    header, claims = {"alg": "RS256", "kid": "k"}, {"sub": "x", "exp": 2**31}
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.c2ln"

    async def run() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        with pytest.raises(IssuerUnavailable):
            await verifier.verify(token)
        task.cancel()
        return ticks

    assert asyncio.run(run()) >= 20  # ~50 in 0.5 s if the loop kept running


def test_discovery_must_name_the_configured_issuer(issuer: Issuer) -> None:
    key = issuer.publish("rsa", "k1")
    source = JWKSource(issuer=issuer.url + "/", timeout=1)  # not what discovery says
    verifier = JWTVerifier(jwks=source)
    with pytest.raises(IssuerUnavailable):
        asyncio.run(verifier.verify(issuer.sign(key)))
    assert issuer.jwks_fetches == 0
