"""Reference rows and labels for screens, by the names of app.models.REFERENCE_LISTS, cached briefly:
the lists change only through migrations."""

from __future__ import annotations

import time
from threading import Lock
from typing import Any

from sqlmodel import Session, col, select

from app.models import REFERENCE_LISTS
from app.models.reference import ReferenceBase

TTL_SECONDS = 300
_cache: dict[str, tuple[float, list[ReferenceBase]]] = {}
_lock = Lock()


def rows(session: Session, name: str) -> list[Any]:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(name)
        if cached and now - cached[0] < TTL_SECONDS:
            return cached[1]
    model = REFERENCE_LISTS[name].model
    found: list[ReferenceBase] = list(session.exec(select(model).where(model.active).order_by(col(model.sort_order))))
    for row in found:
        session.expunge(row)
    with _lock:
        _cache[name] = (now, found)
    return found


def labels(session: Session, name: str) -> dict:
    return {row.code: row.label for row in rows(session, name)}
