"""The demo makes discharge milestones and referrals that look like a real ward's."""

from __future__ import annotations

from sqlmodel import Session, select

from app.core import codes
from app.models import DischargeMilestone, Referral
from app.stays.referrals import status
from tests.demo.test_demo import NOW, build


def test_demo_milestones_and_referrals(db: Session):
    build(db, seed=7, days_history=14)
    found = list(db.exec(select(DischargeMilestone)))
    states = {m.status for m in found}
    assert {codes.MILESTONE_DONE, codes.MILESTONE_NOT_STARTED} <= states
    assert any(m.status in codes.MILESTONE_OPEN and m.due_at <= NOW for m in found)  # some overdue
    referrals = list(db.exec(select(Referral)))
    assert len({r.service_code for r in referrals}) >= 3
    assert {"sent", "decided"} <= {status(r) for r in referrals}
    for r in referrals:
        assert r.sent_at <= NOW
        for moment in (r.responded_at, r.assessed_at, r.decided_at):
            assert moment is None or r.sent_at <= moment <= NOW
