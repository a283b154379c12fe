"""Staff accounts, their ward assignments and integration tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import Timestamped, Versioned, utc_field


class User(Timestamped, Versioned, table=True):
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    id: int = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    display_name: str = Field(max_length=200)
    role_code: str = Field(foreign_key="staffrole.code")
    password_hash: str | None = Field(default=None, max_length=300)
    is_active: bool = True
    # Integration (service) accounts authenticate only with API tokens.
    is_service_account: bool = False
    # Single sign-on (docs/single-sign-on.md): the identity provider's issuer and its stable
    # subject identifier for this person. Set when the user was created or linked at an OpenID
    # Connect sign-in; role and wards then follow the provider's claims at each sign-in.
    # Sessions live in `usersession`; failed sign-ins are counted in `signinthrottle`.
    oidc_issuer: str | None = Field(default=None, max_length=300)
    oidc_subject: str | None = Field(default=None, max_length=255)


class UserWard(SQLModel, table=True):
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    ward_id: int = Field(foreign_key="ward.id", primary_key=True, ondelete="CASCADE")


class ApiToken(Timestamped, table=True):
    """Revocable bearer token for an integration. Only a hash is stored."""

    id: int = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    last_used_at: datetime | None = utc_field(nullable=True)
    revoked_at: datetime | None = utc_field(nullable=True)


class UserSession(SQLModel, table=True):
    """One signed-in browser (docs/adr/0015-server-side-sessions.md).

    The cookie holds a random session id, signed; only its SHA-256 is stored, so a copy of this
    table signs nobody in. A session is live while `ended_at` is empty, its last activity is
    within the idle timeout and its sign-in within the lifetime. Times are wall-clock UTC.
    """

    id: int = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    method: str = Field(max_length=20)  # "password" or "oidc"
    signed_in_at: datetime = utc_field()
    seen_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True, index=True)
    # Why it ended (app/auth/sessions.py: signed_out, switched, admin, password, disabled,
    # idp_logout...), shown on the sign-in page the next time that browser asks for a page.
    ended_reason: str | None = Field(default=None, max_length=20)
    client: str = Field(default="", max_length=64)  # the throttle's client key
    user_agent: str = Field(default="", max_length=200)
    # The provider's session id (`sid`) at an OpenID Connect sign-in: back-channel and
    # front-channel logout name it.
    oidc_sid: str | None = Field(default=None, max_length=255, index=True)
