"""`boardround ward import WARD FILE --as USERNAME`: the PAS ward list (CSV) for one ward.

    boardround ward import AMU wardlist.csv --as ward.manager              # preview: what would happen
    boardround ward import AMU wardlist.csv --as ward.manager --apply      # do it, in one transaction
    boardround ward import AMU wardlist.csv --as flow --apply --discharge-missing

The import is recorded as the named user's (a flow coordinator, or a ward manager of the ward),
with their ward scope, exactly as the API does it. Output names lines and beds, never patients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.auth.deps import principal_for
from app.auth.permissions import Perm, allows
from app.auth.scope import ward_by_code_or_404
from app.commands.common import fail, session_scope
from app.core.clock import utcnow
from app.core.errors import DomainError
from app.core.principal import Principal
from app.models import User
from app.stays import ward_list, ward_list_file
from app.stays.schemas import WardListPreview

ward_app = typer.Typer(help="One ward: import the PAS ward list.", no_args_is_help=True)

ACTIONS = {
    "admit": "admit",
    "move": "move",
    "update": "update",
    "unchanged": "unchanged",
    "discharge": "discharge",
    "not_on_list": "not on list",
    "refuse": "REFUSED",
}


def _acting(session: Session, username: str) -> Principal:
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None or not user.is_active:
        raise fail(f"No active user called {username!r}")
    actor = principal_for(session, user)
    if not allows(actor.role, Perm.IMPORT_WARD_LIST):
        raise fail(f"{username} ({actor.role}) may not import ward lists: docs/permissions.md says who may")
    return actor


def _print(shown: WardListPreview) -> None:
    for row in shown.rows:
        where = f"line {row.line}" if row.line is not None else f"stay {row.stay_id}"
        typer.echo(f"  {where:<10} {row.bed or '-':<8} {ACTIONS[row.action]:<11} {row.detail}")
    typer.echo("  " + ", ".join(f"{n} {ACTIONS[a]}" for a, n in shown.counts.items()))


@ward_app.command("import")
def import_ward_list(
    ward: Annotated[str, typer.Argument(help="The ward's code.")],
    file: Annotated[Path, typer.Argument(help="The ward list exported from the PAS (CSV, docs/setup.md).")],
    username: Annotated[str, typer.Option("--as", help="Who is importing (flow coordinator or ward manager).")],
    apply: Annotated[bool, typer.Option("--apply", help="Make the changes (without it: a preview).")] = False,
    discharge_missing: Annotated[
        bool, typer.Option("--discharge-missing", help="Discharge the ward's patients who are not on the list.")
    ] = False,
) -> None:
    """Preview, or apply, the PAS ward list of one ward."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise fail(f"Cannot read {file}: {exc.strerror}") from None
    try:
        found = ward_list_file.read(raw)
    except ward_list_file.FileProblem as exc:
        raise fail(f"{file.name}: {exc}") from None
    with session_scope() as session:
        actor = _acting(session, username)
        try:
            place = ward_by_code_or_404(session, actor, ward)
        except DomainError:
            raise fail(f"No ward {ward!r} that {username} may act on") from None
        now = utcnow()
        planned = ward_list.plan(
            session, actor=actor, ward=place, found=found, raw=raw, discharge_missing=discharge_missing, now=now
        )
        shown = planned.preview(False)
        for note in shown.notes:
            typer.echo(note)
        _print(shown)
        if not apply:
            typer.echo("Preview only: nothing was changed (--apply makes these changes).")
            return
        try:
            ward_list.apply(session, actor=actor, found=planned, now=now)
            session.commit()
        except (DomainError, IntegrityError) as exc:
            session.rollback()
            message = exc.message if isinstance(exc, DomainError) else "the database refused a change"
            raise fail(f"Nothing was changed: {message}") from None
    typer.echo("Applied.")
