"""The metrics filter: ward and period from the query string, NHS-style messages when wrong."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from app.core.types import DATE_RANGE_MESSAGE, iso_date
from app.metrics.rules.period import MAX_PERIOD_DAYS, Period
from app.models import Ward

DEFAULT_DAYS = 28


@dataclass(frozen=True)
class MetricsFilter:
    period: Period
    ward: Ward | None  # None: every ward in scope

    def query(self) -> str:
        """The same filter as a query string, for links (CSV downloads)."""
        pairs = [("ward", self.ward.code)] if self.ward else []
        pairs += [("date_from", self.period.date_from.isoformat()), ("date_to", self.period.date_to.isoformat())]
        return urlencode(pairs)


def _date(value: str, errors: dict[str, str], field: str, what: str) -> date | None:
    """An ISO date (the shared rule of app.core.types), or None with a message against the field."""
    try:
        return iso_date(value)
    except ValueError as exc:
        errors[field] = DATE_RANGE_MESSAGE if str(exc) == DATE_RANGE_MESSAGE else f"Enter a real date for {what}"
        return None


def default_period(today: date) -> Period:
    """The last four complete weeks: the 28 days up to yesterday."""
    return Period.ending(today - timedelta(days=1), DEFAULT_DAYS)


def parse_filter(
    params: Mapping[str, str], wards: Sequence[Ward], today: date
) -> tuple[MetricsFilter | None, dict[str, str], dict[str, str]]:
    """(filter or None, the values as typed, errors by field). A blank date takes the default."""
    values = {k: str(params.get(k, "") or "").strip()[:20] for k in ("ward", "date_from", "date_to")}
    errors: dict[str, str] = {}
    ward = None
    if values["ward"]:
        ward = next((w for w in wards if w.code == values["ward"]), None)
        if ward is None:
            errors["ward"] = "Select a ward from the list"
    default = default_period(today)
    start = (
        _date(values["date_from"], errors, "date_from", "the start of the period")
        if values["date_from"]
        else default.date_from
    )
    end = _date(values["date_to"], errors, "date_to", "the end of the period") if values["date_to"] else default.date_to
    if end is not None and end > today:
        errors["date_to"] = "The end of the period cannot be in the future"
    if start and end and "date_to" not in errors:
        if start > end:
            errors["date_from"] = "The start of the period must be on or before its end"
        elif (end - start).days + 1 > MAX_PERIOD_DAYS:
            errors["date_from"] = f"Choose a period of {MAX_PERIOD_DAYS} days or fewer"
    if errors or start is None or end is None:
        return None, values, errors
    values["date_from"], values["date_to"] = start.isoformat(), end.isoformat()
    return MetricsFilter(Period(start, end), ward), values, errors
