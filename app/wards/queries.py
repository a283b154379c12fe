"""Read models for ward screens. The board costs a fixed number of queries at any ward size."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, ScalarSelect
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from app.core.clock import london_start_of_day, midnights_since
from app.core.long_stay import long_stay_flag
from app.models import (
    Action,
    Bed,
    BedState,
    BedStatePeriod,
    DailyReview,
    Escalation,
    FailedDischarge,
    PasLocation,
    Patient,
    ReviewCriterion,
    Stay,
    StayLocation,
    Ward,
)
from app.wards.schemas import (
    BedAvailability,
    BedPublic,
    BedStatePublic,
    Board,
    BoardCounts,
    BoardPatient,
    BoardReview,
    BoardRow,
    BoardStay,
    WardBeds,
    WardPublic,
)


def age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def initials(given: str, family: str) -> str:
    return f"{given[:1]}{family[:1]}".upper()


def _current_on_ward(ward_id: int) -> SelectOfScalar[int]:
    """Current stays on a ward, as a condition: constant SQL whatever the ward size."""
    return select(Stay.id).where(Stay.ward_id == ward_id, col(Stay.discharged_at).is_(None))


def _open_counts(session: Session, ward_id: int, since: datetime) -> dict[int, tuple[int, int, int]]:
    """Per current stay: open actions, unresolved escalations, failed discharges since `since`."""

    def count(
        model: type[Action] | type[Escalation] | type[FailedDischarge], *conditions: ColumnElement[bool]
    ) -> ScalarSelect[int]:
        return (
            select(func.count()).select_from(model).where(col(model.stay_id) == Stay.id, *conditions).scalar_subquery()
        )

    rows = session.exec(
        select(
            col(Stay.id),
            count(Action, col(Action.done_at).is_(None)),
            count(Escalation, col(Escalation.status) != "resolved"),
            count(FailedDischarge, col(FailedDischarge.planned_for) >= since),
        ).where(Stay.ward_id == ward_id, col(Stay.discharged_at).is_(None))
    ).all()
    return {stay_id: (actions, escalations, failed) for stay_id, actions, escalations, failed in rows}


def has_pas_feed(session: Session, ward_id: int) -> bool:
    """Whether the PAS feed is mapped to this ward (a location map row names it: docs/adt.md)."""
    return session.exec(select(PasLocation.id).where(PasLocation.ward_id == ward_id).limit(1)).first() is not None


def _beds_with_state(session: Session, ward_id: int) -> list[tuple[Bed, BedStatePeriod | None, datetime | None]]:
    """The ward's beds in order (retired ones left out), each with its current state and when its
    last patient left, in one query."""
    last_left = (
        select(func.max(StayLocation.ended_at)).where(StayLocation.bed_id == Bed.id).correlate(Bed).scalar_subquery()
    )
    return list(
        session.exec(
            select(Bed, BedStatePeriod, last_left)
            .outerjoin(
                BedStatePeriod,
                (col(BedStatePeriod.bed_id) == Bed.id) & col(BedStatePeriod.ended_at).is_(None),
            )
            .where(Bed.ward_id == ward_id, col(Bed.retired_at).is_(None))
            .order_by(col(Bed.sort_order), col(Bed.label))
        ).all()
    )


def ward_board(session: Session, ward: Ward, today: date) -> Board:
    bed_rows = _beds_with_state(session, ward.id)
    beds = [bed for bed, _, _ in bed_rows]
    pas_feed = has_pas_feed(session, ward.id)
    stays = session.exec(
        select(Stay, Patient)
        .join(Patient, col(Patient.id) == Stay.patient_id)
        .where(Stay.ward_id == ward.id, col(Stay.discharged_at).is_(None))
    ).all()
    on_ward = _current_on_ward(ward.id)
    reviews = {
        r.stay_id: r
        for r in session.exec(
            select(DailyReview).where(col(DailyReview.stay_id).in_(on_ward), DailyReview.review_date == today)
        )
    }
    criteria: dict[int, list[str]] = {}
    for review_id, code in session.exec(
        select(ReviewCriterion.review_id, ReviewCriterion.criterion_code)
        .join(DailyReview, col(DailyReview.id) == ReviewCriterion.review_id)
        .where(col(DailyReview.stay_id).in_(on_ward), DailyReview.review_date == today)
        .order_by(col(ReviewCriterion.criterion_code))
    ):
        criteria.setdefault(review_id, []).append(code)
    open_counts = _open_counts(session, ward.id, london_start_of_day(today - timedelta(days=7)))

    by_bed: dict[int | None, list[BoardStay]] = {}
    for stay, patient in stays:
        los = midnights_since(stay.admitted_at, today)
        review = reviews.get(stay.id)
        board_stay = BoardStay(
            id=stay.id,
            version=stay.version,
            admitted_at=stay.admitted_at,
            length_of_stay_midnights=los,
            long_stay_flag=long_stay_flag(los),
            expected_discharge_date=stay.expected_discharge_date,
            edd_overdue=bool(stay.expected_discharge_date and stay.expected_discharge_date < today),
            discharge_ready_date=stay.discharge_ready_date,
            pathway=stay.pathway,
            responsible_consultant=stay.responsible_consultant,
            clinical_criteria_for_discharge=stay.clinical_criteria_for_discharge,
            patient=BoardPatient(
                id=patient.id,
                nhs_number=patient.nhs_number,
                mrn=patient.mrn,
                given_name=patient.given_name,
                family_name=patient.family_name,
                initials=initials(patient.given_name, patient.family_name),
                age=age_on(patient.date_of_birth, today),
                sex=patient.sex,
            ),
            review_today=BoardReview(
                meets_criteria_to_reside=review.meets_criteria_to_reside,
                criteria=criteria.get(review.id, []),
                delay_reason_code=review.delay_reason_code,
                day_status=review.day_status,
                red_day_reason_code=review.red_day_reason_code,
                reviewed_at=review.reviewed_at,
                version=review.version,
            )
            if review
            else None,
            open_actions=open_counts.get(stay.id, (0, 0, 0))[0],
            open_escalations=open_counts.get(stay.id, (0, 0, 0))[1],
            failed_discharges_7d=open_counts.get(stay.id, (0, 0, 0))[2],
            awaiting_pas=pas_feed and stay.pas_visit_number is None,
            changed_at=max(stay.updated_at, review.updated_at) if review else stay.updated_at,
        )
        by_bed.setdefault(stay.bed_id, []).append(board_stay)

    rows: list[BoardRow] = []
    bed_ids = {b.id for b in beds}
    for bed, period, last_left in bed_rows:
        occupants = by_bed.get(bed.id, [])
        rows.append(
            BoardRow(
                bed=BedPublic.model_validate(bed),
                stay=occupants[0] if occupants else None,
                bed_state=BedStatePublic.model_validate(period) if period is not None else None,
                empty_since=None if occupants else _utc(last_left),
            )
        )
    for bed_id, occupants in by_bed.items():
        if bed_id not in bed_ids:
            rows.extend(BoardRow(bed=None, stay=s) for s in occupants)

    all_stays = [r.stay for r in rows if r.stay]
    empty = [r.bed for r in rows if r.bed and not r.stay]
    counts = BoardCounts(
        beds_open=sum(1 for b in beds if b.is_open),
        beds_occupied=sum(1 for r in rows if r.bed and r.stay),
        beds_available=sum(1 for b in empty if b.state_code == BedState.OPEN),
        beds_cleaning=sum(1 for b in beds if b.state_code == BedState.CLEANING),
        beds_reserved=sum(1 for b in beds if b.state_code == BedState.RESERVED),
        beds_closed=sum(1 for b in beds if not b.is_open),
        patients=len(all_stays),
        reviewed_today=sum(1 for s in all_stays if s.review_today),
        not_meeting_criteria=sum(
            1 for s in all_stays if s.review_today and not s.review_today.meets_criteria_to_reside
        ),
        edd_overdue=sum(1 for s in all_stays if s.edd_overdue),
        long_stay_7=sum(1 for s in all_stays if s.length_of_stay_midnights >= 7),
        long_stay_14=sum(1 for s in all_stays if s.length_of_stay_midnights >= 14),
        long_stay_21=sum(1 for s in all_stays if s.length_of_stay_midnights >= 21),
    )
    return Board(ward=WardPublic.model_validate(ward), pas_feed=pas_feed, today=today, rows=rows, counts=counts)


def _utc(moment: datetime | None) -> datetime | None:
    """A time read through an aggregate (SQLite gives it back without its zone: stored UTC)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def bed_availability(session: Session, wards: list[Ward], today: date) -> BedAvailability:
    """Beds available now and expected to free today, per ward, in two queries at any size."""
    ids = [w.id for w in wards]
    empty = col(Stay.id).is_(None)
    counts: dict[int, dict[str, int]] = {w.id: {} for w in wards}
    for ward_id, state, is_empty, n in session.exec(
        select(Bed.ward_id, Bed.state_code, empty, func.count())
        .outerjoin(Stay, (col(Stay.bed_id) == Bed.id) & col(Stay.discharged_at).is_(None))
        .where(col(Bed.ward_id).in_(ids), col(Bed.retired_at).is_(None))
        .group_by(col(Bed.ward_id), col(Bed.state_code), empty)
    ):
        ward = counts[ward_id]
        ward["beds"] = ward.get("beds", 0) + n
        key = state if state != BedState.OPEN else "available"
        if not is_empty:
            ward["occupied"] = ward.get("occupied", 0) + n
            key = "reserved" if state == BedState.RESERVED else ""
        if key:
            ward[key] = ward.get(key, 0) + n
    latest_meets = (
        select(DailyReview.meets_criteria_to_reside)
        .where(DailyReview.stay_id == Stay.id, DailyReview.review_date <= today)
        .order_by(col(DailyReview.review_date).desc())
        .limit(1)
        .correlate(Stay)
        .scalar_subquery()
    )
    for ward_id, n in session.exec(
        select(Stay.ward_id, func.count())
        .where(
            col(Stay.ward_id).in_(ids),
            col(Stay.discharged_at).is_(None),
            Stay.expected_discharge_date == today,
            latest_meets.is_(False),
        )
        .group_by(col(Stay.ward_id))
    ):
        counts[ward_id]["expected_to_free_today"] = n
    fields = ("beds", "occupied", "available", "cleaning", "reserved", "closed", "expected_to_free_today")
    rows = [
        WardBeds(ward_id=w.id, ward_code=w.code, ward_name=w.name, **{f: counts[w.id].get(f, 0) for f in fields})
        for w in wards
    ]
    total = WardBeds(
        ward_id=0, ward_code="", ward_name="All wards", **{f: sum(getattr(r, f) for r in rows) for f in fields}
    )
    return BedAvailability(today=today, wards=rows, total=total)
