"""What every command shares: one-line errors, the help formatter, and start-up logging."""

from __future__ import annotations

import argparse
import logging
import sys

LOG_LEVELS = ("debug", "info", "warning", "error")
log = logging.getLogger("omnicrud")


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions and epilogs as written, every option with its default (except where the
    default says nothing: none at all, or a ``--no-...`` switch's True)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action, argparse._StoreFalseAction):
            return action.help
        return super()._get_help_string(action)


def fail(message: str, code: int = 2) -> int:
    """One line on stderr, no traceback: 2 for configuration or schema, 1 for the database.
    The traceback, when there is one, goes to the debug log (``--log-level debug``)."""
    if sys.exc_info()[0] is not None:
        log.debug("details", exc_info=True)
    print(f"omnicrud: error: {message}", file=sys.stderr, flush=True)
    return code


def say(text: str) -> None:
    print(text, flush=True)


def setup_logging(level: str) -> None:
    """``omnicrud: <message>`` lines on stderr for the ``omnicrud`` logger (migration
    progress, start-up), at ``level``; uvicorn's own loggers are configured by uvicorn."""
    log.setLevel(level.upper())
    if not any(getattr(h, "omnicrud_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("omnicrud: %(message)s"))
        handler.omnicrud_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
        log.propagate = False
