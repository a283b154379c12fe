"""API tokens for integrations: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Session, select

from app.audit import service as audit
from app.core.errors import NotFound
from app.core.principal import Principal
from app.models import ApiToken, User

PREFIX = "brt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, *, user: User, name: str, actor: Principal | None, now: datetime, actor_name: str | None = None
) -> tuple[ApiToken, str]:
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_token(raw))
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        actor_name=actor_name,
        action="issue_token",
        entity=token,
        at=now,
        after={"user_id": user.id, "name": name},
    )
    return token, raw


def revoke_token(
    session: Session, *, token_id: int, actor: Principal | None, now: datetime, actor_name: str | None = None
) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such token")
    if token.revoked_at is None:
        token.revoked_at = now
        token.updated_at = now
        audit.record(
            session,
            actor=actor,
            actor_name=actor_name,
            action="revoke_token",
            entity=token,
            at=now,
            after={"revoked_at": now.isoformat()},
        )
    return token


def user_for_token(session: Session, raw: str) -> tuple[User, ApiToken] | None:
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    row = session.exec(
        select(User, ApiToken)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(raw), ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
    ).first()
    if row is None or not row[0].is_active:
        return None
    return row[0], row[1]
