"""Actions agreed at the round."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.actions.schemas import ActionCreate, ActionPublic, ActionUpdate
from app.audit import crud
from app.core.errors import Conflict, NotFound, RuleViolation
from app.core.principal import Principal
from app.models import Action, BoardRound, StaffRole, Stay


def _check_role(session: Session, code: str) -> None:
    if session.get(StaffRole, code) is None:
        raise RuleViolation("Unknown role", field="owner_role_code")


def create_action(session: Session, *, actor: Principal, stay: Stay, data: ActionCreate, now: datetime) -> Action:
    if stay.discharged_at is not None:
        raise Conflict("This stay has ended", field="stay")
    _check_role(session, data.owner_role_code)
    if data.board_round_id is not None:
        board_round = session.get(BoardRound, data.board_round_id)
        if board_round is None or board_round.ward_id != stay.ward_id:
            raise RuleViolation("No such board round on this ward", field="board_round_id")
    action = Action(stay_id=stay.id, created_by_id=actor.user_id, created_at=now, updated_at=now, **data.model_dump())
    crud.create(session, actor=actor, row=action, now=now, ward_id=stay.ward_id, patient_id=stay.patient_id)
    return action


def update_action(
    session: Session,
    *,
    actor: Principal,
    action: Action,
    stay: Stay,
    data: ActionUpdate,
    expected_version: int,
    now: datetime,
) -> Action:
    changes = data.model_dump(exclude_unset=True, exclude={"version", "done"})
    if "owner_role_code" in changes:
        _check_role(session, changes["owner_role_code"])
    if data.done is True and action.done_at is None:
        changes |= {"done_at": now, "done_by_id": actor.user_id}
    elif data.done is False and action.done_at is not None:
        changes |= {"done_at": None, "done_by_id": None}
    crud.update(
        session,
        actor=actor,
        row=action,
        changes=changes,
        expected_version=expected_version,
        now=now,
        ward_id=stay.ward_id,
        patient_id=stay.patient_id,
        present=lambda: ActionPublic.model_validate(action).model_dump(mode="json"),
    )
    return action


def action_or_404(session: Session, stay: Stay, action_id: int) -> Action:
    action = session.get(Action, action_id)
    if action is None or action.stay_id != stay.id:
        raise NotFound("No such action")
    return action


def actions_for_stay(session: Session, stay_id: int, *, open_only: bool = False) -> list[Action]:
    query = select(Action).where(Action.stay_id == stay_id)
    if open_only:
        query = query.where(col(Action.done_at).is_(None))
    return list(session.exec(query.order_by(Action.id)))
