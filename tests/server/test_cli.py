"""The ``omnicrud`` command line: start-up errors are one clear line, ``check`` reports and
fails fast, ``openapi`` prints the document, and no output ever shows a password."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import httpx
import pytest

from omnicrud.bootstrap import Deployment
from omnicrud.config import Settings
from omnicrud.core import registry
from omnicrud.example import resources
from tests.secantus import free_port

from .conftest import launch, run_cli

pytestmark = pytest.mark.server

PASSWORD = "s3cret"
BUILT_IN_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "mongodb")


def assert_no_password(text: str) -> None:
    assert PASSWORD not in text, text


def test_unknown_scheme_fails_with_one_line_naming_the_schemes(tmp_path: Path) -> None:
    url = f"foo://admin:{PASSWORD}@x/db"
    run = run_cli(["serve", "--port", str(free_port())], url, tmp_path, timeout=30)
    assert run.code != 0
    assert len(run.lines) == 1, run.output
    line = run.lines[0]
    assert "foo" in line
    for scheme in BUILT_IN_SCHEMES:
        assert re.search(rf"\b{scheme}\b", line), (scheme, line)
    assert "admin:***@x" in line, line
    assert_no_password(run.output)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:5432/x",
        f"mysql+pymysql://root:{PASSWORD}@127.0.0.1:3306/x",
        "sqlite+pysqlcipher:///x.db",
        f"mongodb+motor://u:{PASSWORD}@127.0.0.1:27017/x",
    ],
)
def test_unsupported_driver_suffix_fails_at_start_up(url: str, tmp_path: Path) -> None:
    run = run_cli(["serve", "--port", str(free_port())], url, tmp_path, timeout=30)
    assert run.code != 0
    assert len(run.lines) == 1, run.output
    driver = url.partition("://")[0].partition("+")[2]
    assert driver in run.lines[0], run.lines[0]
    assert_no_password(run.output)
    assert not (tmp_path / "x.db").exists()


async def _server_version(settings: Settings) -> str:
    storage = Deployment.load(settings, resources).storage()
    await storage.connect()
    try:
        return await storage.server_version()
    finally:
        await storage.close()


def test_check_prints_backend_server_version_and_resources(
    database_url: str, settings: Settings, tmp_path: Path
) -> None:
    run = run_cli(["check"], database_url, tmp_path)
    assert run.code == 0, run.output
    assert registry.load(database_url).name in run.stdout
    version = asyncio.run(_server_version(settings))
    assert version
    assert version in run.stdout
    for res in resources:
        assert re.search(rf"\b{res.name}\b", run.stdout), (res.name, run.stdout)
    assert "Traceback" not in run.output


def _unreachable_urls() -> list[str]:
    port = free_port()  # nothing listens there
    return [
        f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/x",
        f"mysql://root:{PASSWORD}@127.0.0.1:{port}/x",
        f"mongodb://admin:{PASSWORD}@127.0.0.1:{port}/x?retryWrites=false",
    ]


@pytest.mark.parametrize("url", _unreachable_urls())
def test_check_fails_fast_against_an_unreachable_database(url: str, tmp_path: Path) -> None:
    run = run_cli(["check"], url, tmp_path, timeout=30)
    assert run.code != 0, run.output
    assert run.seconds < 10, f"took {run.seconds:.1f}s"
    assert run.lines, "no message"
    assert "Traceback" not in run.output, run.output
    assert_no_password(run.output)


def test_check_fails_on_a_sqlite_file_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    run = run_cli(["check"], f"sqlite:///{blocker / 'x.db'}", tmp_path, timeout=30)
    assert run.code != 0, run.output
    assert run.seconds < 10, f"took {run.seconds:.1f}s"
    assert "Traceback" not in run.output, run.output


def test_openapi_prints_the_document(database_url: str, tmp_path: Path) -> None:
    run = run_cli(["openapi"], database_url, tmp_path)
    assert run.code == 0, run.output
    document = json.loads(run.stdout)
    assert document["openapi"].startswith("3.")
    paths = set(document["paths"])
    for res in resources:
        assert f"/{res.name}" in paths, sorted(paths)
        assert any(re.fullmatch(rf"/{res.name}/\{{\w+\}}", p) for p in paths), sorted(paths)
    assert {"/livez", "/readyz"} <= paths


def test_serve_never_shows_the_password_of_an_unreachable_database(tmp_path: Path) -> None:
    """Refusing to start and starting with /readyz 503 are both fine; the password never shows."""
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/x"
    server = launch(url, tmp_path)
    try:
        deadline = time.monotonic() + 30
        while server.proc.poll() is None and time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{server.url}/readyz", timeout=10)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            assert ready.status_code == 503, ready.text
            assert_no_password(ready.text)
            break
        else:
            assert server.proc.returncode not in (None, 0), server.output()
    finally:
        server.stop()
    assert_no_password(server.output())
