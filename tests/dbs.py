"""Test databases: a fresh SQLite file and a fresh PostgreSQL database per xdist worker,
both built by running the Alembic migrations (never create_all)."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from alembic.config import Config
from sqlalchemy import Engine

from app.config import PROJECT_ROOT, Settings
from app.db import make_engine

PG_ADMIN_DSN = os.environ.get("BOARDROUND_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def postgres_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def worker_id() -> str:
    """Unique per test process: concurrent runs on one machine must not share a database."""
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_pg_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


def fresh_sqlite_database(directory: Path, name: str) -> str:
    path = directory / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def settings_for(database_url: str) -> Settings:
    return Settings(
        environment="test",
        DATABASE_URL=database_url,
        secret_key="t" * 48,
        secure_cookies=False,
        metrics_background_refresh=False,
    )


def alembic_config(engine: Engine) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["configure_logger"] = False
    return config


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    """The same migration runner as `boardround db upgrade`."""
    from app.cli import migrate as run

    run(engine, revision, down=down)


def build_engine(backend: str, tmp_dir: Path, name: str) -> Engine:
    if backend == "sqlite":
        url = fresh_sqlite_database(tmp_dir, name)
    else:
        url = fresh_pg_database(f"br_{name}_{worker_id()}")
    return make_engine(settings_for(url))
