"""The round step's live red/green indicator: the day's colour by the rule (app.reviews.red_green)
for the answers on the form now, redrawn as they change. Reads only; the save applies the same rule."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict

from app.auth.deps import CanReadWard
from app.auth.scope import stay_or_404
from app.core.params import Now, PathId
from app.core.types import FormCode
from app.core.validation import validate
from app.db import SessionDep
from app.rounds.queries import red_green_state
from app.web.htmx import vary
from app.web.templating import render

router = APIRouter(include_in_schema=False)


def _blank_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class RedGreenAnswers(BaseModel):
    """The answers the colour depends on, as the step form has them (anything else is ignored)."""

    model_config = ConfigDict(extra="ignore")

    meets: Annotated[Literal["yes", "no"] | None, BeforeValidator(_blank_none)] = None
    delay_reason_code: FormCode = None
    day_status: Annotated[Literal["red", "green"] | None, BeforeValidator(_blank_none)] = None


@router.get("/stays/{stay_id}/red-green", name="red_green_preview")
def red_green_preview(request: Request, stay_id: PathId, session: SessionDep, actor: CanReadWard, now: Now) -> Response:
    stay = stay_or_404(session, actor, stay_id)
    answers, _ = validate(RedGreenAnswers, dict(request.query_params))
    answers = answers or RedGreenAnswers()
    state = red_green_state(
        session,
        stay,
        meets=None if answers.meets is None else answers.meets == "yes",
        primary_delay_code=answers.delay_reason_code,
        chosen=answers.day_status,
        now=now,
    )
    return vary(render(request, "rounds/_red_green_status.html", {"red_green": state, "stay": stay}))
