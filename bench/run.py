#!/usr/bin/env python3
"""The one benchmark command: ``python3 bench/run.py [--backends ...] [--quick]``.

Creates its venvs and installs wrk when missing, then re-runs itself inside bench/.venv.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import env

if __name__ == "__main__":
    if Path(sys.prefix).resolve() != env.VENV.resolve():
        env.bootstrap()
        venv_python = str(env.python(env.VENV))
        os.execv(venv_python, [venv_python, __file__, *sys.argv[1:]])
    from harness.main import main

    sys.exit(main(sys.argv[1:]))
