"""Scopes, API keys and the Authenticator's decisions before any route logic."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest

from omnicrud.auth import (
    SYSTEM,
    Action,
    Authenticator,
    Forbidden,
    KeyCache,
    Principal,
    Unauthorized,
    allows,
    hash_key,
    key_matches,
    new_key,
    parse_key,
    require,
    sees_all_owners,
)
from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError
from tests.auth.fakes import Keys


def who(*scopes: str) -> Principal:
    return Principal("u1", frozenset(scopes), "jwt")


@pytest.mark.parametrize(
    ("scopes", "resource", "action", "allowed"),
    [
        (("items:read",), "items", "read", True),
        (("items:read",), "items", "write", False),
        (("items:write",), "items", "read", False),  # write does not imply read
        (("items:write",), "items", "write", True),
        (("items:read",), "posts", "read", False),
        (("*:read",), "posts", "read", True),
        (("*:read",), "posts", "write", False),
        (("*:write",), "posts", "write", True),
        (("*:read",), "metrics", "read", False),
        (("metrics:read",), "metrics", "read", True),
        (("admin",), "posts", "write", True),
        (("admin",), "metrics", "read", True),
        ((), "items", "read", False),
    ],
)
def test_scope_rules(scopes: tuple[str, ...], resource: str, action: Action, allowed: bool) -> None:
    assert allows(who(*scopes), resource, action) is allowed


def test_only_admin_sees_every_owner() -> None:
    assert sees_all_owners(who("admin"))
    assert sees_all_owners(SYSTEM)
    assert not sees_all_owners(who("*:read", "*:write"))


def test_require_answers_401_to_anonymous_and_403_to_others() -> None:
    with pytest.raises(Unauthorized) as missing:
        require(Principal(None, frozenset(), "anonymous"), "items", "read")
    assert (missing.value.reason, missing.value.challenge) == ("missing", "Bearer")
    with pytest.raises(Forbidden) as forbidden:
        require(who("items:read"), "items", "write")
    assert forbidden.value.challenge == 'Bearer error="insufficient_scope", scope="items:write"'
    require(who("items:write"), "items", "write")


def test_key_format_and_hash() -> None:
    key, record = new_key("ci", frozenset({"items:read"}))
    assert re.fullmatch(r"ock_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", key)
    assert parse_key(key) == record.id
    assert record.hash == hash_key(key)
    assert key not in record.hash
    assert key_matches(record, key)
    assert not key_matches(record, key[:-1] + ("A" if key[-1] != "A" else "B"))
    for bad in ("ock_", "ock_xyz_abc", key + "x", key.replace("ock_", "okc_")):
        assert parse_key(bad) is None
    assert new_key("ci", frozenset())[0] != key


def test_key_cache_rereads_within_the_ttl() -> None:
    store, now = Keys(), [0.0]
    cache = KeyCache(store, ttl=5, clock=lambda: now[0])
    _, record = new_key("ci", frozenset())
    asyncio.run(store.create_key(record))

    async def run() -> None:
        assert await cache.get(record.id) == record
        assert await cache.get("0" * 16) is None
        now[0] = 4.9
        await cache.get(record.id)
        await cache.get("0" * 16)
        assert store.reads == 2
        now[0] = 5.0
        await cache.get(record.id)
        assert store.reads == 3

    asyncio.run(run())
    with pytest.raises(ValueError, match="at most"):
        KeyCache(store, ttl=6)


def test_api_keys_authenticate_and_revocation_takes_effect() -> None:
    store = Keys()
    auth = Authenticator.from_settings(Settings(api_keys=True), key_store=store)
    key, record = new_key("ci", frozenset({"items:read"}), subject="svc")
    other_key, other = new_key("anon", frozenset())

    async def run() -> None:
        await store.create_key(record)
        await store.create_key(other)
        principal = await auth.authenticate(f"Bearer {key}")
        assert principal == Principal("svc", frozenset({"items:read"}), "api_key")
        assert (await auth.authenticate(f"bearer {other_key}")).subject == f"key:{other.id}"
        forged = f"ock_{record.id}_{'A' * 43}"
        with pytest.raises(Unauthorized, match="unknown_key"):
            await auth.authenticate(f"Bearer {forged}")
        with pytest.raises(Unauthorized, match="unknown_key"):
            await auth.authenticate(f"Bearer ock_{'0' * 16}_{'A' * 43}")
        with pytest.raises(Unauthorized, match="malformed"):
            await auth.authenticate("Bearer ock_short")
        await store.revoke_key("ci", dt.datetime.now(dt.UTC))
        assert auth.keys is not None
        auth.keys.forget(record.id)
        with pytest.raises(Unauthorized, match="revoked_key"):
            await auth.authenticate(f"Bearer {key}")

    asyncio.run(run())


def test_auth_off_is_everything_allowed() -> None:
    auth = Authenticator.from_settings(Settings())
    assert not auth.enabled
    assert asyncio.run(auth.authenticate(None)) is SYSTEM
    assert asyncio.run(auth.authenticate("Bearer garbage")) is SYSTEM


def test_no_credentials_get_the_anonymous_scopes() -> None:
    settings = Settings(jwt_secret="x" * 32, anonymous_scopes="items:read")
    auth = Authenticator.from_settings(settings)
    assert auth.enabled
    for header in (None, ""):
        principal = asyncio.run(auth.authenticate(header))
        assert principal == Principal(None, frozenset({"items:read"}), "anonymous")


@pytest.mark.parametrize(
    ("header", "reason", "token_sent"),
    [
        ("Basic YWxpY2U6eA==", "unsupported_scheme", False),
        ("Bearer", "malformed", True),
        ("Bearer   ", "malformed", True),
        (f"Bearer ock_{'0' * 16}_{'A' * 43}", "unsupported_token", True),
    ],
)
def test_header_shapes(header: str, reason: str, token_sent: bool) -> None:
    auth = Authenticator.from_settings(Settings(jwt_secret="x" * 32))
    with pytest.raises(Unauthorized) as caught:
        asyncio.run(auth.authenticate(header))
    assert (caught.value.reason, caught.value.token_sent) == (reason, token_sent)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        Authenticator.from_settings(Settings(jwt_secret="short"))
    with pytest.raises(ConfigError, match="API keys"):
        Authenticator.from_settings(Settings(api_keys=True))
    with pytest.raises(ConfigError, match="http"):
        Authenticator.from_settings(Settings(jwks_url="file:///etc/jwks.json"))
    only_jwks = Authenticator.from_settings(Settings(jwks_url="https://idp.example/jwks"))
    assert only_jwks.enabled
