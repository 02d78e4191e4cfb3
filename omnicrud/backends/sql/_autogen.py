"""What omnicrud adds to Alembic's autogenerate: omnicrud's own column types in both
directions, a baseline reflected from the database, collation drift, likely renames, and
progress per step.

Alembic renders a column it *reflected* (the old side of a change: a downgrade's
``add_column``, an ``alter_column``'s ``existing_type``) with the database's own type,
e.g. ``sa.VARCHAR(length=300, collation='C')`` — which fails on SQLite and MySQL, and
generated on SQLite (``sa.VARCHAR(300)``) loses ``COLLATE "C"`` on PostgreSQL. Every
reflected type is mapped back to the omnicrud type it came from (``ot.Text(300)``,
``ot.Timestamp()``), so that scripts run unchanged on every SQL database, both ways.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Connection, Dialect

from .schema import Text, Timestamp

log = logging.getLogger("omnicrud.migrations")

BASELINE_MESSAGE = "baseline: the tables as they were before the first script"
SQLITE_TIMESTAMP_LENGTH = 24
"""On SQLite a Timestamp is a VARCHAR(24): the wire form itself."""


@dataclass(frozen=True)
class Signature:
    """What a column type is, whichever way it was obtained (declared or reflected)."""

    family: str  # str, timestamp, float, int, bool, other
    length: int | None
    collation: str | None


def _impl(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> sa.types.TypeEngine[Any]:
    if isinstance(type_, sa.types.TypeDecorator):
        return type_.load_dialect_impl(dialect)
    return type_


def signature(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> Signature:
    impl = _impl(type_, dialect)
    if isinstance(impl, sa.DateTime):
        return Signature("timestamp", None, None)
    if isinstance(impl, sa.String):
        length = impl.length if not isinstance(impl, sa.Text) else None
        return Signature("str", length, impl.collation)
    if isinstance(impl, sa.Boolean) or (
        dialect.name == "mysql" and getattr(impl, "display_width", None) == 1
    ):
        return Signature("bool", None, None)
    if isinstance(impl, sa.Integer):
        return Signature("int", None, None)
    if isinstance(impl, sa.Float | sa.Numeric):
        return Signature("float", None, None)
    return Signature("other", None, None)


def _same(declared: sa.types.TypeEngine[Any], reflected: Any, dialect: Dialect) -> bool:
    a, b = signature(declared, dialect), signature(reflected, dialect)
    if a.family != b.family:
        return False
    if a.family == "str" and b.length is not None and a.length != b.length:
        return False  # (MySQL reflects long text as MEDIUMTEXT: no length to compare)
    return a.family != "str" or a.collation == b.collation


@dataclass(frozen=True)
class Hints:
    """What tells a reflected column's omnicrud type: the declarations, and for columns no
    longer declared the scripts written so far (SQLite's VARCHAR(24) may be a Timestamp)."""

    metadata: sa.MetaData
    directory: Path
    dialect: Dialect

    def declared(self, table: str, column: str) -> sa.Column[Any] | None:
        found = self.metadata.tables.get(table)
        return None if found is None else found.columns.get(column)

    def was_timestamp(self, column: str) -> bool:
        pattern = re.compile(rf"""['"]{re.escape(column)}['"],\s*ot\.Timestamp\(\)""")
        if column in ("created_at", "updated_at"):
            return True
        if not self.directory.is_dir():
            return False
        return any(pattern.search(p.read_text()) for p in self.directory.glob("*.py"))


def omnicrud_type(table: str, column: str, reflected: Any, hints: Hints) -> Any:
    """The type to write into a script for a column the database has now."""
    if isinstance(reflected, Text | Timestamp):
        return reflected
    declared = hints.declared(table, column)
    if declared is not None and _same(declared.type, reflected, hints.dialect):
        return declared.type
    sig = signature(reflected, hints.dialect)
    if sig.family == "timestamp":
        return Timestamp()
    if sig.family == "str":
        if (
            hints.dialect.name == "sqlite"
            and sig.length == SQLITE_TIMESTAMP_LENGTH
            and hints.was_timestamp(column)
        ):
            return Timestamp()
        expected = signature(Text(sig.length), hints.dialect).collation
        if sig.collation not in (None, expected):
            return reflected  # not what omnicrud makes: kept as it is
        return Text(sig.length)
    if sig.family == "float":
        return sa.Double()
    if sig.family == "bool":
        return sa.Boolean()
    if sig.family == "int":
        return sa.BigInteger()
    return reflected


# ---- generated scripts: omnicrud's types on both sides


def _columns(op: Any) -> Iterable[tuple[str, sa.Column[Any]]]:
    if isinstance(op, ops.AddColumnOp):
        yield op.table_name, op.column
    elif isinstance(op, ops.CreateTableOp):
        yield from ((op.table_name, c) for c in op.columns if isinstance(c, sa.Column))


def _walk(container: Any) -> Iterable[Any]:
    for op in getattr(container, "ops", []):
        if isinstance(op, ops.OpContainer):
            yield from _walk(op)
        else:
            yield op


def use_omnicrud_types(script: ops.MigrationScript, hints: Hints) -> None:
    for container in (script.upgrade_ops, script.downgrade_ops):
        for op in _walk(container):
            for table, column in _columns(op):
                column.type = omnicrud_type(table, column.name, column.type, hints)
            if isinstance(op, ops.AlterColumnOp):
                if op.existing_type is not None:
                    op.existing_type = omnicrud_type(
                        op.table_name, op.column_name, op.existing_type, hints
                    )
                if op.modify_type is not None:
                    op.modify_type = omnicrud_type(
                        op.table_name, op.column_name, op.modify_type, hints
                    )


def likely_renames(script: ops.MigrationScript, hints: Hints) -> list[str]:
    """A warning per table where a column is dropped and another of the same type added:
    as generated, the script loses every value of the old one."""
    warnings: list[str] = []
    upgrade = script.upgrade_ops
    for table_ops in getattr(upgrade, "ops", []):
        if not isinstance(table_ops, ops.ModifyTableOps):
            continue
        table = table_ops.table_name
        added = [op for op in table_ops.ops if isinstance(op, ops.AddColumnOp)]
        dropped = [op for op in table_ops.ops if isinstance(op, ops.DropColumnOp)]
        for drop in dropped:
            old = drop.to_column()
            for add in added:
                if _same(add.column.type, old.type, hints.dialect):
                    new = add.column.name
                    warnings.append(
                        f"warning: {table}.{old.name} is dropped and {table}.{new} added "
                        f"(same type): if {old.name} was renamed to {new}, this script loses "
                        f"every value of {old.name}. Replace its add_column('{new}') and "
                        f"drop_column('{old.name}') by "
                        f"op.alter_column('{table}', '{old.name}', new_column_name='{new}') "
                        f"(and the reverse in downgrade) before running omnicrud db upgrade"
                    )
                    break
    return warnings


def is_empty(script: ops.MigrationScript) -> bool:
    upgrade = script.upgrade_ops
    return upgrade is None or upgrade.is_empty()


# ---- drift: collations


def collation_problems(conn: Connection, metadata: sa.MetaData) -> list[str]:
    """String columns whose collation is not the one omnicrud's type gives them (strings
    compare and sort by code point on every backend: CONTRACT §4)."""
    dialect = conn.dialect
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names())
    problems: list[str] = []
    for table in metadata.tables.values():
        if table.name not in existing:
            continue
        reflected = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in reflected or not isinstance(column.type, Text):
                continue
            want = signature(column.type, dialect).collation
            have = signature(reflected[column.name], dialect).collation
            if want is not None and have != want:
                problems.append(
                    f"column {table.name}.{column.name} has collation {have or 'default'}, "
                    f"not {want}"
                )
    return problems


def fix_collations(script: ops.MigrationScript, conn: Connection, metadata: sa.MetaData) -> None:
    """Where autogenerate did not see a collation change (it depends on the dialect), add
    the ``alter_column`` that restores the one omnicrud's type gives (and its reverse)."""
    inspector = sa.inspect(conn)
    upgrade, downgrade = script.upgrade_ops, script.downgrade_ops
    assert upgrade is not None
    assert downgrade is not None
    altered = {
        (op.table_name, op.column_name)
        for op in _walk(upgrade)
        if isinstance(op, ops.AlterColumnOp) and op.modify_type is not None
    }
    for problem in collation_problems(conn, metadata):
        table, _, column = problem.split()[1].partition(".")
        if (table, column) in altered:
            continue
        declared = metadata.tables[table].columns[column]
        found = next(c for c in inspector.get_columns(table) if c["name"] == column)
        default = declared.server_default
        kept = str(default.arg) if isinstance(default, sa.DefaultClause) else None
        upgrade.ops.append(
            ops.AlterColumnOp(
                table,
                column,
                modify_type=declared.type,
                existing_type=found["type"],
                existing_nullable=declared.nullable,
                existing_server_default=kept,
            )
        )
        downgrade.ops.insert(
            0,
            ops.AlterColumnOp(
                table,
                column,
                modify_type=found["type"],
                existing_type=declared.type,
                existing_nullable=declared.nullable,
                existing_server_default=kept,
            ),
        )


# ---- a baseline: the tables as they are


def _server_default(text: Any) -> str | None:
    """``'0'::bigint`` / ``'0'`` / ``0`` -> ``0``: a literal every database accepts."""
    if text is None:
        return None
    value = str(text)
    value = re.sub(r"::[\w ]+$", "", value.strip()).strip("()")
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1]
    return value


def reflected_metadata(conn: Connection, names: Sequence[str], hints: Hints) -> sa.MetaData:
    """The tables ``names`` as the database has them, in omnicrud's types (table options,
    and columns and indexes that still match their declaration, as declared)."""
    inspector = sa.inspect(conn)
    metadata = sa.MetaData()
    for name in names:
        declared_table = hints.metadata.tables[name]
        pk = set(inspector.get_pk_constraint(name).get("constrained_columns") or [])
        items: list[Any] = []
        for found in inspector.get_columns(name):
            declared = declared_table.columns.get(found["name"])
            if declared is not None and _same(declared.type, found["type"], hints.dialect):
                column = declared._copy()
                column.nullable = found["nullable"]
            else:
                column = sa.Column(
                    found["name"],
                    omnicrud_type(name, found["name"], found["type"], hints),
                    nullable=found["nullable"],
                    primary_key=found["name"] in pk,
                    server_default=_server_default(found.get("default")),
                )
            items.append(column)
        for fk in inspector.get_foreign_keys(name):
            if fk["referred_table"] in names:
                items.append(
                    sa.ForeignKeyConstraint(
                        fk["constrained_columns"],
                        [f"{fk['referred_table']}.{c}" for c in fk["referred_columns"]],
                        name=fk["name"],
                    )
                )
        declared_indexes = {str(i.name): i for i in declared_table.indexes}
        for index in inspector.get_indexes(name):
            same = declared_indexes.get(str(index["name"]))
            columns = [c for c in index["column_names"] if c is not None]
            kwargs: dict[str, Any] = {}
            if same is not None and [c.name for c in same.columns] == columns:
                kwargs = dict(same.kwargs)
            items.append(sa.Index(index["name"], *columns, unique=bool(index["unique"]), **kwargs))
        sa.Table(name, metadata, *items, **declared_table.kwargs)
    return metadata


# ---- progress


def step_reporter(done: list[str]) -> Any:
    """``on_version_apply`` for context.configure: one log line per script as it is done;
    ``done`` collects their revisions (the next one is the one that failed, if any)."""
    began = [time.monotonic()]

    def report(*, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        if step.is_stamp:
            return
        now = time.monotonic()
        revision, script = step.up_revision_id, step.up_revision
        what = "migrated to" if step.is_upgrade else "reverted"
        doc = f" ({script.doc})" if script is not None and script.doc else ""
        done.append(revision)
        log.info("%s %s%s in %.2f s", what, revision, doc, now - began[0])
        began[0] = now

    return report
