"""The `boardround` CLI against a fresh SQLite file database (DATABASE_URL in a temp dir)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.auth.passwords import verify_password
from app.auth.tokens import hash_token
from app.cli import app
from app.config import get_settings
from app.db import make_engine
from app.models import ApiToken, AuditEvent, MetricsDay, Site, User, UserWard, Ward

PASSWORD = "a-long-enough-password"


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOARDROUND_SECRET_KEY", "s" * 48)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def run(cli_db: str):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # noqa: A002
        return runner.invoke(app, list(args), input=input)

    return invoke


@pytest.fixture
def session(cli_db: str, run) -> Iterator[Session]:
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    engine = make_engine(get_settings())
    with Session(engine) as s:
        yield s
    engine.dispose()


def _ward(session: Session, code: str) -> Ward:
    site = Site(code="RXX09", name="Test site")
    session.add(site)
    session.flush()
    ward = Ward(site_id=site.id, code=code, name=f"Ward {code}")
    session.add(ward)
    session.commit()
    return ward


def test_db_upgrade_and_downgrade(run, cli_db: str):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "Database at revision" in result.output
    result = run("db", "downgrade", "base")
    assert result.exit_code == 0, result.output
    assert "base" in result.output


def test_user_create_with_password_from_stdin(run, session: Session):
    ward = _ward(session, "W07")
    result = run(
        "user",
        "create",
        "nia",
        "--role",
        "nurse",
        "--name",
        "Nia Jones",
        "--ward",
        "W07",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    user = session.exec(select(User).where(User.username == "nia")).one()
    assert user.role_code == "nurse" and user.display_name == "Nia Jones" and user.is_active
    assert user.password_hash and user.password_hash.startswith("$argon2")
    assert verify_password(PASSWORD, user.password_hash)
    assert session.exec(select(UserWard.ward_id).where(UserWard.user_id == user.id)).all() == [ward.id]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "user_create")).one()
    assert event.actor_id is None and event.actor_name.startswith("cli:")
    assert event.entity_id == str(user.id)
    assert "password_hash" not in event.after and event.after["ward_ids"] == [ward.id]
    assert user.password_hash not in str(event.after)


def test_user_create_prompts_for_password_with_confirmation(run, session: Session):
    result = run("user", "create", "dan", "--role", "doctor", "--name", "Dan", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    user = session.exec(select(User).where(User.username == "dan")).one()
    assert verify_password(PASSWORD, user.password_hash)


def test_unknown_role_is_a_clear_error(run, session: Session):
    result = run("user", "create", "x", "--role", "surgeon", "--name", "X", "--password-stdin", input=PASSWORD)
    assert result.exit_code == 1
    assert "Unknown role 'surgeon'" in result.output
    assert "nurse" in result.output  # lists the roles that do exist
    assert session.exec(select(User)).all() == []


def test_unknown_ward_is_a_clear_error(run, session: Session):
    result = run(
        "user", "create", "x", "--role", "nurse", "--name", "X", "--ward", "NOPE", "--password-stdin", input=PASSWORD
    )
    assert result.exit_code == 1
    assert "Unknown ward code: NOPE" in result.output
    assert session.exec(select(User)).all() == []


def test_short_password_and_duplicate_username_are_refused(run, session: Session):
    result = run("user", "create", "xy", "--role", "nurse", "--name", "X", "--password-stdin", input="short\n")
    assert result.exit_code == 1 and "at least 12" in result.output
    assert (
        run("user", "create", "xy", "--role", "nurse", "--name", "X", "--password-stdin", input=PASSWORD).exit_code == 0
    )
    again = run("user", "create", "xy", "--role", "nurse", "--name", "X", "--password-stdin", input=PASSWORD)
    assert again.exit_code == 1 and "username is taken" in again.output


def test_user_disable_and_reset_password(run, session: Session):
    run("user", "create", "wm", "--role", "ward_manager", "--name", "Wendy", "--password-stdin", input=PASSWORD)
    new_password = "another-long-password"
    result = run("user", "reset-password", "wm", "--password-stdin", input=new_password + "\n")
    assert result.exit_code == 0, result.output
    result = run("user", "disable", "wm")
    assert result.exit_code == 0, result.output
    session.rollback()  # end the read snapshot so the CLI's commit is visible
    user = session.exec(select(User).where(User.username == "wm")).one()
    assert not user.is_active
    assert verify_password(new_password, user.password_hash)
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["user_create", "user_reset_password", "user_disable"]
    for event in session.exec(select(AuditEvent)):
        assert user.password_hash not in str(event.before) + str(event.after)
    assert run("user", "disable", "nobody").exit_code == 1


def test_service_account_and_token_create_and_revoke(run, session: Session):
    result = run("user", "create", "pas-feed", "--role", "integration", "--name", "PAS feed")
    assert result.exit_code == 0, result.output  # no password asked: integration cannot sign in
    result = run("token", "create", "pas-feed", "--name", "ADT feed")
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip().splitlines()[-1]
    assert raw.startswith("brt_")
    token = session.exec(select(ApiToken)).one()
    assert token.token_hash == hash_token(raw) and token.name == "ADT feed" and token.revoked_at is None
    user = session.exec(select(User).where(User.username == "pas-feed")).one()
    assert user.is_service_account and user.password_hash is None

    result = run("token", "revoke", str(token.id))
    assert result.exit_code == 0, result.output
    session.rollback()  # end the read snapshot so the CLI's commit is visible
    assert session.get(ApiToken, token.id).revoked_at is not None
    events = {e.action: e for e in session.exec(select(AuditEvent))}
    assert {"user_create", "issue_token", "revoke_token"} <= set(events)
    assert all(e.actor_name.startswith("cli:") for e in events.values())
    assert raw not in str(events["issue_token"].after)

    assert run("token", "revoke", "999").exit_code == 1
    assert run("token", "create", "ghost", "--name", "x").exit_code == 1


def test_demo_refuses_a_database_with_data_and_rebuilds_with_reset(run, cli_db: str, monkeypatch):
    import functools

    import app.demo

    fast = functools.partial(app.demo.build_demo, hasher=lambda _p: "$argon2id$not-a-real-hash")
    monkeypatch.setattr(app.demo, "build_demo", fast)  # Argon2 for 11 accounts is slow on purpose
    first = run("demo", "--wards", "1", "--days", "2", "--seed", "3")
    assert first.exit_code == 0, first.output
    assert "password for all is: boardround-demo" in first.output
    assert "flow" in first.output and "pas-feed" in first.output
    again = run("demo", "--wards", "1", "--days", "2")
    assert again.exit_code == 1 and "--reset" in again.output
    reset = run("demo", "--wards", "1", "--days", "2", "--seed", "4", "--reset")
    assert reset.exit_code == 0, reset.output
    engine = make_engine(get_settings())
    with Session(engine) as session:
        assert len(session.exec(select(Site)).all()) == 1
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "user_create")).all()
        assert events and all(e.actor_name.startswith("cli:") for e in events)
    engine.dispose()


def test_demo_if_empty_leaves_existing_data(run, session: Session):
    _ward(session, "W01")
    result = run("demo", "--if-empty")
    assert result.exit_code == 0 and "keeping it" in result.output
    assert run("demo").exit_code == 1


def test_metrics_refresh_builds_and_rebuilds_the_stored_days(run, session: Session):
    ward = _ward(session, "MR")
    result = run("metrics", "refresh", "--days", "5")
    assert result.exit_code == 0, result.output
    assert "5 ward-days kept (1 ward, " in result.output
    assert len(session.exec(select(MetricsDay).where(MetricsDay.ward_id == ward.id)).all()) == 5
    result = run("metrics", "refresh", "--rebuild", "--days", "2")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 ward-days kept (1 ward, ")
    assert run("metrics", "refresh", "--days", "0").exit_code == 2  # at least one day


def test_password_sign_in_on_and_off(run, session: Session, monkeypatch: pytest.MonkeyPatch):
    from app.auth.service import password_sign_in_allowed

    result = run("user", "password-sign-in", "off")
    assert result.exit_code == 1 and "Set up single sign-on" in result.output  # nobody locked out
    monkeypatch.setenv("BOARDROUND_OIDC_ISSUER", "https://idp.example.nhs.uk")
    monkeypatch.setenv("BOARDROUND_OIDC_CLIENT_ID", "boardround")
    get_settings.cache_clear()
    assert run("user", "password-sign-in", "off").exit_code == 0
    session.rollback()
    assert not password_sign_in_allowed(session, get_settings())
    assert run("user", "password-sign-in", "on").exit_code == 0
    session.rollback()
    assert password_sign_in_allowed(session, get_settings())
    assert run("user", "password-sign-in", "maybe").exit_code == 1
