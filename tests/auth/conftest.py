from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.auth.issuer import Issuer


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    server = Issuer()
    yield server
    server.close()
