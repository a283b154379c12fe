"""Improvement metrics as pure functions: plain facts in, figures out. No database, no request.

Every definition here is written out in docs/metrics.md; keep the two in step. Conventions:

* Stored times are UTC; days are Europe/London dates (`Period`, `london_date`), so a day is 23 or
  25 hours long when the clocks change and "before midday" is 12:00 on the London clock.
* The daily snapshot is the 08:00 London census (as in the NHS daily sitrep): a stay counts on day
  D if it was in hospital at that instant, on the ward it was on at that instant.
* Length of stay is counted in midnights (London dates) for the whole stay, across transfers.
* A discharge is a stay that ended in the period, unless the patient died (discharge destination
  79), and belongs to the ward the patient left from.
* The discharge ready date (DRD) is the start of the final run of "no criteria to reside" (NCTR)
  reviews; a review meeting the criteria ends a run, so a patient who meets the criteria again
  starts a new one. Days without a review carry the previous review's state.

The DRD and the NCTR census depend only on the reviews where the answer changed (the first and
every change): the discharge ready date extract (app.metrics.returns) hands over just those.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from itertools import accumulate
from typing import NamedTuple

from app.core.clock import LONDON, london_start_of_day
from app.models.reference import DischargeDestination

CENSUS_TIME = time(8, 0)  # the daily snapshot, London clock
MIDDAY = time(12, 0)
ROUND_START_DEADLINE = time(12, 30)  # "round started before 12:30"
DIED = DischargeDestination.DIED  # deaths are counted apart from discharges
CANCELLED = DischargeDestination.NOT_APPLICABLE  # a cancelled admission: neither discharge nor death
NOT_DISCHARGES = (DIED, CANCELLED)
LONG_STAY_THRESHOLDS = (7, 14, 21)
MAX_PERIOD_DAYS = 400

# National DRD delay bands (Timeliness of Acute Hospital Discharges): label, lowest, highest.
DELAY_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0),
    ("1", 1, 1),
    ("2-3", 2, 3),
    ("4-6", 4, 6),
    ("7-13", 7, 13),
    ("14-20", 14, 20),
    ("21+", 21, None),
)

PATHWAY_GROUPS = (
    ("0-1", "Pathway 0 or 1 (home)"),
    ("2-3", "Pathway 2 or 3 (bed-based care)"),
    ("none", "Not recorded"),
)


# London dates, fast: metrics convert tens of thousands of instants per request. The UK rule (BST
# from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October) is checked
# against the time zone database for each year; a year that does not match falls back to it.
_HOUR = timedelta(hours=1)


@lru_cache(maxsize=256)
def _summer_time(year: int) -> tuple[datetime, datetime] | None:
    def last_sunday(month: int) -> datetime:
        day = datetime(year, month + 1, 1, 1, tzinfo=UTC) - timedelta(days=1)
        return day - timedelta(days=(day.weekday() + 1) % 7)

    start, end = last_sunday(3), last_sunday(10)
    for instant, offset in ((start - _HOUR, 0), (start, 1), (end - _HOUR, 1), (end, 0)):
        if instant.astimezone(LONDON).utcoffset() != offset * _HOUR:
            return None
    return start, end


def _on_london_clock(moment: datetime) -> datetime:
    """The instant moved by London's offset: its date() and time() are the London wall clock's."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    window = _summer_time(moment.year)
    if window is None:
        return moment.astimezone(LONDON)
    return moment + _HOUR if window[0] <= moment < window[1] else moment


def london_wall_clock(moment: datetime) -> datetime:
    """The London wall-clock time of an aware instant, as a naive datetime."""
    return _on_london_clock(moment).replace(tzinfo=None)


def london_day(moment: datetime) -> date:
    """The London date of an aware instant (app.core.clock.london_date, faster)."""
    return _on_london_clock(moment).date()


# Periods, instants and small helpers ---------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """London dates from `date_from` to `date_to`, both included."""

    date_from: date
    date_to: date

    def __post_init__(self) -> None:
        if self.date_to < self.date_from:
            raise ValueError("a period cannot end before it starts")

    @property
    def days(self) -> list[date]:
        return [self.date_from + timedelta(days=i) for i in range(self.length)]

    @property
    def length(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @cached_property
    def start(self) -> datetime:
        """Midnight starting the first day, as UTC."""
        return london_start_of_day(self.date_from)

    @cached_property
    def end(self) -> datetime:
        """Midnight ending the last day, as UTC (exclusive)."""
        return london_start_of_day(self.date_to + timedelta(days=1))

    def index(self, day: date) -> int:
        return (day - self.date_from).days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.date_from <= day <= self.date_to

    @classmethod
    def ending(cls, last_day: date, days: int) -> Period:
        return cls(last_day - timedelta(days=days - 1), last_day)


def at_london(day: date, clock: time) -> datetime:
    """A London wall-clock time on a London date, as UTC (BST or GMT as it was that day)."""
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC)


def census_instant(day: date) -> datetime:
    return at_london(day, CENSUS_TIME)


def los_midnights(admitted_at: datetime, on: date) -> int:
    """Length of stay in midnights on a London date (0 on the day of admission)."""
    return max(0, (on - london_day(admitted_at)).days)


def percent(part: int | float, whole: int | float) -> float | None:
    return None if not whole else 100 * part / whole


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def in_scope(ward_id: int | None, ward_ids: Collection[int] | None) -> bool:
    """`ward_ids` None means every ward."""
    return ward_ids is None or ward_id in ward_ids


# Facts: what the loaders hand over (named tuples: tens of thousands are built per request) ------


class Location(NamedTuple):
    """A stretch of a stay on one ward: [started_at, ended_at)."""

    ward_id: int
    started_at: datetime
    ended_at: datetime | None = None


class Review(NamedTuple):
    review_date: date
    meets: bool  # meets criteria to reside
    delay_reason_code: str | None = None


class StayFacts(NamedTuple):
    id: int
    admitted_at: datetime
    discharged_at: datetime | None
    ward_id: int  # the current ward; once discharged, the ward the patient left from
    destination_code: str | None = None
    pathway: int | None = None
    consultant: str = ""
    has_ccd: bool = False  # clinical criteria for discharge recorded (current value)
    # Ward history (transfers). Empty: the whole stay on `ward_id`.
    locations: tuple[Location, ...] = ()
    # Reviews up to the end of the period, in date order (the full daily history).
    reviews: tuple[Review, ...] = ()
    first_edd: date | None = None  # the first expected discharge date ever set
    first_edd_at: datetime | None = None  # when it was set
    edd_changes: int = 0  # EDD settings after the first one

    @property
    def where(self) -> tuple[Location, ...]:
        return self.locations or (Location(self.ward_id, self.admitted_at, self.discharged_at),)


class FailedFacts(NamedTuple):
    id: int
    stay_id: int
    ward_id: int
    planned_for: datetime
    causes: tuple[tuple[str, bool], ...] = ()  # (reason code, is primary)


class ReferralFacts(NamedTuple):
    id: int
    stay_id: int
    ward_id: int
    to_service: str
    sent_on: date
    decision_on: date | None = None


class RoundFacts(NamedTuple):
    id: int
    ward_id: int
    started_at: datetime
    ended_at: datetime | None = None


# Criteria to reside and the discharge ready date ---------------------------------------------


def discharge_ready_date(reviews: Iterable[Review], *, up_to: date | None = None) -> date | None:
    """Start of the final NCTR period among reviews dated on or before `up_to`.

    None when the last review met the criteria (or there were none): there is no current period.
    """
    drd: date | None = None
    for review in sorted(reviews, key=lambda r: r.review_date):
        if up_to is not None and review.review_date > up_to:
            break
        if review.meets:
            drd = None
        elif drd is None:
            drd = review.review_date
    return drd


def latest_review_before(reviews: Sequence[Review], day: date) -> Review | None:
    """The last review dated before `day` (reviews in date order)."""
    i = bisect_left([r.review_date for r in reviews], day)
    return reviews[i - 1] if i else None


def nctr_runs(reviews: Sequence[Review]) -> list[tuple[date, date | None]]:
    """[(first NCTR review date, date of the review that met criteria again or None)], in order."""
    runs: list[tuple[date, date | None]] = []
    start: date | None = None
    for review in reviews:
        if not review.meets and start is None:
            start = review.review_date
        elif review.meets and start is not None:
            runs.append((start, review.review_date))
            start = None
    if start is not None:
        runs.append((start, None))
    return runs


def delay_band(days: int) -> str:
    for label, low, high in DELAY_BANDS:
        if days >= low and (high is None or days <= high):
            return label
    raise ValueError(f"negative delay: {days}")


# Discharges ----------------------------------------------------------------------------------


class Discharge(NamedTuple):
    """One discharge with everything the discharge metrics need."""

    stay_id: int
    ward_id: int
    discharged_at: datetime
    discharge_date: date  # London date
    before_midday: bool  # left before 12:00 on the London clock
    length_of_stay: int  # midnights, whole stay
    pathway: int | None
    destination_code: str | None
    consultant: str
    drd: date | None
    delay_days: int | None  # discharge date minus DRD
    first_edd: date | None
    edd_changes: int

    @property
    def band(self) -> str | None:
        return None if self.delay_days is None else delay_band(self.delay_days)


def discharges_in(
    stays: Iterable[StayFacts], period: Period, ward_ids: Collection[int] | None
) -> tuple[list[Discharge], int]:
    """(discharges in the period from wards in scope, deaths in the period on those wards)."""
    start, end = period.start, period.end
    out: list[Discharge] = []
    deaths = 0
    for stay in stays:
        left = stay.discharged_at
        if left is None or not (start <= left < end) or not in_scope(stay.ward_id, ward_ids):
            continue
        if stay.destination_code == CANCELLED:
            continue
        if stay.destination_code == DIED:
            deaths += 1
            continue
        local = _on_london_clock(left)
        day = local.date()
        drd = discharge_ready_date(stay.reviews, up_to=day)
        out.append(
            Discharge(
                stay_id=stay.id,
                ward_id=stay.ward_id,
                discharged_at=left,
                discharge_date=day,
                before_midday=local.time() < MIDDAY,
                length_of_stay=max(0, (day - london_day(stay.admitted_at)).days),
                pathway=stay.pathway,
                destination_code=stay.destination_code,
                consultant=stay.consultant.strip(),
                drd=drd,
                delay_days=None if drd is None else max(0, (day - drd).days),
                first_edd=stay.first_edd,
                edd_changes=stay.edd_changes,
            )
        )
    out.sort(key=lambda d: (d.discharged_at, d.stay_id))
    return out, deaths


@dataclass(frozen=True)
class DayDischarges:
    day: date
    discharges: int
    before_midday: int

    @property
    def is_weekend(self) -> bool:
        return self.day.weekday() >= 5

    @property
    def before_midday_percent(self) -> float | None:
        return percent(self.before_midday, self.discharges)


def discharges_by_day(discharges: Iterable[Discharge], period: Period) -> list[DayDischarges]:
    total: Counter[date] = Counter()
    early: Counter[date] = Counter()
    for d in discharges:
        total[d.discharge_date] += 1
        early[d.discharge_date] += d.before_midday
    return [DayDischarges(day, total[day], early[day]) for day in period.days]


@dataclass(frozen=True)
class DischargeTiming:
    discharges: int
    before_midday: int
    deaths: int
    weekend_discharges: int
    weekend_days: int
    weekday_discharges: int
    weekday_days: int

    @property
    def before_midday_percent(self) -> float | None:
        return percent(self.before_midday, self.discharges)

    @property
    def per_day(self) -> float | None:
        days = self.weekend_days + self.weekday_days
        return self.discharges / days if days else None

    @property
    def weekend_daily(self) -> float | None:
        return self.weekend_discharges / self.weekend_days if self.weekend_days else None

    @property
    def weekday_daily(self) -> float | None:
        return self.weekday_discharges / self.weekday_days if self.weekday_days else None

    @property
    def weekend_rate_percent(self) -> float | None:
        """Weekend daily discharges as a % of weekday daily discharges (high-impact change: 60%+)."""
        if self.weekend_daily is None or not self.weekday_daily:
            return None
        return 100 * self.weekend_daily / self.weekday_daily


def discharge_timing(days: Sequence[DayDischarges], deaths: int = 0) -> DischargeTiming:
    weekend = [d for d in days if d.is_weekend]
    weekday = [d for d in days if not d.is_weekend]
    return DischargeTiming(
        discharges=sum(d.discharges for d in days),
        before_midday=sum(d.before_midday for d in days),
        deaths=deaths,
        weekend_discharges=sum(d.discharges for d in weekend),
        weekend_days=len(weekend),
        weekday_discharges=sum(d.discharges for d in weekday),
        weekday_days=len(weekday),
    )


@dataclass(frozen=True)
class LengthOfStay:
    discharges: int
    mean: float | None
    median: float | None
    over: dict[int, int]  # threshold -> discharges with LOS at or over it


def length_of_stay(discharges: Sequence[Discharge]) -> LengthOfStay:
    values = [d.length_of_stay for d in discharges]
    return LengthOfStay(
        discharges=len(values),
        mean=mean(values),
        median=median(values),
        over={t: sum(1 for v in values if v >= t) for t in LONG_STAY_THRESHOLDS},
    )


@dataclass(frozen=True)
class DelaySummary:
    """Discharge ready date to discharge, for the discharges in the period."""

    discharges: int
    with_drd: int
    bands: dict[str, int]  # every band, in order
    bed_days_lost: int

    @property
    def without_drd(self) -> int:
        return self.discharges - self.with_drd

    @property
    def same_day(self) -> int:
        return self.bands["0"]

    @property
    def same_day_percent(self) -> float | None:
        return percent(self.same_day, self.with_drd)

    @property
    def delayed(self) -> int:
        return self.with_drd - self.same_day

    @property
    def delayed_percent(self) -> float | None:
        return percent(self.delayed, self.with_drd)

    @property
    def mean_delay(self) -> float | None:
        return self.bed_days_lost / self.with_drd if self.with_drd else None

    @property
    def mean_delay_of_delayed(self) -> float | None:
        return self.bed_days_lost / self.delayed if self.delayed else None


def delay_summary(discharges: Sequence[Discharge]) -> DelaySummary:
    bands = {label: 0 for label, _, _ in DELAY_BANDS}
    lost = 0
    with_drd = 0
    for d in discharges:
        if d.delay_days is None:
            continue
        with_drd += 1
        bands[delay_band(d.delay_days)] += 1
        lost += d.delay_days
    return DelaySummary(discharges=len(discharges), with_drd=with_drd, bands=bands, bed_days_lost=lost)


@dataclass(frozen=True)
class Share:
    key: str
    label: str
    count: int
    percent: float | None


def _shares(counts: Mapping[str, int], labels: Mapping[str, str], order: Sequence[str] | None = None) -> list[Share]:
    total = sum(counts.values())
    keys = list(order) if order is not None else sorted(counts, key=lambda k: (-counts[k], labels.get(k, k)))
    return [Share(k, labels.get(k, k), counts.get(k, 0), percent(counts.get(k, 0), total)) for k in keys]


def pathway_group(pathway: int | None) -> str:
    if pathway is None:
        return "none"
    return "0-1" if pathway <= 1 else "2-3"


def pathway_mix(discharges: Iterable[Discharge]) -> list[Share]:
    counts = Counter(pathway_group(d.pathway) for d in discharges)
    return _shares(counts, dict(PATHWAY_GROUPS), [k for k, _ in PATHWAY_GROUPS])


def pathway_detail(discharges: Iterable[Discharge]) -> list[Share]:
    counts = Counter("none" if d.pathway is None else str(d.pathway) for d in discharges)
    labels = {str(p): f"Pathway {p}" for p in range(4)} | {"none": "Not recorded"}
    return _shares(counts, labels, ["0", "1", "2", "3", "none"])


def destination_mix(discharges: Iterable[Discharge], labels: Mapping[str, str]) -> list[Share]:
    counts = Counter(d.destination_code or "" for d in discharges)
    return _shares(counts, dict(labels) | {"": "Not recorded"})


# Expected discharge date accuracy ------------------------------------------------------------


@dataclass(frozen=True)
class EddAccuracy:
    group: str  # ward name or consultant
    discharges: int
    with_edd: int
    met_first_edd: int  # discharged on or before the first EDD
    drift_days: float | None  # mean of (discharge date - first EDD), with an EDD
    changes_per_stay: float | None  # mean EDD changes after the first, with an EDD

    @property
    def with_edd_percent(self) -> float | None:
        return percent(self.with_edd, self.discharges)

    @property
    def met_percent(self) -> float | None:
        return percent(self.met_first_edd, self.with_edd)


def edd_accuracy(discharges: Iterable[Discharge], group_of: Callable[[Discharge], str]) -> list[EddAccuracy]:
    groups: dict[str, list[Discharge]] = defaultdict(list)
    for d in discharges:
        groups[group_of(d)].append(d)
    out = []
    for name, items in groups.items():
        dated = [d for d in items if d.first_edd is not None]
        out.append(
            EddAccuracy(
                group=name,
                discharges=len(items),
                with_edd=len(dated),
                met_first_edd=sum(1 for d in dated if d.discharge_date <= d.first_edd),  # type: ignore[operator]
                drift_days=mean([(d.discharge_date - d.first_edd).days for d in dated]),  # type: ignore[operator]
                changes_per_stay=mean([d.edd_changes for d in dated]),
            )
        )
    out.sort(key=lambda a: a.group.casefold())
    return out


# The 08:00 census: who was where, NCTR, long stays, EDD and CCD -------------------------------


@dataclass
class CensusDay:
    day: date
    patients: int = 0  # in hospital at 08:00 London on a ward in scope
    nctr: int = 0  # ... whose latest review before that day found no criteria to reside
    los: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LONG_STAY_THRESHOLDS, 0))
    with_edd: int = 0  # ... with an EDD set by the end of that day
    with_edd_and_ccd: int = 0  # ... and clinical criteria for discharge recorded
    reviewed: int = 0  # ... with a review dated that day

    @property
    def nctr_percent(self) -> float | None:
        return percent(self.nctr, self.patients)


def census(stays: Iterable[StayFacts], period: Period, ward_ids: Collection[int] | None) -> dict[int, list[CensusDay]]:
    """The 08:00 census for every day of the period, per ward in scope (wards with nobody left out).

    Works per stretch on a ward, not per patient-day: each count is a range of day indexes added at
    once to a difference array (+1 where the range starts, -1 where it stops), summed at the end.
    """
    n = period.length
    instants = [census_instant(day) for day in period.days]
    first = period.date_from.toordinal()
    los_columns = list(enumerate(LONG_STAY_THRESHOLDS, start=4))
    # Per ward: difference arrays for patients, nctr, with_edd, with_edd_and_ccd, then each threshold;
    # and plain daily counts of the patients reviewed.
    counters: dict[int, list[list[int]]] = {}
    reviewed: dict[int, list[int]] = {}

    def add(diff: list[int], lo: int, hi: int) -> None:
        if lo < hi:
            diff[lo] += 1
            diff[hi] -= 1

    for stay in stays:
        admitted_on: int | None = None  # day index of the London admission date
        runs: list[tuple[int, int | None]] = []
        review_days: list[int] = []
        for loc in stay.where:
            if ward_ids is not None and loc.ward_id not in ward_ids:
                continue
            # Census days with started_at <= 08:00 < ended_at.
            lo = bisect_left(instants, loc.started_at)
            hi = n if loc.ended_at is None else bisect_left(instants, loc.ended_at)
            if lo >= hi:
                continue
            diffs = counters.get(loc.ward_id)
            if diffs is None:
                diffs = counters[loc.ward_id] = [[0] * (n + 1) for _ in range(4 + len(LONG_STAY_THRESHOLDS))]
                reviewed[loc.ward_id] = [0] * n
            add(diffs[0], lo, hi)
            if admitted_on is None:
                admitted_on = london_day(stay.admitted_at).toordinal() - first
                runs = [
                    (start.toordinal() - first, None if end is None else end.toordinal() - first)
                    for start, end in nctr_runs(stay.reviews)
                ]
                review_days = [r.review_date.toordinal() - first for r in stay.reviews]
            for column, threshold in los_columns:
                add(diffs[column], max(lo, admitted_on + threshold), hi)
            if stay.first_edd_at is not None:
                edd_from = max(lo, london_day(stay.first_edd_at).toordinal() - first)
                add(diffs[2], edd_from, hi)
                if stay.has_ccd:
                    add(diffs[3], edd_from, hi)
            # NCTR on day D: the latest review before D was NCTR, i.e. D in (run start, run end].
            for run_start, run_end in runs:
                add(diffs[1], max(lo, run_start + 1), hi if run_end is None else min(hi, run_end + 1))
            # Reviewed: a review dated on a census day of this stretch.
            counts = reviewed[loc.ward_id]
            for i in review_days:
                if lo <= i < hi:
                    counts[i] += 1

    days = period.days
    out: dict[int, list[CensusDay]] = {}
    for ward_id, diffs in counters.items():
        totals = [list(accumulate(diff[:n])) for diff in diffs]
        out[ward_id] = [
            CensusDay(
                day=day,
                patients=totals[0][i],
                nctr=totals[1][i],
                los={threshold: totals[column][i] for column, threshold in los_columns},
                with_edd=totals[2][i],
                with_edd_and_ccd=totals[3][i],
                reviewed=reviewed[ward_id][i],
            )
            for i, day in enumerate(days)
        ]
    return out


def census_total(by_ward: Mapping[int, Sequence[CensusDay]], period: Period) -> list[CensusDay]:
    out = [CensusDay(day=day) for day in period.days]
    for days in by_ward.values():
        for total, one in zip(out, days, strict=True):
            total.patients += one.patients
            total.nctr += one.nctr
            total.with_edd += one.with_edd
            total.with_edd_and_ccd += one.with_edd_and_ccd
            total.reviewed += one.reviewed
            for t in LONG_STAY_THRESHOLDS:
                total.los[t] += one.los[t]
    return out


@dataclass(frozen=True)
class CensusSummary:
    days: int
    patient_days: int
    nctr_bed_days: int  # sum of the daily 08:00 NCTR counts
    mean_nctr: float | None
    latest: CensusDay | None  # the last day of the period
    mean_los: dict[int, float | None]  # mean daily count at or over each threshold

    @property
    def nctr_percent(self) -> float | None:
        return percent(self.nctr_bed_days, self.patient_days)


def census_summary(days: Sequence[CensusDay]) -> CensusSummary:
    return CensusSummary(
        days=len(days),
        patient_days=sum(d.patients for d in days),
        nctr_bed_days=sum(d.nctr for d in days),
        mean_nctr=mean([d.nctr for d in days]),
        latest=days[-1] if days else None,
        mean_los={t: mean([d.los[t] for d in days]) for t in LONG_STAY_THRESHOLDS},
    )


# Failed discharges, referrals, board rounds --------------------------------------------------


@dataclass(frozen=True)
class CauseCount:
    code: str
    label: str
    failed_discharges: int  # failed discharges citing the cause
    as_primary: int

    @property
    def key(self) -> str:
        return self.code


def failed_by_cause(
    failed: Iterable[FailedFacts], period: Period, ward_ids: Collection[int] | None, labels: Mapping[str, str]
) -> tuple[int, list[CauseCount]]:
    """(failed discharges planned in the period, causes ranked by how many cite them)."""
    start, end = period.start, period.end
    total = 0
    cited: Counter[str] = Counter()
    primary: Counter[str] = Counter()
    for fd in failed:
        if not (start <= fd.planned_for < end) or not in_scope(fd.ward_id, ward_ids):
            continue
        total += 1
        for code, is_primary in set(fd.causes):
            cited[code] += 1
            primary[code] += is_primary
    rows = [CauseCount(code, labels.get(code, code), cited[code], primary[code]) for code in cited]
    rows.sort(key=lambda c: (-c.failed_discharges, -c.as_primary, c.label.casefold()))
    return total, rows


@dataclass(frozen=True)
class ReferralTimes:
    service: str
    decided: int  # decisions dated in the period
    mean_days: float | None
    median_days: float | None
    longest_days: int | None
    waiting: int  # sent by the end of the period, no decision by then


def referral_times(
    referrals: Iterable[ReferralFacts], period: Period, ward_ids: Collection[int] | None
) -> list[ReferralTimes]:
    """Per service (and "All services" last): days from sent to decision for decisions in the period."""
    decided: dict[str, list[int]] = defaultdict(list)
    waiting: Counter[str] = Counter()
    for ref in referrals:
        if not in_scope(ref.ward_id, ward_ids):
            continue
        service = ref.to_service.strip() or "Not recorded"
        if ref.decision_on is not None and ref.decision_on in period:
            decided[service].append(max(0, (ref.decision_on - ref.sent_on).days))
        elif ref.sent_on <= period.date_to and (ref.decision_on is None or ref.decision_on > period.date_to):
            waiting[service] += 1

    def row(name: str, days: list[int], still: int) -> ReferralTimes:
        return ReferralTimes(name, len(days), mean(days), median(days), max(days) if days else None, still)

    services = sorted(set(decided) | set(waiting), key=str.casefold)
    rows = [row(s, decided[s], waiting[s]) for s in services]
    if rows:
        rows.append(row("All services", [d for s in services for d in decided[s]], sum(waiting.values())))
    return rows


@dataclass(frozen=True)
class Compliance:
    ward_id: int
    ward: str
    patient_days: int  # census patient-days on the ward
    reviewed: int
    with_edd: int
    with_edd_and_ccd: int
    rounds: int  # board rounds started in the period
    started_before_deadline: int  # started before 12:30 London
    median_minutes: float | None  # of rounds that ended

    @property
    def reviewed_percent(self) -> float | None:
        return percent(self.reviewed, self.patient_days)

    @property
    def edd_percent(self) -> float | None:
        return percent(self.with_edd, self.patient_days)

    @property
    def edd_and_ccd_percent(self) -> float | None:
        return percent(self.with_edd_and_ccd, self.patient_days)

    @property
    def on_time_percent(self) -> float | None:
        return percent(self.started_before_deadline, self.rounds)


def round_compliance(
    by_ward: Mapping[int, Sequence[CensusDay]],
    rounds: Iterable[RoundFacts],
    period: Period,
    ward_names: Mapping[int, str],
) -> list[Compliance]:
    """One row per ward in `ward_names` (the wards in scope), by ward name."""
    started: dict[int, list[RoundFacts]] = defaultdict(list)
    for rnd in rounds:
        if rnd.ward_id in ward_names and period.start <= rnd.started_at < period.end:
            started[rnd.ward_id].append(rnd)
    rows = []
    for ward_id, name in ward_names.items():
        days = by_ward.get(ward_id, ())
        mine = started.get(ward_id, [])
        durations = [(r.ended_at - r.started_at).total_seconds() / 60 for r in mine if r.ended_at is not None]
        rows.append(
            Compliance(
                ward_id=ward_id,
                ward=name,
                patient_days=sum(d.patients for d in days),
                reviewed=sum(d.reviewed for d in days),
                with_edd=sum(d.with_edd for d in days),
                with_edd_and_ccd=sum(d.with_edd_and_ccd for d in days),
                rounds=len(mine),
                started_before_deadline=sum(
                    1 for r in mine if _on_london_clock(r.started_at).time() < ROUND_START_DEADLINE
                ),
                median_minutes=median(durations),
            )
        )
    rows.sort(key=lambda c: c.ward.casefold())
    return rows


def compliance_total(rows: Sequence[Compliance], durations: Sequence[float] = ()) -> Compliance:
    return Compliance(
        ward_id=0,
        ward="All wards",
        patient_days=sum(r.patient_days for r in rows),
        reviewed=sum(r.reviewed for r in rows),
        with_edd=sum(r.with_edd for r in rows),
        with_edd_and_ccd=sum(r.with_edd_and_ccd for r in rows),
        rounds=sum(r.rounds for r in rows),
        started_before_deadline=sum(r.started_before_deadline for r in rows),
        median_minutes=median(list(durations)),
    )


def round_durations(rounds: Iterable[RoundFacts], period: Period, ward_ids: Collection[int] | None) -> list[float]:
    return [
        (r.ended_at - r.started_at).total_seconds() / 60
        for r in rounds
        if r.ended_at is not None and period.start <= r.started_at < period.end and in_scope(r.ward_id, ward_ids)
    ]


# The whole report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    period: Period
    ward_names: dict[int, str]  # the wards in scope, id -> name
    discharges: list[Discharge]
    by_day: list[DayDischarges]
    timing: DischargeTiming
    los: LengthOfStay
    delays: DelaySummary
    pathways: list[Share]
    pathway_detail: list[Share]
    destinations: list[Share]
    census_by_ward: dict[int, list[CensusDay]]
    census: list[CensusDay]
    census_summary: CensusSummary
    failed_total: int
    failed_causes: list[CauseCount]
    referrals: list[ReferralTimes]
    edd_by_ward: list[EddAccuracy]
    edd_by_consultant: list[EddAccuracy]
    compliance: list[Compliance]
    compliance_total: Compliance


def build_report(
    *,
    period: Period,
    ward_names: Mapping[int, str],
    stays: Sequence[StayFacts],
    failed: Sequence[FailedFacts],
    referrals: Sequence[ReferralFacts],
    rounds: Sequence[RoundFacts],
    destination_labels: Mapping[str, str],
    cause_labels: Mapping[str, str],
) -> Report:
    scope = set(ward_names)
    discharges, deaths = discharges_in(stays, period, scope)
    by_day = discharges_by_day(discharges, period)
    by_ward = census(stays, period, scope)
    total = census_total(by_ward, period)
    failed_total, causes = failed_by_cause(failed, period, scope, cause_labels)
    compliance = round_compliance(by_ward, rounds, period, ward_names)
    return Report(
        period=period,
        ward_names=dict(ward_names),
        discharges=discharges,
        by_day=by_day,
        timing=discharge_timing(by_day, deaths),
        los=length_of_stay(discharges),
        delays=delay_summary(discharges),
        pathways=pathway_mix(discharges),
        pathway_detail=pathway_detail(discharges),
        destinations=destination_mix(discharges, destination_labels),
        census_by_ward=by_ward,
        census=total,
        census_summary=census_summary(total),
        failed_total=failed_total,
        failed_causes=causes,
        referrals=referral_times(referrals, period, scope),
        edd_by_ward=edd_accuracy(discharges, lambda d: ward_names.get(d.ward_id, str(d.ward_id))),
        edd_by_consultant=edd_accuracy(discharges, lambda d: d.consultant or "Not recorded"),
        compliance=compliance,
        compliance_total=compliance_total(compliance, round_durations(rounds, period, scope)),
    )
