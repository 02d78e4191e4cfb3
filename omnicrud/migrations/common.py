"""What the SQL and MongoDB migration paths share: the error and its messages."""

from __future__ import annotations

from collections.abc import Sequence

from omnicrud.core.errors import ConfigError

UPGRADE_HINT = "omnicrud db upgrade"
REVISION_HINT = 'omnicrud db revision --autogenerate -m "describe the change"'


class MigrationError(ConfigError):
    """A migration cannot run, or the database does not match the resources."""


def required_message(names: Sequence[str]) -> str:
    listed = ", ".join(names)
    return (
        f"{listed}: a required field without a default cannot be added to a table that "
        "already exists, its rows would have no value. Give the field a default "
        '(e.g. `sku: str = ""`) or make it nullable (`sku: str | None = None`), then run '
        "the command again"
    )
