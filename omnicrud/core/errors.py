"""Domain errors. Backends raise these; the API maps each to one HTTP status, once."""

from __future__ import annotations


class OmnicrudError(Exception):
    """Base of every error omnicrud raises on purpose."""


class ConfigError(OmnicrudError):
    """Bad configuration found at start-up (unknown scheme, missing driver, bad resources)."""


class NotFound(OmnicrudError):
    """No row with that id."""


class Conflict(OmnicrudError):
    """A unique field already holds the value."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class ReferenceConflict(OmnicrudError):
    """A reference points at a missing row, or a referenced row was to be deleted.

    ``field`` is the referencing field; ``resource`` the resource that holds it.
    """

    def __init__(self, resource: str, field: str, *, missing_target: bool) -> None:
        super().__init__(resource, field)
        self.resource = resource
        self.field = field
        self.missing_target = missing_target


class PreconditionFailed(OmnicrudError):
    """The row's version is not the one the client named in If-Match."""


class Unavailable(OmnicrudError):
    """The database cannot be reached or did not answer in time (503 + Retry-After)."""


class StorageError(OmnicrudError):
    """The database refused a statement for a reason no other error describes (500, with a
    generic message: the driver's text never reaches a client)."""


class MigrationError(OmnicrudError):
    """A migration cannot run, or the database does not match the resources."""


class BadQuery(OmnicrudError):
    """A list query parameter is wrong; the message is safe to show to clients."""

    def __init__(self, detail: str, param: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.param = param
