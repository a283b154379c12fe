"""The round step's HTML forms (the stepper's, the patient page's, "no change"): read the form
into the round step's domain schema, and turn a refused save into what the page shows again.

The routes call app.rounds.step.save_step and commit once; on a stale version the page says who
changed what, keeps what the user typed and carries the new versions, so saving again is a
choice made knowingly, never a silent overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

from app.core.clock import LONDON, london_date
from app.core.errors import DomainError, PreconditionRequired, StaleVersion
from app.core.types import BoundedText, FormDate, form_id
from app.core.validation import as_list, validate
from app.models import Stay
from app.rounds.forms import RELOAD, PatientStepForm, form_field, required_errors, step_request, version_errors
from app.rounds.queries import current_versions, step_conflict
from app.rounds.schemas import RoundStepRequest


@dataclass
class StepForm:
    """A posted step form: the request to save, or why not. `values` is what the page shows again."""

    values: dict[str, Any]
    request: RoundStepRequest | None = None
    errors: dict[str, str] = field(default_factory=dict)
    conflict: dict[str, Any] | None = None


def read_answers(form: dict[str, Any], now: datetime) -> StepForm:
    values = form | {"criteria": as_list(form.get("criteria"))}
    data, errors = validate(PatientStepForm, values)
    errors = version_errors(errors | required_errors(values))
    if data is None or errors:
        return StepForm(values, errors=errors)
    request, errors = step_request(data, now)
    return StepForm(values, request=request, errors=errors)


class NoChangeForm(BaseModel):
    """What "no change" may carry besides the versions: a new EDD (and why) when the old one has
    passed, and the team's word that a reason for staying given days ago still holds."""

    model_config = ConfigDict(extra="ignore")

    expected_discharge_date: FormDate = None
    edd_reason: Annotated[str, BoundedText(1000)] = ""
    confirm_delay_reason: bool = False


def read_no_change(form: dict[str, Any]) -> StepForm:
    """The "no change since last review" button. It is offered only while there is no review
    today; a review recorded since the page was drawn is someone else's change, shown as a
    conflict. On the round step it submits the whole form (its `formaction`), so a refusal
    shows the page again as it was on screen."""
    values = form | {"criteria": as_list(form.get("criteria"))} if "meets" in form or "edd_reason" in form else {}
    stay_version, review_version = form_id(form.get("stay_version")), form.get("review_version", "")
    if stay_version is None or not isinstance(review_version, str):
        return StepForm(values, errors={"form": RELOAD})
    if review_version.strip() and form_id(review_version) is None:
        return StepForm(values, errors={"form": RELOAD})
    extra = {k: form.get(k) for k in ("expected_discharge_date", "edd_reason", "confirm_delay_reason") if form.get(k)}
    data, errors = validate(NoChangeForm, extra)
    if data is None or errors:
        return StepForm(values, errors=errors)
    fields: dict[str, Any] = {"confirm_delay_reason": data.confirm_delay_reason}
    if data.expected_discharge_date is not None:
        fields |= {"expected_discharge_date": data.expected_discharge_date, "edd_reason": data.edd_reason}
    request = RoundStepRequest(
        stay_version=stay_version, review_version=form_id(review_version), no_change=True, **fields
    )
    return StepForm(values, request=request)


def refused(session: Session, stay: Stay, submitted: StepForm, exc: DomainError, now: datetime) -> StepForm:
    """Roll the save back; show who changed what since the form was drawn, or the rule it broke."""
    session.rollback()
    request = submitted.request
    assert request is not None
    # A blank review version said "no review yet today": one recorded since is someone's change.
    recorded_since = isinstance(exc, PreconditionRequired) and exc.field == "review_version"
    if not (isinstance(exc, StaleVersion) or recorded_since):
        return StepForm(submitted.values, errors={form_field(exc.field): exc.message})
    session.refresh(stay)
    today = london_date(now)
    conflict = step_conflict(
        session, stay, today, stay_version=request.stay_version, review_version=request.review_version
    )
    if not submitted.values:
        return StepForm({}, conflict=conflict)  # "no change": nothing typed, drawn afresh at the new versions
    values = dict(submitted.values)
    # Keep everything the user typed; the new versions let them reapply it knowingly. A field
    # the user left as it was, and the other person changed, shows the other person's value:
    # saving again must not quietly undo their change.
    for name, old, new in conflict["changes"]:
        if name in values and _as_text(values.get(name)) == _as_text(old):
            values[name] = _as_text(new)
    return StepForm(values | current_versions(session, stay, today), conflict=conflict)


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def due_moment(form: dict[str, Any]) -> str | None:
    """An action's new due date and time (London) from the step's "change due" form, as an ISO
    moment for ActionUpdate; what cannot be read is passed on as typed for its message."""
    day, clock = str(form.get("due_date") or "").strip(), str(form.get("due_time") or "").strip()
    if not day:
        return None if not clock else clock
    try:
        when = datetime.combine(date.fromisoformat(day), time.fromisoformat(clock or "17:00"), tzinfo=LONDON)
    except ValueError:
        return f"{day} {clock}".strip()
    return when.isoformat()
