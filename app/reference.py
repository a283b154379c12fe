"""Reference rows and labels for screens, by the names of app.models.REFERENCE_LISTS, cached briefly:
the lists change only through migrations."""

from __future__ import annotations

import time
from threading import Lock

from sqlmodel import Session, SQLModel, select

from app.models import REFERENCE_LISTS

TTL_SECONDS = 300
_cache: dict[str, tuple[float, list[SQLModel]]] = {}
_lock = Lock()


def rows(session: Session, name: str) -> list:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(name)
        if cached and now - cached[0] < TTL_SECONDS:
            return cached[1]
    model = REFERENCE_LISTS[name].model
    found = list(session.exec(select(model).where(model.active).order_by(model.sort_order)))  # type: ignore[attr-defined]
    for row in found:
        session.expunge(row)
    with _lock:
        _cache[name] = (now, found)
    return found


def labels(session: Session, name: str) -> dict:
    return {row.code: row.label for row in rows(session, name)}
