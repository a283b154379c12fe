"""Three patients on the ward, each reviewed yesterday (no criteria to reside, red) with an EDD."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.reviews.schemas import ReviewRequest
from app.reviews.service import record_review
from app.stays.service import set_edd
from tests import factories


@pytest.fixture
def ward_with_patients(db, ward, nurse_principal, now):
    beds = factories.beds_of(db, ward)
    stays = [
        factories.make_stay(
            db,
            nurse_principal,
            ward,
            beds[i],
            admitted_at=now - timedelta(days=2 + i),
            patient=factories.make_patient(db, nurse_principal, family_name=f"Patient{i}"),
        )
        for i in range(3)
    ]
    yesterday = now - timedelta(days=1)
    for stay in stays:
        set_edd(
            db,
            actor=nurse_principal,
            stay=stay,
            new_date=date(2026, 3, 12),
            reason="",
            expected_version=stay.version,
            now=yesterday,
        )
        record_review(
            db,
            actor=nurse_principal,
            stay=stay,
            now=yesterday,
            data=ReviewRequest(
                meets_criteria_to_reside=False,
                delay_reason_code="CAP01",
                day_status="red",
                red_day_reason_code="waiting_external",
                pathway=1,
                plan="Awaiting reablement",
            ),
        )
    return stays
