"""The backend's AuthStore on the database of ``DATABASE_URL``: keys, throttle counters
(one atomic statement per hit, so concurrent hits never lose a count) and accounts."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from omnicrud.auth import AuthStore, new_key
from omnicrud.bootstrap import Deployment, open_database
from omnicrud.config import Settings
from omnicrud.core.errors import Conflict
from tests.conformance.support import uid


async def _with_store(settings: Settings, work: object) -> None:
    deployment = Deployment.load(settings)
    storage, _ = await open_database(deployment)
    try:
        assert deployment.backend.auth_store is not None
        await work(deployment.backend.auth_store(storage), deployment)  # type: ignore[operator]
    finally:
        await storage.close()


def test_keys(settings: Settings) -> None:
    async def work(store: AuthStore, _: Deployment) -> None:
        name = uid()
        key, record = new_key(name, frozenset({"items:read", "posts:write"}), subject="42")
        await store.create_key(record)
        with pytest.raises(Conflict) as taken:
            await store.create_key(new_key(name, frozenset({"admin"}))[1])
        assert taken.value.field == "name"
        got = await store.get_key(record.id)
        assert got is not None
        assert got.hash == record.hash
        assert got.scopes == record.scopes
        assert got.subject == "42"
        assert abs((got.created_at - record.created_at).total_seconds()) < 0.01
        assert got.revoked_at is None
        assert key not in repr(got)
        assert name in [k.name for k in await store.list_keys()]
        assert await store.revoke_key(name, dt.datetime.now(dt.UTC))
        assert not await store.revoke_key(name, dt.datetime.now(dt.UTC))
        revoked = await store.get_key(record.id)
        assert revoked is not None
        assert revoked.revoked_at is not None
        assert await store.get_key("0" * 16) is None

    asyncio.run(_with_store(settings, work))


def test_throttle_hits_are_atomic_and_windows_restart(settings: Settings) -> None:
    async def work(store: AuthStore, _: Deployment) -> None:
        key = "test:" + uid()
        now = dt.datetime.now(dt.UTC)
        assert await store.peek(key) is None
        await asyncio.gather(*(store.hit(key, now, 300) for _ in range(20)))
        state = await store.peek(key)
        assert state is not None
        assert state.failures == 20
        assert abs((state.window_start - now).total_seconds()) < 0.01
        later = now + dt.timedelta(seconds=301)
        restarted = await store.hit(key, later, 300)
        assert restarted.failures == 1
        assert abs((restarted.window_start - later).total_seconds()) < 0.01
        await store.purge(later - dt.timedelta(seconds=1))
        assert (await store.peek(key)) is not None
        await store.clear(key)
        assert await store.peek(key) is None

    asyncio.run(_with_store(settings, work))


def test_accounts(settings: Settings) -> None:
    async def work(store: AuthStore, deployment: Deployment) -> None:
        users = next(r for r in deployment.resources if r.accounts is not None)
        storage, _ = await open_database(deployment)
        try:
            name = uid()
            row = {
                "username": name,
                "email": f"{name}@example.com",
                "full_name": None,
                "password": "argon2-hash-stand-in",
                "is_active": False,
                "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
                "updated_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
            }
            (made,) = await storage.create(users, [row])
        finally:
            await storage.close()
        account = await store.find_account(users, name)
        assert account is not None
        assert account.id == str(made["id"])
        assert account.password_hash == "argon2-hash-stand-in"
        assert account.active is False
        assert await store.find_account(users, name.upper()) is None
        assert await store.find_account(users, uid()) is None

    asyncio.run(_with_store(settings, work))
