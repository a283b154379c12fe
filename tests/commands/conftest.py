"""The day-one commands against a real database of each kind (DATABASE_URL set for the run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from app.cli import app
from app.config import get_settings
from app.db import make_engine
from tests.dbs import drop_pg_database, fresh_pg_database, migrate, settings_for, worker_id


@pytest.fixture
def cli_engine(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh, migrated database that the commands use (nothing rolled back: it is dropped)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'day-one.db'}"
    else:
        url = fresh_pg_database(f"br_dayone_{worker_id()}")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOARDROUND_SECRET_KEY", "s" * 48)
    get_settings.cache_clear()
    engine = make_engine(settings_for(url))
    migrate(engine)
    yield engine
    engine.dispose()
    get_settings.cache_clear()
    if backend == "postgresql":
        drop_pg_database(url)


@pytest.fixture
def run(cli_engine: Engine):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    return invoke
