"""Every table, imported so Alembic and the app see one complete metadata."""

from app.models.action import Action
from app.models.adt import AdtMessage, BedLabelFrom, PasLocation
from app.models.alert import Alert, AlertPreferences
from app.models.audit import AuditEvent
from app.models.discharge import FailedDischarge, FailedDischargeCause
from app.models.escalation import Escalation, EscalationEvent
from app.models.idempotency import IdempotencyKey
from app.models.metrics import (
    MetricsDay,
    MetricsDayCount,
    MetricsDayEdd,
    MetricsMonthCount,
    MetricsMonthEdd,
    MetricsRefresh,
    MetricsStale,
)
from app.models.milestone import DischargeMilestone
from app.models.patient import Patient
from app.models.place import Bed, BedStatePeriod, Site, Ward
from app.models.reference import (
    REFERENCE_LISTS,
    BedClosureReason,
    BedState,
    Criterion,
    DelayReason,
    DelayReasonFamily,
    DischargeDestination,
    EscalationLevel,
    FailedDischargeReason,
    MilestoneType,
    Pathway,
    RedDayReason,
    ReferenceList,
    ReferralService,
    StaffRole,
)
from app.models.review import DailyReview, ReviewCriterion, ReviewDelayReason
from app.models.round import BoardRound, BoardRoundAttendee, BoardRoundEntry
from app.models.sign_in import SignInPolicy, SignInThrottle
from app.models.stay import EddChange, Referral, Stay, StayLocation
from app.models.user import ApiToken, User, UserSession, UserWard

__all__ = [
    "REFERENCE_LISTS",
    "Action",
    "Alert",
    "AlertPreferences",
    "AdtMessage",
    "ApiToken",
    "AuditEvent",
    "BedLabelFrom",
    "Bed",
    "BedClosureReason",
    "BedState",
    "BedStatePeriod",
    "BoardRound",
    "BoardRoundAttendee",
    "BoardRoundEntry",
    "Referral",
    "DischargeMilestone",
    "MilestoneType",
    "ReferralService",
    "Criterion",
    "DailyReview",
    "DelayReason",
    "DelayReasonFamily",
    "DischargeDestination",
    "EddChange",
    "Escalation",
    "EscalationEvent",
    "EscalationLevel",
    "FailedDischarge",
    "FailedDischargeCause",
    "FailedDischargeReason",
    "IdempotencyKey",
    "MetricsDay",
    "MetricsDayCount",
    "MetricsDayEdd",
    "MetricsMonthCount",
    "MetricsMonthEdd",
    "MetricsRefresh",
    "MetricsStale",
    "Patient",
    "PasLocation",
    "Pathway",
    "RedDayReason",
    "ReferenceList",
    "ReviewCriterion",
    "SignInPolicy",
    "ReviewDelayReason",
    "SignInThrottle",
    "Site",
    "StaffRole",
    "Stay",
    "StayLocation",
    "User",
    "UserSession",
    "UserWard",
    "Ward",
]
