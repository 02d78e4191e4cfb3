"""What the Authenticator and Access remember per header and per principal: successes only,
bounded, never past a token's ``exp`` or the key cache's 5 s, forgotten on revocation."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Annotated

import jwt
import pytest
from pydantic import BaseModel

from omnicrud.api.security import Access
from omnicrud.auth import (
    Authenticator,
    Forbidden,
    JWTVerifier,
    KeyCache,
    KeyRecord,
    Principal,
    Unauthorized,
    new_key,
)
from omnicrud.core.resources import Owner, Resource
from tests.auth.fakes import Keys

SECRET = "s" * 40


class Note(BaseModel):
    text: str
    owner_id: Annotated[str, Owner()]


def token(sub: str, exp: float, scope: str = "notes:read") -> str:
    return jwt.encode({"sub": sub, "exp": int(exp), "scope": scope}, SECRET, algorithm="HS256")


def test_a_remembered_key_is_reread_when_the_cache_period_ends() -> None:
    store, now = Keys(), [0.0]
    auth = Authenticator(keys=KeyCache(store, ttl=5, clock=lambda: now[0]))
    key, record = new_key("ci", frozenset({"notes:read"}))

    async def run() -> None:
        await store.create_key(record)
        assert (await auth.authenticate(f"Bearer {key}")).scopes == {"notes:read"}
        await store.revoke_key("ci", dt.datetime.now(dt.UTC))
        now[0] = 4.9  # another process revoked it: still remembered here, no read
        assert (await auth.authenticate(f"Bearer {key}")).kind == "api_key"
        assert store.reads == 1
        now[0] = 5.0
        with pytest.raises(Unauthorized, match="revoked_key"):
            await auth.authenticate(f"Bearer {key}")
        assert store.reads == 2

    asyncio.run(run())


def test_a_remembered_jwt_still_expires() -> None:
    now = [time.time()]
    auth = Authenticator(jwt=JWTVerifier(secret=SECRET.encode(), leeway=0, clock=lambda: now[0]))
    header = f"Bearer {token('bob', now[0] + 5)}"
    assert asyncio.run(auth.authenticate(header)).subject == "bob"
    assert asyncio.run(auth.authenticate(header)).subject == "bob"
    assert auth.cache_info().hits == 1
    now[0] += 10  # past exp on the cache's clock (PyJWT's own clock is real time)
    asyncio.run(auth.authenticate(header))
    assert (auth.cache_info().hits, auth.cache_info().misses) == (1, 2)


def test_failures_are_not_remembered() -> None:
    store = Keys()
    auth = Authenticator(jwt=JWTVerifier(secret=SECRET.encode()), keys=KeyCache(store))
    key, record = new_key("ci", frozenset())
    forged = f"ock_{record.id}_{'A' * 43}"

    async def run() -> None:
        await store.create_key(record)
        for header in ("Bearer not.a.jwt", f"Bearer {forged}", "Bearer ock_short", "Basic x"):
            for _ in range(2):
                with pytest.raises(Unauthorized):
                    await auth.authenticate(header)
        assert auth.cache_info().size == 0
        assert (await auth.authenticate(f"Bearer {key}")).subject == f"key:{record.id}"
        with pytest.raises(Unauthorized, match="unknown_key"):
            await auth.authenticate(f"Bearer {forged}")  # the real key did not vouch for it
        assert auth.cache_info().size == 1

    asyncio.run(run())


def test_remembered_headers_are_bounded() -> None:
    auth = Authenticator(jwt=JWTVerifier(secret=SECRET.encode()), seen_size=3)
    headers = [f"Bearer {token(str(n), 2**31)}" for n in range(5)]
    for header in headers:
        asyncio.run(auth.authenticate(header))
    assert auth.cache_info().size == 3
    assert asyncio.run(auth.authenticate(headers[0])).subject == "0"  # verified again


class SlowKeys(Keys):
    """A store whose reads wait for ``release``: a revocation can land mid-read."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = asyncio.Event()
        self.release = asyncio.Event()

    async def get_key(self, key_id: str) -> KeyRecord | None:
        self.reading.set()
        await self.release.wait()
        return await super().get_key(key_id)


def test_a_key_forgotten_during_its_read_is_not_remembered() -> None:
    async def run() -> None:
        store = SlowKeys()
        auth = Authenticator(keys=KeyCache(store))
        key, record = new_key("ci", frozenset())
        await store.create_key(record)
        pending = asyncio.create_task(auth.authenticate(f"Bearer {key}"))
        await store.reading.wait()
        assert auth.keys is not None
        auth.keys.forget(record.id)  # this process revoked some key meanwhile
        store.release.set()
        assert (await pending).kind == "api_key"
        assert auth.cache_info().size == 0
        await auth.authenticate(f"Bearer {key}")
        assert store.reads == 2  # nor by the key cache: read again

    asyncio.run(run())


def test_requests_arriving_together_share_one_read() -> None:
    async def run() -> None:
        store = SlowKeys()
        auth = Authenticator(keys=KeyCache(store))
        key, record = new_key("ci", frozenset())
        await store.create_key(record)
        pending = [asyncio.create_task(auth.authenticate(f"Bearer {key}")) for _ in range(20)]
        await store.reading.wait()
        pending[0].cancel()  # one caller gone does not fail the others
        store.release.set()
        done = await asyncio.gather(*pending[1:])
        assert {p.subject for p in done} == {f"key:{record.id}"}
        assert store.reads == 1

    asyncio.run(run())


def test_resolve_decides_once_per_principal_with_the_same_errors() -> None:
    auth = Authenticator(jwt=JWTVerifier(secret=SECRET.encode()))
    access = Access(auth, Resource("notes", Note))
    alice, bob = (f"Bearer {token(sub, 2**31)}" for sub in ("alice", "bob"))

    async def run() -> None:
        first = await access.resolve(alice, "read")
        assert first.principal == Principal("alice", frozenset({"notes:read"}), "jwt")
        assert (first.owner, first.stamp) == (("owner_id", "alice"), "alice")
        assert await access.resolve(alice, "read") is first
        assert (await access.resolve(bob, "read")).owner == ("owner_id", "bob")
        with pytest.raises(Forbidden, match="notes:write"):
            await access.resolve(alice, "write")
        with pytest.raises(Forbidden, match="notes:write"):
            await access.resolve(alice, "write")  # a refusal is decided again, not remembered
        with pytest.raises(Unauthorized, match="missing"):
            await access.resolve(None, "read")
        with pytest.raises(Unauthorized, match="malformed"):
            await access.resolve("Bearer x", "read")

    asyncio.run(run())
