"""Change notices: which wards (and stays) a transaction changed.

Services note each change on their session (the audit trail does it for every write); the
notices are announced only if the transaction commits, by whoever listens for them (the web
layer's live updates, app/web/live.py). Nothing here knows who listens.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

_PENDING = "change_notices"
# The kind of notice for an alert created or emailed: it moves the header's alert count and
# changes no board, so boards and ladders do not refresh for it (app/web/sse.py).
ALERT = "alert"


def note(session: Session, *, ward_id: int | None, stay_id: int | None = None, kind: str = "stay") -> None:
    """Remember, on the session, that this transaction changed a ward (and which stay)."""
    if ward_id is None:
        return
    pending = session.info.setdefault(_PENDING, {})
    # An alert and a change to the same stay are two notices: boards listen for the one, the
    # header's alert count for the other, and neither may hide the other.
    pending[(ward_id, stay_id, kind == ALERT)] = {"ward_id": ward_id, "stay_id": stay_id, "kind": kind}


def take(session: Session) -> list[dict[str, Any]]:
    """The notices of this transaction, once (at commit)."""
    return list(session.info.pop(_PENDING, {}).values())


def drop(session: Session) -> None:
    """The transaction rolled back: it changed nothing."""
    session.info.pop(_PENDING, None)
