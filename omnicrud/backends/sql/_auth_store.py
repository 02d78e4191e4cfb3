"""The auth package's stores on SQL: API keys, login throttling, accounts (CONTRACT §7).

Two tables omnicrud owns, ``_omnicrud_api_keys`` and ``_omnicrud_login_throttle`` (names no
resource can take), in their own ``MetaData``: the schema manager creates them next to the
resources' tables, and Alembic's drift check and autogenerate never see them (they only
compare the resources' metadata). Times are stored as epoch seconds (a double): the same
column type and comparison on every dialect, no timezone conversions.

Statements are compiled once per store and run on the storage's own connections, like the
resources' (``SqlStorage.fetch`` / ``execute``). A throttle ``hit`` is one upsert statement
(``ON CONFLICT`` / ``ON DUPLICATE KEY``), so concurrent processes never lose a count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from omnicrud.auth import Account, KeyRecord, ThrottleState
from omnicrud.core.errors import Conflict, OmnicrudError
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Storage

from ._base import SqlStorage
from ._statements import Plan

AUTH_METADATA = sa.MetaData()
KEYS = sa.Table(
    "_omnicrud_api_keys",
    AUTH_METADATA,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("hash", sa.String(100), nullable=False),
    sa.Column("scopes", sa.Text(), nullable=False),
    sa.Column("subject", sa.String(255), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("revoked_at", sa.Double(), nullable=True),
    sa.UniqueConstraint("name", name="uq__omnicrud_api_keys_name"),
)
THROTTLE = sa.Table(
    "_omnicrud_login_throttle",
    AUTH_METADATA,
    sa.Column("throttle_key", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("window_start", sa.Double(), nullable=False),
)
_KEY_COLUMNS = ("id", "name", "hash", "scopes", "subject", "created_at", "revoked_at")


def create_tables(conn: sa.Connection) -> list[str]:
    """Create the tables omnicrud owns when missing; the names of those created."""
    present = set(sa.inspect(conn).get_table_names())
    missing = [t for t in AUTH_METADATA.sorted_tables if t.name not in present]
    for table in missing:
        table.create(conn)
    return [f"table {t.name}" for t in missing]


def _epoch(value: dt.datetime) -> float:
    return value.timestamp()


def _time(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(float(value), dt.UTC)


def _record(row: Sequence[Any]) -> KeyRecord:
    created = _time(row[5])
    assert created is not None
    scopes = frozenset(str(row[3]).split())
    return KeyRecord(row[0], row[1], row[2], scopes, created, row[4], _time(row[6]))


def _upsert(dialect_name: str) -> Any:
    """``hit``: insert (1, now), or on conflict restart an expired window / count one more."""
    t = THROTTLE
    key: Any = sa.bindparam("key")
    now: Any = sa.bindparam("now")
    cutoff: Any = sa.bindparam("cutoff")
    one: Any = sa.literal_column("1")  # literals, not bind parameters: the plan's order stays ours
    values = {"throttle_key": key, "failures": one, "window_start": now}
    if dialect_name in ("mysql", "mariadb"):
        ins = mysql.insert(t).values(values)
        expired = t.c.window_start <= cutoff
        # MySQL assigns left to right: window_start last, so failures sees the old one.
        return ins.on_duplicate_key_update(
            failures=sa.case((expired, one), else_=t.c.failures + one),
            window_start=sa.case((expired, now), else_=t.c.window_start),
        )
    module: Any = postgresql if dialect_name == "postgresql" else sqlite
    ins = module.insert(t).values(values)
    expired = t.c.window_start <= cutoff
    return ins.on_conflict_do_update(
        index_elements=[t.c.throttle_key],
        set_={
            "failures": sa.case((expired, one), else_=t.c.failures + one),
            "window_start": sa.case((expired, now), else_=t.c.window_start),
        },
    )


class SqlAuthStore:
    """KeyStore, ThrottleStore and AccountStore on a connected SQL storage."""

    def __init__(self, storage: Storage) -> None:
        if not isinstance(storage, SqlStorage):
            raise TypeError("the SQL auth store needs a SQL storage")
        self._s = storage
        name = storage.sql.dialect_name
        k, t = KEYS, THROTTLE
        cols = [k.c[n] for n in _KEY_COLUMNS]
        self._insert_key = self._plan(
            sa.insert(k).values({n: sa.bindparam(n) for n in _KEY_COLUMNS}), _KEY_COLUMNS
        )
        self._list_keys = self._plan(sa.select(*cols).order_by(k.c.created_at, k.c.id), ())
        self._get_key = self._plan(sa.select(*cols).where(k.c.id == sa.bindparam("id")), ("id",))
        live = sa.and_(k.c.name == sa.bindparam("name"), k.c.revoked_at.is_(None))
        self._revoke = self._plan(
            sa.update(k).values(revoked_at=sa.bindparam("at")).where(live), ("at", "name")
        )
        self._peek = self._plan(
            sa.select(t.c.failures, t.c.window_start).where(t.c.throttle_key == sa.bindparam("k")),
            ("k",),
        )
        self._hit = self._plan(_upsert(name), ("key", "now", "cutoff"))
        self._clear = self._plan(sa.delete(t).where(t.c.throttle_key == sa.bindparam("k")), ("k",))
        self._purge = self._plan(
            sa.delete(t).where(t.c.window_start < sa.bindparam("before")), ("before",)
        )
        self._accounts: dict[str, tuple[Plan, bool]] = {}

    def _plan(self, stmt: Any, names: Sequence[str]) -> Plan:
        compiled = stmt.compile(dialect=self._s.sql.dialect)
        index = {n: i for i, n in enumerate(names)}
        return Plan(str(compiled), tuple(index[n] for n in (compiled.positiontup or ())))

    async def _read(self, plan: Plan, args: Sequence[Any]) -> list[Sequence[Any]]:
        return await self._s._read(plan, args)

    async def _write(self, plan: Plan, args: Sequence[Any]) -> int:
        try:
            return await self._s.execute(plan, args)
        except OmnicrudError:
            raise
        except Exception as exc:
            failure = self._s.classify(exc)
            if failure is not None and failure.kind == "unique":
                raise Conflict("name") from exc
            raise self._s._error(exc, failure) from exc

    # ---- KeyStore

    async def create_key(self, record: KeyRecord) -> None:
        scopes = " ".join(sorted(record.scopes))
        created = _epoch(record.created_at)
        revoked = None if record.revoked_at is None else _epoch(record.revoked_at)
        args = (record.id, record.name, record.hash, scopes, record.subject, created, revoked)
        await self._write(self._insert_key, args)

    async def list_keys(self) -> list[KeyRecord]:
        return [_record(row) for row in await self._read(self._list_keys, ())]

    async def revoke_key(self, name: str, at: dt.datetime) -> bool:
        return await self._write(self._revoke, (_epoch(at), name)) > 0

    async def get_key(self, key_id: str) -> KeyRecord | None:
        rows = await self._read(self._get_key, (key_id,))
        return _record(rows[0]) if rows else None

    # ---- ThrottleStore

    async def peek(self, key: str) -> ThrottleState | None:
        rows = await self._read(self._peek, (key,))
        if not rows:
            return None
        start = _time(rows[0][1])
        assert start is not None
        return ThrottleState(int(rows[0][0]), start)

    async def hit(self, key: str, now: dt.datetime, window: float) -> ThrottleState:
        at = _epoch(now)
        await self._write(self._hit, (key, at, at - window))
        state = await self.peek(key)
        return state if state is not None else ThrottleState(1, now)

    async def clear(self, key: str) -> None:
        await self._write(self._clear, (key,))

    async def purge(self, before: dt.datetime) -> None:
        await self._write(self._purge, (_epoch(before),))

    # ---- AccountStore

    def _account_plan(self, res: Resource) -> tuple[Plan, bool]:
        found = self._accounts.get(res.name)
        if found is None:
            spec = res.accounts
            assert spec is not None
            t = self._s.sql.tables[res.name]
            cols = [t.c.id, t.c[spec.password]]
            if spec.active is not None:
                cols.append(t.c[spec.active])
            stmt = sa.select(*cols).where(t.c[spec.username] == sa.bindparam("u"))
            found = self._accounts[res.name] = (self._plan(stmt, ("u",)), spec.active is not None)
        return found

    async def find_account(self, res: Resource, username: str) -> Account | None:
        plan, has_active = self._account_plan(res)
        rows = await self._read(plan, (username,))
        if len(rows) != 1 or rows[0][1] is None:
            return None
        row = rows[0]
        return Account(str(row[0]), str(row[1]), bool(row[2]) if has_active else True)
