"""The transfer tests need all four backends at once, so they run in their own tox env
(``tox -e transfer``), which sets ``OMNICRUD_TRANSFER_TESTS=1``; other envs, which each
name one backend in DATABASE_URL, do not collect them.

Servers: POSTGRES_URL, MYSQL_URL (defaults: this machine's), MONGO_URL (default: one
SecantusDB started for the session). Every database is fresh and dropped at the end.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pymongo
import pytest

from tests.provision import provision, unique_name, with_database
from tests.secantus import start_secantus
from tests.transfer.support import BACKENDS, Reads, read_all, seed_edge_rows

collect_ignore_glob = [] if os.environ.get("OMNICRUD_TRANSFER_TESTS") == "1" else ["test_*.py"]

SERVERS = {
    "sqlite": "sqlite:///omnicrud.db",
    "postgresql": os.environ.get("POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": os.environ.get("MYSQL_URL") or "mysql://root@127.0.0.1:3306/test",
}

Fresh = Callable[[str], str]


@pytest.fixture(scope="session")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fresh]:
    """``fresh(backend)``: the URL of a new, empty database (all dropped at session end)."""
    with contextlib.ExitStack() as stack:
        mongo_server: list[str] = []

        def make(backend: str) -> str:
            if backend != "mongodb":
                tmp: Path = tmp_path_factory.mktemp(backend)
                return stack.enter_context(provision(SERVERS[backend], tmp))
            if not mongo_server:
                server, stop = start_secantus()  # honours MONGO_URL
                stack.callback(stop)
                mongo_server.append(server)
            url = with_database(mongo_server[0], unique_name())
            stack.callback(_drop_mongo, url)
            return url

        yield make


def _drop_mongo(url: str) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=2000
    )
    try:
        client.drop_database(client.get_default_database().name)
    except pymongo.errors.PyMongoError:
        pass  # the throwaway server is removed anyway
    finally:
        client.close()


@pytest.fixture(scope="session")
def source(fresh: Fresh) -> Callable[[str], tuple[str, Reads]]:
    """``source(backend)``: a database holding the edge-case rows, and every row as the API
    reads it there (made once per backend per session)."""
    made: dict[str, tuple[str, Reads]] = {}

    def get(backend: str) -> tuple[str, Reads]:
        if backend not in made:
            assert backend in BACKENDS
            url = fresh(backend)
            seed_edge_rows(url)
            made[backend] = (url, read_all(url))
        return made[backend]

    return get
