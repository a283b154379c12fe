"""Sites, wards and beds: set up the hospital's places.

`actor` None (with `actor_name`) is the command line (`boardround setup`), which acts as no
account; every other caller is a signed-in user or an API token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from app.audit import crud
from app.audit import service as audit
from app.audit.versions import check_version
from app.auth.scope import user_in_scope
from app.core.errors import Conflict, RuleViolation
from app.core.principal import Principal
from app.models import Bed, BedState, Site, User, Ward
from app.wards import bed_states
from app.wards.schemas import BedCreate, BedPublic, SiteCreate, SitePublic, WardCreate, WardPublic

SPONSOR_ROLE = "executive_sponsor"


def create_site(
    session: Session, *, actor: Principal | None, data: SiteCreate, now: datetime, actor_name: str | None = None
) -> Site:
    if session.exec(select(Site.id).where(Site.code == data.code)).first() is not None:
        raise Conflict("A site with this code already exists", field="code")
    site = Site(code=data.code, name=data.name, created_at=now, updated_at=now)
    crud.create(session, actor=actor, actor_name=actor_name, row=site, now=now, ward_id=None, patient_id=None)
    return site


def update_site(
    session: Session,
    *,
    actor: Principal | None,
    site: Site,
    changes: dict[str, Any],
    expected_version: int,
    now: datetime,
    actor_name: str | None = None,
) -> Site:
    crud.update(
        session,
        actor=actor,
        actor_name=actor_name,
        row=site,
        changes=changes,
        expected_version=expected_version,
        now=now,
        ward_id=None,
        patient_id=None,
        present=lambda: SitePublic.model_validate(site).model_dump(mode="json"),
    )
    return site


def _check_sponsor(session: Session, actor: Principal | None, user_id: int | None) -> None:
    """A missing user, someone outside the actor's wards and someone without the role all get
    the same answer, so the field cannot be used to find out who works where."""
    if user_id is None:
        return
    user = user_in_scope(session, actor, user_id) if actor is not None else session.get(User, user_id)
    if user is None or user.role_code != SPONSOR_ROLE:
        raise RuleViolation("The executive sponsor must be a user with that role", field="executive_sponsor_id")


def create_ward(
    session: Session, *, actor: Principal | None, data: WardCreate, now: datetime, actor_name: str | None = None
) -> Ward:
    if session.get(Site, data.site_id) is None:
        raise RuleViolation("No such site", field="site_id")
    if session.exec(select(Ward.id).where(Ward.code == data.code)).first() is not None:
        raise Conflict("A ward with this code already exists", field="code")
    _check_sponsor(session, actor, data.executive_sponsor_id)
    ward = Ward(**data.model_dump(), created_at=now, updated_at=now)
    crud.create(session, actor=actor, actor_name=actor_name, row=ward, now=now, ward_id=None, patient_id=None)
    return ward


def update_ward(
    session: Session,
    *,
    actor: Principal | None,
    ward: Ward,
    changes: dict[str, Any],
    expected_version: int,
    now: datetime,
    actor_name: str | None = None,
) -> Ward:
    if "executive_sponsor_id" in changes and changes["executive_sponsor_id"] != ward.executive_sponsor_id:
        _check_sponsor(session, actor, changes["executive_sponsor_id"])
    crud.update(
        session,
        actor=actor,
        actor_name=actor_name,
        row=ward,
        changes=changes,
        expected_version=expected_version,
        now=now,
        ward_id=ward.id,
        patient_id=None,
        present=lambda: WardPublic.model_validate(ward).model_dump(mode="json"),
    )
    return ward


def _label_clash(session: Session, ward_id: int, label: str, bed_id: int | None = None) -> None:
    clash = session.exec(select(Bed).where(Bed.ward_id == ward_id, Bed.label == label)).first()
    if clash is None or clash.id == bed_id:
        return
    if clash.retired_at is not None:
        raise Conflict(
            "A retired bed on this ward has that label: bring it back (retired: false) or choose another label",
            field="label",
            detail={"bed_id": clash.id},
        )
    raise Conflict("This ward already has a bed with that label", field="label")


def add_bed(
    session: Session,
    *,
    actor: Principal | None,
    ward: Ward,
    data: BedCreate,
    now: datetime,
    actor_name: str | None = None,
) -> Bed:
    """A new bed, with its first state: open, or closed when `is_open` is false (an escalation
    bed waits closed as "not in use" until the flow team opens it)."""
    _label_clash(session, ward.id, data.label)  # type: ignore[arg-type]
    bed = Bed(ward_id=ward.id, **data.model_dump(), created_at=now, updated_at=now)
    bed.state_code = BedState.OPEN if data.is_open else BedState.CLOSED
    crud.create(session, actor=actor, actor_name=actor_name, row=bed, now=now, ward_id=ward.id, patient_id=None)
    reason = None
    if not data.is_open:
        reason = bed_states.ESCALATION_NOT_IN_USE if data.is_escalation else bed_states.OTHER_REASON
    bed_states.start(
        session,
        bed=bed,
        state_code=bed.state_code,
        at=now,
        now=now,
        set_by_id=actor.user_id if actor else None,
        closure_reason_code=reason,
    )
    return bed


def update_bed(
    session: Session,
    *,
    actor: Principal | None,
    bed: Bed,
    changes: dict[str, Any],
    expected_version: int,
    now: datetime,
    actor_name: str | None = None,
) -> Bed:
    """Relabel, reorder, change kind, open or close, retire or bring back. The id never changes,
    so stays, ward history and PAS maps keep pointing at the same bed."""
    check_version(session, bed, expected_version, lambda: BedPublic.model_validate(bed).model_dump(mode="json"))
    changes = dict(changes)
    retire = changes.pop("retired", None)
    is_open = changes.pop("is_open", None)
    if bed.retired_at is not None and retire is not False:
        raise Conflict("This bed has been retired: bring it back (retired: false) to change it", field="bed")
    if "label" in changes and changes["label"] != bed.label:
        _label_clash(session, bed.ward_id, changes["label"], bed.id)
    occupied = (retire or is_open is False) and bed_states.occupied(session, bed.id)  # type: ignore[arg-type]
    if retire and occupied:
        raise Conflict(
            f"Bed {bed.label} has a patient in it: move or discharge them before removing the bed", field="retired"
        )
    if is_open is False and bed.is_open and occupied:
        raise Conflict("Move the patient before closing this bed", field="is_open")
    before = audit.snapshot(bed)
    for key, value in changes.items():
        setattr(bed, key, value)
    set_by = actor.user_id if actor else None
    if retire and bed.retired_at is None:
        bed.retired_at = now
        bed_states.start(
            session, bed=bed, state_code=BedState.CLOSED, at=now, now=now, set_by_id=set_by, note="Bed retired",
            closure_reason_code=bed_states.OTHER_REASON,
        )  # fmt: skip
    elif retire is False and bed.retired_at is not None:
        bed.retired_at = None  # back as it was left: closed, until someone opens it
    elif is_open is not None and is_open != bed.is_open:
        state, reason = (BedState.OPEN, None) if is_open else (BedState.CLOSED, bed_states.OTHER_REASON)
        bed_states.start(
            session, bed=bed, state_code=state, at=now, now=now, set_by_id=set_by, closure_reason_code=reason
        )
    bed.updated_at = now
    session.flush()
    audit.record_change(
        session,
        actor=actor,
        actor_name=actor_name,
        action="retire_bed" if retire and before["retired_at"] is None else "update",
        entity=bed,
        before=before,
        at=now,
        ward_id=bed.ward_id,
        patient_id=None,
        only_if_changed=True,
    )
    return bed
