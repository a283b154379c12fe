"""`boardround alerts run`: check for what is overdue, tell the people who own it (docs/alerts.md).

    */5 * * * *  boardround alerts run

Safe to run from several machines at once and again after a crash: each alert is created once
(a unique key on rule, subject and recipient) and emailed at most once (claimed before sending).
"""

from __future__ import annotations

import typer

from app.alerts import job
from app.config import Settings, get_settings
from app.db import make_engine
from app.views.alerts import router as alert_views

alerts_app = typer.Typer(help="Alerts: what is overdue, told to the people who own it.", no_args_is_help=True)


def alerts_link(settings: Settings) -> str:
    """The alerts page's address, for the link in every email."""
    return settings.public_url.rstrip("/") + str(alert_views.url_path_for("list_alerts"))


@alerts_app.command("run")
def run() -> None:
    """Create the alerts that are due and email those people asked for by email."""
    settings = get_settings()
    engine = make_engine(settings)
    try:
        result = job.run(engine, settings, link=alerts_link(settings))
    finally:
        engine.dispose()
    typer.echo(result.text())
