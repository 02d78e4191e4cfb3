"""Settings from the environment (and a ``.env`` file): ``DATABASE_URL`` plus ``OMNICRUD_*``.

Pure data: what the values mean (which resources, which backend, where the migration
scripts are) is decided in ``omnicrud.bootstrap``."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
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
    default_limit: int = Field(50, ge=1, description="Rows per list page without ?limit=.")
    max_limit: int = Field(1000, ge=1, description="Largest ?limit= accepted (more is 422).")
    expand_limit: int = Field(
        20, ge=1, le=1000, description="Most rows a to-many expansion embeds per row."
    )
    pool_size: int = Field(32, ge=1, description="Most connections per process.")
    pool_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a free connection.")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to open a connection.")
    query_timeout: float = Field(10.0, gt=0, description="Seconds one statement may run.")
    require_if_match: bool = Field(False, description="PUT/PATCH/DELETE without If-Match: 428.")
    cursor_secret: str | None = Field(
        None,
        description="Signs pagination cursors and consistency tokens; unset: a random secret "
        "generated once and kept in the database, shared by every process.",
    )
    auto_migrate: bool = Field(
        True,
        description="Apply pending migrations at start-up; when false, refuse to start on a "
        "database that is behind.",
    )
    read_urls: str | None = Field(
        None,
        description="Comma-separated replica URLs (PostgreSQL, MySQL/MariaDB): GET and HEAD "
        "are served by a healthy replica.",
    )
    max_replica_lag: float = Field(
        5.0, gt=0, description="Seconds a replica may be behind before reads skip it."
    )
    migrations: str | None = Field(
        None,
        description="Directory of the deployment's migration scripts; default: migrations/ "
        "next to the resources module (the bundled example's scripts without one).",
    )

    # ---- operations (omnicrud.ops, CONTRACT §10) ----
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="Log lines: JSON, readable text, or auto (text on a terminal)."
    )
    access_log: bool = Field(True, description="One log line per request.")
    cors_origins: str = Field(
        "", description="Comma-separated origins allowed by CORS (empty: CORS off)."
    )
    shutdown_timeout: int = Field(
        25, ge=1, description="Seconds SIGTERM waits for requests in flight."
    )
    metrics: bool = Field(True, description="Serve Prometheus metrics on /metrics.")
    mcp: bool = Field(
        False,
        description="Serve the resources as MCP tools at /mcp (Streamable HTTP; needs the "
        "omnicrud[mcp] extra).",
    )

    # --- Authentication (omnicrud.auth, CONTRACT §7). Off unless jwt_secret, jwks_url,
    # oidc_issuer or api_keys is set; off, every request may do everything. ---
    jwt_secret: SecretStr | None = Field(
        None, description="HS256 secret (at least 32 bytes) for bearer JWTs and built-in login."
    )
    jwks_url: str | None = Field(None, description="JWKS of an issuer (RS256, ES256, EdDSA).")
    oidc_issuer: str | None = Field(
        None, description="OIDC issuer: its discovery names the JWKS; tokens' iss must match."
    )
    jwt_audience: str | None = Field(None, description="Required aud claim when set.")
    jwt_issuer: str | None = Field(
        None,
        description="Required iss of HS256 tokens (and of JWKS tokens without oidc_issuer); "
        "also the iss of built-in login tokens (default 'omnicrud').",
    )
    jwt_leeway: float = Field(30.0, ge=0, description="Seconds of clock skew for exp/nbf/iat.")
    jwks_timeout: float = Field(3.0, gt=0, description="Seconds one JWKS/discovery fetch may take.")
    jwks_max_age: float = Field(300.0, ge=30, description="Seconds before keys are refreshed.")
    anonymous_scopes: str = Field("", description="Scopes of requests without credentials.")
    public_docs: bool = Field(True, description="/docs and /openapi.json open without auth.")
    api_keys: bool = Field(False, description="Accept API keys (omnicrud keys create).")
    api_key_cache_seconds: float = Field(
        5.0, ge=0, le=5, description="Seconds a looked-up API key is trusted (revocation delay)."
    )
    token_lifetime: int = Field(3600, ge=60, description="Seconds a built-in login token lasts.")
    login_scopes: str = Field(
        "*:read *:write", description="Scopes a built-in login grants (narrowed by ?scope)."
    )
    login_max_failures: int = Field(5, ge=1, description="Failures per username and client.")
    login_max_failures_per_username: int = Field(
        50, ge=1, description="Failures per username over all clients."
    )
    login_window: float = Field(300.0, gt=0, description="Seconds failures are counted for.")
