"""Engine, sessions and the metadata naming convention.

Requests reach the database through a gate with as many places as the connection pool: a
request waits for a place on the event loop, holding neither a worker thread nor a
connection, so a crowd of requests (every screen reconnecting after a deploy) queues instead
of deadlocking the thread pool against the connection pool. Database calls run in worker
threads only; one made on the serving event loop fails in tests and development, and is
logged in production.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, event, make_url
from sqlmodel import Session, SQLModel, create_engine
from starlette.concurrency import run_in_threadpool

from app.config import Settings, get_settings

# Every constraint and index gets a predictable name, so migrations can drop them on both
# databases (SQLite batch mode needs names).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (pysqlite's own handling
    # skips BEGIN before reads, which breaks read-then-write atomicity and savepoints).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# Execution option: start this transaction with BEGIN IMMEDIATE (take SQLite's write lock first).
SQLITE_IMMEDIATE = "boardround_sqlite_immediate"


def _sqlite_begin(connection) -> None:  # noqa: ANN001
    immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(settings: Settings, *, pre_ping: bool = True) -> Engine:
    """`pre_ping`: test each pooled PostgreSQL connection before use (a round trip per checkout).
    Callers that retry on a dropped connection themselves (the ADT feed) can turn it off.

    `hide_parameters`: a database error's text then shows the statement but not its values,
    which are often patient data."""
    if settings.is_sqlite:
        path = make_url(settings.database_url).database
        pool: dict[str, int] = {}
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # The same pool size as PostgreSQL, so the request gate has one size (pool_capacity).
            pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_pool_size}
        engine = create_engine(
            settings.database_url,
            connect_args={"check_same_thread": False, "timeout": 10},
            hide_parameters=True,
            **pool,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            pool_pre_ping=pre_ping,
            hide_parameters=True,
        )
    _guard_event_loop(engine, strict=settings.environment != "production")
    return engine


@lru_cache
def get_engine() -> Engine:
    """The engine for code outside a request (CLI); requests use the app's own engine."""
    return make_engine(get_settings())


def pool_capacity(settings: Settings) -> int:
    return 2 * settings.db_pool_size  # pool_size + max_overflow


# The gate -----------------------------------------------------------------------------------


class DatabaseGate:
    """At most `capacity` requests hold a session at once; the others wait on the event loop.

    With no more sessions than pooled connections, a request that has its place always gets a
    connection without waiting, so it never blocks a worker thread that another request's next
    step needs (the freeze this prevents: every thread waiting for a connection while every
    connection waits for a thread).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        # One semaphore per event loop: tests serve the same app from more than one loop.
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def enter(self) -> GatePlace:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores.setdefault(loop, asyncio.Semaphore(self.capacity))
        await semaphore.acquire()
        return GatePlace(semaphore)


class GatePlace:
    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore: asyncio.Semaphore | None = semaphore

    def leave(self) -> None:
        """Give the place back (on the event loop; a second call does nothing)."""
        if self._semaphore is not None:
            self._semaphore.release()
            self._semaphore = None


_PLACE = "gate_place"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, once the gate lets it in; closed in a worker thread."""
    state = request.app.state
    place = await state.db_gate.enter()
    # Writes on SQLite take the write lock when they begin, so concurrent saves wait their turn
    # (busy timeout) instead of failing when a read transaction cannot be upgraded.
    bind = state.engine if request.method in SAFE_METHODS else state.write_engine
    # expire_on_commit off: after commit we render what we just wrote without reloading.
    session = Session(bind, expire_on_commit=False)
    session.info[_PLACE] = place
    try:
        yield session
    finally:
        try:
            await run_in_threadpool(session.close)
        finally:
            place.leave()


async def release_session(session: Session) -> None:
    """Close the request's session and leave the gate now, before a long response (a stream)."""
    await run_in_threadpool(session.close)
    place = session.info.get(_PLACE)
    if place is not None:
        place.leave()


def write_engine(engine: Engine) -> Engine:
    """The engine for requests that write: the same pool; on SQLite, BEGIN IMMEDIATE."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{SQLITE_IMMEDIATE: True})
    return engine


SessionDep = Annotated[Session, Depends(get_session)]


# Database calls on the event loop ------------------------------------------------------------

log = logging.getLogger("boardround.db")
_serving_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


class BlockingCallOnEventLoop(RuntimeError):
    pass


def note_serving_loop() -> None:
    """Called for each request (web middleware): this loop serves HTTP and must never block."""
    _serving_loops.add(asyncio.get_running_loop())


def _guard_event_loop(engine: Engine, *, strict: bool) -> None:
    def before_execute(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread, the CLI or a test: fine
        if loop in _serving_loops:
            if strict:
                raise BlockingCallOnEventLoop("a database call on the event loop: run it in the threadpool")
            log.warning("a database call ran on the event loop and blocked every request meanwhile")

    event.listen(engine, "before_cursor_execute", before_execute)


# Set in session.info by app.web.idempotency for a request with an Idempotency-Key: the stored
# response must commit with the write, so commit() only flushes and notes that it was asked to
# (COMMIT_REQUESTED); the route class commits once the response exists.
COMMIT_AFTER_RESPONSE = "commit_after_response"
COMMIT_REQUESTED = "commit_requested"


def commit(session: Session) -> None:
    """Commit a write path once, turning races into clean 409s instead of 500s.

    Services check rules first; these errors cover the gap between check and write (two tablets
    taking the same bed, a version bumped by another transaction).
    """
    with _races_as_conflicts(session):
        if session.info.get(COMMIT_AFTER_RESPONSE):
            session.flush()  # the same 409s, raised where the route expects them
            session.info[COMMIT_REQUESTED] = True
            return
        session.commit()


@contextmanager
def _races_as_conflicts(session: Session) -> Iterator[None]:
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    from app.core.errors import Conflict, StaleVersion

    try:
        yield
    except StaleDataError as exc:
        session.rollback()
        raise StaleVersion("Someone else changed this record at the same moment: reload and try again") from exc
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("This change clashes with another record (it may have just been made elsewhere)") from exc
