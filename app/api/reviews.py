from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.responses import error_responses
from app.auth.deps import Requires
from app.auth.permissions import Perm
from app.auth.scope import stay_or_404
from app.core.params import Now, PathId
from app.db import SessionDep, commit
from app.reviews import service
from app.reviews.schemas import ReviewPublic, ReviewRequest
from app.web.idempotency import IdempotentRoute

router = APIRouter(prefix="/stays/{stay_id}/reviews", tags=["reviews"], route_class=IdempotentRoute)


@router.post(
    "",
    response_model=ReviewPublic,
    status_code=201,
    responses={200: {"description": "Today's review replaced"}}
    | error_responses(
        {
            404: "No such stay on your wards",
            409: "Today's review changed since the `version` you sent (`detail.current` is it now), or the stay ended",
            422: "A field is missing, malformed or breaks a rule (`fields` names each)",
            428: "Today's review exists and no `version` was sent",
        }
    ),
)
def record_review(
    stay_id: PathId,
    data: ReviewRequest,
    session: SessionDep,
    actor: Requires(Perm.WRITE_CLINICAL),
    now: Now,
    response: Response,
):
    """Record today's (Europe/London) review. Recording again the same day replaces it: send the
    `version` of today's review you saw (428 without it, 409 if someone changed it since).

    A late entry for a missed day: `review_date` an earlier day (up to 7 days back, not before
    the admission, a day with no review yet) and `late_entry_reason`; senior roles only
    (docs/permissions.md). The discharge-ready date follows it, and the stored metrics days it
    changes are rebuilt."""
    stay = stay_or_404(session, actor, stay_id)
    review, criteria, created = service.record_review(session, actor=actor, stay=stay, data=data, now=now)
    commit(session)
    if not created:
        response.status_code = 200
    return service.present(review, criteria)


@router.get("", response_model=list[ReviewPublic])
def list_reviews(stay_id: PathId, session: SessionDep, actor: Requires(Perm.READ_WARD)):
    stay = stay_or_404(session, actor, stay_id)
    return [service.present(r, c) for r, c in service.reviews_for_stay(session, stay.id)]  # type: ignore[arg-type]
