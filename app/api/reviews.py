from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.api.responses import error_responses
from app.auth.deps import CanReadWard, CanWriteClinical
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
    responses={
        200: {"description": "Today's review replaced"},
        **error_responses(
            {
                404: "No such stay on your wards",
                409: "Today's review changed since the `version` you sent (`detail.current` is it now), or the stay ended",
                422: "A field is missing, malformed or breaks a rule (`fields` names each)",
                428: "Today's review exists and no `version` was sent",
            }
        ),
    },
)
def record_review(
    stay_id: PathId,
    data: ReviewRequest,
    session: SessionDep,
    actor: CanWriteClinical,
    now: Now,
    response: Response,
) -> dict[str, Any]:
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
    return service.present(review, criteria, service.delay_reasons_for(session, [review.id])[review.id])


@router.get("", response_model=list[ReviewPublic])
def list_reviews(stay_id: PathId, session: SessionDep, actor: CanReadWard) -> list[dict[str, Any]]:
    stay = stay_or_404(session, actor, stay_id)
    found = service.reviews_for_stay(session, stay.id)
    reasons = service.delay_reasons_for(session, [r.id for r, _ in found])
    return [service.present(r, c, reasons[r.id]) for r, c in found]
