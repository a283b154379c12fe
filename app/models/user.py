"""Staff accounts, their ward assignments and integration tokens."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import Timestamped, Versioned, utc_field


class User(Timestamped, Versioned, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    display_name: str = Field(max_length=200)
    role_code: str = Field(foreign_key="staffrole.code")
    password_hash: str | None = Field(default=None, max_length=300)
    is_active: bool = True
    # Integration (service) accounts authenticate only with API tokens.
    is_service_account: bool = False
    # Signing out ends every session of this user signed in before this moment, on any device:
    # a copied cookie is worthless after sign-out (docs/adr/0002). Failed sign-ins are counted
    # in `signinthrottle`, not here.
    sessions_valid_after: datetime | None = utc_field(nullable=True)


class UserWard(SQLModel, table=True):
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    ward_id: int = Field(foreign_key="ward.id", primary_key=True, ondelete="CASCADE")


class ApiToken(Timestamped, table=True):
    """Revocable bearer token for an integration. Only a hash is stored."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    last_used_at: datetime | None = utc_field(nullable=True)
    revoked_at: datetime | None = utc_field(nullable=True)
