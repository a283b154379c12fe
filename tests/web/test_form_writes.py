"""app.web.form_writes: one write path for every HTML form, and what people see when it refuses.

The helper on its own (a real session, both databases): a refused rule is rolled back and shown
by its form field, a stale version goes to the view's conflict screen, errors that are not about
the input reach the error page, a form without the version it was drawn at is never saved. Then
one form of each kind over HTTP keeps what was typed when it comes back (422).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import func, select

from app.core.errors import Forbidden, RuleViolation, StaleVersion
from app.models import AuditEvent, BoardRound, EddChange, Escalation, EscalationEvent, Referral, Site
from app.web.form_writes import CHANGED, OUT_OF_DATE, write_form
from tests import factories


class Note(BaseModel):
    text: str


def _answers(db, save, *, version=None, form=None, stale=None, fields=None):  # noqa: ANN001, ANN202
    """Run write_form; returns what it answered, as (kind, payload, status)."""
    return write_form(
        db,
        form if form is not None else {"text": "typed", "version": "3"},
        Note,
        save,
        version=version,
        done=lambda result: ("done", result, 200),  # type: ignore[arg-type, return-value]
        again=lambda errors, status: ("again", errors, status),  # type: ignore[arg-type, return-value]
        stale=stale,
        fields=fields,
    )


def _sites(db) -> int:  # noqa: ANN001
    return db.exec(select(func.count()).select_from(Site)).one()


def _add_site(db, code: str) -> None:  # noqa: ANN001
    factories.make_site(db, code)


def test_a_save_is_committed_and_done_gets_its_result(db):
    before = _sites(db)

    def save(data, drawn_at):  # noqa: ANN001, ANN202
        _add_site(db, "S-OK")
        return data.text, drawn_at

    assert _answers(db, save, version="version") == ("done", ("typed", 3), 200)
    db.rollback()  # back to the last commit: the write was committed, so it stays
    assert _sites(db) == before + 1


def test_a_refused_rule_is_rolled_back_and_shown_by_its_form_field(db):
    before = _sites(db)

    def save(data, _):  # noqa: ANN001, ANN202
        _add_site(db, "S-RULE")
        raise RuleViolation("Planned discharge cannot be before admission", field="planned_for")

    answer = _answers(db, save, fields={"planned_for": "planned_date"})
    assert answer == ("again", {"planned_date": "Planned discharge cannot be before admission"}, 422)
    assert _sites(db) == before


def test_a_stale_version_goes_to_the_conflict_screen_and_writes_nothing(db):
    before = _sites(db)

    def save(data, _):  # noqa: ANN001, ANN202
        _add_site(db, "S-STALE")
        raise StaleVersion("Someone else changed this record")

    assert _answers(db, save, version="version") == ("again", {"form": CHANGED}, 409)
    conflict = _answers(db, save, version="version", stale=lambda exc: ("conflict", exc.message, 409))
    assert conflict == ("conflict", "Someone else changed this record", 409)
    assert _sites(db) == before


def test_errors_not_about_the_input_reach_the_error_page_and_write_nothing(db):
    before = _sites(db)

    def save(data, _):  # noqa: ANN001, ANN202
        _add_site(db, "S-403")
        raise Forbidden("Not yours")

    with pytest.raises(Forbidden):
        _answers(db, save)
    assert _sites(db) == before


@pytest.mark.parametrize("version", [None, "", "abc", "0", "-1", "1.5", "²", "9" * 11, ["3", "4"]])
def test_a_form_without_the_version_it_was_drawn_at_is_never_saved(db, version):
    form = {"text": "typed"} | ({} if version is None else {"version": version})
    saved = []
    answer = _answers(db, lambda data, drawn_at: saved.append(drawn_at), version="version", form=form)
    assert answer == ("again", {"form": OUT_OF_DATE}, 422) and saved == []


def test_bad_input_is_the_form_again_before_any_save(db):
    saved = []
    answer = _answers(db, lambda data, _: saved.append(data), form={"text": ["a", "b"]})
    assert answer[0] == "again" and answer[2] == 422 and set(answer[1]) == {"text"} and saved == []


def test_view_errors_stop_the_save_and_come_first(db):
    saved = []
    answer = write_form(
        db,
        {"text": 5},
        Note,
        lambda data, _: saved.append(data),
        errors={"stay_id": "Select the patient"},
        done=lambda _: Response(status_code=200),
        again=lambda errors, status: ("again", list(errors), status),  # type: ignore[arg-type, return-value]
    )
    assert answer == ("again", ["stay_id", "text"], 422) and saved == []


# One form of each kind over HTTP: what was typed comes back ------------------------------


@pytest.fixture
def stay(db, ward, nurse_principal, now):
    return factories.make_stay(
        db, nurse_principal, ward, factories.beds_of(db, ward)[0], admitted_at=now - timedelta(days=2)
    )


def _count(db, model) -> int:  # noqa: ANN001
    db.expire_all()
    return db.exec(select(func.count()).select_from(model)).one()


def test_escalation_step_without_its_version_keeps_the_note_and_saves_nothing(db, browser_as, ward, stay, now):
    from app.escalations.schemas import EscalationCreate
    from app.escalations.service import raise_escalation

    manager = factories.make_user(db, "ward_manager", wards=[ward])
    esc = raise_escalation(
        db, actor=factories.principal(db, manager), stay=stay, now=now,
        data=EscalationCreate(category_code="interface", help_needed="x"),
    )  # fmt: skip
    db.flush()
    browser = browser_as(manager)  # signing in is audited too
    events, audited = _count(db, EscalationEvent), _count(db, AuditEvent)
    r = browser.post(f"/escalations/{esc.id}", {"action": "note", "note": "Rang the hub twice"})
    assert r.status_code == 422 and OUT_OF_DATE in r.text and "Rang the hub twice" in r.text
    assert _count(db, EscalationEvent) == events and _count(db, AuditEvent) == audited
    assert db.get(Escalation, esc.id).status == "open"


def test_user_edit_refused_keeps_what_was_typed(db, browser_as, ward):
    admin = factories.make_user(db, "admin")
    browser = browser_as(admin)
    page = browser.get(f"/admin/users/{admin.id}")
    assert page.status_code == 200
    r = browser.post(
        f"/admin/users/{admin.id}",
        [
            ("display_name", "Typed New Name"),
            ("role_code", "nurse"),
            ("is_active", "yes"),
            ("version", str(admin.version)),
        ],
    )
    assert r.status_code == 422 and "You cannot disable yourself or change your own role" in r.text
    assert 'value="Typed New Name"' in r.text


def test_edd_refused_keeps_what_was_typed(db, browser_as, nurse, stay):
    browser = browser_as(nurse)
    browser.get(f"/stays/{stay.id}/edd")
    typed = {"expected_discharge_date": "2000-01-01", "reason": "Typed reason", "stay_version": str(stay.version)}
    r = browser.post(f"/stays/{stay.id}/edd", typed)
    assert r.status_code == 422 and 'value="2000-01-01"' in r.text and 'value="Typed reason"' in r.text
    assert _count(db, EddChange) == 0


def test_ending_a_round_with_a_mangled_version_is_the_page_again_not_a_500(db, browser_as, nurse, ward, now):
    from app.rounds.schemas import RoundStart
    from app.rounds.service import start_round

    board_round = start_round(db, actor=factories.principal(db, nurse), ward=ward, data=RoundStart(), now=now)
    db.flush()
    browser = browser_as(nurse)
    for version in ("abc", ""):
        r = browser.post(f"/rounds/{board_round.id}/end", {"version": version})
        assert r.status_code == 422 and OUT_OF_DATE in r.text and 'id="end-round"' in r.text
    db.expire_all()
    assert db.get(BoardRound, board_round.id).ended_at is None
    r = browser.post(f"/rounds/{board_round.id}/end", {"version": str(board_round.version)})
    assert r.status_code == 303 and r.headers["location"] == f"/rounds/{board_round.id}"


def test_referral_decision_without_its_version_keeps_what_was_typed(db, browser_as, nurse, stay, now):
    from app.stays.referrals import add_referral
    from app.stays.schemas import ReferralCreate

    referral = add_referral(
        db, actor=factories.principal(db, nurse), stay=stay, now=now,
        data=ReferralCreate(service_code="care_transfer_hub", sent_at=now - timedelta(hours=3)),
    )  # fmt: skip
    db.flush()
    browser = browser_as(nurse)
    r = browser.post(
        f"/stays/{stay.id}/referrals/{referral.id}",
        {"step": "decided", "on_date": "2026-03-10", "at_time": "10:00", "text": "Typed yes"},
    )
    assert r.status_code == 422 and OUT_OF_DATE in r.text and 'value="Typed yes"' in r.text
    db.expire_all()
    assert db.get(Referral, referral.id).decided_at is None
