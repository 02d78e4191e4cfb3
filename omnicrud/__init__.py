"""omnicrud: one REST CRUD API, the same on SQLite, PostgreSQL, MySQL/MariaDB and MongoDB."""

import importlib.metadata

from omnicrud.api.app import create_app
from omnicrud.api.deps import StorageDep
from omnicrud.config import Settings
from omnicrud.core.resources import Indexed, Owner, References, Resource, Secret, Unique

__all__ = [
    "Indexed",
    "Owner",
    "References",
    "Resource",
    "Secret",
    "Settings",
    "StorageDep",
    "Unique",
    "create_app",
]
__version__ = importlib.metadata.version("omnicrud")
