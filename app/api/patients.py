from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import patient_or_404
from app.core.concurrency import expected_version
from app.core.errors import DomainError
from app.core.params import IfMatch, Now, PathId, etag
from app.db import SessionDep, commit
from app.patients import queries, service
from app.patients.schemas import PatientCreate, PatientPublic, PatientSearch, PatientUpdate
from app.web.idempotency import IdempotentRoute, reads_only

router = APIRouter(prefix="/patients", tags=["patients"], route_class=IdempotentRoute)


class IdentifiersInUrl(DomainError):
    status_code = 422
    code = "identifiers_in_url"


@router.post("", status_code=201, response_model=PatientPublic)
def create_patient(data: PatientCreate, session: SessionDep, actor: Requires(Perm.WRITE_PATIENT), now: Now):
    patient = service.create_patient(session, actor=actor, data=data, now=now)
    commit(session)
    return patient


@router.post("/search", response_model=list[PatientPublic])
@reads_only
def search_patients(criteria: PatientSearch, session: SessionDep, actor: Requires(Perm.READ_WARD)):
    """Look a patient up by NHS number or hospital number (within your wards).

    A POST with the identifiers in the JSON body, so they never appear in a URL (and so in
    access logs, browser history or proxies). It changes nothing and may be repeated.
    """
    return queries.search(session, actor, criteria)


@router.get("", include_in_schema=False)
def refuse_search_by_url(request: Request, actor: Requires(Perm.READ_WARD)) -> None:
    """The old `GET /patients?nhs_number=...`: answered with where to search now.

    Nothing is looked up, and the server's access log shows the path without the query string.
    """
    given = [name for name in ("nhs_number", "mrn") if name in request.query_params]
    raise IdentifiersInUrl(
        "Identifiers do not belong in URLs: search with POST /api/v1/patients/search "
        'and a JSON body such as {"nhs_number": "..."} or {"mrn": "..."}',
        field=given[0] if given else None,
    )


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
