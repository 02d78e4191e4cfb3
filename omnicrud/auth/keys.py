"""API keys: the format, the stored hash, the store protocol and a short lookup cache.

A key reads ``ock_<id>_<secret>``: ``id`` is 16 hex digits (the row to look up, shown by
``omnicrud keys list``), ``secret`` 32 random bytes in urlsafe base64 (256 bits). Only
``sha256:<hex>`` of the whole key is stored.

Why SHA-256 and not Argon2 as for passwords: Argon2 is slow on purpose to make guessing
*low-entropy* passwords expensive. A key has 256 random bits: no amount of guessing
reaches it, with or without a slow hash, so stretching buys no security, while an
Argon2 verify on every request (tens of milliseconds, tens of MiB) would cap a core at a
few dozen requests per second and hand anyone an amplifier. A plain hash (as GitHub and
Stripe do for their tokens) costs a microsecond; comparison is constant-time.

Revocation reaches every process within ``MAX_CACHE_SECONDS``: a process re-reads a
key's row at most that long after it started the previous read (unknown ids are cached
too, so random ids do not each cost a query), and requests arriving together share one
read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

PREFIX = "ock_"
ID_HEX_DIGITS = 16
SECRET_BYTES = 32
MAX_CACHE_SECONDS = 5.0
HASH_SCHEME = "sha256:"
_KEY = re.compile(rf"ock_(?P<id>[0-9a-f]{{{ID_HEX_DIGITS}}})_(?P<secret>[A-Za-z0-9_-]{{43}})")


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One stored key (never the key itself). ``subject`` is the ``sub`` its requests
    act as (owner scoping); None means ``key:<id>``."""

    id: str
    name: str
    hash: str
    scopes: frozenset[str]
    created_at: dt.datetime
    subject: str | None = None
    revoked_at: dt.datetime | None = None

    @property
    def principal_subject(self) -> str:
        return self.subject if self.subject is not None else f"key:{self.id}"


class KeyStore(Protocol):
    """What a backend implements for API keys: one table/collection omnicrud owns,
    created by the schema manager, unique on ``id`` and on ``name``."""

    async def create_key(self, record: KeyRecord) -> None:
        """Store a new key. Raises ``Conflict("name")`` when the name is taken."""

    async def list_keys(self) -> list[KeyRecord]:
        """Every key, revoked ones included, in creation order."""

    async def revoke_key(self, name: str, at: dt.datetime) -> bool:
        """Set ``revoked_at`` on the live key named ``name``; False when there is none."""

    async def get_key(self, key_id: str) -> KeyRecord | None:
        """The key with this id, revoked or not; None when there is none."""


def looks_like_key(text: str) -> bool:
    return text.startswith(PREFIX)


def parse_key(text: str) -> str | None:
    """The key's id, or None when ``text`` is not a well-formed key."""
    match = _KEY.fullmatch(text)
    return match["id"] if match else None


def hash_key(key: str) -> str:
    return HASH_SCHEME + hashlib.sha256(key.encode("ascii")).hexdigest()


def key_matches(record: KeyRecord, key: str) -> bool:
    """Constant-time check that ``key`` is the one ``record`` was made from."""
    return hmac.compare_digest(record.hash.encode(), hash_key(key).encode())


def new_key(
    name: str,
    scopes: frozenset[str],
    *,
    subject: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[str, KeyRecord]:
    """A fresh key (shown once to the user) and the record to store."""
    key_id = secrets.token_hex(ID_HEX_DIGITS // 2)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    created = now if now is not None else dt.datetime.now(dt.UTC)
    return key, KeyRecord(key_id, name, hash_key(key), scopes, created, subject)


class KeyCache:
    """``get_key`` results by id for at most ``ttl`` seconds (≤ 5), LRU-bounded."""

    def __init__(
        self,
        store: KeyStore,
        *,
        ttl: float = MAX_CACHE_SECONDS,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= ttl <= MAX_CACHE_SECONDS:
            raise ValueError(f"the key cache may hold a key at most {MAX_CACHE_SECONDS} s")
        self._store = store
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[KeyRecord | None, float]] = OrderedDict()
        self._reading: dict[str, asyncio.Future[tuple[KeyRecord | None, float]]] = {}
        self._forgets = 0
        self.lookups = 0
        """Store reads so far."""
        self.on_forget: Callable[[], None] | None = None
        """Called by ``forget``: caches built on ``lookup`` drop their entries too."""

    async def get(self, key_id: str) -> KeyRecord | None:
        return (await self.lookup(key_id))[0]

    async def lookup(self, key_id: str) -> tuple[KeyRecord | None, float]:
        """The record (None: no such key) and until when it may be used, on ``clock``.
        Concurrent lookups of an id that must be read share one read."""
        entry = self._entries.get(key_id)
        if entry is not None and self._clock() - entry[1] < self._ttl:
            self._entries.move_to_end(key_id)
            return entry[0], entry[1] + self._ttl
        reading = self._reading.get(key_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read(key_id))
            self._reading[key_id] = reading
            reading.add_done_callback(lambda done: self._done(key_id, done))
        return await asyncio.shield(reading)  # one waiter cancelled: the read goes on

    async def _read(self, key_id: str) -> tuple[KeyRecord | None, float]:
        started = self._clock()  # the age counts from before the read
        forgets = self._forgets
        self.lookups += 1
        record = await self._store.get_key(key_id)
        if forgets == self._forgets:  # else it may predate a revocation made here
            self._entries[key_id] = (record, started)
            self._entries.move_to_end(key_id)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return record, started + self._ttl

    def _done(self, key_id: str, read: asyncio.Future[tuple[KeyRecord | None, float]]) -> None:
        if self._reading.get(key_id) is read:
            del self._reading[key_id]
        if not read.cancelled():
            read.exception()  # retrieved: a failure with no waiter left is not logged

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    def forget(self, key_id: str) -> None:
        """Drop one entry (this process revoked the key: effective here at once)."""
        self._entries.pop(key_id, None)
        self._reading.pop(key_id, None)  # later lookups read again
        self._forgets += 1
        if self.on_forget is not None:
            self.on_forget()
