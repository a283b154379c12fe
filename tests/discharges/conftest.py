"""Failed-discharge fixtures: two wards, patients on each, a builder for failed discharges."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.discharges.schemas import FailedDischargeCreate
from app.discharges.service import log_failed_discharge
from tests import factories


def log(
    db,
    actor,
    stay,
    *,
    planned_for: datetime,
    causes=("transport",),
    primary=None,
    avoidable=False,
    owner=None,
    due=None,
    now=None,
):  # noqa: ANN001, ANN201
    fd, _ = log_failed_discharge(
        db,
        actor=actor,
        stay=stay,
        now=now or factories.NOW,
        data=FailedDischargeCreate(
            planned_for=planned_for,
            causes=list(causes),
            primary_cause=primary or causes[0],
            avoidable=avoidable,
            follow_up_owner_role_code=owner,
            follow_up_due_at=due,
        ),
    )
    return fd


@pytest.fixture
def stays(db, ward, nurse_principal, now):
    beds = factories.beds_of(db, ward)
    return [
        factories.make_stay(
            db,
            nurse_principal,
            ward,
            beds[i],
            admitted_at=now - timedelta(days=5),
            patient=factories.make_patient(db, nurse_principal, family_name=f"Home{i}", given_name="Grace"),
        )
        for i in range(2)
    ]


@pytest.fixture
def other_ward(db):
    return factories.make_ward(db, beds=2)


@pytest.fixture
def other_stay(db, other_ward, now):
    manager = factories.principal(db, factories.make_user(db, "ward_manager", wards=[other_ward]))
    return factories.make_stay(
        db,
        manager,
        other_ward,
        factories.beds_of(db, other_ward)[0],
        admitted_at=now - timedelta(days=4),
        patient=factories.make_patient(db, manager, family_name="Elsewhere", given_name="Olive"),
    )


@pytest.fixture
def other_principal(db, other_ward):
    return factories.principal(db, factories.make_user(db, "ward_manager", wards=[other_ward]))
