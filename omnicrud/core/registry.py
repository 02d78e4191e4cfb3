"""URL scheme -> backend, through the ``omnicrud.backends`` entry-point group.

The built-in backends register exactly like a third-party plugin would. An entry point
resolves to a ``Backend``: light to import (no driver); its factories import the driver.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError
from .resources import Resource
from .schema import SchemaManager, SchemaTarget
from .storage import Storage

if TYPE_CHECKING:
    from omnicrud.auth import AuthStore
    from omnicrud.config import Settings

GROUP = "omnicrud.backends"


@dataclass(frozen=True)
class Backend:
    """What a plugin exports. ``drivers`` are the accepted ``scheme+driver`` suffixes;
    ``extra`` is the pip extra that installs the driver. ``storage(url, settings,
    resources)`` makes the (unconnected) Storage; ``schema(storage, target)`` the schema
    manager working with that storage once it is connected."""

    name: str
    drivers: frozenset[str]
    extra: str
    storage: Callable[[str, Settings, Sequence[Resource]], Storage]
    schema: Callable[[Storage, SchemaTarget], SchemaManager]
    modules: tuple[str, ...] = ()
    """Driver modules the factories import; checked up front for a clear message."""
    auth_store: Callable[[Storage], AuthStore] | None = None
    """The API key, login throttle and account stores on a connected storage (tables or
    collections the schema manager creates); None: the backend has no API keys or login."""


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``: the only form logs and errors show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def split_scheme(url: str) -> tuple[str, str]:
    scheme = url.partition("://")[0] if "://" in url else ""
    backend, _, driver = scheme.lower().partition("+")
    return backend, driver


def available() -> list[str]:
    return sorted({ep.name for ep in importlib.metadata.entry_points(group=GROUP)})


def load(url: str) -> Backend:
    """The backend for ``url``; ConfigError with a one-line reason otherwise."""
    name, driver = split_scheme(url)
    eps = [ep for ep in importlib.metadata.entry_points(group=GROUP) if ep.name == name]
    if not eps:
        shown = mask_url(url)
        raise ConfigError(
            f"unknown database scheme {name or '(none)'!r} in DATABASE_URL={shown}; "
            f"available: {', '.join(available())}"
        )
    try:
        backend = eps[0].load()
    except ImportError as exc:
        raise ConfigError(f"the {name!r} backend plugin cannot be imported: {exc}") from None
    if not isinstance(backend, Backend):
        raise ConfigError(f"entry point {eps[0].value!r} is not an omnicrud Backend")
    if driver and driver not in backend.drivers:
        accepted = ", ".join(sorted(f"{name}+{d}" for d in backend.drivers)) or "none"
        raise ConfigError(
            f"driver {driver!r} is not supported by the {backend.name} backend "
            f"(accepted suffixes: {accepted})"
        )
    return backend


def missing_driver(backend: str, module: str, extra: str) -> ConfigError:
    return ConfigError(
        f"the {backend} backend needs the {module!r} driver: pip install 'omnicrud[{extra}]'"
    )


def check_driver(backend: Backend) -> None:
    """ConfigError naming the pip extra when one of the backend's driver modules is missing."""
    for module in backend.modules:
        if importlib.util.find_spec(module) is None:
            raise missing_driver(backend.name, module, backend.extra)
