"""Concurrent requests with one Idempotency-Key run once: the app in its own uvicorn process.

The in-thread `live_server` shares the test's connection and serialises requests, so here the
app runs as a separate process over a database whose rows the test committed (a uuid suffix
keeps tests apart). A small local fixture; tests/servers.py will offer the same.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from app.config import PROJECT_ROOT
from app.models import Action
from tests import factories
from tests.dbs import build_engine, drop_pg_database, migrate

DEADLINE_SECONDS = 20


@pytest.fixture(scope="module")
def process_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = build_engine(backend, tmp_path_factory.mktemp(f"idempotency-{backend}"), "idempotency")
    migrate(engine)
    yield engine
    engine.dispose()
    if backend == "postgresql":
        drop_pg_database(engine.url.render_as_string(hide_password=False))


@pytest.fixture(scope="module")
def server_url(process_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOARDROUND_") and k != "DATABASE_URL"}
    env |= {
        "DATABASE_URL": process_engine.url.render_as_string(hide_password=False),
        "BOARDROUND_ENVIRONMENT": "test",
        "BOARDROUND_SECRET_KEY": secrets.token_urlsafe(36),
        "BOARDROUND_SECURE_COOKIES": "false",
    }
    log_path = tmp_path_factory.mktemp("idempotency-server") / "uvicorn.log"
    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or _healthy(url), "the app server to start")
        assert process.poll() is None, Path(log_path).read_text()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Seeded:
    stay_id: int
    token: str


@pytest.fixture
def seeded(process_engine: Engine) -> Seeded:
    """A committed ward with one patient and a nurse's API token."""
    suffix = uuid.uuid4().hex[:8]
    with Session(process_engine, expire_on_commit=False) as db:
        ward = factories.make_ward(db, site=factories.make_site(db, code=f"S{suffix}"), beds=1, code=f"W-{suffix}")
        nurse = factories.make_user(db, "nurse", wards=[ward], username=f"nurse-{suffix}")
        actor = factories.principal(db, nurse)
        stay = factories.make_stay(db, actor, ward, factories.beds_of(db, ward)[0], now=datetime.now(UTC))
        token = factories.token_for(db, nurse)
        db.commit()
        return Seeded(stay.id, token)  # type: ignore[arg-type]


def actions_of(engine: Engine, stay_id: int) -> int:
    with Session(engine) as db:
        return db.execute(select(func.count()).select_from(Action).where(Action.stay_id == stay_id)).scalar_one()


def post_action(client: httpx.Client, seeded: Seeded, key: str) -> httpx.Response:
    return client.post(
        f"/api/v1/stays/{seeded.stay_id}/actions",
        json={"description": "Chase OT assessment", "owner_role_code": "therapist"},
        headers={"Idempotency-Key": key},
    )


def client_for(server_url: str, seeded: Seeded) -> httpx.Client:
    return httpx.Client(base_url=server_url, headers={"Authorization": f"Bearer {seeded.token}"}, timeout=30)


def test_retries_sent_at_the_same_moment_run_once(server_url, process_engine, seeded):
    rounds = 8
    start = threading.Barrier(2)

    def send(key: str) -> httpx.Response:
        start.wait(timeout=DEADLINE_SECONDS)
        return post_action(client, seeded, key)

    with client_for(server_url, seeded) as client, ThreadPoolExecutor(max_workers=2) as pool:
        for n in range(rounds):
            key = f"burst-{n}-{uuid.uuid4()}"
            first, second = pool.map(send, [key, key])
            assert [first.status_code, second.status_code] == [201, 201], (first.text, second.text)
            assert first.content == second.content
            replayed = sorted(r.headers.get("idempotent-replayed", "") for r in (first, second))
            assert replayed == ["", "true"]
    assert actions_of(process_engine, seeded.stay_id) == rounds


def test_a_retry_waits_for_the_first_request_then_gets_its_response(server_url, process_engine, seeded):
    """PostgreSQL: the retry waits on the key's unique index while the first request runs.

    (SQLite takes its write lock before the first read, so there the retry waits at BEGIN
    IMMEDIATE; it cannot be watched from outside, and the test above covers it.)
    """
    if process_engine.dialect.name != "postgresql":
        pytest.skip("waits are observable in pg_stat_activity only")

    def waiting() -> list[str]:
        with process_engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                    )
                ).scalars()
            )

    key = f"held-{uuid.uuid4()}"
    with client_for(server_url, seeded) as client, ThreadPoolExecutor(max_workers=2) as pool:
        with process_engine.connect() as locker:
            locker.begin()
            locker.execute(text("LOCK TABLE action IN EXCLUSIVE MODE"))  # the first request stops at its insert
            first = pool.submit(post_action, client, seeded, key)
            wait_for(lambda: any(q.startswith("INSERT INTO action") for q in waiting()), "the first request")
            second = pool.submit(post_action, client, seeded, key)
            wait_for(lambda: any(q.startswith("INSERT INTO idempotencykey") for q in waiting()), "the retry")
            assert not first.done() and not second.done()
            locker.rollback()
        first_response, second_response = (
            first.result(timeout=DEADLINE_SECONDS),
            second.result(timeout=DEADLINE_SECONDS),
        )
    assert first_response.status_code == second_response.status_code == 201
    assert "idempotent-replayed" not in first_response.headers
    assert second_response.headers["idempotent-replayed"] == "true"
    assert second_response.content == first_response.content
    assert actions_of(process_engine, seeded.stay_id) == 1
