"""omnicrud: one REST CRUD API, the same on SQLite, PostgreSQL, MySQL/MariaDB and MongoDB."""

from omnicrud.api.app import create_app
from omnicrud.config import Settings
from omnicrud.core.resources import Indexed, References, Resource, Secret, Unique

__all__ = ["Indexed", "References", "Resource", "Secret", "Settings", "Unique", "create_app"]
__version__ = "0.1.0"
