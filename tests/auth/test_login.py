"""Built-in login: equal cost for unknown user and wrong password, throttling, tokens."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time

import pytest

from omnicrud.auth import (
    Account,
    JWTVerifier,
    Login,
    Throttled,
    ThrottlePolicy,
    TokenIssuer,
    Unauthorized,
)
from omnicrud.config import Settings
from omnicrud.core.errors import ConfigError
from omnicrud.core.secrets import hash_secret
from tests.auth.fakes import Accounts, Throttle

SECRET = b"k" * 32
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def accounts() -> Accounts:
    return Accounts(
        {
            "alice": Account("7", hash_secret("correct horse")),
            "gone": Account("8", hash_secret("correct horse"), active=False),
        }
    )


def make_login(
    accounts: Accounts, throttle: Throttle, clock: list[dt.datetime], **policy: int
) -> Login:
    return Login(
        accounts=accounts,
        throttle=throttle,
        issuer=TokenIssuer(SECRET, lifetime=600),
        scopes=frozenset({"*:read", "posts:write"}),
        policy=ThrottlePolicy(**policy),
        now=lambda: clock[0],
    )


def test_unknown_user_and_wrong_password_cost_the_same(accounts: Accounts) -> None:
    login = make_login(
        accounts, Throttle(), [NOW], max_failures=1000, max_failures_per_username=1000
    )

    async def attempt(username: str) -> float:
        started = time.perf_counter()
        with pytest.raises(Unauthorized) as caught:
            await login.login(username, "wrong password", "10.0.0.1")
        assert (caught.value.reason, caught.value.token_sent) == ("invalid_credentials", False)
        assert caught.value.challenge == "Bearer"
        return time.perf_counter() - started

    async def run() -> tuple[list[float], list[float]]:
        unknown, wrong = [], []
        for _ in range(20):
            unknown.append(await attempt("nobody"))
            wrong.append(await attempt("alice"))
        return unknown, wrong

    unknown, wrong = asyncio.run(run())
    a, b = statistics.median(unknown), statistics.median(wrong)
    assert abs(a - b) / max(a, b) < 0.2, (a, b)
    assert min(a, b) > 0.005  # a real Argon2 verify ran in both cases


def test_success_issues_a_token_the_verifier_accepts(accounts: Accounts) -> None:
    throttle = Throttle()
    login = make_login(accounts, throttle, [NOW])
    issued = asyncio.run(login.login("alice", "correct horse", "10.0.0.1"))
    body = issued.as_json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 600
    principal = asyncio.run(JWTVerifier(secret=SECRET).verify(issued.access_token))
    assert principal.subject == "7"
    assert principal.scopes == {"*:read", "posts:write"}
    narrowed = asyncio.run(login.login("alice", "correct horse", "c", scope="items:read admin"))
    scopes = asyncio.run(JWTVerifier(secret=SECRET).verify(narrowed.access_token)).scopes
    assert scopes == {"items:read"}


def test_inactive_account_fails_like_a_wrong_password(accounts: Accounts) -> None:
    login = make_login(accounts, Throttle(), [NOW])
    with pytest.raises(Unauthorized, match="invalid_credentials"):
        asyncio.run(login.login("gone", "correct horse", "c"))


def test_failures_per_username_and_client_are_throttled(accounts: Accounts) -> None:
    clock = [NOW]
    login = make_login(accounts, Throttle(), clock, max_failures=3, window=300)

    async def run() -> None:
        for _ in range(3):
            with pytest.raises(Unauthorized):
                await login.login("alice", "nope", "10.0.0.1")
        clock[0] = NOW + dt.timedelta(seconds=100)
        with pytest.raises(Throttled) as caught:
            await login.login("alice", "correct horse", "10.0.0.1")
        assert caught.value.retry_after == 200
        # Another client is not locked out by this one.
        await login.login("alice", "correct horse", "10.0.0.2")
        clock[0] = NOW + dt.timedelta(seconds=301)
        await login.login("alice", "correct horse", "10.0.0.1")

    asyncio.run(run())


def test_failures_per_username_over_all_clients_are_throttled(accounts: Accounts) -> None:
    login = make_login(accounts, Throttle(), [NOW], max_failures=3, max_failures_per_username=4)

    async def run() -> None:
        for n in range(4):
            with pytest.raises(Unauthorized):
                await login.login("alice", "nope", f"10.0.0.{n}")
        with pytest.raises(Throttled):
            await login.login("alice", "correct horse", "10.0.0.99")

    asyncio.run(run())


def test_success_clears_the_counters(accounts: Accounts) -> None:
    throttle = Throttle()
    login = make_login(accounts, throttle, [NOW], max_failures=3)

    async def run() -> None:
        for _ in range(2):
            with pytest.raises(Unauthorized):
                await login.login("alice", "nope", "c")
        await login.login("alice", "correct horse", "c")
        assert throttle.rows == {}

    asyncio.run(run())


def test_from_settings_needs_the_secret(accounts: Accounts) -> None:
    with pytest.raises(ConfigError, match="OMNICRUD_JWT_SECRET"):
        Login.from_settings(Settings(), accounts=accounts, throttle=Throttle())
    login = Login.from_settings(
        Settings(jwt_secret="x" * 32, token_lifetime=120, jwt_audience="api"),
        accounts=accounts,
        throttle=Throttle(),
    )
    issued = asyncio.run(login.login("alice", "correct horse", "c"))
    verifier = JWTVerifier(secret=b"x" * 32, audience="api", hs_issuer="omnicrud")
    assert asyncio.run(verifier.verify(issued.access_token)).subject == "7"
    assert issued.expires_in == 120
