"""Build the demo hospital into a database, through the real services.

The plan (app.demo.plan) says who was in which bed when. Here it is replayed in time order:
every admission, transfer, discharge, review, EDD change, action, failed discharge,
escalation and board round is written by the same service the API uses, with `now` set to
the historical moment, so every row has its audit trail and passes the same rules.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from app.actions import service as actions
from app.actions.schemas import ActionCreate, ActionUpdate
from app.audit import service as audit
from app.auth.deps import principal_for
from app.auth.passwords import hash_password
from app.core import codes
from app.core.clock import london_date
from app.core.principal import Principal
from app.demo import data, work
from app.demo.plan import BedPlan, HospitalPlan, Planner, StayPlan, WardPlan, at_london
from app.discharges import service as discharges
from app.discharges.schemas import FailedDischargeCreate, FailedDischargeUpdate
from app.escalations import service as escalations
from app.escalations.schemas import EscalationCreate, EscalationStep, StepAction
from app.milestones import service as milestones
from app.milestones.schemas import MilestoneUpdate
from app.models import (
    REFERENCE_LISTS,
    Action,
    AuditEvent,
    Bed,
    Criterion,
    DailyReview,
    DelayReason,
    DischargeMilestone,
    Escalation,
    FailedDischarge,
    Pathway,
    Patient,
    RedDayReason,
    Referral,
    ReviewCriterion,
    ReviewDelayReason,
    Site,
    Stay,
    User,
    UserWard,
    Ward,
)
from app.patients.schemas import PatientCreate
from app.patients.service import create_patient
from app.reviews import service as reviews
from app.reviews.schemas import ReviewRequest
from app.rounds import service as rounds
from app.rounds.schemas import AttendeeIn, RoundStart
from app.stays import referrals
from app.stays import service as stays
from app.stays.schemas import ReferralCreate, ReferralUpdate
from app.wards import service as wards_service
from app.wards.schemas import BedCreate, BedUpdate, WardCreate

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

MEETS_RED_REASONS = ("test_not_done", "therapy_not_done", "result_not_actioned", "no_senior_review", "mdt_absent")


class DemoExists(Exception):
    """The database already holds a site, wards or users: the demo is only built into an empty one."""


@dataclass
class DemoSummary:
    site: str
    wards: int
    beds: int
    open_beds: int
    current_stays: int
    past_stays: int
    patients: int
    reviews: int
    actions: int
    failed_discharges: int
    escalations: int
    audit_events: int
    seconds: float
    users: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def occupancy(self) -> float:
        return self.current_stays / self.open_beds if self.open_beds else 0.0

    def lines(self) -> list[str]:
        return [
            f"{data.SITE_NAME} ({self.site}): {self.wards} wards, {self.beds} beds ({self.open_beds} open)",
            f"In hospital now: {self.current_stays} ({self.occupancy:.0%} of open beds); "
            f"past stays: {self.past_stays}; patients: {self.patients}",
            f"Reviews: {self.reviews}; actions: {self.actions}; failed discharges: {self.failed_discharges}; "
            f"escalations: {self.escalations}; audit events: {self.audit_events}",
            f"Built in {self.seconds:.1f} s",
        ]


def database_is_empty(session: Session) -> bool:
    return all(
        session.exec(select(func.count()).select_from(model)).one() == 0 for model in (Site, Ward, User, Patient)
    )


def build_demo(
    session: Session,
    *,
    seed: int,
    now: datetime,
    wards: int = 8,
    beds_per_ward: tuple[int, int] = (24, 32),
    days_history: int = 90,
    actor_name: str = "demo",
    hasher: Callable[[str], str] = hash_password,
    progress: Callable[[str], None] | None = None,
    service_review_days: int = 7,
) -> DemoSummary:
    """Write a synthetic hospital into an empty, migrated database (the caller commits).

    The same seed and `now` give the same data. `hasher` turns the demo password into a hash
    for each sign-in account (tests pass a memoised one: Argon2 is slow on purpose). Reviews in
    the last `service_review_days` days go through `reviews.service.record_review`; older ones
    are written in batches with the same rows and audit events (see `_Builder._bulk_reviews`).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if wards < 1 or days_history < 1:
        raise ValueError("need at least one ward and one day of history")
    if not database_is_empty(session):
        raise DemoExists("The database already has data: the demo is only built into an empty database")
    started = time.perf_counter()
    rng = random.Random(seed)
    plan = Planner(rng, now=now, wards=wards, beds_per_ward=beds_per_ward, days_history=days_history).plan()
    builder = _Builder(session, plan, rng, actor_name=actor_name, hasher=hasher, progress=progress)
    builder.service_reviews_from = london_date(now) - timedelta(days=max(0, service_review_days - 1))
    builder.setup()
    builder.run()
    work.leave_work(session, now=now)  # every role signs in to something to do (app/demo/work.py)
    session.flush()
    return _summary(session, builder, time.perf_counter() - started)


def _count(session: Session, model: type, *where: Any) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _summary(session: Session, builder: _Builder, seconds: float) -> DemoSummary:
    return DemoSummary(
        site=data.SITE_CODE,
        wards=_count(session, Ward),
        beds=_count(session, Bed),
        open_beds=_count(session, Bed, Bed.is_open),
        current_stays=_count(session, Stay, col(Stay.discharged_at).is_(None)),
        past_stays=_count(session, Stay, col(Stay.discharged_at).is_not(None)),
        patients=_count(session, Patient),
        reviews=_count(session, DailyReview),
        actions=_count(session, Action),
        failed_discharges=_count(session, FailedDischarge),
        escalations=_count(session, Escalation),
        audit_events=_count(session, AuditEvent),
        seconds=seconds,
        users=builder.sign_ins,
    )


@dataclass
class _ActionPlan:
    when: datetime
    role: str
    description: str
    due: datetime
    done: datetime | None


@dataclass
class _ReviewPlan:
    """A review decided before it is written, so both write paths draw the same random numbers."""

    when: datetime
    state: _StayState
    reviewer: Principal
    request: ReviewRequest
    round_id: int | None
    edd: tuple[date, str] | None = None
    action: _ActionPlan | None = None


@dataclass
class _StayState:
    """What the replay knows about a stay while it is in hospital."""

    plan: StayPlan
    row: Stay
    ward: WardPlan
    segment: int = 0
    has_ccd: bool = False
    reviewed_on: date | None = None  # one review a day, even if the patient moved wards
    left_at: datetime | None = None  # set once discharged
    referred: set[str] = field(default_factory=set)  # services referred to already
    milestones_planned: set[int] = field(default_factory=set)  # milestones with their progress planned

    @property
    def departs_ward_at(self) -> datetime | None:
        if self.segment + 1 < len(self.plan.segments):
            return self.plan.segments[self.segment + 1].start
        return self.plan.discharged_at


class _Builder:
    def __init__(
        self,
        session: Session,
        plan: HospitalPlan,
        rng: random.Random,
        *,
        actor_name: str,
        hasher: Callable[[str], str],
        progress: Callable[[str], None] | None,
    ) -> None:
        self.session = session
        self.plan = plan
        self.rng = rng
        self.now = plan.now
        self.actor_name = actor_name
        self.hasher = hasher
        self.progress = progress or (lambda _msg: None)
        self.events: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.seq = itertools.count()
        self.patients: dict[int, Patient] = {}
        self.states: dict[int, _StayState] = {}
        self.present: dict[int, dict[int, _StayState]] = {w.idx: {} for w in plan.wards}
        self.staff: dict[int, dict[str, Principal]] = {}
        # Set by the setup of staff, before any event runs.
        self.flow: Principal
        self.pas: Principal
        self.admin: Principal
        self.sign_ins: list[tuple[str, str, str]] = []
        self.families: dict[str, str] = {}
        self.visit = itertools.count(1)
        self.service_reviews_from = london_date(plan.now)
        self.clock = plan.window_start - 3 * DAY  # the moment being replayed

    # -- scheduling ---------------------------------------------------------------------

    def at(self, when: datetime, fn: Callable[..., None], *args: Any) -> bool:
        """Schedule a write at a historical moment.

        Moments after `now` never happen, and neither do moments before the one being replayed
        (e.g. a failed discharge planned before the history starts, for a patient admitted earlier).
        """
        if when > self.now or when < self.clock:
            return False
        heapq.heappush(self.events, (when, next(self.seq), fn, args))
        return True

    def run(self) -> None:
        for stay in self.plan.stays:
            self.at(max(stay.admitted_at, self.plan.window_start + SECOND), self.admit, stay)
        for ward in self.plan.wards:
            for bed in ward.beds:
                if bed.opened_at is not None:
                    self.at(bed.opened_at, self.open_escalation_bed, bed)
                if bed.closed_at is not None:
                    self.at(bed.closed_at, self.close_bed, bed)
        day = london_date(self.plan.window_start)
        while day <= london_date(self.now):
            for ward in self.plan.wards:
                self.schedule_round(ward, day)
            day += DAY
        done = 0
        last_day: date | None = None
        while self.events:
            when, _, fn, args = heapq.heappop(self.events)
            self.clock = when
            fn(when, *args)
            done += 1
            if london_date(when) != last_day:
                last_day = london_date(when)
                if last_day.day == 1:
                    self.progress(f"  {last_day:%B %Y}: {done} writes so far")

    # -- setup: site, users, wards, beds ------------------------------------------------

    def _system_audit(self, action: str, entity: Any, at: datetime, after: dict[str, Any]) -> None:
        audit.record(
            self.session, actor=None, actor_name=self.actor_name, action=action, entity=entity, at=at, after=after
        )

    def _user(
        self, username: str, role: str, display: str, at: datetime, *, password: bool = False, service: bool = False
    ) -> User:
        user = User(
            username=username,
            display_name=display,
            role_code=role,
            password_hash=self.hasher(data.DEMO_PASSWORD) if password else None,
            is_service_account=service,
            created_at=at,
            updated_at=at,
        )
        self.session.add(user)
        self.session.flush()
        self._system_audit("user_create", user, at, audit.snapshot(user))
        if password:
            self.sign_ins.append((username, role, display))
        return user

    def setup(self) -> None:
        session, rng, plan = self.session, self.rng, self.plan
        at = plan.window_start - 2 * DAY
        self.progress("Setting up the site, users, wards and beds")
        site = Site(code=data.SITE_CODE, name=data.SITE_NAME, created_at=at, updated_at=at)
        session.add(site)
        session.flush()
        self._system_audit("create", site, at, audit.snapshot(site))

        demo = {
            username: self._user(username, role, display, at, password=True)
            for username, role, display in data.DEMO_USERS
        }
        extra_count = min(len(data.EXTRA_SPONSORS), max(0, len(plan.wards) - 1))
        sponsors = [demo["sponsor"]] + [
            self._user(username, "executive_sponsor", display, at, password=True)
            for username, display in data.EXTRA_SPONSORS[:extra_count]
        ]
        pas_username, pas_role, pas_display = data.SERVICE_ACCOUNT
        pas = self._user(pas_username, pas_role, pas_display, at, service=True)

        self.admin = principal_for(session, demo["admin"])
        ward_rows: list[Ward] = []
        for ward in plan.wards:
            sponsor = sponsors[ward.idx % len(sponsors)]
            row = wards_service.create_ward(
                session,
                actor=self.admin,
                data=WardCreate(
                    site_id=site.id,
                    code=ward.template.code,
                    name=ward.template.name,
                    specialty=ward.template.specialty,
                    executive_sponsor_id=sponsor.id,
                ),
                now=at,
            )
            ward_rows.append(row)
            for bed in ward.beds:
                if bed.opened_at is None:
                    bed.id = wards_service.add_bed(
                        session,
                        actor=self.admin,
                        ward=row,
                        data=BedCreate(label=bed.label, sort_order=bed.sort_order),
                        now=at,
                    ).id

        # Who works where. The demo sign-ins cover the first wards; invented staff the rest.
        n = len(plan.wards)
        cover = {
            "nurse": range(min(2, n)),
            "doctor": range(min(3, n)),
            "therapist": range(min(4, n)),
            "socialworker": range(n),
            "wardmanager": range(min(2, n)),
        }
        assignments: dict[int, list[int]] = {}
        for username, wards in cover.items():
            assignments[demo[username].id] = list(wards)
        for ward in plan.wards:
            sponsor = sponsors[ward.idx % len(sponsors)]
            assignments.setdefault(sponsor.id, []).append(ward.idx)
        roster: dict[int, dict[str, User]] = {w.idx: {} for w in plan.wards}
        role_of = {"nurse": "nurse", "doctor": "doctor", "therapist": "therapist", "wardmanager": "ward_manager"}
        for ward in plan.wards:
            for username, role in role_of.items():
                if ward.idx in cover[username]:
                    roster[ward.idx][role] = demo[username]
                else:
                    display = f"{rng.choice(data.STAFF_GIVEN)} {rng.choice(data.STAFF_FAMILY)}"
                    user = self._user(f"{ward.template.code.lower()}.{role}", role, display, at)
                    roster[ward.idx][role] = user
                    assignments[user.id] = [ward.idx]
            roster[ward.idx]["social_worker"] = demo["socialworker"]
            roster[ward.idx]["executive_sponsor"] = sponsors[ward.idx % len(sponsors)]
        users = {u.id: u for u in [*demo.values(), *sponsors] + [u for r in roster.values() for u in r.values()]}
        for user_id, ward_idxs in assignments.items():
            for idx in ward_idxs:
                session.add(UserWard(user_id=user_id, ward_id=ward_rows[idx].id))
            session.flush()
            self._system_audit(
                "assign_wards",
                users[user_id],
                at,
                {"wards": [plan.wards[i].template.code for i in ward_idxs]},
            )
        principals: dict[int, Principal] = {}

        def principal(user: User) -> Principal:
            if user.id not in principals:
                principals[user.id] = principal_for(session, user)
            return principals[user.id]

        self.staff = {idx: {role: principal(u) for role, u in r.items()} for idx, r in roster.items()}
        self.flow = principal(demo["flow"])
        self.pas = principal(pas)
        self.families = dict(session.exec(select(DelayReason.code, DelayReason.family_code)).all())
        # The identity map holds rows weakly: keep the reference lists alive so the services'
        # session.get() look-ups for codes are answered from memory, not by a query each time.
        self.reference_rows = [row for entry in REFERENCE_LISTS.values() for row in session.exec(select(entry.model))]
        self.known_codes: dict[str, set[Any]] = {
            "criteria": {r.code for r in self.reference_rows if isinstance(r, Criterion)},
            "delay": {r.code for r in self.reference_rows if isinstance(r, DelayReason) and r.active},
            "red": {r.code for r in self.reference_rows if isinstance(r, RedDayReason)},
            "pathway": {r.code for r in self.reference_rows if isinstance(r, Pathway)},
        }
        self.delay_list_versions = {r.code: r.list_version for r in self.reference_rows if isinstance(r, DelayReason)}
        self.ward_rows = {w.idx: row for w, row in zip(plan.wards, ward_rows, strict=True)}

    def open_escalation_bed(self, when: datetime, bed: BedPlan) -> None:
        row = wards_service.add_bed(
            self.session,
            actor=self.staff[bed.ward.idx]["ward_manager"],
            ward=self.ward_rows[bed.ward.idx],
            data=BedCreate(label=bed.label, sort_order=bed.sort_order, is_escalation=True),
            now=when,
        )
        bed.id = row.id

    def close_bed(self, when: datetime, bed: BedPlan) -> None:
        row = self.session.get(Bed, bed.id)
        assert row is not None
        wards_service.update_bed(
            self.session,
            actor=self.staff[bed.ward.idx]["ward_manager"],
            bed=row,
            changes=BedUpdate(is_open=False).model_dump(exclude_unset=True),
            expected_version=row.version,
            now=when,
        )

    # -- the patient journey ------------------------------------------------------------

    def admit(self, when: datetime, plan: StayPlan) -> None:
        patient = self.patients.get(plan.patient)
        if patient is None:
            p = self.plan.patients[plan.patient]
            patient = create_patient(
                self.session,
                actor=self.pas,
                data=PatientCreate(
                    nhs_number=p.nhs_number,
                    mrn=p.mrn,
                    given_name=p.given_name,
                    family_name=p.family_name,
                    date_of_birth=p.date_of_birth,
                    sex=p.sex,
                ),
                now=when,
            )
            self.patients[plan.patient] = patient
        seg = plan.segments[0]
        ward = seg.bed.ward
        row = stays.admit(
            self.session,
            actor=self.pas,
            patient=patient,
            ward_id=self.ward_rows[ward.idx].id,
            bed_id=seg.bed.id,
            admitted_at=plan.admitted_at,
            now=when,
            responsible_consultant=self.rng.choice(ward.consultants),
            pas_visit_number=f"DV{next(self.visit):07d}",
        )
        state = _StayState(plan=plan, row=row, ward=ward)
        self.states[plan.idx] = state
        self.present[ward.idx][plan.idx] = state
        rng = self.rng
        end = plan.discharged_at or self.now
        if rng.random() < 0.96:
            post_take = max(when + 10 * MINUTE, plan.admitted_at + timedelta(hours=rng.uniform(1, 12)))
            if post_take > end - 20 * MINUTE:
                post_take = when + (end - when) / 2
            self.at(post_take, self.first_edd, state)
        for nxt in plan.segments[1:]:
            self.at(nxt.start, self.transfer, state)
        if plan.discharged_at is not None:
            self.at(plan.discharged_at, self.discharge, state)
        if plan.failed_on is not None:
            self.at(at_london(plan.failed_on, rng.randint(17, 18), rng.randrange(60)), self.failed_discharge, state)
        if plan.escalate and plan.nctr_start is not None:
            raised = at_london(plan.nctr_start + 2 * DAY, 11, 30) + timedelta(minutes=rng.randrange(180))
            if raised < plan.planned_end - 2 * HOUR:
                self.at(raised, self.raise_escalation, state)

    def transfer(self, when: datetime, state: _StayState) -> None:
        seg = state.plan.segments[state.segment + 1]
        del self.present[state.ward.idx][state.plan.idx]
        stays.transfer(
            self.session,
            actor=self.pas,
            stay=state.row,
            ward_id=self.ward_rows[seg.bed.ward.idx].id,
            bed_id=seg.bed.id,
            at=when,
            expected_version=state.row.version,
            now=when,
        )
        state.segment += 1
        state.ward = seg.bed.ward
        self.present[state.ward.idx][state.plan.idx] = state

    def discharge(self, when: datetime, state: _StayState) -> None:
        del self.present[state.ward.idx][state.plan.idx]
        stays.discharge(
            self.session,
            actor=self.pas,
            stay=state.row,
            discharged_at=when,
            destination_code=state.plan.destination,
            pathway=state.plan.pathway,
            expected_version=state.row.version,
            now=when,
        )
        state.left_at = when

    def first_edd(self, when: datetime, state: _StayState) -> None:
        if state.left_at is not None:
            return
        rng = self.rng
        plan = state.plan
        doctor = self.staff[state.ward.idx]["doctor"]
        los = plan.midnights
        estimate = max(0, round(los * math.exp(rng.gauss(-0.2, 0.35))))
        if los >= 10:
            estimate = min(estimate, rng.randint(3, 8))  # long stays are rarely foreseen on day one
        edd = max(plan.admitted_on + timedelta(days=estimate), london_date(when))
        stays.set_edd(
            self.session,
            actor=doctor,
            stay=state.row,
            new_date=edd,
            reason="",
            expected_version=state.row.version,
            now=when,
        )
        if rng.random() < 0.85:
            ccd = rng.choice(data.CLINICAL_CRITERIA_FOR_DISCHARGE[state.ward.template.specialty])
            stays.update_stay(
                self.session,
                actor=doctor,
                stay=state.row,
                changes={"clinical_criteria_for_discharge": ccd},
                expected_version=state.row.version,
                now=when + SECOND,
            )
            state.has_ccd = True

    # -- the daily round ----------------------------------------------------------------

    def schedule_round(self, ward: WardPlan, day: date) -> None:
        rng = self.rng
        held = rng.random() < (0.97 if day.weekday() < 5 else 0.5)
        if held:
            start = at_london(day, 9, rng.randrange(45))
            length = timedelta(minutes=rng.randint(35, 60))
            if start + length <= self.now:
                self.at(start, self.board_round, ward, day, length)
        else:
            self.at(at_london(day, 11, rng.randrange(30)), self.reviews_without_round, ward, day)

    def _attendees(self, ward: WardPlan) -> list[AttendeeIn]:
        rng = self.rng
        staff = self.staff[ward.idx]
        people = [
            AttendeeIn(role_code="nurse", name=staff["nurse"].display_name),
            AttendeeIn(role_code="doctor", name=staff["doctor"].display_name),
        ]
        if rng.random() < 0.8:
            people.append(AttendeeIn(role_code="therapist", name=staff["therapist"].display_name))
        if rng.random() < 0.5:
            people.append(AttendeeIn(role_code="social_worker", name=staff["social_worker"].display_name))
        if rng.random() < 0.4:
            people.append(
                AttendeeIn(
                    role_code="pharmacist", name=f"{rng.choice(data.STAFF_GIVEN)} {rng.choice(data.STAFF_FAMILY)}"
                )
            )
        if rng.random() < 0.3:
            people.append(AttendeeIn(role_code="flow_coordinator", name=self.flow.display_name))
        return people

    def _present_in_bed_order(self, ward: WardPlan) -> list[_StayState]:
        return sorted(
            self.present[ward.idx].values(),
            key=lambda s: s.plan.segments[s.segment].bed.sort_order,
        )

    def board_round(self, when: datetime, ward: WardPlan, day: date, length: timedelta) -> None:
        staff = self.staff[ward.idx]
        row = rounds.start_round(
            self.session,
            actor=staff["nurse"],
            ward=self.ward_rows[ward.idx],
            data=RoundStart(attendees=self._attendees(ward)),
            now=when,
        )
        moments = [(when + i * 40 * SECOND, state) for i, state in enumerate(self._present_in_bed_order(ward))]
        self.reviews(moments, day, row.id)
        self.at(when + length, self.end_round, row)

    def end_round(self, when: datetime, row: Any) -> None:
        rounds.end_round(
            self.session,
            actor=self.staff[self._ward_idx(row.ward_id)]["nurse"],
            board_round=row,
            expected_version=row.version,
            now=when,
        )

    def _ward_idx(self, ward_id: int) -> int:
        return next(idx for idx, row in self.ward_rows.items() if row.id == ward_id)

    def reviews_without_round(self, when: datetime, ward: WardPlan, day: date) -> None:
        present = self._present_in_bed_order(ward)
        chosen = [state for state in present if self.rng.random() < 0.6]
        self.reviews([(when + i * MINUTE, state) for i, state in enumerate(chosen)], day, None)

    def reviews(self, moments: list[tuple[datetime, _StayState]], day: date, round_id: int | None) -> None:
        """One ward's reviews for the day: decide each (all random draws first), then write them."""
        decided: list[_ReviewPlan] = []
        for moment, state in moments:
            if state.reviewed_on == day:
                continue
            state.reviewed_on = day
            leaves = state.departs_ward_at
            if leaves is not None and leaves - MINUTE < moment:
                moment = max(moments[0][0], leaves - MINUTE)
            decided.append(self._decide_review(moment, state, day, round_id))
        if day >= self.service_reviews_from:
            for item in decided:
                reviews.record_review(
                    self.session, actor=item.reviewer, stay=item.state.row, data=item.request, now=item.when
                )
                self._after_review(item)
        else:
            self._bulk_reviews(decided)
            for item in decided:
                self._after_review(item)

    def _decide_review(self, when: datetime, state: _StayState, day: date, round_id: int | None) -> _ReviewPlan:
        rng = self.rng
        plan = state.plan
        staff = self.staff[state.ward.idx]
        reviewer = staff["doctor"] if rng.random() < 0.7 else staff["nurse"]
        today = plan.day(day)
        row = state.row
        pathway = None
        delay = None
        criteria: list[str] = []
        red_reason = None
        if plan.died and day == plan.planned_end_on:
            criteria = ["07"]
        elif today.meets:
            if rng.random() > 0.05:
                criteria = sorted(rng.sample(state.ward.template.criteria, rng.choice((1, 1, 2))))
            if rng.random() < 0.2:
                choices = list(MEETS_RED_REASONS)
                if not state.has_ccd:
                    choices.append("no_ccd")
                red_reason = "no_edd" if row.expected_discharge_date is None else rng.choice(choices)
        else:
            delay = today.delay_reason
            pathway = plan.pathway
            if day == plan.planned_end_on:
                red_reason = "tto_not_ready" if rng.random() < 0.1 else None
            elif rng.random() < 0.55:
                red_reason = "waiting_external" if rng.random() < 0.7 else "care_not_acute"
        if today.meets:
            plan_text = rng.choice(data.PLANS_MEETS)
        else:
            assert delay is not None  # a day not meeting criteria to reside has a delay reason (Day)
            plan_text = rng.choice(data.PLANS_NCTR[self.families[delay]])
        request = ReviewRequest(
            meets_criteria_to_reside=today.meets,
            criteria=criteria,
            delay_reason_code=delay,
            # No criteria to reside is a red day by the rule. A patient who meets them has the colour
            # the team chose, with the reason kept where it overrides the rule (something holds the
            # discharge, or it does not): the batched history has no rule to run, so the colour is said.
            day_status="red" if red_reason or not today.meets else "green",
            day_status_override_reason=(
                f"Red2Green: {red_reason.replace('_', ' ')}" if red_reason else "Nothing waiting on this today"
            )
            if today.meets
            else "",
            red_day_reason_code=red_reason,
            pathway=pathway,
            plan=plan_text,
        )
        item = _ReviewPlan(when=when, state=state, reviewer=reviewer, request=request, round_id=round_id)
        item.edd = self._decide_edd(state, day, today.meets)
        if rng.random() < (0.07 if today.meets else 0.2):
            item.action = self._decide_action(when + 20 * SECOND, state, today.meets)
        return item

    def _decide_edd(self, state: _StayState, day: date, meets: bool) -> tuple[date, str] | None:
        rng = self.rng
        plan = state.plan
        edd = state.row.expected_discharge_date
        if edd is None:
            return None
        if plan.failed_on == day and edd != day:
            return day, "Planned for discharge today"
        if edd < day and rng.random() < 0.75:
            remaining = (plan.planned_end_on - day).days
            if rng.random() < 0.7:
                new = day + timedelta(days=remaining + abs(round(rng.gauss(0, 1))))
            else:  # optimistic again: it will be overdue and revised once more
                new = day + timedelta(days=max(1, remaining // 2))
            if plan.failed_on == day - DAY:
                reason = "Failed discharge yesterday: new date agreed"
            elif meets:
                reason = rng.choice(data.EDD_CHANGE_REASONS_CLINICAL)
            else:
                reason = rng.choice(data.EDD_CHANGE_REASONS_DELAY)
            return (new, reason) if new != edd else None
        return None

    def _decide_action(self, when: datetime, state: _StayState, meets: bool) -> _ActionPlan:
        rng = self.rng
        pool = [a for a in data.ACTIONS if a[0] in {"doctor", "therapist", "nurse"}] if meets else list(data.ACTIONS)
        role, description = rng.choice(pool)
        due = when + timedelta(hours=rng.uniform(4, 30))
        done: datetime | None = None
        if rng.random() < 0.75:
            done = when + timedelta(hours=rng.uniform(1, 28))
            end = state.plan.discharged_at
            if end is not None and done >= end:
                done = end - timedelta(minutes=rng.randint(20, 90))
            if done <= when + 10 * MINUTE:
                done = None
        return _ActionPlan(when=when, role=role, description=description, due=due, done=done)

    def _after_review(self, item: _ReviewPlan) -> None:
        """The EDD change and the action agreed at this review, through their services; the
        pathway's milestones and the referrals a patient without criteria to reside needs."""
        state = item.state
        # Before the EDD changes, as the review service does it (the due times follow the EDD).
        milestones.sync_for_pathway(self.session, actor=item.reviewer, stay=state.row, now=item.when)
        self._plan_milestones(item)
        self._refer(item)
        if item.edd is not None:
            new, reason = item.edd
            stays.set_edd(
                self.session,
                actor=self.staff[state.ward.idx]["doctor"],
                stay=state.row,
                new_date=new,
                reason=reason,
                expected_version=state.row.version,
                now=item.when + 10 * SECOND,
            )
        if item.action is not None:
            plan = item.action
            action = actions.create_action(
                self.session,
                actor=item.reviewer,
                stay=state.row,
                data=ActionCreate(
                    description=plan.description,
                    owner_role_code=plan.role,
                    due_at=plan.due,
                    board_round_id=item.round_id,
                ),
                now=plan.when,
            )
            if plan.done is not None:
                self.at(plan.done, self.action_done, state, action, plan.role)

    def _bulk_reviews(self, items: list[_ReviewPlan]) -> None:
        """Older history: the rows and audit events `reviews.service.record_review` writes, in one batch.

        Same columns, same criteria rows, same `record_review` and `update_from_review` audit
        events, same stay DRD and pathway rule; the codes are checked against the reference lists
        held in memory instead of one query each. tests/demo checks both paths give equal data.
        """
        session = self.session
        rows: list[tuple[_ReviewPlan, DailyReview, list[str]]] = []
        for item in items:
            req = item.request
            criteria = sorted(set(req.criteria)) or (
                [reviews.CRITERION_NOT_RECORDED] if req.meets_criteria_to_reside else []
            )
            self._check_codes(req, criteria)
            rule = reviews.derive_day(
                session,
                stay=item.state.row,
                meets_criteria_to_reside=req.meets_criteria_to_reside,
                primary_delay_code=req.delay_reason_code,
                now=item.when,
            )
            derived = rule.status
            day_status = req.day_status or derived
            review = DailyReview(
                stay_id=item.state.row.id,
                review_date=london_date(item.when),
                meets_criteria_to_reside=req.meets_criteria_to_reside,
                delay_reason_code=req.delay_reason_code if not req.meets_criteria_to_reside else None,
                day_status=day_status,
                derived_day_status=derived,
                day_status_delay_code=rule.delay_code if day_status == "red" else None,
                day_status_override_reason=req.day_status_override_reason if day_status != derived else "",
                red_day_reason_code=req.red_day_reason_code if day_status == "red" else None,
                pathway=req.pathway,
                plan=req.plan,
                reviewed_by_id=item.reviewer.user_id,
                reviewed_at=item.when,
                created_at=item.when,
                updated_at=item.when,
            )
            rows.append((item, review, criteria))
        session.add_all([review for _, review, _ in rows])
        session.flush()
        session.add_all(
            [ReviewCriterion(review_id=review.id, criterion_code=code) for _, review, crit in rows for code in crit]
        )
        session.add_all(
            [
                ReviewDelayReason(
                    review_id=review.id,
                    reason_code=review.delay_reason_code,
                    is_primary=True,
                    list_version=self.delay_list_versions[review.delay_reason_code],
                )
                for _, review, _ in rows
                if review.delay_reason_code is not None
            ]
        )
        session.flush()
        for item, review, criteria in rows:
            stay = item.state.row
            audit.record(
                session,
                actor=item.reviewer,
                action="record_review",
                entity=review,
                at=item.when,
                after=audit.snapshot(
                    review,
                    criteria=criteria,
                    delay_reasons=[f"{review.delay_reason_code}*"] if review.delay_reason_code else [],
                ),
                ward_id=stay.ward_id,
                patient_id=stay.patient_id,
            )
            before = {"discharge_ready_date": stay.discharge_ready_date, "pathway": stay.pathway}
            if review.meets_criteria_to_reside:
                drd = None
            else:
                # Reviews are written in date order, so a DRD on the stay means the run continues.
                drd = stay.discharge_ready_date or review.review_date
            pathway = review.pathway if review.pathway is not None else stay.pathway
            after = {"discharge_ready_date": drd, "pathway": pathway}
            if before != after:
                stay.discharge_ready_date = drd
                stay.pathway = pathway
                stay.updated_at = item.when
                old, new = audit.changed(
                    {k: audit.json_value(v) for k, v in before.items()},
                    {k: audit.json_value(v) for k, v in after.items()},
                )
                audit.record(
                    session,
                    actor=item.reviewer,
                    action="update_from_review",
                    entity=stay,
                    at=item.when,
                    before=old,
                    after=new,
                    ward_id=stay.ward_id,
                    patient_id=stay.patient_id,
                )
        session.flush()

    def _check_codes(self, req: ReviewRequest, criteria: list[str]) -> None:
        known = self.known_codes
        if any(c not in known["criteria"] for c in criteria):
            raise ValueError(f"unknown criteria {criteria}")
        if not req.meets_criteria_to_reside and req.delay_reason_code not in known["delay"]:
            raise ValueError(f"unknown delay reason {req.delay_reason_code}")
        if req.red_day_reason_code is not None and req.red_day_reason_code not in known["red"]:
            raise ValueError(f"unknown red-day reason {req.red_day_reason_code}")
        if req.pathway is not None and req.pathway not in known["pathway"]:
            raise ValueError(f"unknown pathway {req.pathway}")

    # -- milestones and referrals --------------------------------------------------------

    def _plan_milestones(self, item: _ReviewPlan) -> None:
        """Most milestones are done a little before they fall due; some late, a few never."""
        rng = self.rng
        for row in milestones.milestones_for_stay(self.session, item.state.row.id):
            if row.id in item.state.milestones_planned or row.status not in codes.MILESTONE_OPEN:
                continue
            item.state.milestones_planned.add(row.id)
            if rng.random() < 0.1:
                continue  # forgotten: it goes red
            started = max(item.when + MINUTE, row.due_at - timedelta(hours=rng.uniform(6, 30)))
            done = row.due_at + timedelta(hours=rng.gauss(-3, 4))
            self.at(started, self.milestone_status, item.state, row, codes.MILESTONE_IN_PROGRESS)
            self.at(max(done, started + MINUTE), self.milestone_status, item.state, row, codes.MILESTONE_DONE)

    def milestone_status(self, when: datetime, state: _StayState, row: DischargeMilestone, status: str) -> None:
        if state.left_at is not None or row.status not in codes.MILESTONE_OPEN:
            return
        staff = self.staff[state.ward.idx]
        milestones.update_milestone(
            self.session,
            actor=staff.get(row.owner_role_code) or staff["nurse"],
            stay=state.row,
            milestone=row,
            data=MilestoneUpdate(status=status),
            expected_version=row.version,
            now=when,
        )

    def _refer(self, item: _ReviewPlan) -> None:
        """Referrals to the pathway's services once the patient no longer meets the criteria to
        reside, and now and then to a specialist team while they do."""
        rng = self.rng
        state = item.state
        pathway = state.row.pathway
        if item.request.meets_criteria_to_reside:
            wanted = [code for code, p in data.SPECIALIST_REFERRALS if rng.random() < p]
        elif pathway in data.REFERRALS_BY_PATHWAY:
            wanted = [code for code, p in data.REFERRALS_BY_PATHWAY[pathway] if rng.random() < p]
        else:
            return
        for n, code in enumerate(c for c in wanted if c not in state.referred):
            state.referred.add(code)
            self.at(item.when + (30 + 25 * n) * MINUTE + rng.randint(0, 40) * MINUTE, self.send_referral, state, code)

    def send_referral(self, when: datetime, state: _StayState, code: str) -> None:
        if state.left_at is not None:
            return
        rng = self.rng
        sender = self.staff[state.ward.idx]["nurse"]
        referral = referrals.add_referral(
            self.session, actor=sender, stay=state.row, data=ReferralCreate(service_code=code, sent_at=when), now=when
        )
        answer, assess, decide = data.REFERRAL_HOURS.get(code, (6, 24, 48))

        def after(mean_hours: float) -> datetime:
            return when + timedelta(hours=max(0.25, rng.lognormvariate(math.log(mean_hours), 0.6)))

        answered, assessed, decided = after(answer), after(assess), after(decide)
        assessed = max(assessed, answered + MINUTE)
        decided = max(decided, assessed + MINUTE)
        roll = rng.random()
        if roll < 0.06:
            reason = rng.choice(data.CHALLENGE_REASONS)
            self.at(answered, self.referral_step, state, referral, ReferralUpdate(
                response=codes.REFERRAL_CHALLENGED, responded_at=answered, challenge_reason=reason))  # fmt: skip
            return
        if roll < 0.1:
            self.at(answered, self.referral_step, state, referral, ReferralUpdate(
                response=codes.REFERRAL_DECLINED, responded_at=answered))  # fmt: skip
            return
        self.at(answered, self.referral_step, state, referral, ReferralUpdate(
            response=codes.REFERRAL_ACCEPTED, responded_at=answered))  # fmt: skip
        self.at(assessed, self.referral_step, state, referral, ReferralUpdate(assessed_at=assessed))
        self.at(decided, self.referral_step, state, referral, ReferralUpdate(
            decided_at=decided, decision=rng.choice(data.REFERRAL_DECISIONS)))  # fmt: skip

    def referral_step(self, when: datetime, state: _StayState, referral: Referral, change: ReferralUpdate) -> None:
        # The services answer by phone or email; the ward's discharge coordinator (nurse) records it.
        referrals.update_referral(
            self.session,
            actor=self.staff[state.ward.idx]["nurse"],
            stay=state.row,
            referral=referral,
            data=change,
            expected_version=referral.version,
            now=when,
        )

    def action_done(self, when: datetime, state: _StayState, action: Action, role: str) -> None:
        staff = self.staff[state.ward.idx]
        # Pharmacists attend rounds but do not sign in: the nurse records their action as done.
        actor = staff.get(role) or staff["nurse"]
        actions.update_action(
            self.session,
            actor=actor,
            action=action,
            stay=state.row,
            data=ActionUpdate(done=True),
            expected_version=action.version,
            now=when,
        )

    # -- failed discharges and escalations ----------------------------------------------

    def failed_discharge(self, when: datetime, state: _StayState) -> None:
        rng = self.rng
        plan = state.plan
        failed_on = plan.failed_on
        assert failed_on is not None  # scheduled only for stays with a failed discharge
        ready = not plan.day(failed_on).meets
        primary = rng.choice(data.FAILED_CAUSES_READY) if ready else "clinical_change"
        causes = [primary]
        if rng.random() < 0.3:
            causes.append(rng.choice([c for c in data.FAILED_CAUSES_READY if c != primary]))
        avoidable = rng.random() < (0.7 if primary not in {"clinical_change", "patient_family"} else 0.15)
        follow_up = rng.random() < 0.6
        fd, _causes = discharges.log_failed_discharge(
            self.session,
            actor=self.staff[state.ward.idx]["nurse"],
            stay=state.row,
            data=FailedDischargeCreate(
                planned_for=at_london(failed_on, 14, 0),
                causes=causes,
                primary_cause=primary,
                detail=data.FAILED_DISCHARGE_DETAIL[primary],
                avoidable=avoidable,
                follow_up_owner_role_code="ward_manager" if follow_up else None,
                follow_up_due_at=when + DAY if follow_up else None,
            ),
            now=when,
        )
        if follow_up and rng.random() < 0.7:
            self.at(when + timedelta(hours=rng.uniform(15, 22)), self.failed_discharge_followed_up, state, fd)

    def failed_discharge_followed_up(self, when: datetime, state: _StayState, fd: FailedDischarge) -> None:
        discharges.update_failed_discharge(
            self.session,
            actor=self.staff[state.ward.idx]["ward_manager"],
            fd=fd,
            stay=state.row,
            data=FailedDischargeUpdate(follow_up_done=True),
            expected_version=fd.version,
            now=when,
        )

    def raise_escalation(self, when: datetime, state: _StayState) -> None:
        if state.left_at is not None:
            return
        rng = self.rng
        plan = state.plan
        reason = plan.day(london_date(when)).delay_reason or plan.delay_reasons[-1]
        family = self.families[reason]
        staff = self.staff[state.ward.idx]
        esc = escalations.raise_escalation(
            self.session,
            actor=staff["nurse"],
            stay=state.row,
            data=EscalationCreate(
                category_code=family,
                help_needed=data.ESCALATION_HELP[family],
                needed_by=when + timedelta(hours=rng.choice((4, 24, 48))),
            ),
            now=when,
        )
        # Plan its life now: acknowledged, perhaps escalated twice, resolved before discharge.
        end = plan.planned_end
        remaining_days = (end - when) / DAY
        steps: list[tuple[datetime, StepAction, str, int]] = []
        t = when + timedelta(hours=rng.uniform(0.5, 3))
        steps.append((t, "acknowledge", "", 1))
        level = 1
        if remaining_days > 3:
            t += timedelta(days=rng.uniform(1, 2))
            steps.append((t, "escalate", "No progress at ward level: need the site flow team", 1))
            level = 2
            t += timedelta(hours=rng.uniform(0.5, 4))
            steps.append((t, "acknowledge", "", 2))
            if remaining_days > 8 and rng.random() < 0.5:
                t += timedelta(days=rng.uniform(2, 4))
                steps.append((t, "escalate", "Risk of a very long stay: needs an executive decision", 2))
                level = 3
                t += timedelta(hours=rng.uniform(1, 12))
                steps.append((t, "acknowledge", "", 3))
            if rng.random() < 0.4:
                t += timedelta(hours=rng.uniform(2, 20))
                steps.append((t, "note", "Chased again today, awaiting reply", level))
        resolve = max(t + HOUR, end - timedelta(hours=rng.uniform(3, 30)))
        if resolve < end - 30 * MINUTE:
            steps.append((resolve, "resolve", rng.choice(data.ESCALATION_OUTCOMES), level))
        for moment, action, note, by_level in steps:
            if moment >= end - 10 * MINUTE:
                break
            self.at(moment, self.escalation_step, state, esc, action, note, by_level)

    def escalation_step(
        self, when: datetime, state: _StayState, esc: Escalation, action: StepAction, note: str, level: int
    ) -> None:
        if esc.status == "resolved":
            return
        staff = self.staff[state.ward.idx]
        actor = {1: staff["ward_manager"], 2: self.flow, 3: staff["executive_sponsor"]}[level]
        escalations.step_escalation(
            self.session,
            actor=actor,
            esc=esc,
            stay=state.row,
            step=EscalationStep(action=action, note=note),
            expected_version=esc.version,
            now=when,
        )
