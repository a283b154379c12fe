"""The alert check against a real SMTP server: once across workers and restarts, preferences,
what a message says (and does not), failures tried again."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.alerts import job
from app.db import make_engine
from app.models import Alert, AuditEvent
from tests.alerts.conftest import SmtpServer, mail_settings

LINK = "https://boardround.test.nhs.uk/alerts"


def _alerts(engine: Engine, user_ids: list[int]) -> list[Alert]:
    with Session(engine) as db:
        return list(db.exec(select(Alert).where(col(Alert.recipient_id).in_(user_ids)).order_by(col(Alert.id))))


def test_two_workers_and_a_restart_send_each_alert_once(alerts_engine, smtp_server: SmtpServer, overdue):
    world = overdue()
    now = datetime.now(UTC)
    settings = mail_settings(alerts_engine, smtp_server)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        # Each worker has its own engine (its own connections), as two cron hosts would.
        engine = make_engine(settings)
        try:
            barrier.wait(timeout=10)
            job.run(engine, settings, link=LINK, now=now)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors

    # A restart: a new process (engine) runs the check again, later.
    engine = make_engine(settings)
    try:
        job.run(engine, settings, link=LINK, now=now + timedelta(minutes=5))
    finally:
        engine.dispose()

    ids = list(world.users.values())
    alerts = _alerts(alerts_engine, ids)
    by_rule = {(a.rule_code, a.recipient_id) for a in alerts}
    assert by_rule == {
        ("escalation_response", world.users["ward_manager"]),
        ("action_overdue", world.users["nurse"]),
        ("referral_waiting", world.users["social_worker"]),
    }
    assert len(alerts) == 3
    assert [(a.email_state, a.email_attempts) for a in alerts] == [("sent", 0)] * 3
    assert all(a.emailed_at is not None for a in alerts)
    # Exactly one email per alert, to its owner; the doctor owns nothing here.
    assert len(smtp_server.inbox.to(world.emails["ward_manager"])) == 1
    assert len(smtp_server.inbox.to(world.emails["nurse"])) == 1
    assert len(smtp_server.inbox.to(world.emails["social_worker"])) == 1
    assert smtp_server.inbox.to(world.emails["doctor"]) == []
    # Audited once each: created, and emailed.
    with Session(alerts_engine) as db:
        events = db.exec(
            select(AuditEvent.action, AuditEvent.entity_id).where(
                AuditEvent.entity_type == "alert", col(AuditEvent.entity_id).in_([str(a.id) for a in alerts])
            )
        ).all()
    assert sorted(events) == sorted(
        [("alert", str(a.id)) for a in alerts] + [("alert_emailed", str(a.id)) for a in alerts]
    )


def test_preferences_decide_what_each_person_receives(alerts_engine, smtp_server: SmtpServer, overdue):
    world = overdue(
        choices={
            "ward_manager": {"escalation_response": "off"},
            "nurse": {"action_overdue": "app"},
            "social_worker": {"referral_waiting": "email"},
        }
    )
    settings = mail_settings(alerts_engine, smtp_server)
    job.run(alerts_engine, settings, link=LINK)

    alerts = {a.recipient_id: a for a in _alerts(alerts_engine, list(world.users.values()))}
    assert world.users["ward_manager"] not in alerts  # turned off: not even in the app
    assert alerts[world.users["nurse"]].email_state == "none"  # in the app only
    assert alerts[world.users["social_worker"]].email_state == "sent"
    assert smtp_server.inbox.to(world.emails["ward_manager"]) == []
    assert smtp_server.inbox.to(world.emails["nurse"]) == []
    assert len(smtp_server.inbox.to(world.emails["social_worker"])) == 1


def test_messages_name_bed_and_initials_never_the_patient(alerts_engine, smtp_server: SmtpServer, overdue, caplog):
    world = overdue()
    settings = mail_settings(alerts_engine, smtp_server)
    with caplog.at_level("DEBUG"):
        job.run(alerts_engine, settings, link=LINK)
    patient = world.patient
    initials = f"{patient.given_name[0]}{patient.family_name[0]}".upper()
    messages = [
        m for role in ("ward_manager", "nurse", "social_worker") for m in smtp_server.inbox.to(world.emails[role])
    ]
    assert len(messages) == 3
    for message in messages:
        text = message["Subject"] + "\n" + message.get_content()
        assert f"{world.ward_code} bed {world.bed_label} ({initials})" in text
        assert LINK in text
        for secret in (patient.given_name, patient.family_name, patient.nhs_number, patient.mrn):
            assert secret not in text
        assert message["From"] == "boardround@test.nhs.uk"
    for alert in _alerts(alerts_engine, list(world.users.values())):
        assert patient.family_name not in alert.title and patient.nhs_number not in alert.title
    # What the app logged (the test's SMTP server logs its own side, addresses included).
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail."))
    for secret in (patient.given_name, patient.family_name, patient.nhs_number, world.emails["nurse"]):
        assert secret not in logged


def test_a_mail_server_that_is_down_is_tried_again_next_run(alerts_engine, smtp_server: SmtpServer, overdue):
    world = overdue(choices={"nurse": {"action_overdue": "off"}, "social_worker": {"referral_waiting": "off"}})
    down = mail_settings(alerts_engine, None)  # a free port: nothing listens
    result = job.run(alerts_engine, down, link=LINK)
    assert result.failed >= 1
    [alert] = _alerts(alerts_engine, list(world.users.values()))
    assert (alert.email_state, alert.email_attempts) == ("pending", 1)
    assert smtp_server.inbox.to(world.emails["ward_manager"]) == []

    job.run(alerts_engine, mail_settings(alerts_engine, smtp_server), link=LINK)
    job.run(alerts_engine, mail_settings(alerts_engine, smtp_server), link=LINK)
    [alert] = _alerts(alerts_engine, list(world.users.values()))
    assert alert.email_state == "sent"
    assert len(smtp_server.inbox.to(world.emails["ward_manager"])) == 1


def test_without_a_mail_server_alerts_stay_in_the_app(alerts_engine, overdue):
    world = overdue()
    settings = mail_settings(alerts_engine, None).model_copy(update={"smtp_host": ""})
    result = job.run(alerts_engine, settings, link=LINK)
    assert result.emailed == 0
    alerts = _alerts(alerts_engine, list(world.users.values()))
    assert len(alerts) == 3 and {a.email_state for a in alerts} == {"pending"}


def test_the_server_can_run_the_check_itself(alerts_engine, smtp_server: SmtpServer, overdue):
    world = overdue()
    settings = mail_settings(alerts_engine, smtp_server).model_copy(update={"alerts_every_minutes": 0.005})
    timer = job.Timer(alerts_engine, settings, link=LINK)
    timer.start()
    try:
        deadline = time.monotonic() + 30
        while len(smtp_server.inbox.to(world.emails["nurse"])) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the condition, not waiting a fixed time
    finally:
        timer.stop()
    assert len(smtp_server.inbox.to(world.emails["nurse"])) == 1
    assert len(_alerts(alerts_engine, list(world.users.values()))) == 3
