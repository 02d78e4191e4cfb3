"""The ``omnicrud`` command: ``main`` parses and dispatches; one module per command group."""

from .main import main

__all__ = ["main"]
