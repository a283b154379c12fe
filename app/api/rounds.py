from __future__ import annotations

from fastapi import APIRouter, Response

from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import ward_or_404
from app.core.concurrency import expected_version
from app.core.params import IfMatch, Now, PathId, etag
from app.db import SessionDep, commit
from app.rounds import service
from app.rounds.schemas import RoundEnd, RoundPublic, RoundStart
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
