#!/usr/bin/env python3
"""The README's two commands, needing nothing but python3.

    python3 dev.py serve [omnicrud serve options]   # the API on embedded SQLite
    python3 dev.py test [tox options, e.g. -e sqlite]   # the whole matrix via tox

Each makes ``.venv`` on first use and installs what it needs into it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
MATRIX = ",".join(
    [
        *("lint", "type", "sqlite", "postgres", "mysql", "mongo"),
        *("docs", "cluster", "faults", "schemathesis"),
    ]
)


def _ensure(marker: str, *requirements: str) -> None:
    stamp = VENV / f".installed-{marker}"
    if stamp.exists():
        return
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *requirements], check=True, cwd=ROOT)
    stamp.touch()


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "serve":
        _ensure("serve", "-e", ".[sqlite]")
        return subprocess.call([str(BIN / "omnicrud"), "serve", *rest], cwd=ROOT)
    if command == "test":
        _ensure("test", "tox>=4.20")
        args = rest if any(a.startswith("-e") for a in rest) else ["-e", MATRIX, *rest]
        return subprocess.call([str(BIN / "tox"), "run", *args], cwd=ROOT)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
