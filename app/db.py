"""Engine, sessions and the metadata naming convention."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel, create_engine

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
        path = settings.database_url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            settings.database_url, connect_args={"check_same_thread": False, "timeout": 10}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=pre_ping,
        hide_parameters=True,
    )


@lru_cache
def get_engine() -> Engine:
    """The engine for code outside a request (CLI); requests use the app's own engine."""
    return make_engine(get_settings())


def get_session(request: Request) -> Iterator[Session]:
    # expire_on_commit off: after commit we render what we just wrote without reloading.
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


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
    from app.web import live

    with _races_as_conflicts(session):
        if session.info.get(COMMIT_AFTER_RESPONSE):
            session.flush()  # the same 409s, raised where the route expects them
            session.info[COMMIT_REQUESTED] = True
            return
        local_events = live.before_commit(session)
        session.commit()
    live.after_commit(local_events)


@contextmanager
def _races_as_conflicts(session: Session) -> Iterator[None]:
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    from app.core.errors import Conflict, StaleVersion
    from app.web import live

    try:
        yield
    except StaleDataError as exc:
        session.rollback()
        live.discard(session)
        raise StaleVersion("Someone else changed this record at the same moment: reload and try again") from exc
    except IntegrityError as exc:
        session.rollback()
        live.discard(session)
        raise Conflict("This change clashes with another record (it may have just been made elsewhere)") from exc
