"""Large copies through the real ``omnicrud copy`` process: killed with SIGKILL half-way and
resumed; bounded memory on 100,000 rows (the 1,000,000-row run is in bench/)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import asyncpg
import pytest

from tests.processes import OMNICRUD, cli_env
from tests.transfer.conftest import Fresh
from tests.transfer.support import load_items

ROWS = 100_000
BATCH = 2_000
PEAK_RSS_MB = 200


@pytest.fixture(scope="module")
def big_source(fresh: Fresh) -> str:
    url = fresh("sqlite")
    asyncio.run(load_items(url, ROWS))
    return url


async def _pg(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect("postgresql://" + url.partition("://")[2])
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql)
        return rows
    finally:
        await conn.close()


def _count(url: str) -> int:
    try:
        return int(asyncio.run(_pg(url, "SELECT count(*) FROM items"))[0][0])
    except asyncpg.UndefinedTableError:
        return 0


def _copy(source: str, target: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [OMNICRUD, "copy", "--from", source, "--to", target, "--batch", str(BATCH), *extra],
        env=cli_env(source),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_then_resume(big_source: str, fresh: Fresh) -> None:
    target = fresh("postgresql")
    proc = _copy(big_source, target)
    deadline = time.monotonic() + 60
    while _count(target) < ROWS // 5:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the copy made no progress"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    left = _count(target)
    assert 0 < left < ROWS
    assert left % BATCH == 0, "a batch was half-written"

    again = _copy(big_source, target)  # without --resume: refused
    out, err = again.communicate(timeout=60)
    assert again.returncode == 1
    assert "already holds" in err

    resumed = _copy(big_source, target, "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"copied items: {ROWS - left:,} rows" in out
    assert "verified: every count and checksum matches" in out
    stats = asyncio.run(
        _pg(target, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM items")
    )[0]
    assert tuple(stats) == (ROWS, ROWS, 1, ROWS)
    new = asyncio.run(_pg(target, "SELECT nextval(pg_get_serial_sequence('items', 'id'))"))
    assert new[0][0] > ROWS


PEAK_REPORTER = """
import sys
from omnicrud.cli.main import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak-rss-kb {peak}", file=sys.stderr)
sys.exit(code)
"""
"""``omnicrud`` (the console script's own ``main``) reporting its peak RSS on exit. Read in
the process itself: ``VmHWM`` belongs to the memory of this program since its exec, whereas a
child's ``ru_maxrss`` also counts the parent's image it was forked from."""


def test_memory_stays_bounded(big_source: str, fresh: Fresh) -> None:
    target = fresh("postgresql")
    run = subprocess.run(
        [sys.executable, "-c", PEAK_REPORTER, "copy", "--from", big_source, "--to", target],
        env=cli_env(big_source),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert f"copied items: {ROWS:,} rows" in run.stdout
    assert "verified: every count and checksum matches" in run.stdout
    peak_mb = int(run.stderr.rpartition("peak-rss-kb ")[2].split()[0]) / 1024
    print(f"peak RSS of the copy of {ROWS:,} rows: {peak_mb:.0f} MB")
    assert peak_mb < PEAK_RSS_MB
