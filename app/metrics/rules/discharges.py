"""Discharges: who left in a period and when, counted per ward's day so any set of days adds up;
length of stay, delays from the discharge ready date, pathway and destination mixes, and the
accuracy of expected discharge dates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from app.core import codes
from app.core.clock import is_before_midday, london_date, midnights_since
from app.core.long_stay import LONG_STAY_THRESHOLDS
from app.metrics.rules.facts import StayFacts
from app.metrics.rules.period import Period, in_scope, percent
from app.metrics.rules.readiness import DELAY_BANDS, delay_band, discharge_ready_date

DIED = codes.DESTINATION_DIED  # deaths are counted apart from discharges
CANCELLED = codes.DESTINATION_NOT_APPLICABLE  # a cancelled admission: neither discharge nor death
NOT_DISCHARGES = (DIED, CANCELLED)

PATHWAY_GROUPS = (
    ("0-1", "Pathway 0 or 1 (home)"),
    ("2-3", "Pathway 2 or 3 (bed-based care)"),
    ("none", "Not recorded"),
)


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


def departures(
    stays: Iterable[StayFacts], period: Period, ward_ids: Collection[int] | None
) -> Iterator[tuple[StayFacts, datetime]]:
    """Stays that left a ward in scope during the period (cancelled admissions left out), each with
    the time it left."""
    start, end = period.start, period.end
    for stay in stays:
        left = stay.discharged_at
        if left is None or not (start <= left < end) or not in_scope(stay.ward_id, ward_ids):
            continue
        if stay.destination_code == CANCELLED:
            continue
        yield stay, left


def discharge(stay: StayFacts, left: datetime) -> Discharge:
    """The figures of a stay that ended at `left`."""
    day = london_date(left)
    drd = discharge_ready_date(stay.reviews, up_to=day)
    return Discharge(
        stay_id=stay.id,
        ward_id=stay.ward_id,
        discharged_at=left,
        discharge_date=day,
        before_midday=is_before_midday(left),
        length_of_stay=midnights_since(stay.admitted_at, day),
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
    for stay, left in departures(stays, period, ward_ids):
        if stay.destination_code == DIED:
            deaths += 1
        else:
            out.append(discharge(stay, left))
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
