"""The first hour with the command line (issue 13, points 2, 5 and 8): a project's own
resources served from its directory, one-line start-up errors (exit 2), every option's help
with its default, the environment variables listed from the Settings, ``--version``, and
``python3 dev.py serve`` stopped by SIGTERM leaving nothing on the port."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import Field

from omnicrud.config import Settings
from tests.secantus import free_port

from .conftest import OMNICRUD, cli_env, launch, wait_ready

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
APP = "omnicrud.api.app:served_app"
cli_main = importlib.import_module("omnicrud.cli.main")  # (omnicrud.cli.main is also a function)
RESOURCES = """\
from typing import Annotated

from pydantic import BaseModel, Field

from omnicrud import Indexed, Resource


class Book(BaseModel):
    title: Annotated[str, Field(max_length=300), Indexed()]
    pages: int = 0


resources = [Resource("books", Book)]
"""


def _project(tmp: Path, source: str = RESOURCES) -> Path:
    project = tmp / "project"
    (project / "myapp").mkdir(parents=True)
    (project / "myapp" / "__init__.py").write_text("")
    (project / "myapp" / "resources.py").write_text(source)
    return project


def _env(url: str) -> dict[str, str]:
    env = cli_env(url, {"OMNICRUD_RESOURCES": "myapp.resources:resources"})
    env.pop("PYTHONPATH", None)  # only the working directory can make myapp importable
    return env


def _omnicrud(args: list[str], url: str, project: Path) -> subprocess.CompletedProcess[str]:
    """``omnicrud ARGS`` run to its end from the project's directory."""
    return subprocess.run(
        [OMNICRUD, *args],
        env=_env(url),
        cwd=project,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_serve_finds_the_projects_resources_in_its_directory(
    database_url: str, tmp_path: Path
) -> None:
    """The README's command as written: ``OMNICRUD_RESOURCES=myapp.resources:resources
    omnicrud serve`` from the project directory (fails without the fix: No module 'myapp')."""
    project = _project(tmp_path)
    server = launch(database_url, project, env=_env(database_url))
    try:
        wait_ready(server)
        created = httpx.post(f"{server.url}/books", json={"title": "Dune", "pages": 412})
        assert created.status_code == 201, created.text
        listed = httpx.get(f"{server.url}/books", params={"title": "Dune"})
        assert listed.status_code == 200, listed.text
        assert [b["pages"] for b in listed.json()["items"]][-1] == 412
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("source", "needed"),
    [
        ("resources = [\n", "syntax error"),
        ("import math\nresources = [math.inf / 0]\n", "ZeroDivisionError"),
        ("from omnicrud import Resource\nresources = [Resource('books', int)]\n", "int"),
    ],
    ids=["syntax-error", "raises-on-import", "bad-declaration"],
)
def test_a_broken_resources_module_is_one_line_and_exit_2(
    source: str, needed: str, database_url: str, tmp_path: Path
) -> None:
    """Fails without the fix for an error raised while importing: a 30-line traceback."""
    project = _project(tmp_path, source)
    for args in (["serve", "--port", str(free_port())], ["db", "upgrade"]):
        proc = _omnicrud(args, database_url, project)
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert len(lines) == 1, lines
        assert needed in lines[0], lines[0]
        assert "myapp" in lines[0], lines[0]


def test_a_schema_error_inside_uvicorns_lifespan_is_one_line_and_exit_2(
    database_url: str, tmp_path: Path
) -> None:
    """What each uvicorn worker runs (``served_app``): a drifted schema found at start-up
    ends it with one line and exit 2, not "Application startup failed" and a traceback."""
    project = _project(tmp_path)
    env = _env(database_url)
    run = subprocess.run(
        [OMNICRUD, "db", "upgrade"], env=env, cwd=project, capture_output=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    (project / "myapp" / "resources.py").write_text(
        RESOURCES.replace("pages: int = 0", "pages: int = 0\n    isbn: str")
    )
    proc = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", APP, "--port", str(free_port())],
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, output
    assert "books.isbn" in errors[0], errors[0]


def test_a_worker_failing_to_start_makes_serve_exit_2(database_url: str, tmp_path: Path) -> None:
    """``--workers 2`` whose workers cannot start (here: the resources module refuses to
    load in a worker process): uvicorn's supervisor stops, and serve exits 2, not 0."""
    source = (
        "import multiprocessing\n"
        "if multiprocessing.parent_process() is not None:\n"
        "    raise RuntimeError('no resources in a worker')\n" + RESOURCES
    )
    project = _project(tmp_path, source)
    proc = _omnicrud(["serve", "--workers", "2", "--port", str(free_port())], database_url, project)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "no resources in a worker" in output, output


def _options(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.Action]]:
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _options(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            found.append((path, action))
    return found


def test_every_option_has_help_and_shows_its_default() -> None:
    top = cli_main.parser()
    options = _options(top, "omnicrud")
    assert len(options) > 10
    for path, action in options:
        name = "/".join(action.option_strings) or action.dest
        assert action.help, f"{path} {name} has no help text"
    for path in {p for p, _ in options}:
        args = path.split()[1:]
        text = subprocess.run(
            [OMNICRUD, *args, "--help"], capture_output=True, text=True, check=True
        ).stdout
        for p, action in options:
            if p == path and action.default not in (None, argparse.SUPPRESS):
                if isinstance(action, argparse._VersionAction | argparse._StoreFalseAction):
                    continue
                shown = str(action.default)
                assert f"(default: {shown})" in " ".join(text.split()), (path, action.dest)


def test_version() -> None:
    run = subprocess.run([OMNICRUD, "--version"], capture_output=True, text=True, check=True)
    assert run.stdout.strip().startswith("omnicrud 0."), run.stdout


def test_help_lists_every_setting_from_the_settings_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Generated, not hard-coded: a setting added later is listed with its description."""
    text = " ".join(cli_main.parser().format_help().split())
    for name, field in Settings.model_fields.items():
        variable = "DATABASE_URL" if name == "database_url" else f"OMNICRUD_{name.upper()}"
        assert variable in text, variable
        assert field.description, f"setting {name} has no description"
        assert " ".join(field.description.rstrip(".").split()) in text, name

    class Later(Settings):
        expand_limit: int = Field(20, description="Most rows one expansion embeds.")

    monkeypatch.setattr(cli_main, "Settings", Later)
    text = " ".join(cli_main.parser().format_help().split())
    assert "OMNICRUD_EXPAND_LIMIT Most rows one expansion embeds (default 20)" in text, text


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_dev_serve_stopped_by_sigterm_leaves_nothing_on_the_port(tmp_path: Path) -> None:
    """Fails without the fix: dev.py died, ``omnicrud serve`` (its child) kept the port."""
    checkout = tmp_path / "checkout"
    bin_dir = checkout / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (checkout / "dev.py").write_text((ROOT / "dev.py").read_text())
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "omnicrud").symlink_to(OMNICRUD)
    (checkout / ".venv" / ".installed-serve").touch()  # "already installed"
    port = free_port()
    env = cli_env(f"sqlite:///{tmp_path / 'dev.db'}")
    proc = subprocess.Popen(
        [sys.executable, "dev.py", "serve", "--port", str(port), "--no-access-log"],
        cwd=checkout,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: the cleanup below kills only what it made
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert proc.poll() is None, "dev.py serve exited"
            assert time.monotonic() < deadline, "dev.py serve did not listen"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGTERM)  # the one process the user started, not its group
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _listening(port), "omnicrud serve still listening after dev.py got SIGTERM"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
