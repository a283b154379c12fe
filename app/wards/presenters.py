"""Display values for the ward board: tags, highlights and short texts. No queries here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.wards.schemas import BoardStay


@dataclass(frozen=True)
class Tag:
    text: str
    colour: str  # an NHS tag modifier: green, red, orange, grey, blue, yellow...


def ctr_tag(
    stay: BoardStay, delay_labels: dict[str, str], criteria_labels: dict[str, str] | None = None
) -> tuple[Tag, str]:
    """(tag, detail) for today's criteria-to-reside status: the detail in words (the criteria met,
    or the reason for the delay), never codes."""
    review = stay.review_today
    if review is None:
        return Tag("Not reviewed", "grey"), ""
    if review.meets_criteria_to_reside:
        names = criteria_labels or {}
        return Tag("Meets criteria", "blue"), "; ".join(
            names.get(code, f"criterion {code}") for code in review.criteria
        )
    return Tag("No criteria to reside", "orange"), delay_labels.get(review.delay_reason_code or "", "")


def changed_ago(moment: datetime | None, now: datetime) -> str:
    """How long ago a board entry last changed, short enough for a dense row: "2 min ago"."""
    if moment is None:
        return ""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def day_tag(stay: BoardStay) -> Tag | None:
    review = stay.review_today
    if review is None:
        return None
    return Tag("Red day", "red") if review.day_status == "red" else Tag("Green day", "green")


def los_class(stay: BoardStay) -> str:
    return f"app-los--{stay.long_stay_flag}" if stay.long_stay_flag else ""


def edd_text(stay: BoardStay, today: date) -> str:
    if stay.expected_discharge_date is None:
        return "Not set"
    days = (stay.expected_discharge_date - today).days
    if days == 0:
        return "Today"
    if days == 1:
        return "Tomorrow"
    if days < 0:
        return f"Overdue {-days} day{'s' if days != -1 else ''}"
    return ""


def pathway_text(pathway: int | None) -> str:
    return "–" if pathway is None else f"P{pathway}"


FILTERS = {
    "": "All patients",
    "not_reviewed": "Not reviewed today",
    "nctr": "No criteria to reside",
    "los7": "7 or more days",
    "edd_overdue": "EDD overdue",
}


def matches(stay: BoardStay | None, key: str) -> bool:
    if not key:
        return True
    if stay is None:
        return False
    if key == "not_reviewed":
        return stay.review_today is None
    if key == "nctr":
        return stay.review_today is not None and not stay.review_today.meets_criteria_to_reside
    if key == "los7":
        return stay.length_of_stay_midnights >= 7
    if key == "edd_overdue":
        return stay.edd_overdue
    return True
