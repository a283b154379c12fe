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


def test_beds_get_their_state_and_first_period(fresh_engine):
    """6bedf10a1100: beds closed before states existed are closed (reason "other"); every bed gets
    one current period from its creation."""
    migrate(fresh_engine, "ba16ea5bbe93")
    with fresh_engine.begin() as conn:
        conn.execute(text("INSERT INTO site (code, name, created_at, updated_at) VALUES ('RM1', 'M', :t, :t)"),
                     {"t": "2026-01-01 00:00:00"})  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO ward (site_id, code, name, specialty, is_active, version, created_at, updated_at)"
                " SELECT id, 'WM1', 'W', '', :yes, 1, :t, :t FROM site"
            ),
            {"t": "2026-01-01 00:00:00", "yes": True},
        )
        for label, is_open in (("B1", True), ("B2", False)):
            conn.execute(
                text(
                    "INSERT INTO bed (ward_id, label, sort_order, is_open, is_escalation, version, created_at,"
                    " updated_at) SELECT id, :label, 0, :open, :no, 1, :t, :t FROM ward"
                ),
                {"label": label, "open": is_open, "no": False, "t": "2026-01-02 08:00:00"},
            )
    migrate(fresh_engine)
    with fresh_engine.connect() as conn:
        beds = conn.execute(text("SELECT label, state_code FROM bed ORDER BY label")).all()
        periods = conn.execute(
            text(
                "SELECT b.label, p.state_code, p.closure_reason_code, p.ended_at FROM bedstateperiod p"
                " JOIN bed b ON b.id = p.bed_id ORDER BY b.label"
            )
        ).all()
        assert conn.execute(text("SELECT version FROM site")).scalar() == 1
    assert [tuple(b) for b in beds] == [("B1", "open"), ("B2", "closed")]
    assert [tuple(p) for p in periods] == [("B1", "open", None, None), ("B2", "closed", "other", None)]
    migrate(fresh_engine, "ba16ea5bbe93", down=True)
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM bed")).scalar() == 2
