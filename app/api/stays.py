from __future__ import annotations

from fastapi import APIRouter, Response

from app.auth.deps import Requires
from app.auth.permissions import Perm, allows
from app.auth.scope import patient_or_404, stay_or_404
from app.core.clock import midnights_between
from app.core.concurrency import expected_version
from app.core.errors import Forbidden, NotFound
from app.core.params import IfMatch, Now, PathId, etag
from app.db import SessionDep, commit
from app.patients import service as patients
from app.patients.schemas import PatientPublic
from app.stays import service
from app.stays.schemas import (
    AdmitRequest,
    DischargeRequest,
    EddChangePublic,
    EddRequest,
    LocationPublic,
    StayCorrection,
    StayDetail,
    StayPublic,
    StayUpdate,
    TransferRequest,
)
from app.web.idempotency import IdempotentRoute

router = APIRouter(prefix="/stays", tags=["stays"], route_class=IdempotentRoute)


def _detail(session, stay, now) -> StayDetail:  # noqa: ANN001
    patient, edds, locations = service.stay_detail_parts(session, stay)
    end = stay.discharged_at or now
    return StayDetail(
        stay=StayPublic.model_validate(stay),
        patient=PatientPublic.model_validate(patient),
        length_of_stay_midnights=midnights_between(stay.admitted_at, end),
        edd_history=[EddChangePublic.model_validate(e) for e in edds],
        locations=[LocationPublic.model_validate(loc) for loc in locations],
    )


@router.post("", status_code=201, response_model=StayDetail)
def admit(data: AdmitRequest, session: SessionDep, actor: Requires(Perm.MANAGE_STAY), now: Now, response: Response):
    """Admit a patient by `patient_id` (a patient you can already see; site-wide roles and the PAS
    see everyone) or by `patient` (their NHS number, hospital number, name and date of birth:
    matched to the hospital's record, or registered if the hospital has never seen them)."""
    # Why ward staff admit by identifiers, not by our ids: docs/adr/0007.
    if not actor.can_access_ward(data.ward_id):
        raise NotFound("No such ward")
    if data.patient is not None:
        if not allows(actor.role, Perm.WRITE_PATIENT):
            raise Forbidden("Your role does not allow registering patients")
        patient = patients.match_or_register(session, actor=actor, data=data.patient, now=now)
    else:
        patient = patient_or_404(session, actor, data.patient_id)  # type: ignore[arg-type]
    stay = service.admit(
        session,
        actor=actor,
        patient=patient,
        ward_id=data.ward_id,
        bed_id=data.bed_id,
        admitted_at=data.admitted_at,
        now=now,
        expected_discharge_date=data.expected_discharge_date,
        clinical_criteria_for_discharge=data.clinical_criteria_for_discharge,
        responsible_consultant=data.responsible_consultant,
        pathway=data.pathway,
    )
    commit(session)
    response.headers.update(etag(stay.version))
    return _detail(session, stay, now)


@router.get("/{stay_id}", response_model=StayDetail)
def get_stay(stay_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD), now: Now, response: Response):
    stay = stay_or_404(session, actor, stay_id)
    response.headers.update(etag(stay.version))
    return _detail(session, stay, now)


@router.patch("/{stay_id}", response_model=StayDetail)
def update_stay(
    stay_id: PathId,
    data: StayUpdate,
    session: SessionDep,
    actor: Requires(Perm.WRITE_CLINICAL),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    stay = stay_or_404(session, actor, stay_id)
    service.update_stay(
        session,
        actor=actor,
        stay=stay,
        changes=data.model_dump(exclude_unset=True, exclude={"version"}),
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(stay.version))
    return _detail(session, stay, now)


@router.put("/{stay_id}/edd", response_model=StayDetail)
def set_edd(
    stay_id: PathId,
    data: EddRequest,
    session: SessionDep,
    actor: Requires(Perm.WRITE_CLINICAL),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    stay = stay_or_404(session, actor, stay_id)
    service.set_edd(
        session,
        actor=actor,
        stay=stay,
        new_date=data.expected_discharge_date,
        reason=data.reason,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(stay.version))
    return _detail(session, stay, now)


@router.post("/{stay_id}/transfer", response_model=StayDetail)
def transfer(
    stay_id: PathId,
    data: TransferRequest,
    session: SessionDep,
    actor: Requires(Perm.MANAGE_STAY),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    stay = stay_or_404(session, actor, stay_id)
    if not actor.can_access_ward(data.ward_id):
        raise NotFound("No such ward")
    service.transfer(
        session,
        actor=actor,
        stay=stay,
        ward_id=data.ward_id,
        bed_id=data.bed_id,
        at=data.at or now,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(stay.version))
    return _detail(session, stay, now)


@router.post("/{stay_id}/discharge", response_model=StayDetail)
def discharge(
    stay_id: PathId,
    data: DischargeRequest,
    session: SessionDep,
    actor: Requires(Perm.MANAGE_STAY),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    stay = stay_or_404(session, actor, stay_id)
    service.discharge(
        session,
        actor=actor,
        stay=stay,
        discharged_at=data.discharged_at,
        destination_code=data.destination_code,
        pathway=data.pathway,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(stay.version))
    return _detail(session, stay, now)


@router.post("/{stay_id}/correction", response_model=StayDetail)
def correct(
    stay_id: PathId,
    data: StayCorrection,
    session: SessionDep,
    actor: Requires(Perm.CORRECT_STAY),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    stay = stay_or_404(session, actor, stay_id)
    service.correct_discharged_stay(
        session,
        actor=actor,
        stay=stay,
        changes=data.model_dump(exclude_unset=True, exclude={"version", "reason"}),
        reason=data.reason,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    response.headers.update(etag(stay.version))
    return _detail(session, stay, now)
