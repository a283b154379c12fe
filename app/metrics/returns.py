"""National returns: the daily NCTR snapshot by delay reason, and the discharge ready date extract.

Layouts (columns, record types, warning codes) are written out in docs/metrics.md; the CSV
header constants here are the contract. Each return carries data-quality warnings so whoever
submits it sees what the figures rest on. Loaders cost a fixed number of queries (three each).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.core.clock import london_date, midnights_since
from app.core.long_stay import LONG_STAY_THRESHOLDS
from app.metrics.queries import counted_discharge, review_changes
from app.metrics.rules.facts import Review
from app.metrics.rules.period import Period, census_instant
from app.metrics.rules.readiness import delay_band, discharge_ready_date
from app.models import DailyReview, Patient, Site, Stay, StayLocation, Ward

# The daily NCTR snapshot -----------------------------------------------------------------------

SNAPSHOT_HEADER = [
    "record_type",
    "snapshot_date",
    "census_time",
    "site_code",
    "code",
    "label",
    "family",
    "patients",
    "los_7_plus",
    "los_14_plus",
    "los_21_plus",
]


@dataclass(frozen=True)
class CensusPatient:
    """A patient in hospital at the 08:00 census, with their latest review before that day."""

    stay_id: int
    site_code: str
    ward_id: int
    admitted_at: datetime
    latest: Review | None


@dataclass(frozen=True)
class Warning:
    code: str
    message: str
    stay_ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.stay_ids)


@dataclass
class ReasonLine:
    site_code: str
    code: str
    label: str
    family: str
    patients: int = 0
    los: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LONG_STAY_THRESHOLDS, 0))


@dataclass(frozen=True)
class NctrSnapshot:
    day: date
    census_at: datetime
    in_hospital: dict[str, int]  # site code -> patients at the census
    nctr: dict[str, ReasonLine]  # site code -> all NCTR patients (code "ALL")
    reasons: list[ReasonLine]  # per site and delay reason, site then most patients first
    warnings: list[Warning]


def nctr_snapshot(day: date, patients: Iterable[CensusPatient], reasons: Mapping[str, tuple[str, str]]) -> NctrSnapshot:
    """Count the census patients without criteria to reside by delay reason (reasons: code -> (label, family)).

    A patient is NCTR when their latest review before the day found no criteria to reside.
    """
    in_hospital: dict[str, int] = defaultdict(int)
    totals: dict[str, ReasonLine] = {}
    lines: dict[tuple[str, str], ReasonLine] = {}
    never: list[int] = []
    stale: list[int] = []
    no_reason: list[int] = []
    yesterday = day - timedelta(days=1)
    for p in patients:
        in_hospital[p.site_code] += 1
        if p.latest is None:
            never.append(p.stay_id)
            continue
        if p.latest.review_date < yesterday and p.admitted_at < census_instant(yesterday):
            stale.append(p.stay_id)
        if p.latest.meets:
            continue
        code = p.latest.delay_reason_code or ""
        if not code:
            no_reason.append(p.stay_id)
        label, family = reasons.get(code, ("No reason recorded" if not code else code, ""))
        los = midnights_since(p.admitted_at, day)
        total = totals.setdefault(
            p.site_code, ReasonLine(p.site_code, "ALL", "All patients with no criteria to reside", "")
        )
        line = lines.setdefault((p.site_code, code), ReasonLine(p.site_code, code or "NONE", label, family))
        for target in (total, line):
            target.patients += 1
            for t in LONG_STAY_THRESHOLDS:
                target.los[t] += los >= t
    warnings = [
        Warning(
            "never_reviewed", "In hospital with no criteria to reside review yet: not counted either way", tuple(never)
        ),
        Warning(
            "not_reviewed_yesterday",
            "No review the day before the snapshot: their status comes from an older review",
            tuple(stale),
        ),
        Warning("nctr_without_reason", "No criteria to reside but no delay reason recorded", tuple(no_reason)),
    ]
    ordered = sorted(lines.values(), key=lambda x: (x.site_code, -x.patients, x.code))
    return NctrSnapshot(day, census_instant(day), dict(in_hospital), totals, ordered, [w for w in warnings if w.count])


def snapshot_rows(snapshot: NctrSnapshot) -> list[list[object]]:
    """The CSV body (record types: in_hospital, nctr_total, nctr_reason, warning)."""
    day, at = snapshot.day.isoformat(), "08:00"
    rows: list[list[object]] = []
    for site, n in sorted(snapshot.in_hospital.items()):
        rows.append(["in_hospital", day, at, site, "", "Patients in hospital at the census", "", n, "", "", ""])
        total = snapshot.nctr.get(site)
        if total is not None:
            rows.append(["nctr_total", day, at, site, total.code, total.label, "", total.patients,
                         *(total.los[t] for t in LONG_STAY_THRESHOLDS)])  # fmt: skip
        for line in (x for x in snapshot.reasons if x.site_code == site):
            rows.append(["nctr_reason", day, at, site, line.code, line.label, line.family, line.patients,
                         *(line.los[t] for t in LONG_STAY_THRESHOLDS)])  # fmt: skip
    for w in snapshot.warnings:
        rows.append(["warning", day, at, "", w.code, w.message, "", w.count, "", "", ""])
    return rows


def load_census_patients(session: Session, ward_ids: Collection[int], day: date) -> list[CensusPatient]:
    """Patients on the wards at 08:00 on `day`, each with their latest review before it. One query."""
    at = census_instant(day)
    latest_date = (
        select(func.max(DailyReview.review_date))
        .where(col(DailyReview.stay_id) == StayLocation.stay_id, DailyReview.review_date < day)
        .correlate(StayLocation)
        .scalar_subquery()
    )
    review = aliased(DailyReview)
    rows = session.exec(
        select(
            StayLocation.stay_id,
            Site.code,
            StayLocation.ward_id,
            Stay.admitted_at,
            review.review_date,
            review.meets_criteria_to_reside,
            review.delay_reason_code,
        )
        .join(Stay, col(Stay.id) == StayLocation.stay_id)
        .join(Ward, col(Ward.id) == StayLocation.ward_id)
        .join(Site, col(Site.id) == Ward.site_id)
        .outerjoin(review, and_(col(review.stay_id) == StayLocation.stay_id, col(review.review_date) == latest_date))
        .where(
            col(StayLocation.ward_id).in_(list(ward_ids) or [-1]),
            StayLocation.started_at <= at,
            or_(col(StayLocation.ended_at).is_(None), col(StayLocation.ended_at) > at),
        )
        .order_by(StayLocation.stay_id)
    ).all()
    return [
        CensusPatient(
            stay_id, site, ward_id, admitted_at, Review(review_date, bool(meets), reason) if review_date else None
        )
        for stay_id, site, ward_id, admitted_at, review_date, meets, reason in rows
    ]


# The discharge ready date extract --------------------------------------------------------------

DRD_HEADER = [
    "site_code",
    "ward_code",
    "stay_id",
    "spell_id",
    "mrn",
    "admission_date",
    "discharge_date",
    "discharge_ready_date",
    "days_delayed",
    "delay_band",
    "los_midnights",
    "discharge_destination_code",
    "discharge_pathway",
    "data_quality",
]

DRD_WARNINGS = {
    "no_review": "Stayed overnight but never had a criteria to reside review",
    "drd_missing": "Reviewed, but the last review before leaving found criteria to reside: no discharge ready date",
    "last_review_stale": "The last review was more than a day before the discharge date",
    "drd_differs": "The discharge ready date kept on the stay differs from the one derived from the reviews",
}


@dataclass(frozen=True)
class DischargedStay:
    stay_id: int
    site_code: str
    ward_code: str
    spell_id: str | None
    mrn: str
    admitted_at: datetime
    discharged_at: datetime
    destination_code: str | None
    pathway: int | None
    stored_drd: date | None
    reviews: tuple[Review, ...]  # full history or only the changes
    last_review: date | None


@dataclass(frozen=True)
class DrdRecord:
    stay: DischargedStay
    admission_date: date
    discharge_date: date
    drd: date | None
    days_delayed: int | None
    los: int
    warnings: tuple[str, ...]

    @property
    def band(self) -> str:
        return "" if self.days_delayed is None else delay_band(self.days_delayed)


def drd_record(stay: DischargedStay) -> DrdRecord:
    admitted, left = london_date(stay.admitted_at), london_date(stay.discharged_at)
    los = midnights_since(stay.admitted_at, left)
    drd = discharge_ready_date(stay.reviews, up_to=left)
    warnings: list[str] = []
    if stay.last_review is None:
        if los >= 1:
            warnings.append("no_review")
    else:
        if drd is None and los >= 1:
            warnings.append("drd_missing")
        if (left - stay.last_review).days > 1:
            warnings.append("last_review_stale")
    if stay.stored_drd != drd and stay.last_review is not None:
        warnings.append("drd_differs")
    return DrdRecord(stay, admitted, left, drd, None if drd is None else (left - drd).days, los, tuple(warnings))


def drd_warnings(records: Sequence[DrdRecord]) -> list[Warning]:
    by_code: dict[str, list[int]] = defaultdict(list)
    for r in records:
        for code in r.warnings:
            by_code[code].append(r.stay.stay_id)
    return [Warning(code, message, tuple(by_code[code])) for code, message in DRD_WARNINGS.items() if by_code[code]]


def drd_rows(records: Iterable[DrdRecord]) -> list[list[object]]:
    return [
        [
            r.stay.site_code,
            r.stay.ward_code,
            r.stay.stay_id,
            r.stay.spell_id or "",
            r.stay.mrn,
            r.admission_date.isoformat(),
            r.discharge_date.isoformat(),
            r.drd.isoformat() if r.drd else "",
            "" if r.days_delayed is None else r.days_delayed,
            r.band,
            r.los,
            r.stay.destination_code or "",
            "" if r.stay.pathway is None else r.stay.pathway,
            ";".join(r.warnings),
        ]
        for r in records
    ]


def load_discharged_stays(session: Session, ward_ids: Collection[int], period: Period) -> list[DischargedStay]:
    """Discharges (not deaths) in the period from these wards, with their review history. Three queries."""
    scope = list(ward_ids) or [-1]
    in_period = (
        col(Stay.ward_id).in_(scope),
        col(Stay.discharged_at) >= period.start,
        col(Stay.discharged_at) < period.end,
        counted_discharge(),
    )
    rows = session.exec(
        select(
            Stay.id,
            Site.code,
            Ward.code,
            Stay.pas_visit_number,
            Patient.mrn,
            Stay.admitted_at,
            Stay.discharged_at,
            Stay.discharge_destination_code,
            Stay.pathway,
            Stay.discharge_ready_date,
        )
        .join(Ward, col(Ward.id) == Stay.ward_id)
        .join(Site, col(Site.id) == Ward.site_id)
        .join(Patient, col(Patient.id) == Stay.patient_id)
        .where(*in_period)
        .order_by(Stay.discharged_at, Stay.id)
    ).all()
    stay_ids = select(Stay.id).where(*in_period)
    changes = review_changes(session, stay_ids, period.date_to)
    last = dict(
        session.exec(
            select(DailyReview.stay_id, func.max(DailyReview.review_date))
            .where(col(DailyReview.stay_id).in_(stay_ids))
            .group_by(DailyReview.stay_id)
        ).all()
    )
    return [
        DischargedStay(
            stay_id=r[0],
            site_code=r[1],
            ward_code=r[2],
            spell_id=r[3],
            mrn=r[4],
            admitted_at=r[5],
            discharged_at=r[6],
            destination_code=r[7],
            pathway=r[8],
            stored_drd=r[9],
            reviews=tuple(changes.get(r[0], ())),
            last_review=last.get(r[0]),
        )
        for r in rows
    ]


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row])
    return buffer.getvalue()
