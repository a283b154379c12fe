"""Settings from the environment (pydantic-settings). One class, read once."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


def _dev_secret() -> str:
    """A per-checkout secret for development, kept under var/ (never in git)."""
    VAR_DIR.mkdir(exist_ok=True)
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOARDROUND_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    # DATABASE_URL is the conventional name; read it without our prefix.
    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'boardround.db'}",
        validation_alias="DATABASE_URL",
    )
    secret_key: str = ""
    # Shared ward tablets: sign the user out after this many idle minutes.
    session_idle_minutes: int = 15
    # However active, a session ends this long after sign-in (a ward shift): sign in again.
    session_max_hours: float = Field(default=12, gt=0)
    # Serve cookies with Secure; on by default, off only for plain-http local runs.
    secure_cookies: bool = True
    timezone: str = "Europe/London"
    # Largest request body accepted (bytes): nothing a user sends legitimately is bigger.
    max_body_bytes: int = 1_000_000
    # Round to the database pool for PostgreSQL.
    db_pool_size: int = 10
    # Build stored metrics days in a background thread (page views never write). Off in the
    # in-process test app, whose requests share the test's uncommitted transaction.
    metrics_background_refresh: bool = True
    # The PAS feed's MLLP listener (docs/adt.md, "Limits"). A connection that completes no
    # message for this long (idle, or stalled part-way through one) is closed; senders reconnect.
    mllp_idle_timeout_seconds: float = Field(default=300, gt=0)
    # Connections open at once; more are closed on arrival. With the largest frame this bounds
    # the memory that unanswered frames can hold (about twice the frame size per connection).
    mllp_max_connections: int = Field(default=16, ge=1)
    mllp_max_message_bytes: int = Field(default=1_000_000, ge=1024)
    # Alerts by email (docs/alerts.md). No host: alerts stay in the app and none are emailed.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    # "none" (plain, e.g. a relay on localhost), "starttls" (upgrade, usually port 587) or "tls" (port 465).
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "boardround@localhost"
    smtp_timeout_seconds: float = Field(default=30, gt=0)
    # The address people reach Boardround at, for the link in an alert email.
    public_url: str = "http://127.0.0.1:8000"
    # Run the alert check inside the server every this many minutes; 0: only `boardround alerts run`
    # (cron). Either way each alert is sent once.
    alerts_every_minutes: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _check_secret(self) -> Settings:
        if not self.secret_key:
            if self.environment == "production":
                raise ValueError("BOARDROUND_SECRET_KEY must be set in production")
            self.secret_key = _dev_secret()
        elif self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("BOARDROUND_SECRET_KEY must be at least 32 characters")
        if self.database_url.startswith("postgres://"):
            self.database_url = "postgresql://" + self.database_url[len("postgres://") :]
        if self.database_url.startswith("postgresql://"):
            self.database_url = "postgresql+psycopg://" + self.database_url[len("postgresql://") :]
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
