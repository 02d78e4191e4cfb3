"""``omnicrud copy`` against a hand-written raw-driver loader, 1,000,000 item rows.

    python3 bench/copy_bench.py                  # 1,000,000 rows, the three pairs
    python3 bench/copy_bench.py --rows 100000    # quicker

Pairs: SQLite -> PostgreSQL, PostgreSQL -> MongoDB, PostgreSQL -> MariaDB. Each contender
reads the same source rows and writes a fresh target of omnicrud's own schema:

- ``omnicrud``: the real ``omnicrud copy --from ... --to ...`` process (its copy phase from
  its own report; verification, which reads both sides again, is timed apart);
- ``reference``: one process that reads with the raw driver (stdlib sqlite3 / asyncpg,
  keyset pages of 5,000) and writes with the raw driver: asyncpg ``copy_records_to_table``,
  aiomysql ``executemany`` in a transaction per batch, PyMongo ``insert_many``.

Peak RSS of each process comes from ``wait4``. Writes ``bench/results/copy.md`` and
``copy.json``. Servers: POSTGRES_URL, MYSQL_URL as in bench/README.md; MongoDB is a
SecantusDB started here (or MONGO_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import OMNICRUD, cli_env  # noqa: E402
from tests.provision import provision  # noqa: E402
from tests.transfer.support import load_items  # noqa: E402

RESULTS = ROOT / "bench" / "results"
POSTGRES = os.environ.get("POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
MYSQL = os.environ.get("MYSQL_URL") or "mysql://root@127.0.0.1:3306/test"
COPIED = re.compile(r"copied items: ([\d,]+) rows in ([\d.]+)s")

REFERENCE = r"""
import asyncio, sqlite3, sys, time, datetime as dt
from urllib.parse import urlsplit, unquote
source, target, batch = sys.argv[1], sys.argv[2], 5000
COLS = ["id", "name", "description", "price", "created_at", "updated_at", "_version"]

async def pages():
    if source.startswith("sqlite"):
        conn = sqlite3.connect(urlsplit(source).path)
        after = 0
        while True:
            rows = conn.execute(f"SELECT {', '.join(COLS)} FROM items WHERE id > ? "
                                "ORDER BY id LIMIT ?", (after, batch)).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            yield [(r[0], r[1], r[2], r[3], dt.datetime.fromisoformat(r[4]),
                    dt.datetime.fromisoformat(r[5]), r[6]) for r in rows]
    else:
        import asyncpg
        conn = await asyncpg.connect("postgresql://" + source.partition("://")[2])
        after = 0
        while True:
            rows = await conn.fetch(f"SELECT {', '.join(COLS)} FROM items WHERE id > $1 "
                                    "ORDER BY id LIMIT $2", after, batch)
            if not rows:
                return
            after = rows[-1][0]
            yield [tuple(r) for r in rows]

async def main():
    began = time.perf_counter()
    n = 0
    if target.startswith("postgresql"):
        import asyncpg
        conn = await asyncpg.connect("postgresql://" + target.partition("://")[2])
        async for rows in pages():
            await conn.copy_records_to_table("items", records=rows, columns=COLS)
            n += len(rows)
    elif target.startswith("mysql"):
        import aiomysql
        p = urlsplit(target)
        conn = await aiomysql.connect(host=p.hostname, port=p.port or 3306, user=p.username,
                                      password=p.password or "", db=p.path[1:],
                                      charset="utf8mb4", autocommit=True)
        sql = f"INSERT INTO items ({', '.join(COLS)}) VALUES ({', '.join(['%s'] * 7)})"
        async with conn.cursor() as cur:
            async for rows in pages():
                await conn.begin()
                await cur.executemany(sql, [(*r[:4], r[4].replace(tzinfo=None),
                                             r[5].replace(tzinfo=None), r[6]) for r in rows])
                await conn.commit()
                n += len(rows)
    else:
        import pymongo
        coll = pymongo.MongoClient(target).get_default_database()["items"]
        async for rows in pages():
            coll.insert_many([{"_id": r[0], "name": r[1], "description": r[2], "price": r[3],
                               "created_at": r[4], "updated_at": r[5], "_version": r[6]}
                              for r in rows], ordered=True)
            n += len(rows)
    print(f"copied items: {n:,} rows in {time.perf_counter() - began:.1f}s")

asyncio.run(main())
"""
PEAK = (
    'print("peak-rss-kb", next(line.split()[1] for line in open("/proc/self/status") '
    'if line.startswith("VmHWM:")), file=sys.stderr)'
)
"""Printed by each contender at exit: its peak RSS since exec."""
REFERENCE += PEAK + "\n"
OMNICRUD_MAIN = (
    "import sys\nfrom omnicrud.cli.main import main\ncode = main(sys.argv[1:])\n"
    + PEAK
    + "\nsys.exit(code)\n"
)


def _run(argv: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """stdout, wall seconds, peak RSS in MB of one process (its own VmHWM at exit: a
    child's ru_maxrss would also count this process's image it was forked from)."""
    began = time.perf_counter()
    run = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    if run.returncode != 0:
        raise SystemExit(f"{argv[:2]} failed:\n{run.stdout}\n{run.stderr}")
    found = re.search(r"peak-rss-kb (\d+)", run.stderr)
    return run.stdout, wall, int(found.group(1)) / 1024 if found else 0.0


def _empty_schema(url: str) -> None:
    """omnicrud's schema on a fresh target (both contenders write into the same shape)."""
    asyncio.run(load_items(url, 0))


def measure(name: str, source: str, make_target, rows: int) -> dict[str, object]:
    result: dict[str, object] = {"pair": name, "rows": rows}
    for contender in ("reference", "omnicrud"):
        with make_target() as target:
            _empty_schema(target)
            if contender == "omnicrud":
                argv = [sys.executable, "-c", OMNICRUD_MAIN, "copy", "--from", source]
                argv += ["--to", target, "--resources", "items"]
            else:
                argv = [sys.executable, "-c", REFERENCE, source, target]
            out, wall, rss = _run(argv, cli_env(source))
            found = COPIED.search(out)
            assert found, out
            count, seconds = int(found.group(1).replace(",", "")), float(found.group(2))
            assert count == rows, out
            result[contender] = {
                "rows_per_s": round(rows / seconds),
                "copy_s": seconds,
                "wall_s": round(wall, 1),
                "peak_rss_mb": round(rss),
            }
            print(name, contender, result[contender], flush=True)
    ours, ref = result["omnicrud"], result["reference"]
    assert isinstance(ours, dict)
    assert isinstance(ref, dict)
    result["ratio"] = round(ours["rows_per_s"] / ref["rows_per_s"], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--mongo-rows",
        type=int,
        default=50_000,
        help="rows for the MongoDB pair (SecantusDB writes ~1,000 rows/s: 1,000,000 would "
        "take hours; with MONGO_URL on a real mongod pass --mongo-rows 1000000)",
    )
    args = parser.parse_args()
    from tests.provision import unique_name, with_database
    from tests.secantus import start_secantus

    tmp = Path(tempfile.mkdtemp(prefix="copy-bench-"))
    results = []
    with provision("sqlite:///x.db", tmp) as sqlite_url, provision(POSTGRES, tmp) as pg_source:
        began = time.perf_counter()
        asyncio.run(load_items(sqlite_url, args.rows, batch=20_000))
        print(f"loaded {args.rows:,} rows into SQLite in {time.perf_counter() - began:.0f}s")
        results.append(
            measure("SQLite -> PostgreSQL", sqlite_url, lambda: provision(POSTGRES, tmp), args.rows)
        )
        # The PostgreSQL source for the other two pairs: the same rows.
        _empty_schema(pg_source)
        _run(
            [OMNICRUD, "copy", "--from", sqlite_url, "--to", pg_source, "--resources", "items"],
            cli_env(sqlite_url),
        )
        mongo, stop = start_secantus()
        small = ExitStack()
        try:
            if args.mongo_rows == args.rows:
                mongo_source = pg_source
            else:  # a PostgreSQL source holding only as many rows
                mongo_source = small.enter_context(provision(POSTGRES, tmp))
                asyncio.run(load_items(mongo_source, args.mongo_rows, batch=20_000))

            def mongo_target():
                return provision_mongo(with_database(mongo, unique_name()))

            results.append(
                measure("PostgreSQL -> MongoDB", mongo_source, mongo_target, args.mongo_rows)
            )
        finally:
            small.close()
            stop()
        results.append(
            measure("PostgreSQL -> MariaDB", pg_source, lambda: provision(MYSQL, tmp), args.rows)
        )
    write(results, args.rows)


class provision_mongo:
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        import pymongo

        client = pymongo.MongoClient(self.url)
        client.drop_database(client.get_default_database().name)
        client.close()


def write(results: list[dict[str, object]], rows: int) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "copy.json").write_text(json.dumps({"rows": rows, "pairs": results}, indent=2))
    lines = [
        "# omnicrud copy vs a raw-driver loader",
        "",
        f"Item rows per pair: {rows:,} (the MongoDB pair: see `rows` in copy.json and "
        "bench/README.md). rows/s is the copy phase; the wall time adds start-up and the "
        "verification, which reads both sides again.",
        "",
        "| pair | rows | omnicrud rows/s | reference rows/s | ratio | omnicrud peak RSS | "
        "reference peak RSS | omnicrud wall (copy + verify) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ours, ref = r["omnicrud"], r["reference"]
        assert isinstance(ours, dict)
        assert isinstance(ref, dict)
        lines.append(
            f"| {r['pair']} | {r['rows']:,} | {ours['rows_per_s']:,} | {ref['rows_per_s']:,} | "
            f"{r['ratio']} | "
            f"{ours['peak_rss_mb']} MB | {ref['peak_rss_mb']} MB | {ours['wall_s']} s |"
        )
    (RESULTS / "copy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
