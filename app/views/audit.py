"""Audit viewer for administrators (everything) and ward managers (their wards).

The filter form posts: a typed NHS number or hospital number travels in the request body,
and the answer is a redirect to the page's address with the patient's internal id instead
(`/audit?patient_id=...`), which pages, bookmarks and the back button use like any filter.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, col, select

from app.audit import words
from app.audit.queries import NO_MATCH, AuditFilters, audit_page, find_patient, visible_patient
from app.auth.deps import CanReadAudit
from app.core.principal import Principal
from app.core.types import BoundedText, Id, IsoDate
from app.core.validation import field_errors
from app.db import SessionDep
from app.models import Patient, Ward
from app.patients.nhs_number import display as nhs_display
from app.web.forms import FormData
from app.web.templating import render

router = APIRouter(include_in_schema=False)

URL_FILTERS = ("patient_id", "user", "ward", "date_from", "date_to")
NO_PATIENT = "No patient matches that"


class AuditQuery(BaseModel):
    """The filters a page address may carry: no patient identifiers, only the internal id."""

    model_config = ConfigDict(extra="ignore")

    patient_id: Id | None = None
    user: Annotated[str, BoundedText(100)] = ""
    ward: Id | None = None
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    before: int | None = Field(default=None, ge=1, le=2**63 - 1)  # audit ids are 64-bit

    @field_validator("patient_id", "ward", "date_from", "date_to", "before", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _label(patient: Patient) -> str:
    """What the Patient box shows for a filter by id: the number a user would have typed."""
    return nhs_display(patient.nhs_number) if patient.nhs_number else patient.mrn


def _page(
    request: Request,
    session: Session,
    actor: Principal,
    raw: dict[str, str],
    *,
    errors: dict[str, str],
    patient_typed: str | None = None,
) -> Response:
    """The page for these address filters. `patient_typed`: what was posted in the Patient box
    when it gives no patient (nobody matches it, or an error in `errors` says why)."""
    try:
        query = AuditQuery.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc) | errors
        query = AuditQuery()
    if query.date_from and query.date_to and query.date_to < query.date_from:
        errors["date_to"] = "The end date must be on or after the start date"
    values = {k: raw.get(k, "") for k in URL_FILTERS if k != "patient_id"}
    unknown: list[str] = []
    patient_id = query.patient_id
    if patient_typed is not None:
        values["patient"], patient_id = patient_typed, NO_MATCH
        if "patient" not in errors:
            unknown.append("patient")
    elif patient_id is not None:
        patient = visible_patient(session, actor, patient_id)
        if patient is None:
            patient_id = NO_MATCH
            unknown.append("patient")
        else:
            values["patient"] = _label(patient)
    filters = AuditFilters(
        patient_id=patient_id,
        user=query.user.strip(),
        ward_id=query.ward,
        date_from=query.date_from,
        date_to=query.date_to,
        before_id=query.before,
    )
    page = audit_page(session, actor, filters)
    unknown += page.unknown
    for name in unknown:
        errors.setdefault(name, NO_PATIENT if name == "patient" else f"No {name} matches that")
    ward_query = select(Ward).order_by(Ward.code)
    if not actor.site_wide:
        ward_query = ward_query.where(col(Ward.id).in_(actor.ward_ids or {-1}))
    next_query = {k: v for k, v in raw.items() if k in URL_FILTERS and v}
    if page.next_before_id:
        next_query["before"] = str(page.next_before_id)
    return render(
        request,
        "audit/index.html",
        {
            "page": page,
            "values": values,
            "errors": errors,
            "wards": list(session.exec(ward_query)),
            "changes": words.readable_changes,
            "code_labels": words.code_labels_for(session),
            "words": words,
            "next_query": next_query if page.next_before_id else None,
        },
        status_code=422 if set(errors) - set(unknown) else 200,
    )


@router.get("/audit", name="audit")
def show_audit(request: Request, session: SessionDep, actor: CanReadAudit) -> Response:
    raw = dict(request.query_params)
    errors: dict[str, str] = {}
    if raw.pop("patient", None) is not None:
        # An address from before the form posted: identifiers are never taken from a URL.
        errors["patient"] = "Enter the NHS number or hospital number in the Patient box and select Filter"
    return _page(request, session, actor, raw, errors=errors)


@router.post("/audit", name="filter_audit")
def filter_audit(request: Request, session: SessionDep, actor: CanReadAudit, form: FormData) -> Response:
    raw = {k: _text(form.get(k)) for k in URL_FILTERS if k != "patient_id"}
    typed = _text(form.get("patient"))
    if len(typed) > 20:
        too_long = {"patient": "Patient must be 20 characters or fewer"}
        return _page(request, session, actor, raw, errors=too_long, patient_typed=typed)
    if typed:
        patient = find_patient(session, actor, typed)
        if patient is None:
            return _page(request, session, actor, raw, errors={}, patient_typed=typed)
        raw["patient_id"] = str(patient.id)
    query = {k: v for k, v in raw.items() if v}
    return RedirectResponse("/audit" + (f"?{urlencode(query)}" if query else ""), status_code=303)
