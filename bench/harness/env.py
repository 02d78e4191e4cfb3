"""Bootstrap with the system Python only: the venvs and wrk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
VENV = BENCH / ".venv"
CRUDROUTER_VENV = BENCH / ".venv-crudrouter"
VENVS = {VENV: BENCH / "requirements.txt", CRUDROUTER_VENV: BENCH / "requirements-crudrouter.txt"}


def python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _stamp(venv: Path) -> Path:
    return venv / ".requirements"


def ensure_venv(venv: Path, requirements: Path) -> None:
    """Create ``venv`` and install ``requirements``; again when they or omnicrud's own
    dependencies (pyproject.toml) changed."""
    wanted = requirements.read_text()
    if "-e .." in wanted:
        wanted += (BENCH.parent / "pyproject.toml").read_text()
    stamp = _stamp(venv)
    if python(venv).exists() and stamp.exists() and stamp.read_text() == wanted:
        return
    print(f"bench: installing {requirements.name} into {venv.name} ...", flush=True)
    if not python(venv).exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements)], check=True, cwd=BENCH)
    stamp.write_text(wanted)


def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get (Debian package ``wrk``) when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("bench: wrk is missing; install it: sudo apt-get install -y wrk")
    print("bench: installing wrk with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench: apt-get did not provide wrk")
    return found


def bootstrap() -> None:
    for venv, requirements in VENVS.items():
        ensure_venv(venv, requirements)
    ensure_wrk()
