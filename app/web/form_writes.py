"""Every HTML form write, one way.

`write_form` parses the posted form into a schema (the API's own wherever there is one), checks
that a form changing a row carries the version it was drawn at, calls the service, commits once
in the request's session (app.db.commit) and answers with one of three callbacks the view gives:

- `done(result)`: what follows a save (a redirect via `go_to`, or the page with a message);
- `again(errors, status)`: the form again, with what was typed and a message per form field:
  422 for bad input, a refused rule or an out-of-date form, 409 for a clash;
- `stale(exc)`: someone else changed the row since the form was drawn (409); the view shows who
  and what (the conflict screen). Without it, `again` gets a general message.

The rollback lives here: views have no try/except around their writes. Errors that are not about
the input (403, 404) are re-raised for the shared error page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

from app.core.errors import Conflict, DomainError, RuleViolation, StaleVersion
from app.core.validation import form_version, validate
from app.db import commit

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
Errors = dict[str, str]

OUT_OF_DATE = "This form is out of date: reload the page and enter your change again"
CHANGED = "Someone else changed this while you had the page open: check it and try again"


class NoFields(BaseModel):
    """A form that is only a button (unlock, revoke, skip): nothing to parse but the version."""

    model_config = ConfigDict(extra="ignore")


def write_form(
    session: Session,
    form: Mapping[str, Any],
    schema: type[M],
    save: Callable[[M, int], T],
    *,
    done: Callable[[T], Response],
    again: Callable[[Errors, int], Response],
    version: str | None = None,
    stale: Callable[[StaleVersion], Response] | None = None,
    fields: Mapping[str, str] | None = None,
    errors: Errors | None = None,
    context: dict[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
) -> Response:
    """Parse, save, commit once, and answer.

    `save(data, drawn_at)` calls the service; `drawn_at` is the version read from the form field
    named `version` (0 for a form that creates a row, `version=None`). `fields` maps schema and
    service field names to the form's own; a message without a field goes to "form". `errors`:
    problems the view found before parsing (a choice checked against the database): the form
    is shown again with them and nothing is saved. `context`: pydantic validation context.
    `values`: what to parse when it is not the form as posted (a button that always means
    "done", say); the version is still read from the form.
    """
    drawn_at = 0
    if version is not None:
        found = form_version(form, version)
        if found is None:  # missing or mangled: never a write against whatever is current now
            return again({"form": OUT_OF_DATE}, 422)
        drawn_at = found
    data, problems = validate(schema, form if values is None else values, context=context)
    problems = (errors or {}) | {_form_field(fields, name): message for name, message in problems.items()}
    if data is None or problems:
        return again(problems, 422)
    try:
        result = save(data, drawn_at)
        commit(session)
    except StaleVersion as exc:
        session.rollback()
        return stale(exc) if stale is not None else again({"form": CHANGED}, 409)
    except (RuleViolation, Conflict) as exc:
        session.rollback()
        return again({_form_field(fields, exc.field): exc.message}, exc.status_code)
    except DomainError:
        session.rollback()
        raise  # not about what was typed (403, 404): the shared error page
    return done(result)


def _form_field(fields: Mapping[str, str] | None, name: str | None) -> str:
    if not name:
        return "form"
    return (fields or {}).get(name, name)
