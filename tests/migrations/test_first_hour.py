"""Migrations no one gets stuck in (issue 13, points 3-5): a database whose tables were
created without scripts gets a baseline and then its first change; tables created before a
baseline script get through with ``db stamp``; scripts carry omnicrud's types both ways; a
collation change is drift; a likely rename is warned about; every failure is one line, exit 2,
naming a command that works. Each test on a fresh database of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core.registry import split_scheme
from tests.migrations import books

from .support import (
    copy_example,
    error_lines,
    fresh_database,
    is_sql,
    omnicrud,
    sql_collation,
    sql_columns,
    sql_execute,
    sql_versions,
)

pytestmark = pytest.mark.server

V1 = "tests.migrations.books:v1"
V2 = "tests.migrations.books:v2"
RENAMED = "tests.migrations.books:renamed"


def _sql_only(url: str) -> None:
    if not is_sql(url):
        pytest.skip("migration scripts are SQL-only (MongoDB syncs its schema itself)")


def _ok(args: list[str], url: str, cwd: Path, resources: str | None, migrations: Path) -> str:
    run = omnicrud(args, url, cwd, resources, migrations)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    return run.stdout + run.stderr


def _one_error_line(output: str) -> str:
    assert "Traceback" not in output, output
    (line,) = error_lines(output)
    return line


def test_tables_created_without_scripts_get_a_baseline_then_the_change(tmp_path: Path) -> None:
    """Fails without the fix: autogenerate refused ("tables differ")."""
    with fresh_database(tmp_path) as url:
        _sql_only(url)
        migrations = tmp_path / "migrations"
        _ok(["db", "upgrade"], url, tmp_path, V1, migrations)  # tables created as declared
        settings = Settings(database_url=url, migrations=str(migrations), auto_migrate=False)
        with TestClient(create_app(settings, books.v1)) as client:
            row = client.post("/books", json={"title": "Dune", "blurb": "sand", "pages": 412})
            assert row.status_code == 201, row.text

        history = omnicrud(["db", "history"], url, tmp_path, V2, migrations)
        assert history.returncode == 0
        assert "no migrations yet" in history.stdout
        current = omnicrud(["db", "current"], url, tmp_path, V2, migrations)
        assert current.returncode == 1, current.stdout  # drifted: subtitle is missing
        assert "books.subtitle" in current.stdout, current.stdout

        out = _ok(
            ["db", "revision", "--autogenerate", "-m", "subtitle"], url, tmp_path, V2, migrations
        )
        scripts = sorted(migrations.glob("*.py"), key=lambda p: "subtitle" in p.name)
        assert len(scripts) == 2, out
        baseline, change = (p.read_text() for p in scripts)
        assert "baseline" in scripts[0].name
        assert "create_table('books'" in baseline
        assert "ot.Text(300)" in baseline
        assert "ot.Timestamp()" in baseline
        assert "subtitle" not in baseline
        assert "sqlite_autoincrement=True" in baseline  # ids never reused on a fresh database
        assert "add_column(sa.Column('subtitle', ot.Text(120)" in change
        assert "create_table" not in change

        current = omnicrud(["db", "current"], url, tmp_path, V2, migrations)
        assert current.returncode == 1  # behind: at the baseline, not at the change
        assert "omnicrud db upgrade" in current.stdout
        _ok(["db", "upgrade"], url, tmp_path, V2, migrations)
        current = omnicrud(["db", "current"], url, tmp_path, V2, migrations)
        assert current.returncode == 0, current.stdout + current.stderr
        assert "(head)" in current.stdout
        with TestClient(create_app(settings, books.v2)) as client:
            (kept,) = client.get("/books").json()["items"]
            assert (kept["title"], kept["blurb"], kept["subtitle"]) == ("Dune", "sand", None)

    # The two scripts make the same schema on an empty database.
    again = tmp_path / "again"
    again.mkdir()
    with fresh_database(again) as url:
        _ok(["db", "upgrade"], url, again, V2, migrations)
        assert "subtitle" in sql_columns(url, "books")
        assert _ok(["db", "current"], url, again, V2, migrations).count("(head)") == 1


def test_tables_created_before_the_first_script_get_through_with_stamp(tmp_path: Path) -> None:
    """``relation "items" already exists``: one line naming ``omnicrud db stamp 0001``."""
    with fresh_database(tmp_path) as url:
        _sql_only(url)
        empty = tmp_path / "none"
        _ok(["db", "upgrade"], url, tmp_path, None, empty)  # the example, created as declared
        migrations = copy_example(tmp_path)
        run = omnicrud(["db", "upgrade"], url, tmp_path, None, migrations)
        assert run.returncode == 2, run.stdout + run.stderr
        line = _one_error_line(run.stderr)
        assert "already exists" in line, line
        command = re.search(r"`(omnicrud db stamp \w+)`", line)
        assert command is not None, line
        assert command[1] == "omnicrud db stamp 0001"
        _ok(command[1].split()[1:], url, tmp_path, None, migrations)
        _ok(["db", "upgrade"], url, tmp_path, None, migrations)
        assert sql_versions(url) == ["0001"]
        assert omnicrud(["db", "current"], url, tmp_path, None, migrations).returncode == 0


def test_scripts_use_omnicrud_types_both_ways_and_a_rename_is_warned(tmp_path: Path) -> None:
    """Fails without the fix: the downgrade re-created ``blurb`` as ``sa.VARCHAR(...)``
    (no COLLATE "C" when generated on SQLite, a PostgreSQL-only collation when generated
    there), and nothing warned that its values are lost."""
    with fresh_database(tmp_path) as url:
        _sql_only(url)
        migrations = tmp_path / "migrations"
        _ok(["db", "revision", "--autogenerate", "-m", "books"], url, tmp_path, V1, migrations)
        _ok(["db", "upgrade"], url, tmp_path, V1, migrations)
        want = sql_collation(url, "books", "blurb")
        run = omnicrud(
            ["db", "revision", "--autogenerate", "-m", "rename"], url, tmp_path, RENAMED, migrations
        )
        assert run.returncode == 0, run.stderr
        (warning,) = [line for line in run.stderr.splitlines() if "warning" in line]
        for needed in ("books.blurb", "books.summary", "new_column_name='summary'"):
            assert needed in warning, warning
        (script,) = migrations.glob("*_rename.py")
        text = script.read_text()
        downgrade = text[text.index("def downgrade") :]
        assert "sa.Column('blurb', ot.Text(300)" in downgrade, downgrade
        assert "VARCHAR" not in text, text
        assert "collation" not in text.lower(), text

        _ok(["db", "upgrade"], url, tmp_path, RENAMED, migrations)
        _ok(["db", "downgrade", "-1"], url, tmp_path, V1, migrations)
        assert "blurb" in sql_columns(url, "books")
        assert sql_collation(url, "books", "blurb") == want  # e.g. "C" again on PostgreSQL


def _loose_collation(url: str) -> str:
    backend = split_scheme(url)[0]
    if backend in ("postgresql", "postgres"):
        return 'ALTER TABLE books ALTER COLUMN title TYPE VARCHAR(300) COLLATE "POSIX"'
    return "ALTER TABLE books MODIFY title VARCHAR(300) COLLATE utf8mb4_general_ci NOT NULL"


def test_a_collation_change_is_drift_and_a_revision_restores_it(tmp_path: Path) -> None:
    """Fails without the fix: drift did not compare collations (``db current`` said head)."""
    with fresh_database(tmp_path) as url:
        _sql_only(url)
        if split_scheme(url)[0] == "sqlite":
            pytest.skip("SQLite strings have no collation to change here")
        migrations = tmp_path / "migrations"
        _ok(["db", "revision", "--autogenerate", "-m", "books"], url, tmp_path, V1, migrations)
        _ok(["db", "upgrade"], url, tmp_path, V1, migrations)
        want = sql_collation(url, "books", "title")
        sql_execute(url, _loose_collation(url))
        current = omnicrud(["db", "current"], url, tmp_path, V1, migrations)
        assert current.returncode == 1, current.stdout
        assert "books.title has collation" in current.stdout, current.stdout
        assert "omnicrud db revision --autogenerate" in current.stdout
        run = omnicrud(["db", "upgrade"], url, tmp_path, V1, migrations)
        assert run.returncode == 2
        assert "books.title" in _one_error_line(run.stderr)
        _ok(["db", "revision", "--autogenerate", "-m", "collation"], url, tmp_path, V1, migrations)
        _ok(["db", "upgrade"], url, tmp_path, V1, migrations)
        assert sql_collation(url, "books", "title") == want
        assert omnicrud(["db", "current"], url, tmp_path, V1, migrations).returncode == 0


FAILING_SCRIPT = '''"""fails"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise RuntimeError("this step cannot run")


def downgrade() -> None:
    pass
'''


def test_a_failing_migration_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Fails without the fix: a script's own error was a traceback (db upgrade and serve)."""
    with fresh_database(tmp_path) as url:
        _sql_only(url)
        migrations = copy_example(tmp_path)
        (migrations / "v0002_fails.py").write_text(FAILING_SCRIPT)
        run = omnicrud(["db", "upgrade"], url, tmp_path, None, migrations)
        assert run.returncode == 2, run.stdout + run.stderr
        line = _one_error_line(run.stderr)
        assert "0002" in line, line
        assert "this step cannot run" in line, line
        assert "omnicrud db upgrade" in line
        assert "migrated to 0001" in run.stderr  # progress per step, as each is done

        serve = omnicrud(["serve", "--port", "1"], url, tmp_path, None, migrations)
        assert serve.returncode == 2, serve.stdout + serve.stderr
        assert _one_error_line(serve.stderr) == line

        debug = omnicrud(["db", "upgrade", "--log-level", "debug"], url, tmp_path, None, migrations)
        assert debug.returncode == 2
        assert "Traceback" in debug.stderr  # the details, when asked for


def test_a_revision_no_script_describes_names_db_stamp(tmp_path: Path) -> None:
    """A script deleted after it ran: ``current`` and ``upgrade`` name ``db stamp head``,
    which works (before: "run omnicrud db upgrade", which failed)."""
    with fresh_database(tmp_path) as url:
        _sql_only(url)
        migrations = copy_example(tmp_path)
        _ok(["db", "upgrade"], url, tmp_path, None, migrations)
        sql_execute(url, "UPDATE _omnicrud_migrations SET version_num = 'gone'")
        current = omnicrud(["db", "current"], url, tmp_path, None, migrations)
        assert current.returncode == 1
        assert "omnicrud db stamp head" in current.stdout, current.stdout
        run = omnicrud(["db", "upgrade"], url, tmp_path, None, migrations)
        assert run.returncode == 2
        assert "omnicrud db stamp head" in _one_error_line(run.stderr)
        _ok(["db", "stamp", "head"], url, tmp_path, None, migrations)
        assert omnicrud(["db", "current"], url, tmp_path, None, migrations).returncode == 0
