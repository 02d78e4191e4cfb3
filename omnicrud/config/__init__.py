"""Settings from the environment (and a ``.env`` file): ``DATABASE_URL`` plus ``OMNICRUD_*``.

Pure data: what the values mean (which resources, which backend, where the migration
scripts are) is decided in ``omnicrud.bootstrap``."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./omnicrud.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OMNICRUD_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "OMNICRUD_DATABASE_URL", "database_url"),
        description="Which database, by URL scheme.",
    )
    resources: str | None = Field(
        None, description="package.module:attribute holding a list of Resource; default: example"
    )
    max_body_bytes: int = Field(1_048_576, ge=1, description="Larger request bodies get 413.")
    max_bulk: int = Field(1000, ge=1, description="Most rows one POST array may create.")
    default_limit: int = Field(50, ge=1)
    max_limit: int = Field(1000, ge=1)
    expand_limit: int = Field(
        20, ge=1, le=1000, description="Most rows a to-many expansion embeds per row."
    )
    pool_size: int = Field(32, ge=1, description="Most connections per process.")
    pool_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a free connection.")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection.")
    query_timeout: float = Field(10.0, gt=0, description="Seconds one statement may run.")
    require_if_match: bool = Field(False, description="PUT/PATCH/DELETE without If-Match: 428.")
    cursor_secret: str = Field(
        "omnicrud", description="Signs pagination cursors; the same for every process."
    )
    auto_migrate: bool = Field(
        True,
        description="Apply pending migrations at start-up; when false, refuse to start on a "
        "database that is behind.",
    )
    migrations: str | None = Field(
        None,
        description="Directory of the deployment's migration scripts; default: migrations/ "
        "next to the resources module (the bundled example's scripts without one).",
    )
