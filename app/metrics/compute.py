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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from itertools import accumulate
from typing import NamedTuple

from app.core import codes
from app.core.clock import LONDON, london_start_of_day

CENSUS_TIME = time(8, 0)  # the daily snapshot, London clock
MIDDAY = time(12, 0)
ROUND_START_DEADLINE = time(12, 30)  # "round started before 12:30"
DIED = codes.DESTINATION_DIED  # deaths are counted apart from discharges
CANCELLED = codes.DESTINATION_NOT_APPLICABLE  # a cancelled admission: neither discharge nor death
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


def _departures(
    stays: Iterable[StayFacts], period: Period, ward_ids: Collection[int] | None
) -> Iterator[tuple[StayFacts, datetime]]:
    """Stays that left a ward in scope during the period (cancelled admissions left out), each with
    its discharge time on the London clock."""
    start, end = period.start, period.end
    for stay in stays:
        left = stay.discharged_at
        if left is None or not (start <= left < end) or not in_scope(stay.ward_id, ward_ids):
            continue
        if stay.destination_code == CANCELLED:
            continue
        yield stay, _on_london_clock(left)


def _discharge(stay: StayFacts, local: datetime) -> Discharge:
    day = local.date()
    drd = discharge_ready_date(stay.reviews, up_to=day)
    return Discharge(
        stay_id=stay.id,
        ward_id=stay.ward_id,
        discharged_at=stay.discharged_at,  # type: ignore[arg-type]
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


def discharges_in(
    stays: Iterable[StayFacts], period: Period, ward_ids: Collection[int] | None
) -> tuple[list[Discharge], int]:
    """(discharges in the period from wards in scope, deaths in the period on those wards)."""
    out: list[Discharge] = []
    deaths = 0
    for stay, local in _departures(stays, period, ward_ids):
        if stay.destination_code == DIED:
            deaths += 1
        else:
            out.append(_discharge(stay, local))
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


# Discharge counts: the discharges of a ward's day, or of any sum of days ----------------------


class EddSums(NamedTuple):
    """EDD accuracy as sums, so any set of them adds up (means are taken at the end)."""

    discharges: int = 0
    with_edd: int = 0  # discharges whose stay had an EDD
    met_first_edd: int = 0  # ... discharged on or before the first one
    drift_days: int = 0  # sum of (discharge date - first EDD) over those with an EDD
    edd_changes: int = 0  # sum of EDD changes after the first, over those with an EDD

    def __add__(self, other: object) -> EddSums:  # type: ignore[override]
        if not isinstance(other, EddSums):
            return NotImplemented
        return EddSums(*(a + b for a, b in zip(self, other, strict=True)))

    @classmethod
    def of(cls, d: Discharge) -> EddSums:
        if d.first_edd is None:
            return cls(1)
        drift = (d.discharge_date - d.first_edd).days
        return cls(1, 1, int(drift <= 0), drift, d.edd_changes)


@dataclass
class DischargeCounts:
    """Discharges (and deaths) as counts only: what one ward's day stores, and what a period adds up.

    Every discharge metric is a sum of these; length of stay is kept as a histogram (midnights ->
    discharges) so the median of any period stays exact.
    """

    discharges: int = 0
    before_midday: int = 0
    deaths: int = 0
    with_drd: int = 0
    bed_days_lost: int = 0  # sum of the DRD-to-discharge delays
    los: Counter[int] = field(default_factory=Counter)
    bands: Counter[str] = field(default_factory=Counter)  # delay band -> discharges with a DRD
    pathways: Counter[str] = field(default_factory=Counter)  # "0".."3", "none" when not recorded
    destinations: Counter[str] = field(default_factory=Counter)  # code, "" when not recorded
    edd: dict[str, EddSums] = field(default_factory=dict)  # consultant ("" not recorded) -> sums

    def add(self, d: Discharge) -> None:
        self.discharges += 1
        self.before_midday += d.before_midday
        self.los[d.length_of_stay] += 1
        if d.delay_days is not None:
            self.with_drd += 1
            self.bed_days_lost += d.delay_days
            self.bands[delay_band(d.delay_days)] += 1
        self.pathways["none" if d.pathway is None else str(d.pathway)] += 1
        self.destinations[d.destination_code or ""] += 1
        self.edd[d.consultant] = self.edd.get(d.consultant, EddSums()) + EddSums.of(d)

    def merge(self, other: DischargeCounts) -> None:
        self.discharges += other.discharges
        self.before_midday += other.before_midday
        self.deaths += other.deaths
        self.with_drd += other.with_drd
        self.bed_days_lost += other.bed_days_lost
        self.los.update(other.los)
        self.bands.update(other.bands)
        self.pathways.update(other.pathways)
        self.destinations.update(other.destinations)
        for consultant, sums in other.edd.items():
            self.edd[consultant] = self.edd.get(consultant, EddSums()) + sums

    def edd_total(self) -> EddSums:
        return sum(self.edd.values(), EddSums())

    @classmethod
    def of(cls, discharges: Iterable[Discharge]) -> DischargeCounts:
        counts = cls()
        for d in discharges:
            counts.add(d)
        return counts


def median_of_counts(counts: Mapping[int, int]) -> float | None:
    """The median of a histogram (value -> how many), as statistics.median of the values would be."""
    n = sum(counts.values())
    if not n:
        return None
    low_rank, high_rank = (n - 1) // 2, n // 2
    seen = 0
    low: int | None = None
    for value in sorted(counts):
        seen += counts[value]
        if low is None and seen > low_rank:
            low = value
        if seen > high_rank:
            return low if low == value else (low + value) / 2  # type: ignore[operator]
    raise AssertionError("unreachable: the ranks are below the total")


@dataclass(frozen=True)
class LengthOfStay:
    discharges: int
    mean: float | None
    median: float | None
    over: dict[int, int]  # threshold -> discharges with LOS at or over it


def length_of_stay_of(counts: DischargeCounts) -> LengthOfStay:
    los = +counts.los  # positive counts only
    n = sum(los.values())
    return LengthOfStay(
        discharges=n,
        mean=sum(v * c for v, c in los.items()) / n if n else None,
        median=median_of_counts(los),
        over={t: sum(c for v, c in los.items() if v >= t) for t in LONG_STAY_THRESHOLDS},
    )


def length_of_stay(discharges: Sequence[Discharge]) -> LengthOfStay:
    return length_of_stay_of(DischargeCounts.of(discharges))


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


def delay_summary_of(counts: DischargeCounts) -> DelaySummary:
    return DelaySummary(
        discharges=counts.discharges,
        with_drd=counts.with_drd,
        bands={label: counts.bands.get(label, 0) for label, _, _ in DELAY_BANDS},
        bed_days_lost=counts.bed_days_lost,
    )


@dataclass(frozen=True)
class Share:
    key: str
    label: str
    count: int
    percent: float | None


def _shares(counts: Mapping[str, int], labels: Mapping[str, str], order: Sequence[str] | None = None) -> list[Share]:
    counts = {k: c for k, c in counts.items() if c}
    total = sum(counts.values())
    keys = list(order) if order is not None else sorted(counts, key=lambda k: (-counts[k], labels.get(k, k)))
    return [Share(k, labels.get(k, k), counts.get(k, 0), percent(counts.get(k, 0), total)) for k in keys]


def pathway_group(pathway: int | None) -> str:
    if pathway is None:
        return "none"
    return "0-1" if pathway <= 1 else "2-3"


def pathway_mix_of(counts: DischargeCounts) -> list[Share]:
    groups: Counter[str] = Counter()
    for key, n in counts.pathways.items():
        groups[pathway_group(None if key == "none" else int(key))] += n
    return _shares(groups, dict(PATHWAY_GROUPS), [k for k, _ in PATHWAY_GROUPS])


def pathway_detail_of(counts: DischargeCounts) -> list[Share]:
    labels = {str(p): f"Pathway {p}" for p in range(4)} | {"none": "Not recorded"}
    return _shares(counts.pathways, labels, ["0", "1", "2", "3", "none"])


def destination_mix_of(counts: DischargeCounts, labels: Mapping[str, str]) -> list[Share]:
    return _shares(counts.destinations, dict(labels) | {"": "Not recorded"})


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


def edd_accuracy_of(groups: Mapping[str, EddSums]) -> list[EddAccuracy]:
    """One row per group with discharges, by name."""
    out = [
        EddAccuracy(
            group=name,
            discharges=s.discharges,
            with_edd=s.with_edd,
            met_first_edd=s.met_first_edd,
            drift_days=s.drift_days / s.with_edd if s.with_edd else None,
            changes_per_stay=s.edd_changes / s.with_edd if s.with_edd else None,
        )
        for name, s in groups.items()
        if s.discharges
    ]
    out.sort(key=lambda a: a.group.casefold())
    return out


def edd_accuracy(discharges: Iterable[Discharge], group_of: Callable[[Discharge], str]) -> list[EddAccuracy]:
    groups: dict[str, EddSums] = {}
    for d in discharges:
        name = group_of(d)
        groups[name] = groups.get(name, EddSums()) + EddSums.of(d)
    return edd_accuracy_of(groups)


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

    def add(self, other: CensusDay) -> None:
        self.patients += other.patients
        self.nctr += other.nctr
        self.with_edd += other.with_edd
        self.with_edd_and_ccd += other.with_edd_and_ccd
        self.reviewed += other.reviewed
        for t in LONG_STAY_THRESHOLDS:
            self.los[t] += other.los[t]


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


@dataclass
class RoundCounts:
    """Board rounds as counts (by the London day they started): how many, how many started before
    12:30, and the lengths of those that ended, in whole minutes (a histogram, so medians stay exact)."""

    started: int = 0
    on_time: int = 0
    minutes: Counter[int] = field(default_factory=Counter)

    def add(self, rnd: RoundFacts) -> None:
        self.started += 1
        self.on_time += _on_london_clock(rnd.started_at).time() < ROUND_START_DEADLINE
        if rnd.ended_at is not None:
            self.minutes[round_minutes(rnd)] += 1

    def merge(self, other: RoundCounts) -> None:
        self.started += other.started
        self.on_time += other.on_time
        self.minutes.update(other.minutes)


def round_minutes(rnd: RoundFacts) -> int:
    """A round's length to the nearest whole minute (half a minute rounds up)."""
    return int(((rnd.ended_at - rnd.started_at).total_seconds() + 30) // 60)  # type: ignore[operator]


def round_counts(
    rounds: Iterable[RoundFacts], period: Period, ward_ids: Collection[int]
) -> dict[int, list[RoundCounts]]:
    """Per ward in scope, per day of the period: the rounds started that day."""
    out = {ward_id: [RoundCounts() for _ in range(period.length)] for ward_id in ward_ids}
    for rnd in rounds:
        if rnd.ward_id in out and period.start <= rnd.started_at < period.end:
            out[rnd.ward_id][period.index(london_day(rnd.started_at))].add(rnd)
    return out


def _compliance(ward_id: int, name: str, totals: WardTotals) -> Compliance:
    return Compliance(
        ward_id=ward_id,
        ward=name,
        patient_days=totals.patient_days,
        reviewed=totals.reviewed,
        with_edd=totals.with_edd,
        with_edd_and_ccd=totals.with_edd_and_ccd,
        rounds=totals.rounds.started,
        started_before_deadline=totals.rounds.on_time,
        median_minutes=median_of_counts(totals.rounds.minutes),
    )


def round_compliance(by_ward: Mapping[int, WardTotals], ward_names: Mapping[int, str]) -> list[Compliance]:
    """One row per ward in `ward_names` (the wards in scope), by ward name."""
    rows = [_compliance(w, name, by_ward.get(w) or WardTotals()) for w, name in ward_names.items()]
    rows.sort(key=lambda c: c.ward.casefold())
    return rows


def compliance_total(by_ward: Mapping[int, WardTotals], ward_ids: Collection[int]) -> Compliance:
    total = WardTotals()
    for ward_id in ward_ids:
        total.add(by_ward.get(ward_id) or WardTotals())
    return _compliance(0, "All wards", total)


# One ward's day, and the figures a report adds up ------------------------------------------


@dataclass
class WardDay:
    """One ward's London day: its 08:00 census and the discharges and deaths from it that day."""

    census: CensusDay
    out: DischargeCounts = field(default_factory=DischargeCounts)
    rounds: RoundCounts = field(default_factory=RoundCounts)


def ward_days(
    stays: Sequence[StayFacts], rounds: Sequence[RoundFacts], period: Period, ward_ids: Collection[int]
) -> dict[int, list[WardDay]]:
    """Every ward in `ward_ids`, every day of the period, worked out from the facts."""
    by_ward = census(stays, period, ward_ids)
    by_ward_rounds = round_counts(rounds, period, ward_ids)
    days = period.days
    out = {
        ward_id: [
            WardDay(c, rounds=r)
            for c, r in zip(
                by_ward.get(ward_id) or [CensusDay(day=day) for day in days], by_ward_rounds[ward_id], strict=True
            )
        ]
        for ward_id in ward_ids
    }
    for stay, local in _departures(stays, period, ward_ids):
        counts = out[stay.ward_id][period.index(local.date())].out
        if stay.destination_code == DIED:
            counts.deaths += 1
        else:
            counts.add(_discharge(stay, local))
    return out


@dataclass
class WardTotals:
    """One ward's sums over a period: census patient-days (for compliance) and its discharges' EDD sums."""

    patient_days: int = 0
    reviewed: int = 0
    with_edd: int = 0
    with_edd_and_ccd: int = 0
    edd: EddSums = EddSums()
    rounds: RoundCounts = field(default_factory=RoundCounts)

    def add_day(self, day: WardDay) -> None:
        self.patient_days += day.census.patients
        self.reviewed += day.census.reviewed
        self.with_edd += day.census.with_edd
        self.with_edd_and_ccd += day.census.with_edd_and_ccd
        self.rounds.merge(day.rounds)

    def add(self, other: WardTotals) -> None:
        self.patient_days += other.patient_days
        self.reviewed += other.reviewed
        self.with_edd += other.with_edd
        self.with_edd_and_ccd += other.with_edd_and_ccd
        self.edd = self.edd + other.edd
        self.rounds.merge(other.rounds)


@dataclass
class Figures:
    """What a report adds up for some wards over a period: per day (summed over the wards), per
    ward (summed over the days) and the discharge counts of the whole. Built from worked-out ward
    days (`of`) or read as sums from the stored ones (app.metrics.ward_days); `add` joins the two."""

    period: Period
    census: list[CensusDay]
    discharges: list[int]  # per day
    before_midday: list[int]  # per day
    wards: dict[int, WardTotals]
    out: DischargeCounts

    @classmethod
    def empty(cls, period: Period, ward_ids: Iterable[int]) -> Figures:
        n = period.length
        return cls(
            period, [CensusDay(day) for day in period.days], [0] * n, [0] * n,
            {w: WardTotals() for w in ward_ids}, DischargeCounts(),
        )  # fmt: skip

    @classmethod
    def of(cls, period: Period, days: Mapping[int, Sequence[WardDay]]) -> Figures:
        """From ward days covering the period, or the days from `period.date_from` on (the rest zero)."""
        figures = cls.empty(period, days)
        for ward_id, items in days.items():
            ward = figures.wards[ward_id]
            ward_out = DischargeCounts()
            for wd in items:
                i = period.index(wd.census.day)
                figures.census[i].add(wd.census)
                figures.discharges[i] += wd.out.discharges
                figures.before_midday[i] += wd.out.before_midday
                ward.add_day(wd)
                ward_out.merge(wd.out)
            ward.edd = ward.edd + ward_out.edd_total()
            figures.out.merge(ward_out)
        return figures

    def add(self, other: Figures) -> None:
        """Add figures over the same period (and wards) for other days."""
        for mine, theirs in zip(self.census, other.census, strict=True):
            mine.add(theirs)
        self.discharges = [a + b for a, b in zip(self.discharges, other.discharges, strict=True)]
        self.before_midday = [a + b for a, b in zip(self.before_midday, other.before_midday, strict=True)]
        for ward_id, theirs in other.wards.items():
            self.wards.setdefault(ward_id, WardTotals()).add(theirs)
        self.out.merge(other.out)


# The whole report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    period: Period
    ward_names: dict[int, str]  # the wards in scope, id -> name
    by_day: list[DayDischarges]
    timing: DischargeTiming
    los: LengthOfStay
    delays: DelaySummary
    pathways: list[Share]
    pathway_detail: list[Share]
    destinations: list[Share]
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
    ward_names: Mapping[int, str],
    figures: Figures,
    failed: Sequence[FailedFacts],
    referrals: Sequence[ReferralFacts],
    destination_labels: Mapping[str, str],
    cause_labels: Mapping[str, str],
) -> Report:
    """The report from the figures of the wards in scope (stored or worked out live:
    app.metrics.ward_days) and the few facts not kept per day."""
    period, total = figures.period, figures.out
    scope = set(ward_names)
    by_day = [
        DayDischarges(day, n, early)
        for day, n, early in zip(period.days, figures.discharges, figures.before_midday, strict=True)
    ]
    by_ward_edd = {ward_names.get(w, str(w)): t.edd for w, t in figures.wards.items() if w in scope}
    by_consultant: dict[str, EddSums] = {}
    for consultant, sums in total.edd.items():
        name = consultant or "Not recorded"
        by_consultant[name] = by_consultant.get(name, EddSums()) + sums
    failed_total, causes = failed_by_cause(failed, period, scope, cause_labels)
    compliance = round_compliance(figures.wards, ward_names)
    return Report(
        period=period,
        ward_names=dict(ward_names),
        by_day=by_day,
        timing=discharge_timing(by_day, total.deaths),
        los=length_of_stay_of(total),
        delays=delay_summary_of(total),
        pathways=pathway_mix_of(total),
        pathway_detail=pathway_detail_of(total),
        destinations=destination_mix_of(total, destination_labels),
        census=figures.census,
        census_summary=census_summary(figures.census),
        failed_total=failed_total,
        failed_causes=causes,
        referrals=referral_times(referrals, period, scope),
        edd_by_ward=edd_accuracy_of(by_ward_edd),
        edd_by_consultant=edd_accuracy_of(by_consultant),
        compliance=compliance,
        compliance_total=compliance_total(figures.wards, scope),
    )
