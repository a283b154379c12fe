"""Facts: what the loaders (app.metrics.queries) hand over to the rules, so the rules can be tested
on hand-built data. Named tuples: tens of thousands are built per request."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple


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
    """A referral's moments (docs/metrics.md, referral times). `decided_at`: the service's
    decision, or its answer when it declined or challenged the referral."""

    id: int
    stay_id: int
    ward_id: int
    service: str  # the service's label
    sent_at: datetime
    decided_at: datetime | None = None
    assessed_at: datetime | None = None


class RoundFacts(NamedTuple):
    id: int
    ward_id: int
    started_at: datetime
    ended_at: datetime | None = None
