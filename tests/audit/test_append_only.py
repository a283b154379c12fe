from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from app.models import AuditEvent
from tests import factories


def test_audit_rows_cannot_be_updated_or_deleted(db, ward, nurse_principal):
    factories.make_stay(db, nurse_principal, ward, None)
    event = db.exec(select(AuditEvent).order_by(AuditEvent.id)).first()
    for statement in (
        "UPDATE auditevent SET actor_name = 'someone else' WHERE id = :id",
        "DELETE FROM auditevent WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.begin_nested():
                db.exec(text(statement), params={"id": event.id})
    assert db.get(AuditEvent, event.id).actor_name == "Nina Nurse"


def test_secrets_never_reach_the_audit_trail(db, ward):
    from app.audit.service import snapshot

    user = factories.make_user(db, "nurse", password_hash="$argon2id$secret")
    assert "password_hash" not in snapshot(user)
