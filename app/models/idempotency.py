"""Idempotency keys of the JSON API: the first response to a keyed POST, kept a day for retries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import JSONType, utc_field


class IdempotencyKey(SQLModel, table=True):
    """One `Idempotency-Key` of one principal, written in the same transaction as the write it
    protects (app/web/idempotency.py).

    Infrastructure, not clinical data: not audited. It holds a hash of the request, never its
    body; the stored response is what that principal was already shown, is replayed only to
    the same principal, and is deleted a day later.
    """

    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: int = Field(default=None, primary_key=True)
    # "user:<id>" for a signed-in user, "token:<id>" for an API token: keys are per principal.
    principal: str = Field(max_length=40)
    key: str = Field(max_length=255)
    # SHA-256 of method, path, query and body: the same key with another request is refused.
    request_hash: str = Field(max_length=64)
    created_at: datetime = utc_field(index=True)
    # Null only inside the request's own transaction, before its response exists.
    status_code: int | None = None
    response_headers: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
