"""Patient registration rules, on both databases."""

from __future__ import annotations

import pytest

from app.core.errors import Conflict
from app.patients import service
from tests import factories
from tests.factories import NOW


@pytest.fixture
def actor(nurse_principal):
    return nurse_principal


def test_nhs_number_and_hospital_number_are_each_unique(db, actor):
    ada = factories.make_patient(db, actor)
    # Same NHS number, new hospital number: the NHS number is named.
    with pytest.raises(Conflict) as info:
        factories.make_patient(db, actor, nhs_number=ada.nhs_number)
    assert info.value.field == "nhs_number" and info.value.detail == {"patient_id": ada.id}
    # New NHS number, same hospital number: the hospital number is named.
    with pytest.raises(Conflict) as info:
        factories.make_patient(db, actor, mrn=ada.mrn)
    assert info.value.field == "mrn" and info.value.detail == {"patient_id": ada.id}
    # No NHS number (not every patient has one yet): only the hospital number is checked.
    nameless = factories.make_patient(db, actor, nhs_number=None)
    assert nameless.nhs_number is None


def test_an_update_may_keep_its_own_nhs_number_but_not_take_anothers(db, actor):
    ada, bob = factories.make_patient(db, actor), factories.make_patient(db, actor)
    service.update_patient(
        db, actor=actor, patient=ada, changes={"nhs_number": ada.nhs_number, "given_name": "Ida"},
        expected_version=ada.version, now=NOW,
    )  # fmt: skip
    assert ada.given_name == "Ida"
    with pytest.raises(Conflict) as info:
        service.update_patient(
            db, actor=actor, patient=ada, changes={"nhs_number": bob.nhs_number},
            expected_version=ada.version, now=NOW,
        )  # fmt: skip
    assert info.value.field == "nhs_number" and info.value.detail == {"patient_id": bob.id}
