"""What the day-one commands (`setup`, `ward import`) share: who is acting, failing, a session."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlmodel import Session

from app.config import get_settings
from app.db import make_engine


def cli_actor() -> str:
    """How the audit trail names a command run by hand: `cli:<operating-system user>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli:unknown"


def fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@contextmanager
def session_scope() -> Iterator[Session]:
    engine = make_engine(get_settings())
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()
