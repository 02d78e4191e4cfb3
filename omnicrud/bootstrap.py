"""Settings -> resources -> backend -> storage and schema manager: the one place that
assembles a deployment, for the app factory and every CLI command alike."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnicrud import example
from omnicrud.config import Settings
from omnicrud.core import registry
from omnicrud.core.errors import ConfigError
from omnicrud.core.relations import Relations
from omnicrud.core.resources import Resource, check_resources
from omnicrud.core.schema import SchemaManager, SchemaTarget
from omnicrud.core.storage import Storage

SERVICE_ROUTES = (
    "livez",
    "readyz",
    "docs",
    "redoc",
    "openapi.json",
    "problems",
    "metrics",
    "auth",
    "mcp",
)
"""Paths of the service's own routes: no resource may take these names."""
BUNDLED_MIGRATIONS = Path(example.__file__).resolve().parent / "migrations"
"""The bundled example's migration scripts, shipped inside the package."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise ConfigError(f"invalid settings: {exc}".replace("\n", " ")) from None


def _import(module_name: str) -> Any:
    # A console script does not put the working directory on sys.path, but the documented
    # `OMNICRUD_RESOURCES=myapp.resources:resources omnicrud serve` means ./myapp.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.append(cwd)
    return importlib.import_module(module_name)


def _failing_line(exc: BaseException) -> str:
    """`` at file:line`` of the innermost frame of the traceback, or ``""``."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "" if tb is None else f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"


def load_resources(spec: str | None) -> list[Resource]:
    """``package.module:attribute`` -> its list of Resource (the bundled example if None)."""
    if spec is None:
        return list(example.resources)
    module_name, _, attr = spec.partition(":")
    try:
        value: Any = getattr(_import(module_name), attr or "resources")
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"OMNICRUD_RESOURCES={spec!r} cannot be loaded: {exc}") from None
    except SyntaxError as exc:
        where = f"{exc.filename}:{exc.lineno}"
        raise ConfigError(f"OMNICRUD_RESOURCES={spec!r}: syntax error at {where}") from exc
    except Exception as exc:  # the module itself failed; its traceback is debug detail
        where = _failing_line(exc)
        raise ConfigError(
            f"OMNICRUD_RESOURCES={spec!r} failed to import{where}: "
            f"{type(exc).__name__}: {exc}".replace("\n", " ")
        ) from exc
    if callable(value):
        value = value()
    if not isinstance(value, list | tuple) or not all(isinstance(r, Resource) for r in value):
        raise ConfigError(f"OMNICRUD_RESOURCES={spec!r} is not a list of omnicrud.Resource")
    return list(value)


def migrations_dir(settings: Settings) -> Path:
    """Where the migration scripts of this deployment live (they may not exist yet)."""
    if settings.migrations:
        return Path(settings.migrations).resolve()
    if settings.resources is None:
        return BUNDLED_MIGRATIONS
    module = settings.resources.partition(":")[0]
    if module == example.__name__:
        return BUNDLED_MIGRATIONS
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        return Path("migrations").resolve()
    return Path(spec.origin).resolve().parent / "migrations"


@dataclass(frozen=True)
class Deployment:
    """Everything settings decide before a connection is made."""

    settings: Settings
    resources: tuple[Resource, ...]
    backend: registry.Backend
    declared: frozenset[str]

    @classmethod
    def load(
        cls, settings: Settings | None = None, resources: Sequence[Resource] | None = None
    ) -> Deployment:
        """ConfigError with a one-line reason when anything is wrong."""
        settings = settings or load_settings()
        if resources is None:
            chosen = load_resources(settings.resources)
            declared = frozenset(r.name for r in chosen)
        else:  # resources given in code; the deployment's own may still be declared
            chosen = list(resources)
            try:
                declared = frozenset(r.name for r in load_resources(settings.resources))
            except ConfigError:
                declared = frozenset(r.name for r in chosen)
        check_resources(chosen, SERVICE_ROUTES)
        Relations(chosen)  # relation names: ConfigError on a clash
        backend = registry.load(settings.database_url)
        registry.check_driver(backend)
        return cls(settings, tuple(chosen), backend, declared)

    def storage(self) -> Storage:
        """A new, unconnected Storage."""
        return self.backend.storage(self.settings.database_url, self.settings, self.resources)

    def schema(self, storage: Storage) -> SchemaManager:
        """The schema manager working through ``storage`` (connected)."""
        target = SchemaTarget(
            self.settings.database_url,
            self.resources,
            migrations_dir(self.settings),
            self.declared,
        )
        return self.backend.schema(storage, target)

    @property
    def masked_url(self) -> str:
        return registry.mask_url(self.settings.database_url)


async def open_database(deployment: Deployment) -> tuple[Storage, list[str]]:
    """A connected storage with its schema brought up to date (or checked, when
    auto-migrate is off); what was applied. Unavailable when the database cannot be
    reached; ConfigError / MigrationError when it can but must not be served."""
    settings = deployment.settings
    storage = deployment.storage()
    await storage.connect()
    try:
        schema = deployment.schema(storage)
        if settings.auto_migrate:
            applied = await schema.upgrade()
        else:
            applied = []
            behind = (await schema.status()).behind
            if behind is not None:
                raise ConfigError(f"OMNICRUD_AUTO_MIGRATE is off and {behind}")
    except BaseException:
        await storage.close()
        raise
    return storage, applied
