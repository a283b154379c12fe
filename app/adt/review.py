"""Stored messages after the fact: the review queue of failed ones, retry, and retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, select

from app.adt.ack import Ack
from app.adt.pipeline import handle, stored_message
from app.core.errors import Conflict, NotFound
from app.core.principal import Principal
from app.db import commit
from app.models import AdtMessage


def failed_messages(session: Session, *, limit: int = 100) -> list[AdtMessage]:
    """Messages not applied (AE/AR), newest first."""
    return list(
        session.exec(
            select(AdtMessage)
            .where(AdtMessage.status != "applied")
            .order_by(AdtMessage.received_at.desc(), AdtMessage.id.desc())  # type: ignore[union-attr]
            .limit(limit)
        )
    )


def retry(session: Session, *, control_id: str, actor: Principal, now: datetime) -> Ack:
    """Apply a stored failed message again (after fixing the location map, say).

    The old row gives up its control ID first, then the message is handled like a new one
    (stored as applied, or failed again with its text kept), and the old row is removed.
    """
    row = stored_message(session, control_id)
    if row is None:
        raise NotFound("No message with that control ID")
    if row.status == "applied":
        raise Conflict("That message has already been applied")
    if row.raw is None:
        raise Conflict("That message's text has been purged: ask the PAS team to resend it")
    raw, old_id = row.raw, row.id
    row.control_id = None
    commit(session)
    ack = handle(session, raw, actor=actor, now=now, channel="retry")
    old = session.get(AdtMessage, old_id)
    if old is not None:
        session.delete(old)
    again = stored_message(session, control_id)
    if again is not None:
        again.retried_at = now
    commit(session)
    return ack


def purge(session: Session, *, raw_older_than: datetime, rows_older_than: datetime) -> tuple[int, int]:
    """Retention: drop raw text of old failed messages, and old rows altogether."""
    cleared = session.execute(
        update(AdtMessage)
        .where(AdtMessage.raw.is_not(None), AdtMessage.received_at < raw_older_than)  # type: ignore[union-attr]
        .values(raw=None)
    ).rowcount
    deleted = session.execute(delete(AdtMessage).where(AdtMessage.received_at < rows_older_than)).rowcount
    commit(session)
    return cleared or 0, deleted or 0
