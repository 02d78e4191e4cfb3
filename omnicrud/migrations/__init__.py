"""Versioned schema migrations: Alembic for the SQL backends, a declaration sync for MongoDB.

``omnicrud db upgrade|downgrade|revision|current|history`` (``omnicrud.migrations.cli``) and
the storages' ``ensure_schema()`` at start-up both come here.
"""

from .common import REVISION_HINT, UPGRADE_HINT, MigrationError

__all__ = ["REVISION_HINT", "UPGRADE_HINT", "MigrationError"]
