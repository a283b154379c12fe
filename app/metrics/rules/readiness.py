"""Criteria to reside and the discharge ready date (DRD): runs of "no criteria to reside" (NCTR)
reviews, and the national bands of the delay from DRD to discharge."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from app.metrics.rules.facts import Review

# National DRD delay bands (Timeliness of Acute Hospital Discharges): label, lowest, highest.
DELAY_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0),
    ("1", 1, 1),
    ("2-3", 2, 3),
    ("4-6", 4, 6),
    ("7-13", 7, 13),
    ("14-20", 14, 20),
    ("21+", 21, None),
)


def discharge_ready_date(reviews: Iterable[Review], *, up_to: date | None = None) -> date | None:
    """Start of the final NCTR period among reviews dated on or before `up_to`.

    None when the last review met the criteria (or there were none): there is no current period.
    """
    drd: date | None = None
    for review in sorted(reviews, key=lambda r: r.review_date):
        if up_to is not None and review.review_date > up_to:
            break
        if review.meets:
            drd = None
        elif drd is None:
            drd = review.review_date
    return drd


def nctr_runs(reviews: Sequence[Review]) -> list[tuple[date, date | None]]:
    """[(first NCTR review date, date of the review that met criteria again or None)], in order."""
    runs: list[tuple[date, date | None]] = []
    start: date | None = None
    for review in reviews:
        if not review.meets and start is None:
            start = review.review_date
        elif review.meets and start is not None:
            runs.append((start, review.review_date))
            start = None
    if start is not None:
        runs.append((start, None))
    return runs


def delay_band(days: int) -> str:
    for label, low, high in DELAY_BANDS:
        if days >= low and (high is None or days <= high):
            return label
    raise ValueError(f"negative delay: {days}")
