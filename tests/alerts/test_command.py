"""`boardround alerts run`, as cron runs it: two processes at once send each alert once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.cli import app
from app.config import get_settings
from app.models import Alert
from tests.alerts.conftest import SmtpServer

BIN = Path(sys.executable).parent / "boardround"


def _env(alerts_engine, smtp_server: SmtpServer) -> dict[str, str]:
    return {
        "DATABASE_URL": alerts_engine.url.render_as_string(hide_password=False),
        "BOARDROUND_ENVIRONMENT": "test",
        "BOARDROUND_SECRET_KEY": "s" * 48,
        "BOARDROUND_SMTP_HOST": smtp_server.host,
        "BOARDROUND_SMTP_PORT": str(smtp_server.port),
        "BOARDROUND_SMTP_TLS": "none",
        "BOARDROUND_SMTP_FROM": "alerts@test.nhs.uk",
        "BOARDROUND_PUBLIC_URL": "https://boardround.test.nhs.uk/",
    }


def test_the_command_reports_and_links_to_the_alerts_page(alerts_engine, smtp_server, overdue, monkeypatch):
    world = overdue(choices={"nurse": {"action_overdue": "off"}, "social_worker": {"referral_waiting": "off"}})
    for name, value in _env(alerts_engine, smtp_server).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["alerts", "run"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "alerts created" in result.output and "emailed" in result.output
    [message] = smtp_server.inbox.to(world.emails["ward_manager"])
    assert "https://boardround.test.nhs.uk/alerts" in message.get_content()
    assert message["From"] == "alerts@test.nhs.uk"


@pytest.mark.skipif(not BIN.exists(), reason="the boardround script is not installed in this environment")
def test_two_cron_processes_at_once_send_each_alert_once(alerts_engine, smtp_server, overdue):
    world = overdue()
    env = os.environ | _env(alerts_engine, smtp_server)
    runs = [
        subprocess.Popen([str(BIN), "alerts", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603 - our own command
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    for role in ("ward_manager", "nurse", "social_worker"):
        assert len(smtp_server.inbox.to(world.emails[role])) == 1, (role, outputs)
    with Session(alerts_engine) as db:
        alerts = db.exec(select(Alert).where(col(Alert.recipient_id).in_(list(world.users.values())))).all()
    assert len(alerts) == 3 and {a.email_state for a in alerts} == {"sent"}
