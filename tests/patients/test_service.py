"""Patient registration rules, on both databases."""

from __future__ import annotations

import pytest

from app.core.errors import Conflict
from app.patients import service
from app.patients.schemas import PatientCreate
from tests import factories
from tests.factories import NOW


@pytest.fixture
def actor(db):
    """Site-wide, so every clash may name the other patient."""
    return factories.principal(db, factories.make_user(db, "flow_coordinator"))


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
    # No NHS number (not every patient has one yet): only the hospital number is checked, so two
    # patients without one are two patients.
    first, second = (factories.make_patient(db, actor, nhs_number=None) for _ in range(2))
    assert first.id != second.id and first.nhs_number is None and second.nhs_number is None


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


def test_a_clash_names_the_other_patient_only_to_someone_who_can_see_them(db, actor, ward, nurse_principal):
    elsewhere = factories.make_stay(db, actor, factories.make_ward(db, beds=1), None)
    outsider = db.get(factories.Patient, elsewhere.patient_id)
    mine = factories.make_stay(db, nurse_principal, ward, None)
    own = db.get(factories.Patient, mine.patient_id)
    with pytest.raises(Conflict) as info:
        factories.make_patient(db, nurse_principal, nhs_number=outsider.nhs_number)
    assert info.value.field == "nhs_number" and info.value.detail is None
    assert str(outsider.id) not in info.value.message
    with pytest.raises(Conflict) as info:
        factories.make_patient(db, nurse_principal, mrn=outsider.mrn)
    assert info.value.field == "mrn" and info.value.detail is None
    # A patient on the nurse's own ward may be named.
    with pytest.raises(Conflict) as info:
        factories.make_patient(db, nurse_principal, nhs_number=own.nhs_number)
    assert info.value.detail == {"patient_id": own.id}


def _details(patient, **changes) -> PatientCreate:
    return PatientCreate(**factories.identifiers(patient) | changes)


def test_admission_by_identifiers_matches_only_on_every_identifier(db, actor, nurse_principal, caplog):
    known = factories.make_patient(db, actor, given_name="Mary Ann", family_name="O'Neill")
    # The wristband's details, in any letter case and spacing: the same person, no duplicate.
    same = service.match_or_register(
        db, actor=nurse_principal, data=_details(known, given_name="MARY  ANN", family_name="o'neill"), now=NOW
    )
    assert same.id == known.id
    for changes in (
        {"date_of_birth": "1941-05-17"},
        {"family_name": "Neill"},
        {"given_name": "Mary"},
        {"nhs_number": None},  # the hospital holds one: the caller must too
        {"mrn": "K999999"},  # the NHS number names this patient, the hospital number nobody
        {"nhs_number": factories.test_nhs_number(424242)},  # the hospital number names them
    ):
        with pytest.raises(Conflict) as info:
            service.match_or_register(db, actor=nurse_principal, data=_details(known, **changes), now=NOW)
        assert info.value.message == service.DETAILS_DIFFER, changes
        assert info.value.detail is None and info.value.field == "patient"
    # Each refusal is logged for whoever watches for guessing: the user, never the details.
    logged = [r.getMessage() for r in caplog.records if r.name == "boardround.patients"]
    assert len(logged) == 6 and all(f"user {nurse_principal.user_id}" in m for m in logged)
    assert not any(v in m for m in logged for v in (known.nhs_number, known.mrn, known.family_name, "1940"))
    # Two identifiers naming two different patients: refused, naming neither.
    other = factories.make_patient(db, actor)
    with pytest.raises(Conflict) as info:
        service.match_or_register(db, actor=nurse_principal, data=_details(known, mrn=other.mrn), now=NOW)
    assert info.value.detail is None
    # Never seen: registered.
    fresh = PatientCreate(
        **factories.identifiers(known) | {"nhs_number": factories.test_nhs_number(777001), "mrn": "K777001"}
    )
    new = service.match_or_register(db, actor=nurse_principal, data=fresh, now=NOW)
    assert new.id not in (known.id, other.id) and new.mrn == "K777001"
