"""The schemathesis run is its own tox env (``schemathesis``, every backend in turn): it is
collected only when ``OMNICRUD_SCHEMATHESIS`` is set, so the per-backend envs keep their budget."""

from __future__ import annotations

import os

if not os.environ.get("OMNICRUD_SCHEMATHESIS"):
    collect_ignore_glob = ["test_*.py"]
