"""Committed history for browser tests: what the ward recorded before today.

`seed_ward` admits patients three days ago and records nothing else. A board round needs
yesterday's reviews (so "No change since last review" is offered) and expected discharge
dates (so changing one needs a reason). `record_past_reviews` writes them through the real
services with `now=` a moment in the past, by a doctor created for the purpose, and commits,
so the server process sees them. The `past_reviews` fixture in conftest.py wraps it.

Also shared by test_round, test_live, test_offline and test_escalations: `patient_names`, and
the app bugs and small touch targets those tests found (KNOWN_BUGS, KNOWN_SMALL_TARGETS), each
checked strictly so that a fix makes the test say which entry to remove.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.clock import LONDON, london_date
from app.models import Stay, Ward
from tests import factories

PAST_REVIEWER = "Dr Yesterday"


@dataclass(frozen=True)
class PastReview:
    """What was recorded for one stay: the tests compare the screens with it."""

    stay_id: int
    review_date: date
    meets: bool
    day_status: str
    delay_reason_code: str | None
    expected_discharge_date: date | None
    plan: str


def london_today() -> date:
    return london_date(datetime.now(UTC))


def past_moment(days_ago: int = 1, at: time = time(12, 0)) -> datetime:
    """Midday (London) `days_ago` days ago: after a seeded admission (three days ago, now)."""
    return datetime.combine(london_today() - timedelta(days=days_ago), at, tzinfo=LONDON)


def record_past_reviews(
    engine: Engine,
    ward_id: int,
    stay_ids: list[int],
    *,
    days_ago: int = 1,
    meets: bool = True,
    delay_reason_code: str | None = None,
    day_status: str | None = None,
    edd_in_days: int | None = 2,
    plan: str = "Continue current plan",
) -> list[PastReview]:
    """Record a criteria-to-reside review `days_ago` days ago for each stay, committed.

    edd_in_days: also set the expected discharge date (that many days after today), at the
    same past moment, as the first EDD (no reason needed); None leaves the EDD alone.
    meets=False needs a delay_reason_code (e.g. "IP03").
    """
    when = past_moment(days_ago)
    edd = london_today() + timedelta(days=edd_in_days) if edd_in_days is not None else None
    recorded = []
    with Session(engine, expire_on_commit=False) as db:
        ward = db.get(Ward, ward_id)
        assert ward is not None, f"no ward {ward_id}"
        doctor = factories.make_user(
            db, "doctor", wards=[ward], username=f"past-{uuid.uuid4().hex[:8]}", display_name=PAST_REVIEWER
        )
        actor = factories.principal(db, doctor)
        for stay_id in stay_ids:
            stay = db.get(Stay, stay_id)
            assert stay is not None and stay.ward_id == ward_id, f"stay {stay_id} is not on ward {ward_id}"
            if edd is not None:
                factories.make_edd(db, actor, stay, edd, now=when)
            review = factories.make_review(
                db, actor, stay, meets=meets, now=when, plan=plan,
                **({} if meets else {"delay_reason_code": delay_reason_code}),
                **({} if day_status is None else {"day_status": day_status, "day_status_override_reason": "Seeded"}),
            )  # fmt: skip
            recorded.append(
                PastReview(
                    stay_id=stay_id,
                    review_date=review.review_date,
                    meets=meets,
                    day_status=review.day_status,
                    delay_reason_code=review.delay_reason_code,
                    expected_discharge_date=stay.expected_discharge_date,
                    plan=plan,
                )
            )
        db.commit()
    return recorded


def patient_names(engine: Engine, stay_ids: list[int]) -> dict[int, str]:
    """{stay id: "FAMILY, Given"}, as the patient screens' headings show them."""
    from app.models import Patient

    with Session(engine) as db:
        out = {}
        for stay_id in stay_ids:
            stay = db.get(Stay, stay_id)
            patient = db.get(Patient, stay.patient_id)
            out[stay_id] = f"{patient.family_name.upper()}, {patient.given_name}"
        return out


# --------------------------------------------------------------------------------------------
# Known app bugs the browser tests found (reported to the lead), shared by the test modules.
# Strict, like KNOWN_NO_REFLOW in test_pages.py: each check asserts the bug is still there,
# so once it is fixed the test fails and says to remove the entry (and its workaround).
# --------------------------------------------------------------------------------------------

KNOWN_BUGS: dict[str, str] = {}


# Controls smaller than 44 x 44 CSS px under the project's rule (docs/testing.md: a link alone
# in its paragraph is a standalone target), reported, not fixed yet. For assert_touch_targets'
# `known=`: strict, it says when an entry can go.
KNOWN_SMALL_TARGETS: dict[str, str] = {}


def expect_title(page, pattern: str, bug: str = "step-title-not-updated") -> None:  # noqa: ANN001
    """document.title matches the regex `pattern`, unless the known bug `bug` is still listed."""
    import re

    from playwright.sync_api import expect

    if bug not in KNOWN_BUGS:
        expect(page).to_have_title(re.compile(pattern))
        return
    page.wait_for_timeout(100)  # htmx applies a <title> during the swap; give it a moment
    assert not re.search(pattern, page.title()), (
        f"the title now follows the screen ({page.title()!r}): remove {bug!r} from KNOWN_BUGS in tests/browser/seeding.py"
    )


def clear_none_textareas(page, expected: tuple[str, ...] = ("escalation_help",)) -> None:  # noqa: ANN001
    """Check for the 'None' textareas (KNOWN_BUGS) and empty them, as a user would have to."""
    showing = page.evaluate(
        "() => [...document.querySelectorAll('#patient-form textarea')].filter((t) => t.value === 'None').map((t) => t.id)"
    )
    if "form-textareas-show-None" not in KNOWN_BUGS:
        assert not showing, f"textareas showing 'None': {showing}"
        return
    assert set(expected) <= set(showing), (
        f"textareas {expected} no longer show 'None' (now: {showing}): "
        "remove 'form-textareas-show-None' from KNOWN_BUGS in tests/browser/seeding.py"
    )
    for textarea_id in showing:
        page.locator(f"#{textarea_id}").fill("")
