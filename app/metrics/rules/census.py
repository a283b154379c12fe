"""The 08:00 census: who was where, NCTR, long stays, EDD and CCD."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate

from app.core.clock import london_date
from app.core.long_stay import LONG_STAY_THRESHOLDS
from app.metrics.rules.facts import StayFacts
from app.metrics.rules.period import Period, census_instant, mean, percent
from app.metrics.rules.readiness import nctr_runs


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
                admitted_on = london_date(stay.admitted_at).toordinal() - first
                runs = [
                    (start.toordinal() - first, None if end is None else end.toordinal() - first)
                    for start, end in nctr_runs(stay.reviews)
                ]
                review_days = [r.review_date.toordinal() - first for r in stay.reviews]
            for column, threshold in los_columns:
                add(diffs[column], max(lo, admitted_on + threshold), hi)
            if stay.first_edd_at is not None:
                edd_from = max(lo, london_date(stay.first_edd_at).toordinal() - first)
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
