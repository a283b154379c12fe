"""Setting up the hospital in the admin pages: sites, wards (specialty, executive sponsor) and
beds (label, order, kind). The same services as the JSON API and `boardround setup FILE`
(app.wards.service): codes are unique, a bed keeps its id (and its history) when relabelled or
reordered, and a bed with a patient in it cannot be removed.

Administrators set up sites; site-wide roles create wards; ward managers edit their own wards'
beds (docs/permissions.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.auth.deps import CanManageWard, CanSetUpHospital
from app.auth.permissions import Perm, allows
from app.auth.scope import user_in_scope, ward_or_404
from app.core.errors import Forbidden, NotFound, StaleVersion
from app.core.params import Now, PathId
from app.core.principal import Principal
from app.db import SessionDep
from app.models import Bed, Site, Stay, User, Ward
from app.wards import bed_states, service
from app.wards.forms import BedEditForm, BedForm, SiteForm, WardEditForm, WardForm
from app.wards.queries import has_pas_feed
from app.wards.schemas import SiteCreate
from app.web.form_writes import write_form
from app.web.forms import FormData
from app.web.htmx import go_to
from app.web.templating import render
from app.web.urls import path_for

router = APIRouter(prefix="/admin", include_in_schema=False)

CHANGED = (
    "Someone else changed this while you had the page open. The page now shows their version: make your change again."
)


def _wards_in_scope(session: Session, actor: Principal) -> list[Ward]:
    query = select(Ward).order_by(Ward.code)
    if not actor.site_wide:
        query = query.where(col(Ward.id).in_(actor.ward_ids or {-1}))
    return list(session.exec(query))


def _sponsors(session: Session, actor: Principal) -> list[User]:
    """Executive sponsors the user may name (the service checks the choice again)."""
    found = session.exec(
        select(User)
        .where(User.role_code == service.SPONSOR_ROLE, col(User.is_active).is_(True))
        .order_by(User.display_name)
    )
    return [u for u in found if actor.site_wide or user_in_scope(session, actor, u.id) is not None]


def _hospital_page(
    request: Request,
    session: Session,
    actor: Principal,
    *,
    site_values: dict[str, Any] | None = None,
    site_errors: dict[str, str] | None = None,
    ward_values: dict[str, Any] | None = None,
    ward_errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    wards = _wards_in_scope(session, actor)
    beds: dict[int, int] = {w.id: 0 for w in wards}
    for ward_id in session.exec(
        select(Bed.ward_id).where(col(Bed.ward_id).in_(list(beds)), col(Bed.retired_at).is_(None))
    ):
        beds[ward_id] += 1
    context = {
        "sites": list(session.exec(select(Site).order_by(Site.code))),
        "wards": wards,
        "bed_counts": beds,
        "sponsors": _sponsors(session, actor),
        "can_add_site": allows(actor.role, Perm.SETUP_HOSPITAL),
        "can_add_ward": actor.site_wide,
        "site_values": site_values or {},
        "site_errors": site_errors or {},
        "ward_values": ward_values or {},
        "ward_errors": ward_errors or {},
        "errors": (site_errors or {}) | (ward_errors or {}),
        "message": message,
    }
    return render(request, "hospital/index.html", context, status_code=status_code)


@router.get("/hospital", name="hospital_setup")
def hospital_setup(request: Request, session: SessionDep, actor: CanManageWard, created: str = "") -> Response:
    message = {"site": "Site added.", "ward": "Ward added: now add its beds."}.get(created)
    return _hospital_page(request, session, actor, message=message)


@router.post("/sites", name="setup_create_site")
def create_site(request: Request, session: SessionDep, actor: CanSetUpHospital, form: FormData, now: Now) -> Response:
    return write_form(
        session,
        form,
        SiteForm,
        lambda data, _: service.create_site(
            session, actor=actor, data=SiteCreate(code=data.code, name=data.name), now=now
        ),
        fields={"code": "site_code", "name": "site_name"},
        values={"code": form.get("site_code", ""), "name": form.get("site_name", "")},
        done=lambda _: go_to(request, path_for(request, "hospital_setup", {"created": "site"})),
        again=lambda errors, status: _hospital_page(
            request, session, actor, site_values=form, site_errors=errors, status_code=status
        ),
    )


@router.post("/wards", name="setup_create_ward")
def create_ward(request: Request, session: SessionDep, actor: CanManageWard, form: FormData, now: Now) -> Response:
    def save(data: WardForm, _: int) -> Ward:
        if not actor.site_wide:  # after parsing, as the API does: an empty form is a 422 for anyone
            raise Forbidden("Only site-wide roles create wards")
        return service.create_ward(session, actor=actor, data=data.create(), now=now)

    def done(ward: Ward) -> Response:
        return go_to(request, path_for(request, "edit_ward", {"created": 1}, ward_id=ward.id))

    return write_form(
        session,
        form,
        WardForm,
        save,
        done=done,
        again=lambda errors, status: _hospital_page(
            request, session, actor, ward_values=form, ward_errors=errors, status_code=status
        ),
    )


# One ward and its beds -----------------------------------------------------------------------


def _ward_page(
    request: Request,
    session: Session,
    actor: Principal,
    ward: Ward,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    bed_values: dict[str, Any] | None = None,
    bed_errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    beds = list(session.exec(select(Bed).where(Bed.ward_id == ward.id).order_by(col(Bed.sort_order), col(Bed.label))))
    occupied = set(
        session.exec(select(Stay.bed_id).where(col(Stay.ward_id) == ward.id, col(Stay.discharged_at).is_(None)))
    )
    last_order = max((b.sort_order for b in beds), default=0)
    context = {
        "ward": ward,
        "site": session.get(Site, ward.site_id),
        "beds": beds,
        "occupied": occupied,
        "pas_feed": has_pas_feed(session, ward.id),
        "sponsors": _sponsors(session, actor),
        "values": values
        or {
            "name": ward.name,
            "specialty": ward.specialty,
            "executive_sponsor_id": str(ward.executive_sponsor_id or ""),
            "is_active": ward.is_active,
            "version": ward.version,
        },
        "bed_values": bed_values or {"sort_order": last_order + 10},
        "bed_errors": bed_errors or {},
        "errors": (errors or {}) | (bed_errors or {}),
        "message": message,
    }
    return render(request, "hospital/ward.html", context, status_code=status_code)


@router.get("/wards/{ward_id}", name="edit_ward")
def edit_ward(
    request: Request, ward_id: PathId, session: SessionDep, actor: CanManageWard, created: bool = False
) -> Response:
    ward = ward_or_404(session, actor, ward_id)
    return _ward_page(request, session, actor, ward, message="Ward added: now add its beds." if created else None)


@router.post("/wards/{ward_id}", name="setup_update_ward")
def update_ward(
    request: Request, ward_id: PathId, session: SessionDep, actor: CanManageWard, form: FormData, now: Now
) -> Response:
    ward = ward_or_404(session, actor, ward_id)

    def stale(_: StaleVersion) -> Response:
        session.refresh(ward)
        return _ward_page(request, session, actor, ward, errors={"form": CHANGED}, status_code=409)

    return write_form(
        session,
        form,
        WardEditForm,
        lambda data, drawn_at: service.update_ward(
            session, actor=actor, ward=ward, changes=data.changes(), expected_version=drawn_at, now=now
        ),
        version="version",
        done=lambda _: _ward_page(request, session, actor, ward, message="Ward saved."),
        again=lambda errors, status: _ward_page(
            request,
            session,
            actor,
            ward,
            values=form | {"is_active": form.get("is_active") == "yes"},
            errors=errors,
            status_code=status,
        ),
        stale=stale,
    )


@router.post("/wards/{ward_id}/beds", name="setup_add_bed")
def add_bed(
    request: Request, ward_id: PathId, session: SessionDep, actor: CanManageWard, form: FormData, now: Now
) -> Response:
    ward = ward_or_404(session, actor, ward_id)

    def done(bed: Bed) -> Response:
        return _ward_page(request, session, actor, ward, message=f"Bed {bed.label} added.")

    return write_form(
        session,
        form,
        BedForm,
        lambda data, _: service.add_bed(session, actor=actor, ward=ward, data=data.create(), now=now),
        fields={"label": "bed_label", "sort_order": "bed_sort_order", "is_escalation": "bed_is_escalation"},
        values={
            "label": form.get("bed_label", ""),
            "sort_order": form.get("bed_sort_order", ""),
            "is_escalation": form.get("bed_is_escalation", ""),
        },
        done=done,
        again=lambda errors, status: _ward_page(
            request, session, actor, ward, bed_values=form, bed_errors=errors, status_code=status
        ),
    )


def _bed_or_404(session: Session, actor: Principal, bed_id: int) -> tuple[Bed, Ward]:
    bed = session.get(Bed, bed_id)
    if bed is None or not actor.can_access_ward(bed.ward_id):
        raise NotFound("No such bed")
    ward = session.get(Ward, bed.ward_id)
    assert ward is not None  # a foreign key
    return bed, ward


def _bed_page(
    request: Request,
    session: Session,
    bed: Bed,
    ward: Ward,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "bed": bed,
        "ward": ward,
        "occupied": bed_states.occupied(session, bed.id),
        "values": values
        or {
            "label": bed.label,
            "sort_order": bed.sort_order,
            "is_escalation": bed.is_escalation,
            "retired": bed.retired_at is not None,
            "version": bed.version,
        },
        "errors": errors or {},
    }
    return render(request, "hospital/bed.html", context, status_code=status_code)


@router.get("/beds/{bed_id}", name="edit_bed")
def edit_bed(request: Request, bed_id: PathId, session: SessionDep, actor: CanManageWard) -> Response:
    bed, ward = _bed_or_404(session, actor, bed_id)
    return _bed_page(request, session, bed, ward)


@router.post("/beds/{bed_id}", name="setup_update_bed")
def update_bed(
    request: Request, bed_id: PathId, session: SessionDep, actor: CanManageWard, form: FormData, now: Now
) -> Response:
    bed, ward = _bed_or_404(session, actor, bed_id)

    def stale(_: StaleVersion) -> Response:
        session.refresh(bed)
        return _bed_page(request, session, bed, ward, errors={"form": CHANGED}, status_code=409)

    def done(_: Bed) -> Response:
        return go_to(request, path_for(request, "edit_ward", ward_id=ward.id))

    return write_form(
        session,
        form,
        BedEditForm,
        lambda data, drawn_at: service.update_bed(
            session, actor=actor, bed=bed, changes=data.changes(), expected_version=drawn_at, now=now
        ),
        version="version",
        done=done,
        again=lambda errors, status: _bed_page(
            request,
            session,
            bed,
            ward,
            values=form
            | {"is_escalation": form.get("is_escalation") == "yes", "retired": form.get("retired") == "yes"},
            errors=errors,
            status_code=status,
        ),
        stale=stale,
    )
