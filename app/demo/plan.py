"""Plan the demo hospital in memory: beds, who occupied them when, and how each stay went.

Pure Python driven by one `random.Random`, so a seed and a `now` give the same plan every time.
Each bed's timeline is drawn backwards from `now` (occupied at `now` with the target
probability, then earlier stays separated by turnaround gaps), which fixes current occupancy
exactly and gives a realistic length-biased mix of current lengths of stay. Some acute medical
unit stays are then joined to a base-ward arrival that starts while the AMU bed is empty: that
pair is one stay with a transfer.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from app.core.clock import london_at, london_date, london_start_of_day
from app.demo import data
from app.demo.data import WardTemplate

OCCUPANCY = 0.9
MAX_LOS = 120
TRANSFER_SHARE = 0.65  # AMU stays that move on to a base ward

# Relative weights by London hour (0-23).
ADMISSION_HOURS = (3, 2, 2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 8, 8, 7, 6, 5, 4)
DISCHARGE_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 7, 10, 11, 12, 12, 12, 11, 9, 7, 5, 3, 2, 1, 0)


def at_london(day: date, hour: int, minute: int = 0) -> datetime:
    return london_at(day, time(hour, minute))


@dataclass
class WardPlan:
    idx: int
    template: WardTemplate
    consultants: tuple[str, ...]
    beds: list[BedPlan] = field(default_factory=list)
    id: int | None = None

    @property
    def is_amu(self) -> bool:
        return self.template.code == data.ACUTE_MEDICAL_UNIT.code


@dataclass
class BedPlan:
    idx: int
    ward: WardPlan
    label: str
    sort_order: int
    is_escalation: bool = False
    opened_at: datetime | None = None  # escalation beds are opened during the history
    closed_at: datetime | None = None  # a few beds are closed near the end
    id: int | None = None


@dataclass
class Segment:
    bed: BedPlan
    start: datetime
    end: datetime | None  # None: still in this bed at `now`
    limit: datetime  # the bed is free until here (next occupant, closure or `now`)
    planned_end: datetime | None = None  # for a current stay: when it is expected to end
    stay: StayPlan | None = None


@dataclass
class Day:
    meets: bool
    delay_reason: str | None = None


@dataclass
class StayPlan:
    idx: int
    segments: list[Segment]
    admitted_at: datetime
    discharged_at: datetime | None  # None: in hospital at `now`
    planned_end: datetime  # the discharge moment, in the future for current stays
    patient: int = -1
    pathway: int | None = None
    destination: str = "19"
    died: bool = False
    nctr_start: date | None = None
    relapse_days: frozenset[date] = frozenset()
    delay_reasons: tuple[str, ...] = ()
    failed_on: date | None = None
    escalate: bool = False

    @property
    def admitted_on(self) -> date:
        return london_date(self.admitted_at)

    @property
    def planned_end_on(self) -> date:
        return london_date(self.planned_end)

    @property
    def midnights(self) -> int:
        return (self.planned_end_on - self.admitted_on).days

    def day(self, day: date) -> Day:
        """Criteria-to-reside state on a London date (the plan, known for future days too)."""
        if self.nctr_start is None or day < self.nctr_start or day in self.relapse_days:
            return Day(meets=True)
        span = (self.planned_end_on - self.nctr_start).days + 1
        step = min(len(self.delay_reasons) - 1, (day - self.nctr_start).days * len(self.delay_reasons) // span)
        return Day(meets=False, delay_reason=self.delay_reasons[step])


@dataclass
class PatientPlan:
    idx: int
    nhs_number: str
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    last_discharge: datetime | None = None


@dataclass
class HospitalPlan:
    now: datetime
    window_start: datetime
    wards: list[WardPlan]
    stays: list[StayPlan]
    patients: list[PatientPlan]

    @property
    def beds(self) -> list[BedPlan]:
        return [b for w in self.wards for b in w.beds]


def weighted_hour(rng: random.Random, weights: tuple[int, ...]) -> tuple[int, int]:
    hour = rng.choices(range(24), weights=weights)[0]
    return hour, rng.randrange(60)


def sample_los(rng: random.Random, template: WardTemplate) -> int:
    """Midnights: lognormal around the specialty median, rounded, capped."""
    return min(MAX_LOS, round(template.los_median * math.exp(rng.gauss(0, template.los_sigma))))


def sample_current_los(rng: random.Random, template: WardTemplate) -> int:
    """Total planned LOS of someone in a bed now: length-biased (long stays hold beds longer)."""
    while True:
        los = sample_los(rng, template)
        if rng.random() < (los + 1) / (MAX_LOS + 1):
            return los


def ward_templates(count: int) -> list[WardTemplate]:
    templates = [data.ACUTE_MEDICAL_UNIT, *data.BASE_WARDS[: max(0, count - 1)]]
    number = 30
    extra = 0
    while len(templates) < count:
        name, specialty, median, sigma, criteria = data.EXTRA_SPECIALTIES[extra % len(data.EXTRA_SPECIALTIES)]
        number += 1 if number % 2 == 0 else 2
        templates.append(WardTemplate(f"W{number:02d}", f"Ward {number} {name}", specialty, median, sigma, criteria))
        extra += 1
    return templates


def bed_labels(count: int) -> list[str]:
    """Bays of six (A1..A6, B1..) and side rooms (SR1..) for the last few beds."""
    side_rooms = max(2, count // 7)
    bay_beds = count - side_rooms
    labels = [f"{chr(ord('A') + i // 6)}{i % 6 + 1}" for i in range(bay_beds)]
    return labels + [f"SR{i + 1}" for i in range(side_rooms)]


class Planner:
    def __init__(
        self,
        rng: random.Random,
        *,
        now: datetime,
        wards: int,
        beds_per_ward: tuple[int, int],
        days_history: int,
    ) -> None:
        self.rng = rng
        self.now = now
        self.today = london_date(now)
        self.window_start = london_start_of_day(self.today - timedelta(days=days_history))
        self.ward_count = wards
        self.beds_per_ward = beds_per_ward

    # -- places -------------------------------------------------------------------------

    def plan_wards(self) -> list[WardPlan]:
        rng = self.rng
        wards: list[WardPlan] = []
        bed_idx = 0
        for idx, template in enumerate(ward_templates(self.ward_count)):
            consultants = tuple(rng.sample(data.CONSULTANT_NAMES, 3))
            ward = WardPlan(idx=idx, template=template, consultants=consultants)
            count = rng.randint(*self.beds_per_ward)
            for order, label in enumerate(bed_labels(count)):
                ward.beds.append(BedPlan(idx=bed_idx, ward=ward, label=label, sort_order=order))
                bed_idx += 1
            wards.append(ward)
        # A couple of closed beds, and an escalation bed opened under pressure on some wards.
        days = (self.now - self.window_start).days
        for ward in rng.sample(wards, min(2, len(wards))):
            bed = rng.choice(ward.beds)
            bed.closed_at = self.now - timedelta(hours=rng.uniform(6, 24 * max(1, min(8, days // 2))))
        for ward in wards:
            if rng.random() < 0.35:
                opened = self.now - timedelta(days=rng.uniform(min(3, days / 2), min(20, days * 0.8)))
                ward.beds.append(
                    BedPlan(
                        idx=bed_idx,
                        ward=ward,
                        label="ESC1",
                        sort_order=len(ward.beds),
                        is_escalation=True,
                        opened_at=max(opened, self.window_start + timedelta(hours=2)),
                    )
                )
                bed_idx += 1
        return wards

    # -- bed timelines ------------------------------------------------------------------

    def _discharge_before(self, latest: datetime) -> datetime:
        rng = self.rng
        hour, minute = weighted_hour(rng, DISCHARGE_HOURS)
        day = london_date(latest)
        moment = at_london(day, hour, minute)
        if moment > latest:
            day -= timedelta(days=1)
            moment = at_london(day, hour, minute)
        # Fewer discharges at weekends: some are brought forward to Friday afternoon.
        if day.weekday() >= 5 and rng.random() < 0.25:
            day -= timedelta(days=day.weekday() - 4)
            moment = at_london(day, rng.randint(14, 18), rng.randrange(60))
        return moment

    def _admission_for(self, discharge: datetime, los: int) -> datetime:
        rng = self.rng
        day = london_date(discharge) - timedelta(days=los)
        hour, minute = weighted_hour(rng, ADMISSION_HOURS)
        admitted = at_london(day, hour, minute)
        if admitted > discharge - timedelta(hours=2):
            admitted = discharge - timedelta(hours=rng.uniform(2, 8))
        return admitted

    def plan_bed(self, bed: BedPlan) -> list[Segment]:
        rng = self.rng
        template = bed.ward.template
        segments: list[Segment] = []
        earliest = bed.opened_at + timedelta(hours=1) if bed.opened_at else None
        if bed.closed_at is not None:
            limit = bed.closed_at
            next_start = bed.closed_at - timedelta(hours=rng.uniform(1, 3))
        elif rng.random() < OCCUPANCY:
            total = sample_current_los(rng, template)
            elapsed = rng.randint(0, total)
            day = self.today - timedelta(days=elapsed)
            hour, minute = weighted_hour(rng, ADMISSION_HOURS)
            admitted = at_london(day, hour, minute)
            if admitted > self.now - timedelta(minutes=20):
                admitted = self.now - timedelta(hours=rng.uniform(0.4, 10))
            if earliest and admitted < earliest:
                admitted = earliest + timedelta(hours=rng.uniform(0, 6))
                admitted = min(admitted, self.now - timedelta(minutes=30))
            planned_day = london_date(admitted) + timedelta(days=total)
            hour, minute = weighted_hour(rng, DISCHARGE_HOURS)
            planned = at_london(planned_day, hour, minute)
            while planned <= self.now + timedelta(hours=1):
                planned += timedelta(days=1)
            segments.append(Segment(bed=bed, start=admitted, end=None, limit=self.now, planned_end=planned))
            limit = admitted
            next_start = admitted
        else:
            limit = self.now
            next_start = self.now - timedelta(hours=rng.uniform(0, 8))
        while True:
            gap = max(0.75, 3 * math.exp(rng.gauss(0, 1.0)))
            discharge = self._discharge_before(next_start - timedelta(hours=gap))
            if discharge <= self.window_start + timedelta(hours=3):
                break
            if earliest and discharge <= earliest + timedelta(hours=6):
                break
            admitted = self._admission_for(discharge, sample_los(rng, template))
            if earliest and admitted < earliest:
                admitted = earliest + timedelta(hours=rng.uniform(0, 3))
            segments.append(Segment(bed=bed, start=admitted, end=discharge, limit=limit))
            limit = admitted
            if admitted < self.window_start or (earliest and admitted <= earliest + timedelta(hours=3)):
                break
            next_start = admitted
        segments.reverse()
        return segments

    # -- stays --------------------------------------------------------------------------

    def join_transfers(self, segments: list[Segment]) -> list[list[Segment]]:
        """One stay per segment, except AMU segments joined to a base-ward arrival."""
        rng = self.rng
        after_go_live = self.window_start + timedelta(hours=2)
        arrivals = sorted(
            (s for s in segments if not s.bed.ward.is_amu and s.start >= after_go_live),
            key=lambda s: (s.start, s.bed.idx),
        )
        starts = [s.start for s in arrivals]
        taken = [False] * len(arrivals)
        joined: set[int] = set()
        stays: list[list[Segment]] = []
        for seg in segments:
            if id(seg) in joined:
                continue
            if seg.bed.ward.is_amu and seg.end is not None and rng.random() < TRANSFER_SHARE:
                low = max(seg.end, after_go_live)
                high = min(seg.limit - timedelta(minutes=45), self.now - timedelta(minutes=10))
                i = bisect.bisect_left(starts, low)
                while i < len(arrivals) and starts[i] <= high and taken[i]:
                    i += 1
                if i < len(arrivals) and starts[i] <= high:
                    taken[i] = True
                    other = arrivals[i]
                    joined.add(id(other))
                    seg.end = other.start
                    stays.append([seg, other])
                    continue
            stays.append([seg])
        return stays

    def _pathway(self, los: int) -> int:
        if los <= 3:
            weights = (93, 5, 1.5, 0.5)
        elif los <= 9:
            weights = (76, 15, 6, 3)
        elif los <= 20:
            weights = (52, 25, 13, 10)
        else:
            weights = (30, 32, 20, 18)
        return self.rng.choices((0, 1, 2, 3), weights=weights)[0]

    def _trajectory(self, stay: StayPlan) -> None:
        rng = self.rng
        los = stay.midnights
        if stay.discharged_at is not None and los >= 1 and rng.random() < 0.025:
            stay.died = True
            stay.destination = "79"
            return
        pathway = self._pathway(los)
        stay.pathway = pathway
        if pathway == 0:
            stay.destination = rng.choices(("19", "29", "51", "87"), weights=(92, 5, 2, 1))[0]
            # Most go home the day they stop meeting criteria; some leave on criteria-led discharge.
            delay = rng.choice((0, 0, 0, 0, 1, 1, 2)) if rng.random() < 0.8 else -1
        elif pathway == 1:
            stay.destination = "19"
            delay = rng.randint(1, 5)
        elif pathway == 2:
            stay.destination = rng.choice(("54", "56", "88"))
            delay = rng.randint(2, 9)
        else:
            stay.destination = rng.choice(("55", "56"))
            delay = rng.randint(4, 18)
        delay = min(delay, max(0, los - 1))
        if delay < 0:
            # Met criteria at the morning review and left the same day on criteria-led discharge.
            stay.delay_reasons = (rng.choice(data.DELAY_BY_PATHWAY[0]),)
            return
        stay.nctr_start = stay.planned_end_on - timedelta(days=delay)
        if delay >= 4 and rng.random() < 0.15:
            first = stay.nctr_start + timedelta(days=rng.randint(1, delay - 2))
            stay.relapse_days = frozenset({first, first + timedelta(days=rng.randint(0, 1))})
        reasons = data.DELAY_BY_PATHWAY[pathway]
        if pathway == 0:
            stay.delay_reasons = (rng.choice(reasons),)
        else:
            stay.delay_reasons = reasons[rng.randint(0, 1) :: rng.randint(1, 2)]
        if rng.random() < 0.1:
            stay.delay_reasons = (*stay.delay_reasons[:-1], rng.choice(data.DELAY_OCCASIONAL))
        stay.escalate = delay >= 4 and rng.random() < 0.45
        # A failed planned discharge on a day the patient was ready, or on a day they deteriorated.
        if los >= 2 and rng.random() < 0.08:
            ready_days = (stay.planned_end_on - stay.nctr_start).days if stay.nctr_start else 0
            if ready_days >= 1:
                stay.failed_on = stay.nctr_start + timedelta(days=rng.randrange(ready_days))
            else:
                stay.failed_on = stay.admitted_on + timedelta(days=rng.randint(1, los - 1))

    def _patients(self, stays: list[StayPlan]) -> list[PatientPlan]:
        rng = self.rng
        patients: list[PatientPlan] = []
        nhs_seq = rng.randrange(1_000_000)
        mrn_seq = rng.randrange(900_000)
        recent: list[StayPlan] = []
        for stay in stays:
            patient: PatientPlan | None = None
            if rng.random() < 0.07:
                window = [
                    s
                    for s in recent[-400:]
                    if s.discharged_at is not None
                    and timedelta(days=1) <= stay.admitted_at - s.discharged_at <= timedelta(days=30)
                    and patients[s.patient].last_discharge == s.discharged_at
                    and not s.died
                ]
                if window:
                    patient = patients[rng.choice(window).patient]
            if patient is None:
                nhs_seq, nhs = _next_test_nhs_number(nhs_seq)
                patient = self._new_patient(len(patients), nhs, f"DMO{100_000 + (mrn_seq * 7919) % 900_000:06d}")
                mrn_seq += 1
                patients.append(patient)
            stay.patient = patient.idx
            patient.last_discharge = stay.discharged_at if stay.discharged_at else self.now + timedelta(days=999)
            recent.append(stay)
        return patients

    def _new_patient(self, idx: int, nhs: str, mrn: str) -> PatientPlan:
        rng = self.rng
        sex = "female" if rng.random() < 0.53 else "male"
        given = rng.choice(data.GIVEN_FEMALE if sex == "female" else data.GIVEN_MALE)
        age = rng.triangular(65, 97, 83) if rng.random() < 0.8 else rng.uniform(18, 65)
        dob = self.today - timedelta(days=int(age * 365.25))
        return PatientPlan(
            idx=idx,
            nhs_number=nhs,
            mrn=mrn,
            given_name=given,
            family_name=rng.choice(data.FAMILY_NAMES),
            date_of_birth=dob,
            sex=sex,
        )

    def plan(self) -> HospitalPlan:
        wards = self.plan_wards()
        segments = [seg for ward in wards for bed in ward.beds for seg in self.plan_bed(bed)]
        groups = self.join_transfers(segments)
        groups.sort(key=lambda g: (g[0].start, g[0].bed.idx))
        stays: list[StayPlan] = []
        for idx, group in enumerate(groups):
            last = group[-1]
            discharged = last.end
            planned = discharged or last.planned_end
            assert planned is not None
            stay = StayPlan(
                idx=idx,
                segments=group,
                admitted_at=group[0].start,
                discharged_at=discharged,
                planned_end=planned,
            )
            for seg in group:
                seg.stay = stay
            self._trajectory(stay)
            stays.append(stay)
        patients = self._patients(stays)
        return HospitalPlan(now=self.now, window_start=self.window_start, wards=wards, stays=stays, patients=patients)


def _next_test_nhs_number(seq: int) -> tuple[int, str]:
    """Next valid number in the never-issued 999 range (prefixes whose check digit is 10 skipped)."""
    import nhs_number

    while True:
        prefix = f"999{seq % 1_000_000:06d}"
        seq += 1
        check = nhs_number.calculate_checksum(prefix)
        if check is not None and check < 10:
            return seq, prefix + str(check)
