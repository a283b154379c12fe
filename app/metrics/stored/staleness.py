"""Marks the closed days a write changes, in the write's own transaction (app.models.metrics).

Stored metrics days are built from the facts once the day has closed. Almost every write changes
only today (a review, an EDD, a transfer or a discharge as it happens): it needs no mark, and this
hook writes none. A write that reaches back leaves a mark from the earliest instant it changed:

* a backdated admission, discharge or transfer, and their corrections or cancellations (A11-A13);
* a review recorded (or re-recorded) for an earlier day;
* a correction to a discharged stay (destination, pathway, consultant, ward left from), and of its
  admission or discharge time, which moves an end of its ward history: a moved row marks its ward
  from the earlier to the later of its old and new times, so both the old days and the new;
* clinical criteria for discharge recorded or cleared on a stay admitted before today: the census
  counts "with EDD and CCD" by the stay's current CCD, so its earlier days change too;
* a board round started before today and ended (or corrected) since: it counts on its first day.

It is an ORM flush hook, installed by every entry point (app/session_hooks.py), so every write
path (pages, API, PAS feed, demo, CLI) is covered. A change
made by hand in SQL to stays, their ward history, reviews, EDD changes or board rounds bypasses it:
follow one with `boardround metrics refresh --rebuild`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from app.core.clock import london_date, london_start_of_day, utcnow
from app.models import BoardRound, DailyReview, EddChange, MetricsStale, Stay, StayLocation


def _change(obj: object, name: str) -> tuple[Any, Any] | None:
    """(old, new) when the attribute changed in this flush, else None. An old value of None and one
    never loaded look alike to the ORM: the services read a row (for their checks and the audit's
    "before") before they change it."""
    history = inspect(obj).attrs[name].history
    if not history.has_changes():
        return None
    old = history.deleted[0] if history.deleted else None
    new = history.added[0] if history.added else getattr(obj, name)
    return old, new


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return min(known) if known else None


def _latest_or_open(*moments: datetime | None) -> datetime | None:
    """The latest of these ends, None (still open) if any is open."""
    return None if any(m is None for m in moments) else max(moments)  # type: ignore[type-var]


def _start_of(day: date | None) -> datetime | None:
    return None if day is None else london_start_of_day(day)


class _Marks:
    def __init__(self, now: datetime) -> None:
        self.today = london_start_of_day(london_date(now))
        self.now = now
        self.rows: list[dict[str, Any]] = []

    def stay(self, stay_id: int | None, since: datetime | None) -> None:
        """The stay's days from `since` on (every ward it is on, and its discharge day)."""
        if stay_id is not None and since is not None and since < self.today:
            self._add(stay_id=stay_id, ward_id=None, from_at=since, to_at=None)

    def ward(self, ward_id: int | None, start: datetime | None, end: datetime | None) -> None:
        """One ward's days from `start` to `end` (None: open-ended)."""
        if ward_id is not None and start is not None and start < self.today:
            self._add(stay_id=None, ward_id=ward_id, from_at=start, to_at=end)

    def _add(self, **row: Any) -> None:
        row["marked_at"] = self.now
        if row not in self.rows:
            self.rows.append(row)


def _stay_changed(marks: _Marks, stay: Stay) -> None:
    if change := _change(stay, "admitted_at"):
        marks.stay(stay.id, _earliest(*change))
    if change := _change(stay, "discharged_at"):
        marks.stay(stay.id, _earliest(*change))
        old_ward = (_change(stay, "ward_id") or (stay.ward_id, None))[0]
        marks.ward(old_ward, change[0], change[0])  # the discharge day it used to count on
    discharged = stay.discharged_at
    if discharged is not None:
        if change := _change(stay, "ward_id"):
            marks.ward(change[0], discharged, discharged)
        if any(
            _change(stay, name)
            for name in ("ward_id", "discharge_destination_code", "pathway", "responsible_consultant")
        ):
            marks.stay(stay.id, discharged)
    if change := _change(stay, "clinical_criteria_for_discharge"):
        if bool(change[0]) != bool(change[1]):
            marks.stay(stay.id, stay.admitted_at)


def _location_changed(marks: _Marks, location: StayLocation) -> None:
    ward = _change(location, "ward_id")
    started = _change(location, "started_at")
    ended = _change(location, "ended_at")
    if ward:
        old_started = started[0] if started else location.started_at
        old_ended = ended[0] if ended else location.ended_at
        marks.ward(ward[0], old_started, old_ended)
        marks.ward(ward[1], location.started_at, location.ended_at)
        return
    if started:  # an unknown old value (never loaded) marks to the end, to be safe
        marks.ward(location.ward_id, _earliest(*started), _latest_or_open(*started))
    if ended:
        marks.ward(location.ward_id, _earliest(*ended), _latest_or_open(*ended))


def _review_changed(marks: _Marks, review: DailyReview) -> None:
    day = _change(review, "review_date") or (review.review_date, None)
    if _change(review, "review_date") or _change(review, "meets_criteria_to_reside"):
        marks.stay(review.stay_id, _start_of(min(d for d in day if d is not None)))


def _round_changed(marks: _Marks, rnd: BoardRound) -> None:
    """A round counts on the day it started, with its length once it has ended."""
    started = _change(rnd, "started_at") or (rnd.started_at, rnd.started_at)
    ward = _change(rnd, "ward_id") or (rnd.ward_id, rnd.ward_id)
    if _change(rnd, "started_at") or _change(rnd, "ended_at") or _change(rnd, "ward_id"):
        for ward_id, start in {(ward[0], started[0]), (ward[1], started[1])}:
            marks.ward(ward_id, start, start)


def _row_added_or_removed(marks: _Marks, obj: object) -> None:
    """A row inserted or deleted changes the days it covers. (A new or deleted stay needs no mark of
    its own: its ward-history rows carry it.)"""
    if isinstance(obj, StayLocation):
        marks.ward(obj.ward_id, obj.started_at, obj.ended_at)
    elif isinstance(obj, DailyReview):
        marks.stay(obj.stay_id, _start_of(obj.review_date))
    elif isinstance(obj, EddChange):
        marks.stay(obj.stay_id, obj.changed_at)
    elif isinstance(obj, BoardRound):
        marks.ward(obj.ward_id, obj.started_at, obj.started_at)


def marks_for_flush(session: Session, now: datetime) -> list[dict[str, Any]]:
    """The marks for what this flush wrote (called after the flush, before history is reset)."""
    marks = _Marks(now)
    for obj in (*session.new, *session.deleted):
        _row_added_or_removed(marks, obj)
    for obj in session.dirty:
        if not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, Stay):
            _stay_changed(marks, obj)
        elif isinstance(obj, StayLocation):
            _location_changed(marks, obj)
        elif isinstance(obj, DailyReview):
            _review_changed(marks, obj)
        elif isinstance(obj, EddChange) and (change := _change(obj, "changed_at")):
            marks.stay(obj.stay_id, _earliest(*change))
        elif isinstance(obj, BoardRound):
            _round_changed(marks, obj)
    return marks.rows


def install() -> None:
    """Mark stale days in every session's flushes. Once per process (app/session_hooks.py)."""
    if not event.contains(Session, "after_flush", _mark_stale_days):
        event.listen(Session, "after_flush", _mark_stale_days)


def _mark_stale_days(session: Session, _context: object) -> None:
    rows = marks_for_flush(session, utcnow())
    if rows:
        session.connection().execute(insert(MetricsStale.__table__), rows)  # type: ignore[attr-defined]
