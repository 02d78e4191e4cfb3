"""In-memory stand-ins for the stores backends will implement (test doubles only)."""

from __future__ import annotations

import datetime as dt

from omnicrud.auth import Account, KeyRecord, ThrottleState


class Accounts:
    def __init__(self, accounts: dict[str, Account]) -> None:
        self.accounts = accounts

    async def find_account(self, username: str) -> Account | None:
        return self.accounts.get(username)


class Throttle:
    def __init__(self) -> None:
        self.rows: dict[str, ThrottleState] = {}

    async def peek(self, key: str) -> ThrottleState | None:
        return self.rows.get(key)

    async def hit(self, key: str, now: dt.datetime, window: float) -> ThrottleState:
        state = self.rows.get(key)
        if state is None or (now - state.window_start).total_seconds() >= window:
            state = ThrottleState(1, now)
        else:
            state = ThrottleState(state.failures + 1, state.window_start)
        self.rows[key] = state
        return state

    async def clear(self, key: str) -> None:
        self.rows.pop(key, None)

    async def purge(self, before: dt.datetime) -> None:
        self.rows = {k: v for k, v in self.rows.items() if v.window_start >= before}


class Keys:
    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}
        self.reads = 0

    async def create_key(self, record: KeyRecord) -> None:
        self.records[record.id] = record

    async def list_keys(self) -> list[KeyRecord]:
        return list(self.records.values())

    async def revoke_key(self, name: str, at: dt.datetime) -> bool:
        for record in self.records.values():
            if record.name == name and record.revoked_at is None:
                self.records[record.id] = KeyRecord(
                    record.id,
                    record.name,
                    record.hash,
                    record.scopes,
                    record.created_at,
                    record.subject,
                    at,
                )
                return True
        return False

    async def get_key(self, key_id: str) -> KeyRecord | None:
        self.reads += 1
        return self.records.get(key_id)
