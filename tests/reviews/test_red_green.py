"""The red/green rule (app.reviews.red_green): pure, one case per answer pattern."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.core.clock import before_midday
from app.reviews.red_green import Derived, Holding, derive, is_override

ACTION = Holding("action", "HP01", "overdue action")
REFERRAL = Holding("referral", "CTH01", "referral awaiting decision")
ESCALATION = Holding("escalation", "CAP04", "open escalation")


@pytest.mark.parametrize(
    ("meets", "primary", "holding", "expected"),
    [
        (True, None, [], ("green", None)),  # meets criteria, nothing waiting
        (False, "IP03", [], ("red", "IP03")),  # no criteria to reside: its primary delay reason
        (False, None, [], ("red", None)),  # not yet given a delay reason: still red
        (False, "IP03", [ACTION], ("red", "IP03")),  # NCTR's own reason wins over what is held
        (True, None, [ACTION], ("red", "HP01")),  # an overdue action holds discharge
        (True, None, [REFERRAL], ("red", "CTH01")),  # a referral awaiting its decision
        (True, None, [ESCALATION, ACTION], ("red", "CAP04")),  # the first named gives the code
    ],
)
def test_derived_colour_for_each_answer_pattern(meets, primary, holding, expected):
    derived = derive(meets_criteria_to_reside=meets, primary_delay_code=primary, holding=holding)
    assert (derived.status, derived.delay_code) == expected


def test_more_than_one_holding_item_is_counted_in_the_reason():
    derived = derive(meets_criteria_to_reside=True, primary_delay_code=None, holding=[ESCALATION, ACTION])
    assert derived.because == "Discharge held: open escalation (and 1 more)"


def test_override_is_a_chosen_colour_other_than_the_rules():
    green = Derived("green", None, "")
    assert not is_override(green, None) and not is_override(green, "green") and is_override(green, "red")


@pytest.mark.parametrize(
    ("moment", "early"),
    [
        (datetime(2026, 1, 15, 11, 59, tzinfo=UTC), True),  # GMT: 11:59 London
        (datetime(2026, 1, 15, 12, 0, tzinfo=UTC), False),  # GMT: 12:00 London
        (datetime(2026, 7, 15, 10, 59, tzinfo=UTC), True),  # BST: 11:59 London
        (datetime(2026, 7, 15, 11, 0, tzinfo=UTC), False),  # BST: 12:00 London, though 11:00 UTC
    ],
)
def test_before_midday_is_judged_on_the_london_clock(moment, early):
    assert before_midday(moment) is early
