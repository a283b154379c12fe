"""Fixtures: both databases, per-test transactions rolled back, a live uvicorn server.

Every test that asks for `db` (or anything built on it) runs twice: on SQLite and on
PostgreSQL. With CI=true a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Connection, Engine, event
from sqlmodel import Session

from app import session_hooks
from app.core.clock import FrozenClock, current_time
from app.db import get_session
from app.main import create_app
from tests import factories, pages
from tests.dbs import build_engine, drop_pg_database, in_ci, migrate, postgres_available, settings_for
from tests.sso_provider import oidc_provider, provider_node  # noqa: F401 - fixtures: the test OpenID provider

BACKENDS = ["sqlite", "postgresql"]

# What every entry point installs (metrics marks, change notices): tests use services directly too.
session_hooks.install()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not postgres_available():
        if in_ci():
            pytest.fail("PostgreSQL is required when CI=true but is not reachable")
        pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")
    return request.param


@pytest.fixture(scope="session")
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = build_engine(backend, tmp_path_factory.mktemp(backend), "app")
    migrate(engine)
    yield engine
    engine.dispose()
    if backend == "postgresql":
        drop_pg_database(engine.url.render_as_string(hide_password=False))


@dataclass
class TestContext:
    """Shared between the test and the live server: the connection of the running test."""

    connection: Connection | None = None
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(at=factories.NOW))
    statements: list[str] | None = None


@pytest.fixture(scope="session")
def context(backend: str) -> TestContext:
    return TestContext()


@pytest.fixture
def db(engine: Engine, context: TestContext) -> Iterator[Session]:
    connection = engine.connect()
    transaction = connection.begin()
    context.connection = connection
    context.clock = FrozenClock(at=factories.NOW)
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    def count(conn, cursor, statement, parameters, ctx, executemany):  # noqa: ANN001
        # Savepoints come from the test harness's transaction wrapping, not from the app.
        if context.statements is not None and not statement.lstrip().upper().startswith(
            ("SAVEPOINT", "RELEASE", "ROLLBACK TO")
        ):
            context.statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()
        context.connection = None


@pytest.fixture
def clock(db: Session, context: TestContext) -> FrozenClock:
    return context.clock


@pytest.fixture
def count_queries(context: TestContext):
    @contextlib.contextmanager
    def counting() -> Iterator[list[str]]:
        context.statements = []
        try:
            yield context.statements
        finally:
            context.statements = None

    return counting


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(engine: Engine, context: TestContext) -> Iterator[str]:
    """A real uvicorn server over real HTTP; its requests share the running test's transaction."""
    app = create_app(settings_for(str(engine.url)))

    def test_session() -> Iterator[Session]:
        assert context.connection is not None, "request outside a test"
        with Session(
            bind=context.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as session:
            yield session

    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[current_time] = lambda: context.clock.now()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(FinishBeforeResponding(app), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


class FinishBeforeResponding:
    """Hold each response until the request (and its session teardown) has finished.

    The live server's requests share the test's connection; without this the client could
    send its next request while the previous one is still releasing its savepoint.
    Streaming responses (server-sent events) pass straight through.
    """

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http" or scope["path"].endswith("/events"):
            await self.app(scope, receive, send)
            return
        held: list[dict] = []

        async def hold(message) -> None:  # noqa: ANN001
            held.append(message)

        try:
            await self.app(scope, receive, hold)
        finally:
            for message in held:
                await send(message)


class Api:
    """An HTTP client that acts as one user (bearer token) against the live server."""

    def __init__(self, base_url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=base_url + "/api/v1", headers=headers, timeout=10)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def api_as(db: Session, live_server: str):
    clients: list[Api] = []

    def make(user) -> Api:  # noqa: ANN001
        api = Api(live_server, factories.token_for(db, user) if user else None)
        clients.append(api)
        return api

    yield make
    for api in clients:
        api.client.close()


@pytest.fixture(scope="session")
def password_hash() -> str:
    from app.auth.passwords import hash_password

    return hash_password(pages.PASSWORD)


@pytest.fixture
def browser_as(db: Session, live_server: str, password_hash: str):
    """A signed-in browser (cookie session) for a user; the user gets the test password."""
    browsers: list[pages.Browser] = []

    def make(user) -> pages.Browser:  # noqa: ANN001
        user.password_hash = password_hash
        db.flush()
        browser = pages.Browser(live_server)
        assert pages.sign_in(browser.client, user.username).status_code == 303
        browsers.append(browser)
        return browser

    yield make
    for browser in browsers:
        browser.close()


# Named objects most tests need -------------------------------------------------------------


@pytest.fixture
def ward(db: Session):
    return factories.make_ward(db, beds=6)


@pytest.fixture
def nurse(db: Session, ward):
    return factories.make_user(db, "nurse", wards=[ward], display_name="Nina Nurse")


@pytest.fixture
def nurse_principal(db: Session, nurse):
    return factories.principal(db, nurse)


@pytest.fixture
def api(api_as, nurse) -> Api:
    return api_as(nurse)


@pytest.fixture
def now(clock) -> datetime:
    return clock.now()
