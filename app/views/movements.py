"""Patients in and out from the board, and the flow team's bed states.

Admit to an empty bed (find the patient first by NHS number or hospital number), move to another
bed or ward, discharge (destination, pathway, or death), correct a wrong admission or discharge time, and
set a bed's state. Every form goes through app.web.form_writes with the same services as the
JSON API (app.stays.service, app.patients.service, app.wards.bed_states): the same checks,
versions, audit and ward scope. The board and the receiving ward's board update live through the
change notices the services leave (app.web.live).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.auth.deps import CanCorrectStay, CanManageBedState, CanManageStay, CanReadWard
from app.auth.permissions import Perm, allows
from app.auth.scope import stay_or_404, ward_by_code_or_404
from app.core.clock import london_date
from app.core.errors import NotFound, StaleVersion
from app.core.params import Now, PathCode, PathId
from app.core.principal import Principal
from app.core.validation import validate
from app.db import SessionDep
from app.models import Bed, Patient, Stay, Ward
from app.patients import queries as patient_queries
from app.patients import service as patients
from app.reference import labels, rows
from app.stays import service as stays
from app.stays.forms import (
    AdmissionCorrectionForm,
    AdmitForm,
    CorrectionForm,
    DischargeForm,
    FindPatientForm,
    MoveForm,
    date_and_time,
)
from app.wards import bed_states
from app.wards.forms import BedStateForm
from app.wards.queries import has_pas_feed
from app.web.form_writes import write_form
from app.web.forms import FormData
from app.web.htmx import go_to
from app.web.templating import render
from app.web.urls import path_for

router = APIRouter(include_in_schema=False)

CHANGED = "Someone else changed this patient's record while you had the page open: check it and try again"
RECENT_DAYS = 7


def board_extras(session: Session, actor: Principal) -> dict[str, Any]:
    """What the board's rows need for bed states and the links to these forms."""
    return {
        "can": {
            "manage_stay": allows(actor.role, Perm.MANAGE_STAY),
            "bed_state": allows(actor.role, Perm.MANAGE_BED_STATE),
            "import_ward_list": allows(actor.role, Perm.IMPORT_WARD_LIST),
            "manage_ward": allows(actor.role, Perm.MANAGE_WARD),
            "correct_stay": allows(actor.role, Perm.CORRECT_STAY),
        },
        "closure_labels": labels(session, "bed_closure_reasons"),
    }


def _bed_or_404(session: Session, actor: Principal, bed_id: int) -> tuple[Bed, Ward]:
    bed = session.get(Bed, bed_id)
    ward = session.get(Ward, bed.ward_id) if bed is not None else None
    if bed is None or ward is None or not actor.can_access_ward(ward.id) or bed.retired_at is not None:
        raise NotFound("No such bed")
    return bed, ward


def _board(request: Request, ward: Ward, message: str) -> Response:
    return go_to(request, path_for(request, "ward_board", code=ward.code), message=message)


# Admit --------------------------------------------------------------------------------------


def _admit_page(
    request: Request,
    session: Session,
    bed: Bed,
    ward: Ward,
    now: datetime,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    day, clock = date_and_time(now)
    context = {
        "bed": bed,
        "ward": ward,
        "pas_feed": has_pas_feed(session, ward.id),
        "values": values if values is not None else {"admitted_date": day, "admitted_time": clock},
        "errors": errors or {},
        "message": message,
    }
    return render(request, "stays/admit.html", context, status_code=status_code)


@router.get("/beds/{bed_id}/admit", name="admit_form")
def admit_form(request: Request, bed_id: PathId, session: SessionDep, actor: CanManageStay, now: Now) -> Response:
    bed, ward = _bed_or_404(session, actor, bed_id)
    return _admit_page(request, session, bed, ward, now)


def _find(
    request: Request, session: Session, actor: Principal, bed: Bed, ward: Ward, form: dict[str, Any], now: datetime
) -> Response:
    """The first step: a patient the user may see, by NHS number or hospital number. Nothing is
    written; the details found fill the form (a wrong check digit is a field message)."""
    values = dict(form)
    found, problems = validate(FindPatientForm, form)
    if found is None:
        return _admit_page(request, session, bed, ward, now, values=values, errors=problems, status_code=422)
    matches = patient_queries.search(session, actor, found.search())
    if len(matches) != 1:
        message = (
            "No patient with this number on the wards you can see: enter their details to register and admit them"
            if not matches
            else "More than one patient has this number: enter both the NHS number and the hospital number"
        )
        return _admit_page(request, session, bed, ward, now, values=values, message=message)
    patient = matches[0]
    values |= {
        "nhs_number": patient.nhs_number or "",
        "mrn": patient.mrn,
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
    }
    return _admit_page(
        request, session, bed, ward, now, values=values, message="Patient found: check the details and admit"
    )


@router.post("/beds/{bed_id}/admit", name="admit_to_bed")
def admit(
    request: Request, bed_id: PathId, session: SessionDep, actor: CanManageStay, form: FormData, now: Now
) -> Response:
    bed, ward = _bed_or_404(session, actor, bed_id)
    if form.get("find"):
        return _find(request, session, actor, bed, ward, form, now)
    refused = (
        {} if allows(actor.role, Perm.WRITE_PATIENT) else {"form": "Your role does not allow registering patients"}
    )

    def save(data: AdmitForm, _: int) -> Stay:
        patient = patients.match_or_register(session, actor=actor, data=data.patient(), now=now)
        return stays.admit(
            session,
            actor=actor,
            patient=patient,
            ward_id=ward.id,
            bed_id=bed.id,
            admitted_at=data.admitted_at,
            now=now,
            responsible_consultant=data.responsible_consultant,
        )

    return write_form(
        session,
        form,
        AdmitForm,
        save,
        errors=refused,
        fields={"admitted_at": "admitted_date", "patient_id": "nhs_number", "bed_id": "form", "ward_id": "form"},
        done=lambda stay: _board(request, ward, f"Admitted to bed {bed.label}"),
        again=lambda errors, status: _admit_page(
            request, session, bed, ward, now, values=dict(form), errors=errors, status_code=status
        ),
    )


# Move ---------------------------------------------------------------------------------------


def _places(session: Session, actor: Principal, stay: Stay) -> list[tuple[Ward, list[Bed]]]:
    """Wards the user may move a patient to, with their free open beds (in bed order)."""
    query = select(Ward).where(col(Ward.is_active).is_(True)).order_by(Ward.name)
    if not actor.site_wide:
        query = query.where(col(Ward.id).in_(actor.ward_ids or {-1}))
    wards = list(session.exec(query))
    taken = set(session.exec(select(Stay.bed_id).where(col(Stay.discharged_at).is_(None))))
    beds = session.exec(
        select(Bed)
        .where(col(Bed.ward_id).in_([w.id for w in wards]), col(Bed.retired_at).is_(None), col(Bed.is_open).is_(True))
        .order_by(col(Bed.sort_order), col(Bed.label))
    )
    free: dict[int, list[Bed]] = {w.id: [] for w in wards}
    for bed in beds:
        if bed.id not in taken:
            free[bed.ward_id].append(bed)
    return [(w, free[w.id]) for w in wards]


def _stay_page(
    request: Request,
    session: Session,
    actor: Principal,
    stay: Stay,
    template: str,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    ward = session.get(Ward, stay.ward_id)
    bed = session.get(Bed, stay.bed_id) if stay.bed_id is not None else None
    assert ward is not None  # a foreign key
    context = {
        "stay": stay,
        "patient": session.get(Patient, stay.patient_id),
        "ward": ward,
        "bed": bed,
        "pas_feed": has_pas_feed(session, ward.id),
        "values": values | {"version": values.get("version") or stay.version},
        "errors": errors or {},
        **extra,
    }
    return render(request, template, context, status_code=status_code)


def _move_page(request: Request, session: Session, actor: Principal, stay: Stay, **kw: Any) -> Response:
    return _stay_page(request, session, actor, stay, "stays/move.html", places=_places(session, actor, stay), **kw)


@router.get("/stays/{stay_id}/move", name="move_form")
def move_form(request: Request, stay_id: PathId, session: SessionDep, actor: CanManageStay) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    return _move_page(request, session, actor, stay, values={})


def _stale_again(
    page: Any, request: Request, session: Session, actor: Principal, stay: Stay
) -> Any:  # a view's page function
    def stale(_: StaleVersion) -> Response:
        session.refresh(stay)
        return page(request, session, actor, stay, values={}, errors={"form": CHANGED}, status_code=409)

    return stale


@router.post("/stays/{stay_id}/move", name="move_patient")
def move(
    request: Request, stay_id: PathId, session: SessionDep, actor: CanManageStay, form: FormData, now: Now
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    from_ward = session.get(Ward, stay.ward_id)
    assert from_ward is not None

    def save(data: MoveForm, drawn_at: int) -> Stay:
        return stays.transfer(
            session,
            actor=actor,
            stay=stay,
            ward_id=data.ward_id,
            bed_id=data.bed_id,
            at=data.at(now),
            expected_version=drawn_at,
            now=now,
        )

    return write_form(
        session,
        form,
        MoveForm,
        save,
        version="version",
        fields={"ward_id": "place", "bed_id": "place", "at": "moved_date", "stay": "form"},
        done=lambda _: _board(request, from_ward, "Patient moved"),
        again=lambda errors, status: _move_page(
            request, session, actor, stay, values=dict(form), errors=errors, status_code=status
        ),
        stale=_stale_again(_move_page, request, session, actor, stay),
    )


# Discharge ----------------------------------------------------------------------------------


def _discharge_page(request: Request, session: Session, actor: Principal, stay: Stay, **kw: Any) -> Response:
    return _stay_page(
        request,
        session,
        actor,
        stay,
        "stays/discharge.html",
        destinations=rows(session, "destinations"),
        pathways=rows(session, "pathways"),
        **kw,
    )


@router.get("/stays/{stay_id}/discharge", name="discharge_form")
def discharge_form(request: Request, stay_id: PathId, session: SessionDep, actor: CanManageStay, now: Now) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    day, clock = date_and_time(now)
    values = {"discharged_date": day, "discharged_time": clock, "pathway": "" if stay.pathway is None else stay.pathway}
    return _discharge_page(request, session, actor, stay, values=values)


@router.post("/stays/{stay_id}/discharge", name="discharge_patient")
def discharge(
    request: Request, stay_id: PathId, session: SessionDep, actor: CanManageStay, form: FormData, now: Now
) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    ward = session.get(Ward, stay.ward_id)
    assert ward is not None

    def save(data: DischargeForm, drawn_at: int) -> Stay:
        assert data.destination_code is not None  # the form requires one
        return stays.discharge(
            session,
            actor=actor,
            stay=stay,
            discharged_at=data.discharged_at(now),
            destination_code=data.destination_code,
            pathway=data.pathway,
            expected_version=drawn_at,
            now=now,
        )

    return write_form(
        session,
        form,
        DischargeForm,
        save,
        version="version",
        fields={"discharged_at": "discharged_date", "stay": "form"},
        done=lambda _: _board(request, ward, "Patient discharged"),
        again=lambda errors, status: _discharge_page(
            request, session, actor, stay, values=dict(form), errors=errors, status_code=status
        ),
        stale=_stale_again(_discharge_page, request, session, actor, stay),
    )


# Correct a discharged stay ------------------------------------------------------------------


def _correct_page(request: Request, session: Session, actor: Principal, stay: Stay, **kw: Any) -> Response:
    if not kw.get("values"):
        admitted = date_and_time(stay.admitted_at)
        discharged = date_and_time(stay.discharged_at)
        kw["values"] = {
            "admitted_date": admitted[0],
            "admitted_time": admitted[1],
            "discharged_date": discharged[0],
            "discharged_time": discharged[1],
            "destination_code": stay.discharge_destination_code or "",
            "pathway": "" if stay.pathway is None else stay.pathway,
        }
    return _stay_page(
        request,
        session,
        actor,
        stay,
        "stays/correct.html",
        destinations=rows(session, "destinations"),
        pathways=rows(session, "pathways"),
        **kw,
    )


@router.get("/stays/{stay_id}/correct", name="correct_form")
def correct_form(request: Request, stay_id: PathId, session: SessionDep, actor: CanCorrectStay) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    return _correct_page(request, session, actor, stay, values={})


@router.post("/stays/{stay_id}/correct", name="correct_stay")
def correct(
    request: Request, stay_id: PathId, session: SessionDep, actor: CanCorrectStay, form: FormData, now: Now
) -> Response:
    """A discharged stay: times, destination, pathway. A patient still in hospital: the admission
    time only. Always with a reason, always audited (the same service as the API's correction)."""
    stay = stay_or_404(session, actor, stay_id)
    ward = session.get(Ward, stay.ward_id)
    assert ward is not None
    current = stay.discharged_at is None

    def save(data: CorrectionForm | AdmissionCorrectionForm, drawn_at: int) -> Stay:
        return stays.correct_discharged_stay(
            session,
            actor=actor,
            stay=stay,
            changes=data.changes(stay.admitted_at, stay.discharged_at),
            reason=data.reason,
            expected_version=drawn_at,
            now=now,
        )

    def done(_: Stay) -> Response:
        if current:
            return _board(request, ward, "Admission time corrected")
        url = path_for(request, "recent_discharges", code=ward.code)
        return go_to(request, url, message="Correction saved")

    schema: type[CorrectionForm] | type[AdmissionCorrectionForm] = (
        AdmissionCorrectionForm if current else CorrectionForm
    )
    return write_form(
        session,
        form,
        schema,
        save,
        version="version",
        fields={"admitted_at": "admitted_date", "discharged_at": "discharged_date", "stay": "form"},
        done=done,
        again=lambda errors, status: _correct_page(
            request, session, actor, stay, values=dict(form), errors=errors, status_code=status
        ),
        stale=_stale_again(_correct_page, request, session, actor, stay),
    )


@router.get("/wards/{code}/discharged", name="recent_discharges")
def recent_discharges(request: Request, code: PathCode, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    """Patients who left this ward in the last week, newest first, each with its correction."""
    ward = ward_by_code_or_404(session, actor, code)
    since = now - timedelta(days=RECENT_DAYS)
    found = session.exec(
        select(Stay, Patient)
        .join(Patient, col(Patient.id) == Stay.patient_id)
        .where(Stay.ward_id == ward.id, col(Stay.discharged_at).is_not(None), col(Stay.discharged_at) >= since)
        .order_by(col(Stay.discharged_at).desc())
        .limit(200)
    )
    context = {
        "ward": ward,
        "stays": list(found),
        "days": RECENT_DAYS,
        "today": london_date(now),
        "destinations": {r.code: r.label for r in rows(session, "destinations")},
        "can_correct": allows(actor.role, Perm.CORRECT_STAY),
    }
    return render(request, "stays/discharged.html", context)


# Bed states ---------------------------------------------------------------------------------


def _bed_state_page(
    request: Request,
    session: Session,
    actor: Principal,
    bed: Bed,
    ward: Ward,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    current = bed_states.current_period(session, bed.id)
    if values is None:
        values = {"state_code": bed.state_code}
        if current is not None:
            values |= {
                "closure_reason_code": current.closure_reason_code or "",
                "note": current.note,
                "reserved_for": current.reserved_for,
                "reserved_from": current.reserved_from,
            }
    occupant = session.exec(
        select(Stay, Patient)
        .join(Patient, col(Patient.id) == Stay.patient_id)
        .where(Stay.bed_id == bed.id, col(Stay.discharged_at).is_(None))
    ).first()
    context = {
        "bed": bed,
        "ward": ward,
        "current": current,
        "occupied": occupant is not None,
        "occupant": occupant,
        "can": board_extras(session, actor)["can"],
        "states": rows(session, "bed_states"),
        "reasons": rows(session, "bed_closure_reasons"),
        "values": values | {"version": values.get("version") or bed.version},
        "errors": errors or {},
    }
    return render(request, "wards/bed_state.html", context, status_code=status_code)


@router.get("/beds/{bed_id}/state", name="bed_state_form")
def bed_state_form(request: Request, bed_id: PathId, session: SessionDep, actor: CanManageBedState) -> Response:
    bed, ward = _bed_or_404(session, actor, bed_id)
    return _bed_state_page(request, session, actor, bed, ward)


@router.post("/beds/{bed_id}/state", name="save_bed_state")
def set_bed_state(
    request: Request, bed_id: PathId, session: SessionDep, actor: CanManageBedState, form: FormData, now: Now
) -> Response:
    bed, ward = _bed_or_404(session, actor, bed_id)

    def save(data: BedStateForm, drawn_at: int) -> object:
        return bed_states.set_state(
            session, actor=actor, bed=bed, data=data.change(), expected_version=drawn_at, now=now
        )

    def stale(_: StaleVersion) -> Response:
        session.refresh(bed)
        message = "Someone else changed this bed while you had the page open: check its state and try again"
        return _bed_state_page(request, session, actor, bed, ward, errors={"form": message}, status_code=409)

    return write_form(
        session,
        form,
        BedStateForm,
        save,
        version="version",
        fields={"bed": "form"},
        done=lambda _: _board(request, ward, f"Bed {bed.label} updated"),
        again=lambda errors, status: _bed_state_page(
            request, session, actor, bed, ward, values=dict(form), errors=errors, status_code=status
        ),
        stale=stale,
    )
