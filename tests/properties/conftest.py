"""A TestClient serving the test-only ``probes`` resource on the session's fresh database,
and the hypothesis profiles of this folder (``HYPOTHESIS_PROFILE`` picks one)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import hypothesis
import pytest
from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from tests.resources_testing import relation_resources, resources

_BASE = hypothesis.settings(
    deadline=None,
    print_blob=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow, hypothesis.HealthCheck.data_too_large],
)
# The default: a fixed seed per test, so every run (and every backend) sees the same datasets.
hypothesis.settings.register_profile(
    "omnicrud", _BASE, max_examples=200, derandomize=True, database=None
)
# For hunting: fresh random examples each run, failures remembered in .hypothesis/.
hypothesis.settings.register_profile("omnicrud-random", _BASE, max_examples=500)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "omnicrud"))


@pytest.fixture(scope="session")
def probe_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, resources=resources), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def relation_client(settings: Settings) -> Iterator[TestClient]:
    """teams/members (relations) with OMNICRUD_EXPAND_LIMIT=3, so embedded pages overflow."""
    app = create_app(settings.model_copy(update={"expand_limit": 3}), relation_resources)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
