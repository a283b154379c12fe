"""Failed sign-in attempts, counted per client address and per username (app/auth/throttle.py)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import utc_field


class SignInThrottle(SQLModel, table=True):
    """One counter: attempts from one client address, or attempts at one username.

    Infrastructure, not a clinical record: each attempt is audited in `auditevent`; these rows
    only decide whether the next attempt may be checked, and old ones are deleted.
    """

    # "client" (the address uvicorn gives; an IPv6 client by its /64) or "account" (the
    # username as typed, in lower case, whether or not such a user exists).
    scope: str = Field(max_length=10, primary_key=True)
    key: str = Field(max_length=100, primary_key=True)
    # Attempts counted in this window, each before its password was checked; a correct
    # password gives its attempt back (a username's count then starts again).
    failures: int = 0
    window_started_at: datetime = utc_field(index=True)
    # Attempts before this moment are refused (429) without checking the password.
    next_allowed_at: datetime = utc_field()


class SignInPolicy(SQLModel, table=True):
    """How staff may sign in, as an administrator set it (one row, id 1; none: the defaults).

    `BOARDROUND_PASSWORD_SIGN_IN=false` turns password sign-in off whatever this says."""

    id: int = Field(default=1, primary_key=True)
    password_sign_in: bool = True
    updated_at: datetime = utc_field()
