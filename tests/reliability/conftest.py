"""Reliability tests: the app in its own process under many connections or concurrent writers.

Per pytest session (per xdist worker) and backend: a fresh migrated database and one uvicorn
process over it (tests/servers.py). Tests commit their data through the real services; codes
and usernames carry a uuid suffix, so tests never see each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from tests import factories
from tests.dbs import build_engine, migrate
from tests.servers import LiveServer, start_server, stop_server


@pytest.fixture(scope="session")
def process_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = build_engine(backend, tmp_path_factory.mktemp(f"reliability-{backend}"), "reliability")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app_process(process_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One worker, the default pool: what a small site runs."""
    url = process_engine.url.render_as_string(hide_password=False)
    log_path = tmp_path_factory.mktemp("reliability-server") / f"uvicorn-{process_engine.dialect.name}.log"
    server = start_server(url, log_path)
    yield server
    stop_server(server.process)


@dataclass(frozen=True)
class Seeded:
    ward_id: int
    ward_code: str
    stay_ids: list[int]
    username: str
    token: str


@pytest.fixture
def seeded(process_engine: Engine, password_hash: str) -> Callable[..., Seeded]:
    """seeded(role="nurse", patients=2) -> a committed ward with patients and a user of it."""

    def make(role: str = "nurse", patients: int = 2) -> Seeded:
        suffix = uuid.uuid4().hex[:8]
        with Session(process_engine, expire_on_commit=False) as db:
            site = factories.make_site(db, code=f"S{suffix}")
            ward = factories.make_ward(db, site=site, beds=max(patients, 1), code=f"W-{suffix}")
            user = factories.make_user(db, role, wards=[ward], username=f"{role}-{suffix}", password_hash=password_hash)
            actor = factories.principal(db, user)
            beds = factories.beds_of(db, ward)
            now = datetime.now(UTC)
            stays = [factories.make_stay(db, actor, ward, beds[i], now=now) for i in range(patients)]
            token = factories.token_for(db, user)
            db.commit()
            return Seeded(ward.id, ward.code, [s.id for s in stays], user.username, token)

    return make
