"""The round step's HTML form: validate, save through the round-step service, commit once, and
on a stale version show who changed what while keeping what the user typed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.core.errors import DomainError, StaleVersion
from app.core.principal import Principal
from app.core.validation import as_list, validate
from app.db import commit
from app.models import BoardRound, Stay
from app.rounds import step
from app.rounds.forms import PatientStepForm, required_errors
from app.rounds.page import conflict_details


def apply_form(
    session: Session, actor: Principal, stay: Stay, form: dict, now: datetime, board_round: BoardRound | None
) -> tuple[dict[str, str], dict | None, dict]:
    """Validate and apply one patient's answers. Returns (errors, conflict, values to show)."""
    values = form | {"criteria": as_list(form.get("criteria"))}
    data, errors = validate(PatientStepForm, values)
    errors = errors | required_errors(values)
    if data is None or errors:
        return errors, None, values
    try:
        step.save_patient(session, actor=actor, stay=stay, data=data, now=now, board_round=board_round)
        commit(session)
    except StaleVersion:
        session.rollback()
        session.refresh(stay)
        conflict = conflict_details(session, stay)
        # Keep everything the user typed; the new version lets them reapply it knowingly. A field
        # the user left as it was, and the other person changed, shows the other person's value:
        # saving again must not quietly undo their change.
        for field, old, new in conflict["changes"]:
            if field in values and _as_text(values.get(field)) == _as_text(old):
                values[field] = _as_text(new)
        return {}, conflict, values | {"stay_version": stay.version}
    except DomainError as exc:
        session.rollback()
        return {step.form_field(exc.field): exc.message}, None, values
    return {}, None, values


def _as_text(value: object) -> str:
    return "" if value is None else str(value)
