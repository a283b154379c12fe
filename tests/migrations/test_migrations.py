"""Migrations: empty -> head -> empty on both databases; models and migrations agree."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import app.models  # noqa: F401
from tests.dbs import alembic_config, build_engine, drop_pg_database, migrate


@pytest.fixture
def fresh_engine(backend, tmp_path):
    engine = build_engine(backend, tmp_path, "migrations")
    yield engine
    engine.dispose()
    if backend == "postgresql":
        drop_pg_database(engine.url.render_as_string(hide_password=False))


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


def test_down_and_up_again_with_data_in_the_database(fresh_engine):
    """Downgrades must work on a real database, not only an empty one."""
    from datetime import UTC, datetime, timedelta

    from sqlmodel import Session

    from tests import factories

    migrate(fresh_engine)
    with Session(fresh_engine) as db:
        ward = factories.make_ward(db, beds=2)
        actor = factories.principal(db, factories.make_user(db, "nurse", wards=[ward]))
        now = datetime(2026, 3, 10, 12, tzinfo=UTC)
        factories.make_stay(
            db, actor, ward, factories.beds_of(db, ward)[0], admitted_at=now - timedelta(days=2), now=now
        )
        db.commit()
    migrate(fresh_engine, "-1", down=True)  # the newest revision alone
    migrate(fresh_engine)
    migrate(fresh_engine, "5eedref0001", down=True)  # down to the seed revision, reference rows in use
    migrate(fresh_engine)
    migrate(fresh_engine, "base", down=True)
    assert set(inspect(fresh_engine).get_table_names()) <= {"alembic_version"}
