from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.responses import error_responses
from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import ward_or_404
from app.core.concurrency import expected_version, parse_if_match
from app.core.params import IfMatch, Now, PathId, etag
from app.db import SessionDep, commit
from app.rounds import service, step
from app.rounds.schemas import RoundEnd, RoundPublic, RoundStart, RoundStepPublic, RoundStepRequest
from app.web.idempotency import IdempotentRoute

router = APIRouter(tags=["board rounds"], route_class=IdempotentRoute)


@router.post("/wards/{ward_id}/rounds", response_model=RoundPublic, status_code=201)
def start_round(ward_id: PathId, data: RoundStart, session: SessionDep, actor: Requires(Perm.RUN_ROUND), now: Now):
    ward = ward_or_404(session, actor, ward_id)
    board_round = service.start_round(session, actor=actor, ward=ward, data=data, now=now)
    commit(session)
    return service.present(board_round, service.attendees_for(session, board_round.id))  # type: ignore[arg-type]


@router.get("/rounds/{round_id}", response_model=RoundPublic)
def get_round(round_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD), response: Response):
    board_round = service.round_or_404(session, actor, round_id)
    response.headers.update(etag(board_round.version))
    return service.present(board_round, service.attendees_for(session, board_round.id))  # type: ignore[arg-type]


@router.post("/rounds/{round_id}/end", response_model=RoundPublic)
def end_round(
    round_id: PathId,
    data: RoundEnd,
    session: SessionDep,
    actor: Requires(Perm.RUN_ROUND),
    now: Now,
    if_match: IfMatch = None,
):
    board_round = service.round_or_404(session, actor, round_id)
    service.end_round(
        session,
        actor=actor,
        board_round=board_round,
        expected_version=expected_version(if_match, data.version),
        now=now,
    )
    commit(session)
    return service.present(board_round, service.attendees_for(session, board_round.id))  # type: ignore[arg-type]


@router.post(
    "/rounds/{round_id}/stays/{stay_id}",
    response_model=RoundStepPublic,
    summary="Record one patient's turn at the board round",
    responses=error_responses(
        {
            404: "No such round, or no such patient on the round's ward, in your scope",
            409: "The stay (or today's review) changed since the version you sent: `detail.current` is it now, "
            "`fields` names which version; or the stay has ended",
            422: "A field is missing, malformed or breaks a rule: `fields` names each by its path "
            "(`review.delay_reason_code`, `edd_reason`, `actions.0.owner_role_code`)",
            428: "No `stay_version` (nor If-Match), or today's review exists and no `review_version` was sent",
        }
    ),
)
def record_round_step(
    round_id: PathId,
    stay_id: PathId,
    data: RoundStepRequest,
    session: SessionDep,
    actor: Requires(Perm.WRITE_CLINICAL),
    now: Now,
    response: Response,
    if_match: IfMatch = None,
):
    """The standard questions for one patient, answered at once, as the round stepper's form does:
    today's criteria-to-reside review (or `no_change: true` to confirm the last one), the expected
    discharge date (a reason when it changes), the discharge pathway (in the review), red or green
    day, clinical criteria, what matters and patient choice, new actions (linked to the round) and
    an escalation. Everything is applied and audited together, or nothing is.

    Send the stay's `version` you saw as `stay_version` (or If-Match), and if today's review was
    already recorded, its version as `review_version`. The patient is then marked done in the round.
    """
    board_round, stay = step.target(session, actor, round_id, stay_id)
    if if_match:
        data = data.model_copy(update={"stay_version": parse_if_match(if_match) or data.stay_version})
    result = step.save_step(session, actor=actor, stay=stay, data=data, now=now, board_round=board_round)
    commit(session)
    response.headers.update(etag(stay.version))
    return step.present(session, stay, result)
