"""Form parsing: London wall-clock times to UTC, the cause rules, NHS-style messages."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.core.validation import validate
from app.discharges import forms

REASONS = {"transport", "medicines", "care_home"}
ROLES = {"nurse", "pharmacist"}


def valid(**overrides) -> dict:
    return {
        "planned_date": "2026-07-01",
        "planned_time": "11:30",
        "causes": ["transport", "medicines"],
        "primary_cause": "medicines",
        "avoidable": "yes",
        "detail": "  TTO not signed  ",
    } | overrides


def parse(form: dict):
    """(the API's FailedDischargeCreate or None, errors by form field), as the log form reads it."""
    data, errors = validate(forms.FailedDischargeForm, form, context={"reasons": REASONS, "roles": ROLES})
    return (data.to_create() if data else None), errors


def test_summer_time_is_stored_as_utc():
    data, errors = parse(valid())
    assert errors == {}
    # 11:30 in London on 1 July (BST, UTC+1) is 10:30 UTC.
    assert data.planned_for == datetime(2026, 7, 1, 10, 30, tzinfo=UTC)
    assert data.causes == ["transport", "medicines"] and data.primary_cause == "medicines"
    assert data.avoidable is True and data.detail == "TTO not signed"


def test_winter_time_is_utc_already():
    data, _ = parse(valid(planned_date="2026-01-15"))
    assert data.planned_for == datetime(2026, 1, 15, 11, 30, tzinfo=UTC)


def test_a_single_cause_is_the_main_one():
    data, errors = parse(valid(causes="transport", primary_cause=""))
    assert errors == {} and data.causes == ["transport"] and data.primary_cause == "transport"


def test_errors_name_each_field_in_form_order():
    _, errors = parse({"planned_date": "2026-02-30", "causes": [], "avoidable": "", "follow_up_due_date": "2026-07-02"})
    assert list(errors) == ["planned_date", "planned_time", "causes", "avoidable", "follow_up_due_time"]
    assert errors["planned_date"] == "Enter a real date"
    assert errors["planned_time"] == "Enter the time the patient was due to go home"
    assert errors["causes"] == "Select at least one cause"
    assert errors["avoidable"] == "Select yes if the failed discharge could have been avoided"
    assert errors["follow_up_due_time"] == "Enter the time the follow-up is due"


def test_main_cause_must_be_one_of_the_ticked_causes():
    _, errors = parse(valid(primary_cause="care_home"))
    assert errors == {"primary_cause": "The main cause must be one of the causes you ticked"}
    _, errors = parse(valid(primary_cause=""))
    assert errors == {"primary_cause": "Select which cause was the main one"}


def test_unknown_codes_are_refused():
    _, errors = parse(valid(causes=["transport", "made_up"]))
    assert errors == {"causes": "Select causes from the list"}
    _, errors = parse(valid(follow_up_owner_role="admin"))
    assert errors == {"follow_up_owner_role": "Choose a role from the list"}


def test_follow_up_due_in_london_time():
    data, errors = parse(
        valid(follow_up_owner_role="pharmacist", follow_up_due_date="2026-07-02", follow_up_due_time="09:00")
    )
    assert errors == {}
    assert data.follow_up_owner_role_code == "pharmacist"
    assert data.follow_up_due_at == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)


def test_follow_up_date_and_time_go_together():
    _, errors = parse(valid(follow_up_due_time="09:00"))
    assert errors == {"follow_up_due_date": "Enter the date the follow-up is due"}
    _, errors = parse(valid(follow_up_due_date="2026-07-02"))
    assert errors == {"follow_up_due_time": "Enter the time the follow-up is due"}


def test_a_repeated_field_keeps_the_last_value_and_nul_is_dropped():
    data, errors = parse(valid(avoidable=["yes", "no"], detail="TTO\x00 late"))
    assert errors == {} and data.avoidable is False and data.detail == "TTO late"


def test_edd_form():
    data, errors = validate(
        forms.EddForm, {"expected_discharge_date": "2026-03-14", "reason": " Failed discharge ", "stay_version": "3"}
    )
    assert errors == {} and data.expected_discharge_date == date(2026, 3, 14) and data.reason == "Failed discharge"
    _, errors = validate(forms.EddForm, {})
    assert errors == {"expected_discharge_date": "Enter the expected discharge date"}
    _, errors = validate(forms.EddForm, {"expected_discharge_date": "2026-03-14", "reason": "x" * 1001})
    assert errors == {"reason": "Reason must be 1000 characters or fewer"}


def test_filters():
    filters, values, errors = forms.parse_filters(
        {
            "ward": "7",
            "date_from": "2026-03-10",
            "date_to": "2026-03-01",
            "cause": "nope",
            "avoidable": "no",
            "follow_up": "open",
        },
        ward_ids={7},
        reasons=REASONS,
    )
    assert filters.ward_id == 7 and filters.date_from == date(2026, 3, 10) and filters.date_to is None
    assert filters.cause is None and filters.avoidable is False and filters.open_only is True
    assert errors == {
        "date_to": "The end date must be on or after the start date",
        "cause": "Choose a cause from the list",
    }
    _, _, errors = forms.parse_filters({"ward": "8"}, ward_ids={7}, reasons=REASONS)
    assert errors == {"ward": "Choose a ward from the list"}


def test_ids_from_forms_and_query_strings():
    assert forms.parse_id("42") == 42 and forms.parse_id(" 7 ") == 7
    for bad in ("", None, "0", "-1", "²", "1e3", "9" * 5000, "2147483648", "１２"):
        assert forms.parse_id(bad) is None, bad
