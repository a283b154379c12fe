"""The whole report over a period: the figures, plus failed discharges, referrals and board-round
compliance, which are worked out for the period as a whole."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from math import ceil

from app.discharges.causes import CauseCount, ranked
from app.metrics.rules.census import CensusDay, CensusSummary, census_summary
from app.metrics.rules.discharges import (
    DayDischarges,
    DelaySummary,
    DischargeTiming,
    EddAccuracy,
    EddSums,
    LengthOfStay,
    Share,
    delay_summary_of,
    destination_mix_of,
    discharge_timing,
    edd_accuracy_of,
    length_of_stay_of,
    median_of_counts,
    pathway_detail_of,
    pathway_mix_of,
)
from app.metrics.rules.facts import FailedFacts, ReferralFacts
from app.metrics.rules.figures import Figures, WardTotals
from app.metrics.rules.period import Period, in_scope, median, percent


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
    return total, ranked(CauseCount(code, labels.get(code, code), cited[code], primary[code]) for code in cited)


@dataclass(frozen=True)
class ReferralTimes:
    """Hours from sending a referral to the service's decision and to its assessment, for the
    decisions (and assessments) made in the period; median and 90th centile (nearest rank)."""

    service: str
    decided: int  # decisions made in the period
    decision_median_hours: float | None
    decision_p90_hours: float | None
    assessed: int  # assessments made in the period
    assessment_median_hours: float | None
    assessment_p90_hours: float | None
    waiting: int  # sent by the end of the period, no decision by then


def centile(values: Sequence[float], pct: int) -> float | None:
    """The nearest-rank centile: the smallest value with at least `pct`% of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, ceil(pct * len(ordered) / 100) - 1)]


def _hours(start: datetime, end: datetime) -> float:
    return round(max(0.0, (end - start).total_seconds() / 3600), 1)


def referral_times(
    referrals: Iterable[ReferralFacts], period: Period, ward_ids: Collection[int] | None
) -> list[ReferralTimes]:
    """Per service (and "All services" last): referral to decision and referral to assessment, in hours."""
    decided: dict[str, list[float]] = defaultdict(list)
    assessed: dict[str, list[float]] = defaultdict(list)
    waiting: Counter[str] = Counter()
    for ref in referrals:
        if not in_scope(ref.ward_id, ward_ids):
            continue
        service = ref.service.strip() or "Not recorded"
        if ref.decided_at is not None and period.start <= ref.decided_at < period.end:
            decided[service].append(_hours(ref.sent_at, ref.decided_at))
        elif ref.sent_at < period.end and (ref.decided_at is None or ref.decided_at >= period.end):
            waiting[service] += 1
        if ref.assessed_at is not None and period.start <= ref.assessed_at < period.end:
            assessed[service].append(_hours(ref.sent_at, ref.assessed_at))

    def row(name: str, to_decision: list[float], to_assessment: list[float], still: int) -> ReferralTimes:
        return ReferralTimes(
            name,
            len(to_decision),
            median(to_decision),
            centile(to_decision, 90),
            len(to_assessment),
            median(to_assessment),
            centile(to_assessment, 90),
            still,
        )

    services = sorted(set(decided) | set(assessed) | set(waiting), key=str.casefold)
    rows = [row(s, decided[s], assessed[s], waiting[s]) for s in services]
    if rows:
        every = [d for s in services for d in decided[s]]
        rows.append(row("All services", every, [a for s in services for a in assessed[s]], sum(waiting.values())))
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
    app.metrics.stored.ward_days) and the few facts not kept per day."""
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
