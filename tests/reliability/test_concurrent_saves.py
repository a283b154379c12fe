"""A ward team saving at the same moment: every save waits its turn, none is refused.

SQLite allows one writer at a time. A transaction that began as a reader cannot take the write
lock while another writer holds it, and SQLite answers "database is locked" at once instead of
waiting; so writes begin IMMEDIATE (app/db.py) and wait for the lock instead. PostgreSQL takes
row locks and needs nothing special; the test runs on both.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

SAVERS = 20
ROUNDS = 3


def _save_together(base_url: str, token: str, requests: list[tuple[str, dict]]) -> Counter:
    """Send every request at once (one client each) and count the answers by status."""
    start = threading.Barrier(len(requests))

    def save(path: str, body: dict) -> int:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            client.get("/healthz")  # connect first, so the saves leave together
            start.wait()
            return client.post(path, json=body).status_code

    with ThreadPoolExecutor(len(requests)) as pool:
        return Counter(pool.map(lambda r: save(*r), requests))


def _review(n: int) -> dict:
    return {"meets_criteria_to_reside": True, "criteria": ["02"], "day_status": "green", "plan": f"Plan {n}"}


def test_twenty_people_saving_different_patients_at_once_are_all_saved(app_process, seeded) -> None:
    ward = seeded("nurse", patients=SAVERS)
    statuses: Counter = Counter()
    for n in range(ROUNDS):
        # A review is read-then-write: it looks for today's review before inserting or replacing.
        statuses += _save_together(
            app_process.base_url,
            ward.token,
            [
                (f"/api/v1/stays/{stay_id}/reviews", _review(n) | ({"version": n} if n else {}))
                for stay_id in ward.stay_ids
            ],
        )
    assert statuses[503] == 0, f"refused saves: {dict(statuses)}"
    assert statuses == Counter({201: SAVERS, 200: SAVERS * (ROUNDS - 1)}), dict(statuses)


def test_twenty_people_adding_actions_to_one_patient_at_once_are_all_saved(app_process, seeded) -> None:
    ward = seeded("nurse", patients=1)
    path = f"/api/v1/stays/{ward.stay_ids[0]}/actions"
    statuses = _save_together(
        app_process.base_url,
        ward.token,
        [(path, {"description": f"Task {n}", "owner_role_code": "therapist"}) for n in range(SAVERS)],
    )
    assert statuses == Counter({201: SAVERS}), dict(statuses)
