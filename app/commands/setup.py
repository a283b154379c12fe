"""`boardround setup FILE`: the hospital's site, wards and beds from a YAML file (docs/setup.md).

    boardround setup hospital.yaml --dry-run         # what would change
    boardround setup hospital.yaml                   # make it so
    boardround setup hospital.yaml --retire-missing  # and retire empty beds left out of the file

Running it twice changes nothing. Any problem (an occupied bed to retire, an unknown sponsor)
stops it before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from sqlalchemy.exc import IntegrityError

from app.commands.common import cli_actor, fail, session_scope
from app.core.clock import utcnow
from app.core.errors import DomainError
from app.wards import layout

MAX_FILE_BYTES = 2_000_000


def _read(path: Path) -> layout.Layout:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise fail(f"Cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(f"{path} is larger than {MAX_FILE_BYTES // 1_000_000} MB: is it the right file?")
    try:
        # Every value read as text: a bed `07` stays "07" (not the number 7), a ward `NO` stays "NO".
        data = yaml.load(raw.decode("utf-8-sig"), Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds no objects
    except UnicodeDecodeError:
        raise fail(f"{path} is not UTF-8 text: save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise fail(f"{path} is not valid YAML{where}") from None
    try:
        return layout.parse(data)
    except layout.LayoutError as exc:
        raise fail(f"{path} does not describe a hospital layout:\n  " + "\n  ".join(exc.messages)) from None


def setup(
    file: Annotated[Path, typer.Argument(help="The layout: site, wards and beds (YAML, docs/setup.md).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
    retire_missing: Annotated[
        bool, typer.Option("--retire-missing", help="Retire empty beds that are not in the file.")
    ] = False,
) -> None:
    """Set up (or update) the hospital's site, wards and beds from a layout file."""
    wanted = _read(file)
    with session_scope() as session:
        found = layout.plan(session, wanted, now=utcnow(), actor_name=cli_actor(), retire_missing=retire_missing)
        for note in found.notes:
            typer.echo(f"Note: {note}")
        if found.problems:
            raise fail("Nothing was changed. Problems:\n  " + "\n  ".join(found.problems))
        if not found.steps:
            typer.echo(f"Nothing to change: the hospital already matches {file.name}")
            return
        if dry_run:
            typer.echo("Would make these changes (dry run: nothing was changed):")
            for text in found.changes:
                typer.echo(f"  {text}")
            return
        try:
            layout.apply(session, found)
            session.commit()
        except (DomainError, IntegrityError) as exc:
            session.rollback()
            message = exc.message if isinstance(exc, DomainError) else "the database refused a change"
            raise fail(f"Nothing was changed: {message}") from None
    for text in found.changes:
        typer.echo(f"  {text}")
    typer.echo(f"Done: {len(found.steps)} change{'s' if len(found.steps) != 1 else ''}.")
