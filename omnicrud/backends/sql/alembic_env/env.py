"""Alembic environment of omnicrud: run by ``omnicrud db ...`` and at start-up, never by the
``alembic`` command (the connection and the target metadata come from the runner)."""

from __future__ import annotations

from alembic import context

from omnicrud.backends.sql._migrations import configure_context

configure_context(context)
with context.begin_transaction():
    context.run_migrations()
