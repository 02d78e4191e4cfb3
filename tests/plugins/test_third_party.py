"""A backend registered by another package gets ``omnicrud db`` through the SchemaManager
protocol, with no change to omnicrud (DESIGN.md: a backend brings its own schema)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _register(site: Path) -> None:
    """What ``pip install`` of a package declaring the entry point leaves behind."""
    info = site / "toy_omnicrud_backend-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: toy-omnicrud-backend\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[omnicrud.backends]\ntoy = tests.plugins.toy_backend:backend\n"
    )


def _db(site: Path, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
        "DATABASE_URL": f"toy://{state}",
    }
    code = "import sys; from omnicrud.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, "db", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=site,
        timeout=60,
    )


def test_db_upgrade_and_current_through_the_protocol(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _register(site)
    state = tmp_path / "toy.json"

    before = _db(site, state, "current")
    assert before.returncode == 1, before.stderr
    assert "toy tables: none: toy tables missing" in before.stdout

    upgrade = _db(site, state, "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.splitlines()[:3] == [
        "applied toy table items",
        "applied toy table posts",
        "applied toy table users",
    ]

    after = _db(site, state, "current")
    assert (after.returncode, after.stdout.strip()) == (0, "toy tables: items, posts, users")
    assert _db(site, state, "history").stdout.splitlines()[0] == "applied items"

    refused = _db(site, state, "downgrade", "-1")
    assert refused.returncode == 2  # a migration that cannot run: 2, like a config error
    assert refused.stderr.strip() == "omnicrud: error: the toy backend cannot downgrade"
