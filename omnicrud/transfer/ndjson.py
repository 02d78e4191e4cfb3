"""``export`` and ``import``: NDJSON, one ``{"resource": ..., "row": ...}`` per line, rows in
their canonical JSON (every column, the version and secret hashes included), resources in
reference order. Both stream: memory holds one batch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import aclosing
from typing import IO, Any

import orjson

from omnicrud.bootstrap import Deployment
from omnicrud.core.errors import ConfigError
from omnicrud.core.resources import Resource
from omnicrud.core.storage import Row

from .copy import DEFAULT_BATCH, Check, Copied
from .progress import Reporter, Silent
from .rows import Tally, check_rows, dumps, from_json, select
from .sides import Side, open_side, refuse_non_empty


async def export(
    deployment: Deployment,
    out: IO[bytes],
    *,
    resources: Sequence[str] | None = None,
    batch: int = DEFAULT_BATCH,
    progress: Reporter | None = None,
) -> list[Copied]:
    report = progress or Silent()
    side = await open_side(deployment, target=False)
    written: list[Copied] = []
    try:
        for res in select(deployment.resources, resources):
            report.start(res.name, await side.count(res), 0)
            prefix = b'{"resource":' + orjson.dumps(res.name) + b',"row":'
            count = 0
            async with aclosing(side.scan(res, batch)) as pages:
                async for rows in pages:
                    out.write(b"".join(prefix + dumps(r) + b"}\n" for r in rows))
                    count += len(rows)
                    report.advance(len(rows))
            report.finish()
            written.append(Copied(res.name, count, 0.0))
        out.flush()
    finally:
        report.close()
        await side.close()
    return written


def _lines(source: IO[bytes]) -> Iterator[tuple[int, str, Any]]:
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise ConfigError(f"line {number}: not JSON") from None
        if not isinstance(item, dict) or not isinstance(item.get("resource"), str):
            raise ConfigError(f'line {number}: expected {{"resource": ..., "row": ...}}')
        yield number, item["resource"], item.get("row")


class _Importer:
    def __init__(
        self, side: Side, chosen: list[Resource], batch: int, resume: bool, report: Reporter
    ) -> None:
        self.side = side
        self.by_name = {r.name: r for r in chosen}
        self.batch = batch
        self.resume = resume
        self.report = report
        self.tallies: dict[str, Tally] = {}
        self.current: Resource | None = None
        self.after = 0
        self.pending: list[Row] = []

    async def begin(self, res: Resource) -> None:
        await self.flush()
        if self.current is not None:
            self.report.finish()
        if res.name in self.tallies:
            raise ConfigError(f"{res.name} rows are not together in the file")
        self.current = res
        self.tallies[res.name] = Tally()
        self.after = (await self.side.bulk.max_id(res) or 0) if self.resume else 0
        self.report.start(res.name, None, 0)

    async def add(self, res: Resource, row: Row) -> None:
        self.tallies[res.name].add((row,))
        if row["id"] <= self.after:  # already there (--resume)
            return
        self.pending.append(row)
        if len(self.pending) >= self.batch:
            await self.flush()

    async def flush(self) -> None:
        if not self.pending or self.current is None:
            return
        rows, self.pending = self.pending, []
        check_rows(self.current, rows)
        await self.side.bulk.load(self.current, rows)
        self.after = rows[-1]["id"]
        self.report.advance(len(rows))

    async def end(self) -> None:
        await self.flush()
        if self.current is not None:
            self.report.finish()
        for name, tally in self.tallies.items():
            if tally.count:
                res = self.by_name[name]
                highest = await self.side.bulk.max_id(res)
                if highest is not None:
                    await self.side.bulk.reserve_past(res, highest)


async def import_(
    deployment: Deployment,
    source: IO[bytes],
    *,
    resources: Sequence[str] | None = None,
    batch: int = DEFAULT_BATCH,
    resume: bool = False,
    progress: Reporter | None = None,
) -> list[Check]:
    """Load an export into ``deployment``'s database; the checks compare the file's counts
    and checksums with the database's. Lines of resources not chosen are skipped."""
    report = progress or Silent()
    side = await open_side(deployment, target=True)
    try:
        chosen = select(deployment.resources, resources)
        if not resume:
            await refuse_non_empty(side, chosen)
        importer = _Importer(side, chosen, batch, resume, report)
        try:
            for number, name, data in _lines(source):
                res = importer.by_name.get(name)
                if res is None:
                    if resources is None:
                        raise ConfigError(f"line {number}: unknown resource {name!r}")
                    continue
                if res is not importer.current:
                    await importer.begin(res)
                row = from_json(res, data, number)
                if not isinstance(row["id"], int) or row["id"] <= 0:
                    raise ConfigError(f"line {number}: {name} row has no valid id")
                await importer.add(res, row)
            await importer.end()
        finally:
            report.close()
        checks = []
        for res in chosen:
            expected = importer.tallies.get(res.name, Tally())
            checks.append(Check(res.name, expected, await side.tally(res, batch)))
        return checks
    finally:
        await side.close()
