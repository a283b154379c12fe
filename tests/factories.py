"""Builders with realistic defaults, written through the real services where rules apply."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import nhs_number
from sqlmodel import Session

from app.actions.schemas import ActionCreate
from app.actions.service import create_action
from app.auth.deps import principal_for
from app.auth.tokens import issue_token
from app.core.principal import Principal
from app.models import (
    Action,
    Alert,
    Bed,
    BoardRound,
    DailyReview,
    Patient,
    SignInThrottle,
    Site,
    Stay,
    User,
    UserWard,
    Ward,
)
from app.patients.schemas import PatientCreate
from app.patients.service import create_patient
from app.reviews.schemas import ReviewRequest
from app.reviews.service import record_review
from app.rounds.schemas import RoundStart
from app.rounds.service import end_round, start_round
from app.stays.service import admit, set_edd

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


def make_review(
    db: Session, actor: Principal, stay: Stay, *, meets: bool = True, now: datetime | None = None, **fields
) -> DailyReview:
    """The day's review (the London date of `now`) through the service: meets the criteria to
    reside unless told otherwise (its colour derived by the red/green rule); without criteria it gets
    delay reason CAP01."""
    data: dict = {"meets_criteria_to_reside": meets}
    if not meets:
        data["delay_reason_code"] = "CAP01"
    review, _, _ = record_review(db, actor=actor, stay=stay, data=ReviewRequest(**(data | fields)), now=now or NOW)
    return review


def make_edd(
    db: Session, actor: Principal, stay: Stay, day: date, *, reason: str = "", now: datetime | None = None
) -> Stay:
    """Set the stay's expected discharge date through the service, at the version it has now."""
    return set_edd(
        db, actor=actor, stay=stay, new_date=day, reason=reason, expected_version=stay.version, now=now or NOW
    )


def make_round(db: Session, actor: Principal, ward: Ward, *, now: datetime | None = None, **fields) -> BoardRound:
    """Start a board round on the ward (no attendees unless given)."""
    return start_round(db, actor=actor, ward=ward, data=RoundStart(**fields), now=now or NOW)


def finish_round(db: Session, actor: Principal, board_round: BoardRound, *, now: datetime | None = None) -> BoardRound:
    return end_round(db, actor=actor, board_round=board_round, expected_version=board_round.version, now=now or NOW)


def make_action(
    db: Session,
    actor: Principal,
    stay: Stay,
    *,
    description: str = "Book transport",
    owner_role_code: str = "nurse",
    now: datetime | None = None,
    **fields,
) -> Action:
    data = ActionCreate(description=description, owner_role_code=owner_role_code, **fields)
    return create_action(db, actor=actor, stay=stay, data=data, now=now or NOW)


def one_of_everything(db: Session, now: datetime) -> tuple[dict[str, object], dict[str, User]]:
    """A ward with one of every record, a user of every role on it, and what the pages need to show
    every form: a referral, an open follow-up, a second ward with no round open, a discharged stay,
    an integration account with a token. Returns (ids for URL templates, users by role)."""
    from app.audit import crud
    from app.auth.permissions import MATRIX
    from app.discharges.schemas import FailedDischargeCreate
    from app.discharges.service import log_failed_discharge
    from app.escalations.schemas import EscalationCreate
    from app.escalations.service import raise_escalation
    from app.milestones.service import milestones_for_stay
    from app.models import Referral
    from app.stays.service import discharge

    ward = make_ward(db, beds=3)
    quiet_ward = make_ward(db, beds=1)
    admin = make_user(db, "admin")
    setup = principal(db, make_user(db, "ward_manager", wards=[ward, quiet_ward]))
    stay = make_stay(db, setup, ward, beds_of(db, ward)[0], pathway=1)  # a pathway: its milestones
    make_review(db, setup, stay, now=now - timedelta(days=1))  # "no change" needs one
    action = make_action(db, setup, stay, description="x", now=now)
    fd, _ = log_failed_discharge(
        db,
        actor=setup,
        stay=stay,
        now=now,
        data=FailedDischargeCreate(
            planned_for=now - timedelta(hours=1),
            causes=["transport"],
            primary_cause="transport",
            avoidable=False,
            follow_up_owner_role_code="nurse",
            follow_up_due_at=now + timedelta(hours=4),
        ),
    )
    esc = raise_escalation(
        db, actor=setup, stay=stay, data=EscalationCreate(category_code="capacity", help_needed="x"), now=now
    )
    board_round = make_round(db, setup, ward, now=now)
    referral = Referral(
        stay_id=stay.id, service_code="care_transfer_hub", sent_at=now - timedelta(hours=1), created_by_id=setup.user_id,
        created_at=now, updated_at=now,
    )  # fmt: skip
    crud.create(db, actor=setup, row=referral, now=now, ward_id=ward.id, patient_id=stay.patient_id)
    gone = make_stay(db, setup, ward, beds_of(db, ward)[2], admitted_at=now - timedelta(days=6))
    discharge(
        db, actor=setup, stay=gone, discharged_at=now - timedelta(days=1), destination_code="19", pathway=0,
        expected_version=gone.version, now=now,
    )  # fmt: skip
    feed = make_user(db, "integration", is_service_account=True)
    # A failed sign-in at its username: its page shows "Clear failed sign-ins" (the unlock form).
    db.add(SignInThrottle(scope="account", key=feed.username, failures=1, window_started_at=now, next_allowed_at=now))
    token, _ = issue_token(db, user=feed, name="PAS", actor=None, now=now)
    db.flush()
    ids: dict[str, object] = {
        "ward_id": ward.id,
        "site_id": ward.site_id,
        "code": ward.code,
        "stay_id": stay.id,
        "patient_id": stay.patient_id,
        "action_id": action.id,
        "fd_id": fd.id,
        "esc_id": esc.id,
        "round_id": board_round.id,
        "bed_id": beds_of(db, ward)[1].id,
        "name": "criteria",
        "referral_id": referral.id,
        "milestone_id": milestones_for_stay(db, stay.id)[0].id,
        "quiet_ward_id": quiet_ward.id,
        "quiet_code": quiet_ward.code,
        "discharged_stay_id": gone.id,
        "service_user_id": feed.id,
        "token_id": token.id,
    }
    users = {role: make_user(db, role, wards=[ward, quiet_ward]) for role in MATRIX if role != "admin"}
    # An unread alert for the ward manager: the alerts page shows its "Mark as read" forms.
    alert = Alert(
        rule_code="action_overdue", subject=f"action:{action.id}", recipient_id=users["ward_manager"].id,
        ward_id=ward.id, stay_id=stay.id, title=f"{ward.code} bed B01 (AL): Action overdue",
        link_route="discharge_plan", link_params={"stay_id": stay.id}, created_at=now, updated_at=now,
    )  # fmt: skip
    db.add(alert)
    db.flush()
    ids["alert_id"] = alert.id
    return ids, users | {"admin": admin}
