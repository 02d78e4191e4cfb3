"""``copy``: every row of the chosen resources from one deployment's database to another's,
ids, timestamps, versions and hashes kept; then ``verify`` on both sides."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass

from omnicrud.bootstrap import Deployment
from omnicrud.core.resources import Resource

from .progress import Reporter, Silent
from .rows import Tally, check_rows, select
from .sides import Side, open_side, refuse_non_empty

DEFAULT_BATCH = 5000


@dataclass(frozen=True)
class Check:
    """One resource's counts and checksums on both sides."""

    resource: str
    source: Tally
    target: Tally

    @property
    def ok(self) -> bool:
        return (self.source.count, self.source.total) == (self.target.count, self.target.total)


@dataclass(frozen=True)
class Copied:
    resource: str
    rows: int
    seconds: float


def pairs(
    source: Side, target: Side, names: Sequence[str] | None
) -> list[tuple[Resource, Resource]]:
    """(source, target) resource pairs in reference order; both sides must declare each."""
    chosen = select(target.deployment.resources, names)
    return [(source.resource(r.name), r) for r in chosen]


async def copy_resource(
    source: Side,
    target: Side,
    src: Resource,
    dst: Resource,
    batch: int,
    resume: bool,
    progress: Reporter,
) -> Copied:
    loop = asyncio.get_running_loop()
    began = loop.time()
    after = (await target.bulk.max_id(dst) or 0) if resume else 0
    total = await source.count(src)
    progress.start(dst.name, total, await target.count(dst) if resume else 0)
    copied = 0
    async with aclosing(source.scan(src, batch, after)) as pages:
        async for rows in pages:
            check_rows(dst, rows)
            await target.bulk.load(dst, rows)
            after = rows[-1]["id"]
            copied += len(rows)
            progress.advance(len(rows))
    if after:
        await target.bulk.reserve_past(dst, after)
    progress.finish()
    return Copied(dst.name, copied, loop.time() - began)


async def verify_sides(
    source: Side, target: Side, chosen: Sequence[tuple[Resource, Resource]], batch: int
) -> list[Check]:
    checks: list[Check] = []
    for src, dst in chosen:
        left, right = await asyncio.gather(source.tally(src, batch), target.tally(dst, batch))
        checks.append(Check(dst.name, left, right))
    return checks


async def copy(
    source: Deployment,
    target: Deployment,
    *,
    resources: Sequence[str] | None = None,
    batch: int = DEFAULT_BATCH,
    resume: bool = False,
    verify_only: bool = False,
    progress: Reporter | None = None,
) -> tuple[list[Copied], list[Check]]:
    """Copy (unless ``verify_only``), then verify. TargetNotEmpty, RejectedRow, ConfigError,
    Unavailable as they arise; nothing of a refused batch is written."""
    report = progress or Silent()
    src_side = await open_side(source, target=False)
    try:
        dst_side = await open_side(target, target=not verify_only)
        try:
            chosen = pairs(src_side, dst_side, resources)
            copied: list[Copied] = []
            if not verify_only:
                if not resume:
                    await refuse_non_empty(dst_side, [dst for _, dst in chosen])
                try:
                    for src, dst in chosen:
                        copied.append(
                            await copy_resource(src_side, dst_side, src, dst, batch, resume, report)
                        )
                finally:
                    report.close()
            return copied, await verify_sides(src_side, dst_side, chosen, batch)
        finally:
            await dst_side.close()
    finally:
        await src_side.close()


def table(checks: Sequence[Check], left: str = "source", right: str = "target") -> list[str]:
    """The verification table, one line per resource, then the verdict."""
    width = max([len("resource"), *(len(c.resource) for c in checks)])
    lines = [
        f"{'resource':<{width}}  {left + ' rows':>12}  {left + ' checksum':<16}  "
        f"{right + ' rows':>12}  {right + ' checksum':<16}  result"
    ]
    for c in checks:
        lines.append(
            f"{c.resource:<{width}}  {c.source.count:>12,}  {c.source.checksum:<16}  "
            f"{c.target.count:>12,}  {c.target.checksum:<16}  {'ok' if c.ok else 'MISMATCH'}"
        )
    bad = [c.resource for c in checks if not c.ok]
    lines.append(
        "verified: every count and checksum matches"
        if not bad
        else f"verification FAILED for {', '.join(bad)}"
    )
    return lines
