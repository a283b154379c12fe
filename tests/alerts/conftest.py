"""Alert tests: a real SMTP server (aiosmtpd, on a free port) and a committed database.

The alert check commits and runs in several threads at once, so these tests use a database of
their own (per backend and xdist worker) rather than the rolled-back `db` session. Rules look at
every ward; tests assert only about their own users (every ward code and username is unique).
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlmodel import Session

from app.actions.schemas import ActionCreate
from app.actions.service import create_action
from app.alerts.schemas import PreferencesUpdate
from app.alerts.service import save_preferences
from app.config import Settings
from app.escalations.schemas import EscalationCreate
from app.escalations.service import raise_escalation
from app.models import Patient
from app.stays.referrals import add_referral
from app.stays.schemas import ReferralCreate
from tests import factories
from tests.dbs import build_engine, migrate, settings_for


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's hook
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for rcpts, m in self.messages if address in rcpts]


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: _Inbox


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def alerts_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = build_engine(backend, tmp_path_factory.mktemp(f"alerts-{backend}"), "alerts")
    migrate(engine)
    yield engine
    engine.dispose()


def mail_settings(engine: Engine, smtp: SmtpServer | None, *, port: int | None = None) -> Settings:
    settings = settings_for(engine.url.render_as_string(hide_password=False))
    return settings.model_copy(
        update={
            "smtp_host": smtp.host if smtp else "127.0.0.1",
            "smtp_port": port or (smtp.port if smtp else _free_port()),
            "smtp_tls": "none",
            "smtp_from": "boardround@test.nhs.uk",
            "smtp_timeout_seconds": 5,
        }
    )


@dataclass
class Overdue:
    """A committed ward with one escalation past its target, one overdue action and one waiting
    referral, and the people who own them (each with an email address unless told otherwise)."""

    ward_id: int
    ward_code: str
    bed_label: str
    patient: Patient
    users: dict[str, int] = field(default_factory=dict)  # role -> user id
    emails: dict[str, str] = field(default_factory=dict)  # role -> address
    esc_id: int = 0
    action_id: int = 0
    referral_id: int = 0


@pytest.fixture
def overdue(alerts_engine: Engine) -> Callable[..., Overdue]:
    def make(choices: dict[str, dict[str, str]] | None = None, now: datetime | None = None) -> Overdue:
        now = now or datetime.now(UTC)
        suffix = uuid.uuid4().hex[:8]
        with Session(alerts_engine, expire_on_commit=False) as db:
            site = factories.make_site(db, code=f"S{suffix}")
            ward = factories.make_ward(db, site=site, beds=2, code=f"A-{suffix}")
            users = {
                role: factories.make_user(db, role, wards=[ward], username=f"{role}-{suffix}")
                for role in ("nurse", "ward_manager", "social_worker", "doctor")
            }
            nurse = factories.principal(db, users["nurse"])
            bed = factories.beds_of(db, ward)[0]
            stay = factories.make_stay(
                db, nurse, ward, bed, now=now - timedelta(days=5), admitted_at=now - timedelta(days=6)
            )
            patient = db.get(Patient, stay.patient_id)
            esc = raise_escalation(
                db,
                actor=nurse,
                stay=stay,
                data=EscalationCreate(category_code="capacity", help_needed="Need a care home bed"),
                now=now - timedelta(hours=6),
            )
            action = create_action(
                db,
                actor=nurse,
                stay=stay,
                data=ActionCreate(
                    description="Book transport", owner_role_code="nurse", due_at=now - timedelta(hours=2)
                ),
                now=now - timedelta(days=1),
            )
            social = factories.principal(db, users["social_worker"])
            referral = add_referral(
                db,
                actor=social,
                stay=stay,
                data=ReferralCreate(service_code="social_care", sent_at=now - timedelta(days=4)),
                now=now - timedelta(days=4),
            )
            out = Overdue(
                ward.id, ward.code, bed.label, patient, esc_id=esc.id, action_id=action.id, referral_id=referral.id
            )
            for role, user in users.items():
                out.users[role] = user.id
                address = f"{role}-{suffix}@test.nhs.uk"
                out.emails[role] = address
                save_preferences(
                    db,
                    actor=factories.principal(db, user),
                    data=PreferencesUpdate(email=address, choices=(choices or {}).get(role, {})),
                    expected_version=0,
                    now=now,
                )
            db.commit()
            db.expunge_all()
            return out

    return make
