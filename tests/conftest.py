"""Session fixtures: one fresh database per session, from env ``DATABASE_URL``.

``database_url`` is the fresh database (dropped at the end), ``settings`` the Settings for
it, ``client`` a TestClient of ``create_app(settings)`` (bundled example resources) entered
once per session. Tests never assume an empty table: they use unique values and filter on them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from tests.provision import configured_url, provision

DOCS_TESTS = ("browser", "client")
"""Need chromium / generate code: collected only with OMNICRUD_TEST_DOCS=1 (tox env ``docs``)."""
collect_ignore = [] if os.environ.get("OMNICRUD_TEST_DOCS") == "1" else list(DOCS_TESTS)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with provision(configured_url(), tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # OMNICRUD_TEST_READ_URLS: replica servers of DATABASE_URL's server (tests/cluster runs
    # the suite so); the fresh database is named on them too.
    replicas = os.environ.get("OMNICRUD_TEST_READ_URLS", "")
    name = urlsplit(database_url).path
    read_urls = ",".join(urlunsplit(urlsplit(u)._replace(path=name)) for u in replicas.split(","))
    return Settings(database_url=database_url, read_urls=read_urls if replicas else None)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    # Server errors come back as responses (500s are asserted on, not raised in the test).
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client
