"""`boardround` command line: migrations, the demo hospital, setting up a real hospital from a file,
the ward list import, the server, users, API tokens, the PAS feed, the stored metrics days and alerts.

Every write commits once at the end of its command and carries an audit record whose actor is
`cli:<operating-system user>`.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import session_hooks
from app.auth.tokens import issue_token, revoke_token
from app.commands.adt import adt_app
from app.commands.alerts import alerts_app
from app.commands.metrics import metrics_app
from app.commands.setup import setup
from app.commands.ward import ward_app
from app.config import PROJECT_ROOT, get_settings
from app.core.clock import utcnow
from app.core.errors import DomainError, NotFound
from app.core.validation import field_errors
from app.db import make_engine
from app.models import StaffRole, User, Ward
from app.users import service as users
from app.users.schemas import PasswordReset, UserCreate

MIN_PASSWORD_LENGTH = 12

app = typer.Typer(help="Boardround: the daily board round for acute wards.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for integrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


@app.callback()
def _every_command() -> None:
    session_hooks.install()


def cli_actor() -> str:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        who = "unknown"
    return f"cli:{who}"


def fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def engine() -> Engine:
    return make_engine(get_settings())


@contextmanager
def session_scope() -> Iterator[Session]:
    eng = engine()
    try:
        with Session(eng, expire_on_commit=False) as session:
            yield session
    finally:
        eng.dispose()


def commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise fail(f"The database refused the change: {exc.orig}") from exc


# -- database -------------------------------------------------------------------------


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["configure_logger"] = False
    return config


def _driver_execute(connection: Connection, sql: str) -> None:
    """Run a statement on the driver's own connection, outside SQLAlchemy's transactions."""
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - only a closed pool connection has none
        raise RuntimeError("the database connection is closed")
    driver.execute(sql)


def migrate(eng: Engine, revision: str = "head", *, down: bool = False) -> str | None:
    """Run Alembic on this engine's database and return the revision it ends at."""
    config = alembic_config()
    with eng.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild tables; with foreign keys enforced that fails on a database
            # with data. The pragma only works outside a transaction, so it goes to the driver
            # before SQLAlchemy begins one; integrity is checked again afterwards.
            _driver_execute(connection, "PRAGMA foreign_keys=OFF")
        with connection.begin():
            config.attributes["connection"] = connection
            if down:
                command.downgrade(config, revision)
            else:
                command.upgrade(config, revision)
        if sqlite:
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.rollback()
            _driver_execute(connection, "PRAGMA foreign_keys=ON")
            if problems:
                raise RuntimeError(f"migration left {len(problems)} rows with broken foreign keys")
        return MigrationContext.configure(connection).get_current_revision()


def drop_everything(eng: Engine) -> None:
    """Leave an empty database for `upgrade head` (the demo's --reset).

    `alembic downgrade base` alone cannot do it on a database with data: the seed migration's
    downgrade deletes reference rows that stays and users still point at, and SQLite batch
    migrations rebuild tables under enforced foreign keys. So the data goes first: a SQLite file
    is removed; PostgreSQL tables are truncated (which the audit trail's row triggers allow),
    then the migrations are run down to base.
    """
    if eng.dialect.name == "sqlite" and eng.url.database not in (None, "", ":memory:"):
        eng.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{eng.url.database}{suffix}").unlink(missing_ok=True)
        return
    if eng.dialect.name == "postgresql":
        with eng.begin() as connection:
            tables = (
                connection.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
                )
                .scalars()
                .all()
            )
            if tables:
                names = ", ".join(f'"{name}"' for name in tables)
                connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    migrate(eng, "base", down=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the database up (to the newest schema by default)."""
    eng = engine()
    try:
        current = migrate(eng, revision)
    finally:
        eng.dispose()
    typer.echo(f"Database at revision {current}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")]) -> None:
    """Migrate the database down. `base` drops every table (and all data)."""
    eng = engine()
    try:
        current = migrate(eng, revision, down=True)
    finally:
        eng.dispose()
    typer.echo(f"Database at revision {current or 'base (empty)'}")


# -- demo and server ------------------------------------------------------------------


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed and time give the same hospital.")] = 42,
    wards: Annotated[int, typer.Option(min=1, max=60, help="Number of wards (about 28 beds each).")] = 8,
    days: Annotated[int, typer.Option(min=1, max=365, help="Days of history before today.")] = 90,
    reset: Annotated[bool, typer.Option(help="Drop ALL data first (downgrade to base, upgrade to head).")] = False,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Build only into an empty database; otherwise leave it and succeed.")
    ] = False,
) -> None:
    """Build a synthetic demo hospital (invented patients, test-range NHS numbers)."""
    from app.demo import DEMO_PASSWORD, build_demo
    from app.demo.hospital import database_is_empty

    settings = get_settings()
    if settings.environment == "production":
        raise fail("Refusing to build demo data (with a published password) in production")
    eng = engine()
    try:
        if reset:
            typer.echo("Dropping all data and tables (--reset)")
            drop_everything(eng)
        migrate(eng, "head")
        with Session(eng, expire_on_commit=False) as session:
            if not database_is_empty(session):
                if if_empty:
                    typer.echo("The database already has data: keeping it (boardround demo --reset rebuilds it).")
                    return
                raise fail("The database already has data. Use --reset to drop everything and rebuild.")
            typer.echo(f"Building the demo hospital (seed {seed}, {wards} wards, {days} days of history)")
            summary = build_demo(
                session,
                seed=seed,
                wards=wards,
                days_history=days,
                now=utcnow(),
                actor_name=cli_actor(),
                progress=typer.echo,
            )
            commit(session)
    finally:
        eng.dispose()
    for line in summary.lines():
        typer.echo(line)
    typer.echo(f"\nSign in with any of these users; the password for all is: {DEMO_PASSWORD}")
    for username, role, name in summary.users:
        typer.echo(f"  {username:<14} {role:<18} {name}")
    typer.echo("  pas-feed       integration        service account: create a token with `boardround token create`")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the web application with uvicorn."""
    import uvicorn

    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers)


# -- users ----------------------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise fail(f"The password must be at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _user_or_fail(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise fail(f"No user called {username!r}")
    return user


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")]


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option("--role", help="Staff role code, e.g. nurse, doctor, flow_coordinator.")],
    name: Annotated[str, typer.Option("--name", help="Display name, e.g. 'Nia Jones'.")],
    ward: Annotated[list[str] | None, typer.Option("--ward", help="Ward code (repeat for several).")] = None,
    password_stdin: PasswordStdin = False,
    service_account: Annotated[
        bool, typer.Option("--service-account", help="Token-only integration account: no password.")
    ] = False,
) -> None:
    """Create a staff account (or an integration service account)."""
    codes = list(dict.fromkeys(ward or []))
    with session_scope() as session:
        role_row = session.get(StaffRole, role)
        if role_row is None or not role_row.active:
            known = ", ".join(session.exec(select(StaffRole.code).order_by(col(StaffRole.sort_order))))
            raise fail(f"Unknown role {role!r}. Roles: {known}")
        wards = list(session.exec(select(Ward).where(col(Ward.code).in_(codes)))) if codes else []
        missing = sorted(set(codes) - {w.code for w in wards})
        if missing:
            raise fail(f"Unknown ward code: {', '.join(missing)}")
        service = service_account or not role_row.can_sign_in
        try:
            data = UserCreate(
                username=username,
                display_name=name,
                role_code="integration" if service else role,
                ward_ids=[w.id for w in wards],
                password=None if service else _read_password(password_stdin),
            )
            users.create_user(session, actor=None, actor_name=cli_actor(), data=data, now=utcnow())
        except ValidationError as exc:
            raise fail("; ".join(f"{k}: {v}" for k, v in field_errors(exc).items())) from None
        except DomainError as exc:
            raise fail(exc.message) from None
        commit(session)
    kind = "service account" if service else "user"
    typer.echo(f"Created {kind} {username.strip().lower()} ({role}){' on ' + ', '.join(codes) if codes else ''}")
    if role_row.site_wide and codes:
        typer.echo(f"Note: {role} is a site-wide role, so the ward list does not limit what they see")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="Sign-in name.")]) -> None:
    """Disable an account: it can no longer sign in, and its API tokens stop working."""
    with session_scope() as session:
        user = _user_or_fail(session, username)
        if not user.is_active:
            typer.echo(f"{username} is already disabled")
            return
        users.set_active(session, actor=None, actor_name=cli_actor(), user=user, active=False, now=utcnow())
        commit(session)
    typer.echo(f"Disabled {username}")


@user_app.command("reset-password")
def user_reset_password(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password and clear the failed sign-ins at the username."""
    with session_scope() as session:
        user = _user_or_fail(session, username)
        if user.is_service_account:
            raise fail(f"{username} is a service account: it signs in with API tokens only")
        try:
            password = PasswordReset(password=_read_password(password_stdin)).password
        except ValidationError:
            raise fail("The password must be 12 to 200 characters") from None
        users.reset_password(session, actor=None, actor_name=cli_actor(), user=user, password=password, now=utcnow())
        commit(session)
    typer.echo(f"Password reset for {username}")


# -- API tokens -----------------------------------------------------------------------


@token_app.command("create")
def token_create(
    username: Annotated[str, typer.Argument(help="The account the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. 'PAS ADT feed'.")],
) -> None:
    """Issue an API token. It is printed once and only its hash is stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise fail("The token name must be 1 to 100 characters")
    with session_scope() as session:
        user = _user_or_fail(session, username)
        if not user.is_active:
            raise fail(f"{username} is disabled")
        token, raw = issue_token(session, user=user, name=name, actor=None, actor_name=cli_actor(), now=utcnow())
        commit(session)
    typer.echo(f"Token {token.id} for {username} ({name}). Copy it now: it is not shown again.", err=True)
    typer.echo(raw)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="Token id (shown when it was created).")]) -> None:
    """Revoke an API token at once."""
    with session_scope() as session:
        try:
            token = revoke_token(session, token_id=token_id, actor=None, actor_name=cli_actor(), now=utcnow())
        except NotFound:
            raise fail(f"No token with id {token_id}") from None
        commit(session)
    typer.echo(f"Token {token_id} revoked at {token.revoked_at:%Y-%m-%d %H:%M} UTC")


app.add_typer(adt_app, name="adt", help="The PAS feed: HL7 v2 ADT over MLLP, files and location maps.")
app.add_typer(alerts_app, name="alerts", help="Alerts: what is overdue, told to its owners (run from cron).")
app.add_typer(metrics_app, name="metrics", help="Stored metrics figures per ward and day: refresh or rebuild.")
app.command("setup")(setup)
app.add_typer(ward_app, name="ward", help="One ward: import the PAS ward list (CSV).")


if __name__ == "__main__":  # pragma: no cover
    app()
