"""The alert check: `boardround alerts run` (cron) or the server's own timer run this.

1. Create what the rules find, in one transaction. `(rule, subject, recipient)` is unique and
   rows are inserted with ON CONFLICT DO NOTHING, so two workers at the same moment, or a run
   after a restart, create each alert once; only the worker whose insert made the row audits it.
2. Email the alerts that want it. A worker first claims them (pending -> sending, one UPDATE
   whose WHERE another worker's UPDATE re-checks once the first commits), commits the claim,
   then sends: an alert is emailed at most once. A refused or failed send goes back to pending
   and is tried again by the next run, at most MAX_ATTEMPTS times in all.

Logs say how many, never what: no titles (they hold bed and initials), no addresses.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from app.alerts import mail
from app.alerts.service import ALERT_NOTICE, SYSTEM_ACTOR, create_due_alerts
from app.audit import service as audit
from app.config import Settings
from app.core.clock import utcnow
from app.db import write_engine
from app.models import Alert, AlertPreferences

log = logging.getLogger("boardround.alerts")
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class RunResult:
    created: int
    emailed: int
    failed: int

    def text(self) -> str:
        return f"{self.created} alerts created, {self.emailed} emailed, {self.failed} emails failed"


def run(engine: Engine, settings: Settings, *, link: str, now: datetime | None = None) -> RunResult:
    """One check. `link`: the absolute address of the alerts page, for emails."""
    now = now or utcnow()
    writer = write_engine(engine)  # SQLite: BEGIN IMMEDIATE, so a second worker waits its turn
    with Session(writer, expire_on_commit=False) as session:
        created = create_due_alerts(session, now=now)
        session.commit()
    emailed, failed = send_pending(writer, settings, link=link, now=now) if settings.smtp_host else (0, 0)
    result = RunResult(created=len(created), emailed=emailed, failed=failed)
    log.info("alert check: %s", result.text())
    return result


def _set(session: Session, alert_id: int, now: datetime, **values: object) -> None:
    session.execute(
        update(Alert)
        .where(col(Alert.id) == alert_id)
        .values(updated_at=now, version=Alert.version + 1, **values)
        .execution_options(synchronize_session=False)
    )


def _audit(session: Session, alert: Alert, action: str, now: datetime, after: dict) -> None:
    audit.record(
        session,
        actor=None,
        actor_name=SYSTEM_ACTOR,
        action=action,
        entity_type="alert",
        entity_id=alert.id,
        at=now,
        after=after,
        ward_id=alert.ward_id,
        notice=ALERT_NOTICE,
    )


def claim(engine: Engine, now: datetime) -> list[int]:
    with Session(engine) as session:
        ids = list(
            session.execute(
                update(Alert)
                .where(col(Alert.email_state) == "pending")
                .values(email_state="sending", updated_at=now, version=Alert.version + 1)
                .returning(col(Alert.id))
                .execution_options(synchronize_session=False)
            ).scalars()
        )
        session.commit()
    return sorted(ids)


def send_pending(engine: Engine, settings: Settings, *, link: str, now: datetime) -> tuple[int, int]:
    ids = claim(engine, now)
    if not ids:
        return 0, 0
    sent = failed = 0
    with Session(engine, expire_on_commit=False) as session:
        rows = [
            (alert, address)
            for alert, address in session.exec(
                select(Alert, AlertPreferences.email)
                .join(AlertPreferences, col(AlertPreferences.user_id) == Alert.recipient_id)
                .where(col(Alert.id).in_(ids))
                .order_by(col(Alert.id))
            )
            if address
        ]
        for alert_id in set(ids) - {alert.id for alert, _ in rows}:  # the address was removed since
            _set(session, alert_id, now, email_state="none")
        session.commit()
        try:
            with mail.smtp_connection(settings) as smtp:
                for alert, address in rows:
                    try:
                        smtp.send_message(mail.message(settings, alert, address, link))
                    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
                        _failed(session, alert, now)
                        failed += 1
                    else:
                        _set(session, alert.id, now, email_state="sent", emailed_at=now)
                        _audit(session, alert, "alert_emailed", now, {"email_state": "sent"})
                        sent += 1
                    session.commit()
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("alert email: could not use the mail server (%s)", type(exc).__name__)
            session.rollback()
            unsent = set(
                session.exec(select(Alert.id).where(col(Alert.id).in_(ids), col(Alert.email_state) == "sending"))
            )
            for alert, _ in rows:
                if alert.id in unsent:
                    _failed(session, alert, now)
                    failed += 1
            session.commit()
    return sent, failed


def _failed(session: Session, alert: Alert, now: datetime) -> None:
    attempts = alert.email_attempts + 1
    state = "failed" if attempts >= MAX_ATTEMPTS else "pending"
    _set(session, alert.id, now, email_state=state, email_attempts=attempts)
    _audit(session, alert, "alert_email_failed", now, {"email_state": state, "attempts": attempts})


class Timer:
    """The check inside the server (BOARDROUND_ALERTS_EVERY_MINUTES): a thread per process. With
    several processes each runs it; the unique key and the claim still send each alert once."""

    def __init__(self, engine: Engine, settings: Settings, *, link: str) -> None:
        self.engine, self.settings, self.link = engine, settings, link
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="boardround-alerts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        every = self.settings.alerts_every_minutes * 60
        while not self._stop.wait(every):
            try:
                run(self.engine, self.settings, link=self.link)
            except Exception as exc:  # noqa: BLE001 - keep checking after a failed run (database restart)
                log.warning("alert check failed (%s): trying again next time", type(exc).__name__)
