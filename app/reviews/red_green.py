"""Red or green day, derived from the review's answers (Red2Green with criteria to reside).

One rule, used by the review service when it stores a review and by the round step's form to
show the day's colour as the answers change:

- the patient does not meet the criteria to reside: a red day, its reason the primary delay
  reason (a national delay code);
- the patient meets the criteria to reside but something is holding the discharge (an overdue
  action or discharge milestone, a referral awaiting its decision, an open escalation): a red
  day, its reason the national delay code the holding item maps to;
- otherwise: a green day.

The team may override the colour, with a reason (stored and audited with the review). Pure: no
database, no clock; the service gathers what is holding the discharge (app.reviews.holding).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

DayStatus = Literal["red", "green"]
HoldingKind = Literal["action", "milestone", "referral", "escalation"]

# What an overdue action stands for on the national list, by the role that owns it.
ACTION_DELAY_CODES: dict[str, str] = {
    "doctor": "HP01",  # awaiting medical review or decision
    "pharmacist": "HP04",  # awaiting medicines to take home
    "therapist": "HP05",  # awaiting therapy review of need for supported discharge
    "social_worker": "CTH01",  # waiting for confirmation of care needs and pathway
    "flow_coordinator": "HP06",  # awaiting referral to the care transfer hub
}
ACTION_DEFAULT_DELAY_CODE = "HP02"  # awaiting formal decision to discharge
# A referral still waiting for its decision: the care transfer hub has not confirmed needs and pathway.
REFERRAL_DELAY_CODE = "CTH01"
# An open escalation, by its delay-reason family: the family's broadest national code.
ESCALATION_DELAY_CODES: dict[str, str] = {
    "hospital_process": "HP02",
    "care_transfer_hub": "CTH01",
    "interface": "IP05",
    "capacity": "CAP04",
    "wellbeing": "WB01",
}


@dataclass(frozen=True)
class Holding:
    """Something holding the discharge, and the national delay code it stands for."""

    kind: HoldingKind
    delay_code: str
    text: str = ""


@dataclass(frozen=True)
class Derived:
    status: DayStatus
    delay_code: str | None  # the national delay code of a red day (None when green, or not yet chosen)
    because: str  # for people: why the rule says so


def action_delay_code(owner_role_code: str) -> str:
    return ACTION_DELAY_CODES.get(owner_role_code, ACTION_DEFAULT_DELAY_CODE)


def escalation_delay_code(family_code: str) -> str:
    return ESCALATION_DELAY_CODES.get(family_code, ACTION_DEFAULT_DELAY_CODE)


def derive(*, meets_criteria_to_reside: bool, primary_delay_code: str | None, holding: Sequence[Holding]) -> Derived:
    """The day's colour by the rule. `holding` in the order to report (the first one names the reason)."""
    if not meets_criteria_to_reside:
        return Derived("red", primary_delay_code, "No criteria to reside")
    if holding:
        first = holding[0]
        more = f" (and {len(holding) - 1} more)" if len(holding) > 1 else ""
        return Derived("red", first.delay_code, f"Discharge held: {first.text or first.kind}{more}")
    return Derived("green", None, "Meets criteria to reside and nothing is waiting")


def is_override(derived: Derived, chosen: DayStatus | None) -> bool:
    """Whether the team chose a colour other than the rule's (which then needs a reason)."""
    return chosen is not None and chosen != derived.status
