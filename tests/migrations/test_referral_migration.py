"""7c1a5e0d2002: existing referrals (free text and dates) become referrals to a service with moments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from tests import factories
from tests.dbs import build_engine, drop_pg_database, migrate


@pytest.fixture
def fresh_engine(backend, tmp_path):
    engine = build_engine(backend, tmp_path, "referral_migration")
    yield engine
    engine.dispose()
    if backend == "postgresql":
        drop_pg_database(engine.url.render_as_string(hide_password=False))


def test_existing_referrals_get_a_service_and_moments(fresh_engine):
    migrate(fresh_engine)
    with Session(fresh_engine) as db:
        ward = factories.make_ward(db, beds=1)
        user = factories.make_user(db, "nurse", wards=[ward])
        actor = factories.principal(db, user)
        now = datetime(2026, 3, 10, 12, tzinfo=UTC)
        stay = factories.make_stay(db, actor, ward, None, admitted_at=now - timedelta(days=5), now=now)
        db.commit()
        stay_id, user_id = stay.id, user.id
    migrate(fresh_engine, "7c1a5e0d2001", down=True)  # before referrals had services
    insert = text(
        "INSERT INTO referral (stay_id, to_service, sent_on, decision_on, decision, created_by_id, created_at,"
        " updated_at, version) VALUES (:stay, :to, :sent, :decided, :decision, :user, :t, :t, 1)"
    )
    rows = [
        ("Care transfer hub (integrated discharge team)", "2026-03-06", "2026-03-08", "Accepted for P1"),
        ("THERAPY", "2026-03-07", None, ""),
        ("Mrs Smith's befriender", "2026-03-07", None, ""),
    ]
    with fresh_engine.begin() as conn:
        for to, sent, decided, decision in rows:
            conn.execute(
                insert,
                {"stay": stay_id, "to": to, "sent": sent, "decided": decided, "decision": decision, "user": user_id,
                 "t": datetime(2026, 3, 8, tzinfo=UTC).replace(tzinfo=None)},
            )  # fmt: skip
    migrate(fresh_engine)
    from app.models import Referral

    with Session(fresh_engine) as db:
        found = {r.service_code: r for r in db.exec(select(Referral).where(Referral.stay_id == stay_id))}
    assert set(found) == {"care_transfer_hub", "therapy", "other"}
    hub = found["care_transfer_hub"]
    assert hub.sent_at == datetime(2026, 3, 6, 12, tzinfo=UTC) and hub.decided_at == datetime(
        2026, 3, 8, 12, tzinfo=UTC
    )
    assert hub.decision == "Accepted for P1" and hub.detail == ""
    assert found["therapy"].decided_at is None
    assert found["other"].detail == "Mrs Smith's befriender"
    # And back: the text and dates return.
    migrate(fresh_engine, "7c1a5e0d2001", down=True)
    with fresh_engine.connect() as conn:
        back = conn.execute(text("SELECT to_service FROM referral ORDER BY id")).scalars().all()
    assert back == ["Care transfer hub (integrated discharge team)", "Therapy (physiotherapy, occupational therapy)",
                    "Mrs Smith's befriender"]  # fmt: skip
