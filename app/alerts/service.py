"""Alerts: create what the rules find (once per rule, subject and recipient), read and mark
them, and keep each person's preferences. Audited; no commit (app/alerts/job.py commits).

Never put a patient's name or NHS number in an alert: titles say ward, bed and initials.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.alerts.rules import RULES, Due
from app.alerts.schemas import CHOICES, PreferencesUpdate
from app.audit import crud
from app.audit import service as audit
from app.audit.versions import check_version
from app.core import changes
from app.core.errors import NotFound, StaleVersion
from app.core.principal import Principal
from app.models import Alert, AlertPreferences, Bed, Patient, StaffRole, Stay, User, UserWard, Ward

SYSTEM_ACTOR = "alerts"
ALERT_NOTICE = changes.ALERT


# Preferences ---------------------------------------------------------------------------------


def choice_for(prefs: AlertPreferences | None, rule_code: str) -> str:
    """ "email", "app" or "off". Unset: in the app, and by email once an address is given."""
    chosen = prefs.choices.get(rule_code) if prefs else None
    if chosen in CHOICES:
        return chosen
    return "email" if prefs is not None and prefs.email else "app"


def preferences(session: Session, user_id: int) -> AlertPreferences | None:
    return session.get(AlertPreferences, user_id)


def save_preferences(
    session: Session, *, actor: Principal, data: PreferencesUpdate, expected_version: int, now: datetime
) -> AlertPreferences:
    """Replace the signed-in person's own preferences (version 0: they had none yet)."""
    # Only known rules; one not chosen follows the default (choice_for).
    choices = {code: choice for code, choice in data.choices.items() if code in RULES}
    prefs = session.get(AlertPreferences, actor.user_id)
    if prefs is None:
        if expected_version != 0:
            raise StaleVersion("These settings were removed since you opened the page: check them and save again")
        prefs = AlertPreferences(
            user_id=actor.user_id, email=data.email, choices=choices, created_at=now, updated_at=now
        )
        return crud.create(session, actor=actor, row=prefs, now=now, ward_id=None, patient_id=None)
    return crud.update(
        session,
        actor=actor,
        row=prefs,
        changes={"email": data.email, "choices": choices},
        expected_version=expected_version,
        now=now,
        ward_id=None,
        patient_id=None,
        present=lambda: {"email": prefs.email, "choices": prefs.choices, "version": prefs.version},
    )


# Reading and marking ---------------------------------------------------------------------------


def unread_count(session: Session, user_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(Alert).where(Alert.recipient_id == user_id, col(Alert.read_at).is_(None))
    ).one()


def inbox(session: Session, user_id: int, *, limit: int = 100) -> list[Alert]:
    """Unread first, newest first within each."""
    return list(
        session.exec(
            select(Alert)
            .where(Alert.recipient_id == user_id)
            .order_by(col(Alert.read_at).is_not(None), col(Alert.id).desc())
            .limit(limit)
        )
    )


def alert_or_404(session: Session, actor: Principal, alert_id: int) -> Alert:
    """Only the recipient's own alerts exist for them."""
    alert = session.get(Alert, alert_id)
    if alert is None or alert.recipient_id != actor.user_id:
        raise NotFound("No such alert")
    return alert


def mark_read(session: Session, *, actor: Principal, alert: Alert, expected_version: int, now: datetime) -> Alert:
    if alert.read_at is not None:
        check_version(session, alert, expected_version, lambda: {"read_at": alert.read_at, "version": alert.version})
        return alert
    return crud.update(
        session,
        actor=actor,
        row=alert,
        changes={"read_at": now},
        expected_version=expected_version,
        now=now,
        ward_id=None,  # the person's own inbox: no board changes
        patient_id=None,
        present=lambda: {"read_at": alert.read_at, "version": alert.version},
        action="alert_read",
    )


def mark_all_read(session: Session, *, actor: Principal, up_to: int, now: datetime) -> int:
    """Mark read every unread alert the person was shown (ids up to `up_to`): not ones that came since."""
    ids = list(
        session.exec(
            select(Alert.id).where(
                Alert.recipient_id == actor.user_id, col(Alert.read_at).is_(None), col(Alert.id) <= up_to
            )
        )
    )
    if not ids:
        return 0
    session.execute(
        update(Alert)
        .where(col(Alert.id).in_(ids), col(Alert.read_at).is_(None))
        .values(read_at=now, updated_at=now, version=Alert.version + 1)
        .execution_options(synchronize_session=False)
    )
    audit.record(session, actor=actor, action="alert_read_all", entity_type="alert", at=now, after={"alert_ids": ids})
    return len(ids)


# Creating ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    ward_code: str
    bed_label: str | None
    initials: str
    patient_id: int | None

    def text(self) -> str:
        bed = f"bed {self.bed_label}" if self.bed_label else "no bed"
        initials = f" ({self.initials})" if self.initials else ""
        return f"{self.ward_code} {bed}{initials}"


def initials(given: str, family: str) -> str:
    return "".join(part[:1].upper() for part in (given.strip(), family.strip()) if part)


def _places(session: Session, dues: list[Due]) -> tuple[dict[int, Where], dict[int, str]]:
    stay_ids = {d.stay_id for d in dues if d.stay_id is not None}
    places: dict[int, Where] = {}
    if stay_ids:
        rows = session.exec(
            select(Stay.id, Ward.code, Bed.label, Patient)
            .join(Ward, col(Ward.id) == Stay.ward_id)
            .join(Patient, col(Patient.id) == Stay.patient_id)
            .outerjoin(Bed, col(Bed.id) == Stay.bed_id)
            .where(col(Stay.id).in_(stay_ids))
        ).all()
        for stay_id, code, label, patient in rows:
            places[stay_id] = Where(code, label, initials(patient.given_name, patient.family_name), patient.id)
    ward_codes = dict(session.exec(select(Ward.id, Ward.code)).all())
    return places, ward_codes


def _staff(session: Session) -> tuple[dict[str, list[tuple[int, bool]]], dict[int, set[int]]]:
    """People who can be told: by role, (user id, site-wide); and each one's wards."""
    by_role: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for user_id, role, site_wide in session.exec(
        select(User.id, User.role_code, StaffRole.site_wide)
        .join(StaffRole, col(StaffRole.code) == User.role_code)
        .where(User.is_active, col(User.is_service_account).is_(False))
    ):
        by_role[role].append((user_id, bool(site_wide)))
    wards: dict[int, set[int]] = defaultdict(set)
    for user_id, ward_id in session.exec(select(UserWard.user_id, UserWard.ward_id)):
        wards[user_id].add(ward_id)
    return by_role, wards


def _natural(subject: str) -> tuple[tuple[int, int | str], ...]:
    """ "action:40" before "action:100": numbers as numbers (the same order in every worker)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in subject.split(":"))


def _insert_once(session: Session, values: dict[str, Any]) -> int | None:
    """Insert the alert unless (rule, subject, recipient) exists: the id if this call made it."""
    table = Alert.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass
    dialect = session.get_bind().dialect.name
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        builder(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["rule_code", "subject", "recipient_id"])
        .returning(table.c.id)
    )
    return session.execute(statement).scalar_one_or_none()


def create_due_alerts(session: Session, *, now: datetime, rules: list[str] | None = None) -> list[int]:
    """Everything the rules find, for everyone who should be told: the ids of the alerts created
    by this call (an alert that exists already, made by an earlier run or by another worker at
    the same moment, is left alone). Audited, with a change notice per ward for the header count."""
    codes = rules if rules is not None else list(RULES)
    found: list[tuple[str, Due]] = []
    for code in codes:
        found.extend((code, due) for due in RULES[code].find(session, now))
    if not found:
        return []
    places, ward_codes = _places(session, [d for _, d in found])
    by_role, wards = _staff(session)
    prefs = {p.user_id: p for p in session.exec(select(AlertPreferences))}
    rows: list[dict[str, Any]] = []
    for code, due in found:
        where = places.get(due.stay_id) if due.stay_id is not None else None
        prefix = where.text() if where else ward_codes.get(due.ward_id, "")
        for role in sorted(due.roles):
            for user_id, site_wide in by_role.get(role, ()):
                if not site_wide and due.ward_id not in wards.get(user_id, set()):
                    continue
                mine = prefs.get(user_id)
                chosen = choice_for(mine, code)
                if chosen == "off":
                    continue
                rows.append(
                    {
                        "rule_code": code,
                        "subject": due.subject,
                        "recipient_id": user_id,
                        "ward_id": due.ward_id,
                        "stay_id": due.stay_id,
                        "title": f"{prefix}: {due.title}"[:200],
                        "detail": "",
                        "link_route": due.link_route,
                        "link_params": due.link_params,
                        "email_state": "pending" if chosen == "email" and mine and mine.email else "none",
                        "email_attempts": 0,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                        "_patient_id": where.patient_id if where else None,
                    }
                )
    # The same order in every worker, so two runs at once wait for each other rather than deadlock.
    rows.sort(key=lambda r: (r["rule_code"], _natural(r["subject"]), r["recipient_id"]))
    created: list[int] = []
    for row in rows:
        patient_id = row.pop("_patient_id")
        alert_id = _insert_once(session, row)
        if alert_id is None:
            continue
        created.append(alert_id)
        audit.record(
            session,
            actor=None,
            actor_name=SYSTEM_ACTOR,
            action="alert",
            entity_type="alert",
            entity_id=alert_id,
            at=now,
            after={k: row[k] for k in ("rule_code", "recipient_id", "stay_id", "email_state")},
            ward_id=row["ward_id"],
            patient_id=patient_id,
            notice=ALERT_NOTICE,  # moves header counts; changes no board
        )
    return created
