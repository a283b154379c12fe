from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import col, select

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import patient_or_404
from app.core.concurrency import expected_version
from app.core.errors import RuleViolation
from app.core.params import IfMatch, Now, PathId, etag
from app.core.types import bounded_text
from app.db import SessionDep, commit
from app.models import Patient, Stay
from app.patients import nhs_number, service
from app.patients.schemas import PatientCreate, PatientPublic, PatientUpdate

router = APIRouter(prefix="/patients", tags=["patients"])


@router.post("", status_code=201, response_model=PatientPublic)
def create_patient(data: PatientCreate, session: SessionDep, actor: Requires(Perm.WRITE_PATIENT), now: Now):
    patient = service.create_patient(session, actor=actor, data=data, now=now)
    commit(session)
    return patient


@router.get("", response_model=list[PatientPublic])
def find_patients(
    session: SessionDep,
    actor: Requires(Perm.READ_WARD),
    nhs_number_q: Annotated[bounded_text(20) | None, Query(alias="nhs_number")] = None,  # type: ignore[valid-type]
    mrn: Annotated[bounded_text(20) | None, Query()] = None,  # type: ignore[valid-type]
):
    """Look a patient up by NHS number or hospital number (within your wards)."""
    if not nhs_number_q and not mrn:
        raise RuleViolation("Give nhs_number or mrn", field="nhs_number")
    query = select(Patient)
    if nhs_number_q:
        try:
            query = query.where(Patient.nhs_number == nhs_number.normalise(nhs_number_q))
        except ValueError as exc:
            raise RuleViolation(str(exc), field="nhs_number") from exc
    if mrn:
        query = query.where(Patient.mrn == mrn.strip())
    if not actor.site_wide:
        visible = select(Stay.patient_id).where(col(Stay.ward_id).in_(actor.ward_ids or {-1}))
        query = query.where(col(Patient.id).in_(visible))
    return list(session.exec(query.limit(20)))


@router.get("/{patient_id}", response_model=PatientPublic)
def get_patient(patient_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD), response: Response):
    patient = patient_or_404(session, actor, patient_id)
    response.headers.update(etag(patient.version))
    return patient


@router.patch("/{patient_id}", response_model=PatientPublic)
def update_patient(
    patient_id: PathId,
    data: PatientUpdate,
    session: SessionDep,
    actor: Requires(Perm.WRITE_PATIENT),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    patient = patient_or_404(session, actor, patient_id)
    version = expected_version(if_match, data.version)
    service.update_patient(
        session,
        actor=actor,
        patient=patient,
        changes=data.model_dump(exclude_unset=True, exclude={"version"}),
        expected_version=version,
        now=now,
    )
    commit(session)
    response.headers.update(etag(patient.version))
    return patient
