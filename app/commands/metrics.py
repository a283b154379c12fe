"""`boardround metrics ...`: the stored per-ward, per-day figures behind the metrics pages.

    boardround metrics refresh [--days 400] [--rebuild]

Reports build what they need on first use; run `refresh` after deploying (so the first person to
open a year of metrics does not wait for it), from a nightly job if you like, and with --rebuild
after any change made to stays, ward history, reviews or EDDs by hand in SQL (those bypass the
marks that keep the stored days true: app.metrics.stored.staleness).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated

import typer
from sqlmodel import Session, select

from app.config import get_settings
from app.core.clock import utcnow
from app.db import make_engine
from app.metrics.rules.period import MAX_PERIOD_DAYS
from app.metrics.stored import day_rows, ward_days
from app.models import Ward

metrics_app = typer.Typer(help="Stored metrics figures per ward and day.", no_args_is_help=True)


@metrics_app.command("refresh")
def refresh(
    days: Annotated[
        int, typer.Option(min=1, max=MAX_PERIOD_DAYS, help="Closed days to keep, counting back from yesterday.")
    ] = MAX_PERIOD_DAYS,
    rebuild: Annotated[bool, typer.Option(help="Drop every stored day first and build them all again.")] = False,
) -> None:
    """Bring the stored days up to date: forget what late changes made stale, build what is missing."""
    engine = make_engine(get_settings())
    try:
        with Session(engine, expire_on_commit=False) as session:
            now = utcnow()
            if rebuild:
                ward_days.forget_all(session, now=now)
            last = ward_days.last_closed_day(now)
            ward_ids = list(session.exec(select(Ward.id)))
            started = time.perf_counter()
            if not ward_days.refresh(session, ward_ids, last - timedelta(days=days - 1), last, now=now):  # type: ignore[arg-type]
                typer.secho("Another refresh is running: try again when it has finished.", err=True, fg="red")
                raise typer.Exit(code=1)
            rows, first, last_kept = day_rows.extent(session)
    finally:
        engine.dispose()
    took = time.perf_counter() - started
    wards = f"{len(ward_ids)} ward{'s' if len(ward_ids) != 1 else ''}"
    span = f", {first} to {last_kept}" if rows else ""
    typer.echo(f"{rows} ward-days kept ({wards}{span}); refreshed in {took:.1f} s")
