"""Read model for the site flow overview: one row per ward, and the patients behind each number.

The overview costs six queries whatever the number of wards (each one grouped by ward); the
drill-down costs one or two. Counts are the ward board's (app.wards.queries) for the same moment:
today's review, LOS in midnights on London dates, EDD overdue when before today.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from app.core.clock import london_date, london_midday, london_start_of_day, midnights_since
from app.core.long_stay import LONG_STAY_THRESHOLDS
from app.metrics.queries import counted_discharge
from app.models import (
    Bed,
    DailyReview,
    Escalation,
    FailedDischarge,
    FailedDischargeCause,
    Patient,
    Stay,
    Ward,
)

FAILED_DAYS = 7  # "this week": today and the six London days before it

# Drill-down measures: key -> what the list shows.
MEASURES: dict[str, str] = {
    "patients": "In hospital now",
    "nctr": "No criteria to reside at today's review",
    **{f"los{t}": f"In hospital {t} or more days" for t in LONG_STAY_THRESHOLDS},
    "no_edd": "No expected discharge date",
    "edd_overdue": "Expected discharge date has passed",
    "not_reviewed": "Not reviewed today",
    "discharged": "Discharged today",
    "discharged_before_midday": "Discharged today before midday",
    "failed": f"Failed discharges in the last {FAILED_DAYS} days",
    "escalations": "Open escalations",
}
# Measures the ward board can already filter on: per-ward cells link there.
BOARD_FILTERS = {"nctr": "nctr", "los7": "los7", "edd_overdue": "edd_overdue", "not_reviewed": "not_reviewed"}


@dataclass
class FlowRow:
    ward_id: int
    code: str
    name: str
    beds_open: int = 0
    beds_occupied: int = 0
    patients: int = 0
    nctr: int = 0
    los: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LONG_STAY_THRESHOLDS, 0))
    with_edd: int = 0
    edd_overdue: int = 0
    not_reviewed: int = 0
    discharged: int = 0
    discharged_before_midday: int = 0
    failed: int = 0
    escalations: int = 0

    @property
    def no_edd(self) -> int:
        return self.patients - self.with_edd

    @property
    def edd_percent(self) -> float | None:
        return 100 * self.with_edd / self.patients if self.patients else None

    @property
    def occupancy_percent(self) -> float | None:
        return 100 * self.beds_occupied / self.beds_open if self.beds_open else None

    def add(self, other: FlowRow) -> None:
        for name in (
            "beds_open", "beds_occupied", "patients", "nctr", "with_edd", "edd_overdue", "not_reviewed",
            "discharged", "discharged_before_midday", "failed", "escalations",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for t in LONG_STAY_THRESHOLDS:
            self.los[t] += other.los[t]


@dataclass
class FlowOverview:
    today: date
    now: datetime
    rows: list[FlowRow]
    total: FlowRow


def _long_stay_cutoff(today: date, threshold: int) -> datetime:
    """Admitted before this instant: at least `threshold` midnights by today (London dates)."""
    return london_start_of_day(today - timedelta(days=threshold - 1))


def _today_review(today: date):  # noqa: ANN202 - a SQL join condition
    return and_(col(DailyReview.stay_id) == Stay.id, DailyReview.review_date == today)


def flow_overview(session: Session, wards: list[Ward], now: datetime) -> FlowOverview:
    """Six grouped queries, whatever the number of wards."""
    today = london_date(now)
    rows = {w.id: FlowRow(ward_id=w.id, code=w.code, name=w.name) for w in wards}  # type: ignore[misc]
    total = FlowRow(ward_id=0, code="", name="All wards")
    if not rows:
        return FlowOverview(today, now, [], total)
    ids = list(rows)

    def one(condition: object):  # noqa: ANN202
        return func.sum(case((condition, 1), else_=0))  # type: ignore[arg-type]

    for ward_id, n in session.exec(
        select(Bed.ward_id, func.count())
        .where(col(Bed.ward_id).in_(ids), col(Bed.is_open).is_(True))
        .group_by(Bed.ward_id)
    ):
        rows[ward_id].beds_open = n

    cutoffs = [_long_stay_cutoff(today, t) for t in LONG_STAY_THRESHOLDS]
    current = session.exec(
        select(
            Stay.ward_id,
            func.count(),
            one(col(Stay.bed_id).is_not(None)),
            one(col(DailyReview.meets_criteria_to_reside).is_(False)),
            one(col(DailyReview.id).is_(None)),
            *(one(col(Stay.admitted_at) < cut) for cut in cutoffs),
            one(col(Stay.expected_discharge_date).is_not(None)),
            one(col(Stay.expected_discharge_date) < today),
        )
        .outerjoin(DailyReview, _today_review(today))
        .where(col(Stay.ward_id).in_(ids), col(Stay.discharged_at).is_(None))
        .group_by(Stay.ward_id)
    )
    for ward_id, patients, occupied, nctr, not_reviewed, *rest in current:
        row = rows[ward_id]
        row.patients, row.beds_occupied, row.nctr, row.not_reviewed = (
            patients,
            occupied or 0,
            nctr or 0,
            not_reviewed or 0,
        )
        los, (with_edd, overdue) = rest[: len(cutoffs)], rest[len(cutoffs) :]
        row.los = {t: int(v or 0) for t, v in zip(LONG_STAY_THRESHOLDS, los, strict=True)}
        row.with_edd, row.edd_overdue = with_edd or 0, overdue or 0

    start, midday, end = (
        london_start_of_day(today),
        london_midday(today),
        london_start_of_day(today + timedelta(days=1)),
    )
    for ward_id, n, early in session.exec(
        select(Stay.ward_id, func.count(), one(col(Stay.discharged_at) < midday))
        .where(
            col(Stay.ward_id).in_(ids),
            col(Stay.discharged_at) >= start,
            col(Stay.discharged_at) < end,
            counted_discharge(),
        )
        .group_by(Stay.ward_id)
    ):
        rows[ward_id].discharged, rows[ward_id].discharged_before_midday = n, early or 0

    week_start = london_start_of_day(today - timedelta(days=FAILED_DAYS - 1))
    for ward_id, n in session.exec(
        select(Stay.ward_id, func.count())
        .select_from(FailedDischarge)
        .join(Stay, col(Stay.id) == FailedDischarge.stay_id)
        .where(col(Stay.ward_id).in_(ids), FailedDischarge.planned_for >= week_start, FailedDischarge.planned_for < end)
        .group_by(Stay.ward_id)
    ):
        rows[ward_id].failed = n

    for ward_id, n in session.exec(
        select(Stay.ward_id, func.count())
        .select_from(Escalation)
        .join(Stay, col(Stay.id) == Escalation.stay_id)
        .where(col(Stay.ward_id).in_(ids), col(Stay.discharged_at).is_(None), Escalation.status != "resolved")
        .group_by(Stay.ward_id)
    ):
        rows[ward_id].escalations = n

    ordered = [rows[w.id] for w in wards]  # type: ignore[index]
    for row in ordered:
        total.add(row)
    return FlowOverview(today, now, ordered, total)


# The patients behind a number -----------------------------------------------------------------


@dataclass
class FlowPatient:
    stay_id: int
    ward_code: str
    ward_name: str
    bed_label: str | None
    family_name: str
    given_name: str
    nhs_number: str | None
    mrn: str
    admitted_at: datetime
    length_of_stay: int
    expected_discharge_date: date | None
    reviewed_today: bool
    meets_criteria: bool | None  # today's review; None when not reviewed
    when: datetime | None = None  # discharged at / planned for / raised at
    detail: str = ""  # destination, causes or escalation


def _current_filter(measure: str, today: date):  # noqa: ANN202 - a SQL condition or None
    if measure == "nctr":
        return col(DailyReview.meets_criteria_to_reside).is_(False)
    if measure == "not_reviewed":
        return col(DailyReview.id).is_(None)
    if measure.startswith("los"):
        return col(Stay.admitted_at) < _long_stay_cutoff(today, int(measure[3:]))
    if measure == "no_edd":
        return col(Stay.expected_discharge_date).is_(None)
    if measure == "edd_overdue":
        return col(Stay.expected_discharge_date) < today
    return None


def flow_patients(
    session: Session,
    ward_ids: Collection[int],
    measure: str,
    now: datetime,
    *,
    destination_labels: dict[str, str],
    cause_labels: dict[str, str],
    family_labels: dict[str, str],
) -> list[FlowPatient]:
    """The patients counted by one number of the overview (one ward or all in scope)."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    today = london_date(now)
    ids = list(ward_ids) or [-1]
    start, midday, end = (
        london_start_of_day(today),
        london_midday(today),
        london_start_of_day(today + timedelta(days=1)),
    )
    base = (
        select(Stay, Patient, Ward.code, Ward.name, Bed.label, DailyReview.id, DailyReview.meets_criteria_to_reside)
        .join(Patient, col(Patient.id) == Stay.patient_id)
        .join(Ward, col(Ward.id) == Stay.ward_id)
        .outerjoin(Bed, col(Bed.id) == Stay.bed_id)
        .outerjoin(DailyReview, _today_review(today))
        .where(col(Stay.ward_id).in_(ids))
    )
    extra: dict[int, list[tuple[datetime | None, str]]] = {}
    if measure in ("discharged", "discharged_before_midday"):
        query = base.where(col(Stay.discharged_at) >= start, col(Stay.discharged_at) < end, counted_discharge())
        if measure == "discharged_before_midday":
            query = query.where(col(Stay.discharged_at) < midday)
        query = query.order_by(Stay.discharged_at)
    elif measure == "failed":
        week_start = london_start_of_day(today - timedelta(days=FAILED_DAYS - 1))
        failed = session.exec(
            select(
                FailedDischarge.id,
                FailedDischarge.stay_id,
                FailedDischarge.planned_for,
                FailedDischargeCause.reason_code,
            )
            .join(Stay, col(Stay.id) == FailedDischarge.stay_id)
            .outerjoin(FailedDischargeCause, col(FailedDischargeCause.failed_discharge_id) == FailedDischarge.id)
            .where(
                col(Stay.ward_id).in_(ids), FailedDischarge.planned_for >= week_start, FailedDischarge.planned_for < end
            )
            .order_by(FailedDischarge.planned_for, FailedDischarge.id, FailedDischargeCause.reason_code)
        ).all()
        grouped: dict[int, tuple[int, datetime, list[str]]] = {}
        for fd_id, stay_id, planned_for, code in failed:
            grouped.setdefault(fd_id, (stay_id, planned_for, []))[2].extend(
                [cause_labels.get(code, code)] if code else []
            )
        for stay_id, planned_for, causes in grouped.values():
            extra.setdefault(stay_id, []).append((planned_for, "; ".join(causes) or "No cause recorded"))
        query = base.where(col(Stay.id).in_({s for s, _, _ in grouped.values()} or {-1}))
    elif measure == "escalations":
        open_escalations = session.exec(
            select(Escalation.stay_id, Escalation.raised_at, Escalation.category_code, Escalation.level)
            .join(Stay, col(Stay.id) == Escalation.stay_id)
            .where(col(Stay.ward_id).in_(ids), col(Stay.discharged_at).is_(None), Escalation.status != "resolved")
            .order_by(Escalation.raised_at)
        ).all()
        for stay_id, raised_at, category, level in open_escalations:
            extra.setdefault(stay_id, []).append(
                (raised_at, f"{family_labels.get(category, category)} (level {level})")
            )
        query = base.where(col(Stay.id).in_(set(extra) or {-1}))
    else:
        query = base.where(col(Stay.discharged_at).is_(None))
        condition = _current_filter(measure, today)
        if condition is not None:
            query = query.where(condition)
    query = query.order_by(Ward.name, Ward.code, Bed.sort_order, Bed.label, Stay.id)

    out: list[FlowPatient] = []
    for stay, patient, ward_code, ward_name, bed_label, review_id, meets in session.exec(query):
        discharged = stay.discharged_at
        facts = {
            "stay_id": stay.id,
            "ward_code": ward_code,
            "ward_name": ward_name,
            "bed_label": bed_label,
            "family_name": patient.family_name,
            "given_name": patient.given_name,
            "nhs_number": patient.nhs_number,
            "mrn": patient.mrn,
            "admitted_at": stay.admitted_at,
            "length_of_stay": midnights_since(stay.admitted_at, london_date(discharged) if discharged else today),
            "expected_discharge_date": stay.expected_discharge_date,
            "reviewed_today": review_id is not None,
            "meets_criteria": None if review_id is None else bool(meets),
        }
        if discharged is not None and measure.startswith("discharged"):
            code = stay.discharge_destination_code or ""
            out.append(FlowPatient(**facts, when=discharged, detail=destination_labels.get(code, code)))
        elif stay.id in extra:
            out.extend(FlowPatient(**facts, when=when, detail=detail) for when, detail in extra[stay.id])
        else:
            out.append(FlowPatient(**facts))
    if measure in ("failed", "escalations"):
        out.sort(key=lambda p: (p.when, p.stay_id))  # type: ignore[arg-type, return-value]
    return out
