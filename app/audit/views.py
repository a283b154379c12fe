"""Audit viewer for administrators (everything) and ward managers (their wards)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import col, select

from app.audit.queries import AuditFilters, audit_page, changes
from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.core.types import Id, IsoDate, bounded_text
from app.db import SessionDep
from app.models import Ward
from app.web.forms import field_errors
from app.web.templating import render

router = APIRouter(include_in_schema=False)


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    patient: bounded_text(20) = ""  # type: ignore[valid-type]
    user: bounded_text(100) = ""  # type: ignore[valid-type]
    ward: Id | None = None
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    before: int | None = Field(default=None, ge=1, le=2**63 - 1)  # audit ids are 64-bit

    @field_validator("ward", "date_from", "date_to", "before", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


@router.get("/audit", name="audit")
def show_audit(request: Request, session: SessionDep, actor: Requires(Perm.READ_AUDIT)) -> Response:
    raw = dict(request.query_params)
    errors: dict[str, str] = {}
    try:
        query = AuditQuery.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc)
        query = AuditQuery()
    if query.date_from and query.date_to and query.date_to < query.date_from:
        errors["date_to"] = "The end date must be on or after the start date"
    filters = AuditFilters(
        patient=query.patient.strip(),
        user=query.user.strip(),
        ward_id=query.ward,
        date_from=query.date_from,
        date_to=query.date_to,
        before_id=query.before,
    )
    page = audit_page(session, actor, filters)
    ward_query = select(Ward).order_by(Ward.code)
    if not actor.site_wide:
        ward_query = ward_query.where(col(Ward.id).in_(actor.ward_ids or {-1}))
    for name in page.unknown:
        errors.setdefault(name, f"No {name} matches that")
    next_query = {k: v for k, v in raw.items() if k != "before" and v} | (
        {"before": str(page.next_before_id)} if page.next_before_id else {}
    )
    return render(
        request,
        "audit/index.html",
        {
            "page": page,
            "values": raw,
            "errors": errors,
            "wards": list(session.exec(ward_query)),
            "changes": changes,
            "next_query": next_query if page.next_before_id else None,
        },
        status_code=422 if errors and not page.unknown else 200,
    )
