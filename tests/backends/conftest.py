"""Backend-specific tests run in the env of their backend only (selected by DATABASE_URL).

They are left out of the other envs — not skipped — so that every env runs the shared suites
plus the checks of its own backend, and `-e sqlite` needs no other server. A server that
the configured backend names but cannot be reached fails its tests.
"""

from __future__ import annotations

import pytest

from tests.backends.sql_support import CONFIGURED

SQL_MODULES = ("test_sql_storage.py", "test_sql_servers.py")
collect_ignore = [] if CONFIGURED in ("sqlite", "postgresql", "mysql") else list(SQL_MODULES)
if CONFIGURED != "sqlite":
    collect_ignore.append("test_sqlite_readers.py")
if CONFIGURED != "mongodb":
    collect_ignore.append("test_mongo_storage.py")

# Tests that need one server, by the fixture that opens it.
SERVER_FIXTURES = {"pg": "postgresql", "my": "mysql"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        needs = {
            SERVER_FIXTURES[f] for f in getattr(item, "fixturenames", ()) if f in SERVER_FIXTURES
        }
        (dropped if needs and CONFIGURED not in needs else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
