"""Three patients on the ward, each reviewed yesterday (no criteria to reside, red) with an EDD."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

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
        factories.make_edd(db, nurse_principal, stay, date(2026, 3, 12), now=yesterday)
        factories.make_review(
            db, nurse_principal, stay, meets=False, now=yesterday, day_status="red",
            red_day_reason_code="waiting_external", pathway=1, plan="Awaiting reablement",
        )  # fmt: skip
    return stays
