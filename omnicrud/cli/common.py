"""What every command shares: one-line errors and running a coroutine on a deployment."""

from __future__ import annotations

import sys


def fail(message: str, code: int = 2) -> int:
    """One line on stderr, no traceback: 2 for configuration, 1 for the database."""
    print(f"omnicrud: error: {message}", file=sys.stderr)
    return code


def say(text: str) -> None:
    print(text, flush=True)
