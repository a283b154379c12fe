"""Builders with realistic defaults, written through the real services where rules apply."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import nhs_number
from sqlmodel import Session

from app.auth.deps import principal_for
from app.auth.principal import Principal
from app.auth.tokens import issue_token
from app.models import Bed, Patient, Site, Stay, User, UserWard, Ward
from app.patients.schemas import PatientCreate
from app.patients.service import create_patient
from app.stays.service import admit

_seq = itertools.count(1)
NOW = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


def test_nhs_number(n: int) -> str:
    """Valid numbers from the never-issued 999 test range."""
    for k in itertools.count(n):
        prefix = f"999{k % 1_000_000:06d}"
        check = nhs_number.calculate_checksum(prefix)
        if check is not None and check < 10:
            return prefix + str(check)
    raise AssertionError("unreachable")


def make_site(db: Session, code: str | None = None) -> Site:
    n = next(_seq)
    site = Site(code=code or f"RX{n:03d}", name=f"Test General {n}")
    db.add(site)
    db.flush()
    return site


def make_ward(db: Session, *, site: Site | None = None, beds: int = 4, code: str | None = None, **kw) -> Ward:
    site = site or make_site(db)
    n = next(_seq)
    ward = Ward(
        site_id=site.id, code=code or f"W{n}", name=f"Ward {n}", specialty=kw.pop("specialty", "Medicine"), **kw
    )
    db.add(ward)
    db.flush()
    for i in range(beds):
        db.add(Bed(ward_id=ward.id, label=f"B{i + 1:02d}", sort_order=i))
    db.flush()
    return ward


def beds_of(db: Session, ward: Ward) -> list[Bed]:
    from sqlmodel import select

    return list(db.exec(select(Bed).where(Bed.ward_id == ward.id).order_by(Bed.sort_order)))


def make_user(
    db: Session,
    role: str = "nurse",
    *,
    wards: list[Ward] = (),
    username: str | None = None,
    password_hash: str | None = None,
    **kw,
) -> User:
    n = next(_seq)
    user = User(
        username=username or f"{role}{n}",
        display_name=kw.pop("display_name", f"{role.title()} {n}"),
        role_code=role,
        password_hash=password_hash,
        **kw,
    )
    db.add(user)
    db.flush()
    for ward in wards:
        db.add(UserWard(user_id=user.id, ward_id=ward.id))
    db.flush()
    return user


def principal(db: Session, user: User) -> Principal:
    return principal_for(db, user)


def token_for(db: Session, user: User) -> str:
    _, raw = issue_token(db, user=user, name="test", actor=None, now=NOW)
    db.flush()
    return raw


def make_patient(db: Session, actor: Principal, **overrides) -> Patient:
    n = next(_seq)
    data = {
        "nhs_number": test_nhs_number(n * 7919),
        "mrn": f"MRN{n:06d}",
        "given_name": overrides.pop("given_name", "Ada"),
        "family_name": overrides.pop("family_name", f"Lovelace{n}"),
        "date_of_birth": date(1940, 5, 17),
        "sex": "female",
    } | overrides
    return create_patient(db, actor=actor, data=PatientCreate(**data), now=NOW)


def identifiers(patient: Patient) -> dict:
    """What is on the patient's wristband, as the admission API takes it."""
    return {
        "nhs_number": patient.nhs_number,
        "mrn": patient.mrn,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
    }


def make_stay(
    db: Session,
    actor: Principal,
    ward: Ward,
    bed: Bed | None,
    *,
    admitted_at: datetime | None = None,
    now: datetime | None = None,
    patient: Patient | None = None,
    **kw,
) -> Stay:
    patient = patient or make_patient(db, actor)
    now = now or NOW
    return admit(
        db,
        actor=actor,
        patient=patient,
        ward_id=ward.id,
        bed_id=bed.id if bed else None,
        admitted_at=admitted_at or now - timedelta(days=3),
        now=now,
        **kw,
    )
