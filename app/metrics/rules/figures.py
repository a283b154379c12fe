"""One ward's day of figures (what app.metrics.stored keeps), and the figures a report adds up."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from app.core.clock import london_date
from app.metrics.rules.census import CensusDay, census
from app.metrics.rules.discharges import DIED, DischargeCounts, EddSums, departures, discharge
from app.metrics.rules.facts import RoundFacts, StayFacts
from app.metrics.rules.period import Period
from app.metrics.rules.rounds import RoundCounts, round_counts


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
    for stay, left in departures(stays, period, ward_ids):
        counts = out[stay.ward_id][period.index(london_date(left))].out
        if stay.destination_code == DIED:
            counts.deaths += 1
        else:
            counts.add(discharge(stay, left))
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
    days (`of`) or read as sums from the stored ones (app.metrics.stored.ward_days); `add` joins the two."""

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
