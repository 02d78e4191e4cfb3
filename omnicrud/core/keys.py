"""The deployment's signing secret: ``OMNICRUD_CURSOR_SECRET``, or else a random secret
generated once and kept in the database (CONTRACT §4), so that every process serving one
database shares it and no two deployments do. Keys for each purpose (cursors, consistency
tokens) are derived from it."""

from __future__ import annotations

import hashlib
import secrets
from typing import Protocol, runtime_checkable

from .errors import Unavailable

SECRET_NAME = "cursor_secret"
SETTINGS_TABLE = "_omnicrud_settings"
"""The table (collection) each backend keeps deployment-wide values in."""


@runtime_checkable
class SharedSettings(Protocol):
    """What a Storage implements to keep the generated secret in its database."""

    async def shared_setting(self, name: str, candidate: str) -> str:
        """The stored value of ``name``; ``candidate`` is stored first when there is none
        (the first writer wins when processes race)."""


class DeploymentKeys:
    """The secret, set from the settings or loaded from the database at start-up."""

    def __init__(self, configured: str | None) -> None:
        self._secret = configured
        self._derived: dict[str, bytes] = {}

    @property
    def loaded(self) -> bool:
        return self._secret is not None

    async def load(self, storage: object) -> None:
        """Read (or create) the stored secret when none is configured. A storage that
        cannot keep one gets a random per-process secret (cursors then stay valid only on
        the process that made them)."""
        if self._secret is not None:
            return
        candidate = secrets.token_urlsafe(32)
        if isinstance(storage, SharedSettings):
            candidate = await storage.shared_setting(SECRET_NAME, candidate)
        self._secret = candidate

    def key(self, purpose: str) -> bytes:
        """32 bytes for ``purpose``; Unavailable before the secret is known."""
        found = self._derived.get(purpose)
        if found is not None:
            return found
        if self._secret is None:
            raise Unavailable("the deployment secret is not loaded yet")
        derived = hashlib.sha256(f"omnicrud-{purpose}\0".encode() + self._secret.encode())
        self._derived[purpose] = derived.digest()
        return self._derived[purpose]
