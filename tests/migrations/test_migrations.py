"""Migrations: empty -> head -> empty on both databases; models and migrations agree."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import app.models  # noqa: F401
from tests.dbs import alembic_config, build_engine, migrate


@pytest.fixture
def fresh_engine(backend, tmp_path):
    engine = build_engine(backend, tmp_path, "migrations")
    yield engine
    engine.dispose()


def test_single_head(fresh_engine):
    script = ScriptDirectory.from_config(alembic_config(fresh_engine))
    assert len(script.get_heads()) == 1


def test_upgrade_to_head_and_back_to_base(fresh_engine):
    migrate(fresh_engine)
    tables = set(inspect(fresh_engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM criterion")).scalar() == 12
    migrate(fresh_engine, "base", down=True)
    assert set(inspect(fresh_engine).get_table_names()) <= {"alembic_version"}
    # And up again: downgrades leave nothing behind that breaks a re-run.
    migrate(fresh_engine)


def test_models_and_migrations_agree(fresh_engine):
    migrate(fresh_engine)
    with fresh_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], f"models differ from migrations; run alembic revision --autogenerate: {diff}"
