"""The shared input types: ISO dates and moments from 1900 to 2100, bounded numbers, blank text
refused; and every input schema fits the columns it is stored in."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, TypeAdapter, ValidationError

import app
from app import models
from app.core.types import (
    Code,
    FormDate,
    FormTime,
    IsoDate,
    RequiredText,
    ShortText,
    SortOrder,
    UtcMoment,
    clock_time,
    form_id,
    iso_date,
    iso_moment,
)


def valid(kind: object, value: object) -> object:
    return TypeAdapter(kind).validate_python(value)


def refused(kind: object, value: object) -> str:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(kind).validate_python(value)
    return caught.value.errors()[0]["msg"].removeprefix("Value error, ")


def test_dates_are_iso_and_between_1900_and_2100():
    assert valid(IsoDate, " 2026-03-10 ") == date(2026, 3, 10)
    assert valid(IsoDate, date(1900, 1, 1)) == date(1900, 1, 1) and valid(IsoDate, "2100-12-31")
    for not_iso in ("0", "-1", "20260310", "2026-W10-2", "10/03/2026", 0, 1_700_000_000, "", "   "):
        assert refused(IsoDate, not_iso) == "Enter a date as YYYY-MM-DD", not_iso
    assert refused(IsoDate, "2026-02-30") == "Enter a real date"
    for far in ("9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01"):
        assert "between 1 January 1900 and 31 December 2100" in refused(IsoDate, far)
    assert refused(IsoDate, datetime(2026, 3, 10, tzinfo=UTC)) == "Enter a date as YYYY-MM-DD"


def test_moments_are_iso_with_a_time_zone_and_bounded():
    assert valid(UtcMoment, "2026-03-10T11:00:00Z") == datetime(2026, 3, 10, 11, tzinfo=UTC)
    assert valid(UtcMoment, "2026-07-01T12:30+01:00") == datetime(2026, 7, 1, 11, 30, tzinfo=UTC)
    assert valid(UtcMoment, datetime(2026, 3, 10, tzinfo=UTC))
    for junk in ("0", 0, 1_700_000_000, "2026-03-10", "abc", "2026-03-10T11:00:00Z junk"):
        assert "ISO 8601" in refused(UtcMoment, junk), junk
    assert "time zone" in refused(UtcMoment, "2026-03-10T11:00:00")
    assert "time zone" in refused(UtcMoment, datetime(2026, 3, 10))
    # Checked before any conversion to UTC, which would overflow at the edges of the calendar.
    for far in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "2101-01-01T00:00:00Z"):
        assert "between 1 January 1900" in refused(UtcMoment, far)
    assert iso_moment("2100-12-31T23:59-12:00").tzinfo == timezone(timedelta(hours=-12))


def test_times_and_the_blanks_of_forms():
    assert valid(FormTime, "14:30:59") == time(14, 30) and valid(FormTime, " ") is None
    for junk in ("1430", "14", "T14:30", "25:00", "0", "14:30+01:00"):
        assert refused(FormTime, junk) == "Enter a real time, like 14:30", junk
    assert valid(FormDate, "") is None and valid(FormDate, "2026-03-10") == date(2026, 3, 10)
    assert clock_time(time(9, 5, 7)) == time(9, 5)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        iso_date("0")


def test_numbers_fit_their_columns():
    assert valid(SortOrder, 2**31 - 1) and valid(SortOrder, -(2**31))
    for too_big in (2**31, 2**40, 2**70, -(2**31) - 1):
        refused(SortOrder, too_big)
    assert form_id("42") == 42 and form_id(" 7 ") == 7
    for bad in ("", None, "0", "-1", "²", "1e3", "9" * 5000, "2147483648", "１２", "abc"):
        assert form_id(bad) is None, bad


def test_text_is_stripped_bounded_and_blank_only_when_optional():
    assert valid(Code, "  ward  ") == "ward" and valid(ShortText, "   ") == ""
    assert refused(RequiredText, "   ") == "Cannot be blank"
    assert refused(Code, "") == "Cannot be blank"
    assert refused(Code, "x" * 41) == "String should have at most 40 characters"
    assert refused(ShortText, "a\x00b") == "must not contain NUL characters"
    assert TypeAdapter(Code).json_schema() == {"type": "string", "minLength": 1, "maxLength": 40}


# Every input schema fits its table ---------------------------------------------------------

# Each model that takes input (API bodies, HTML forms, query strings), and the table its fields
# are stored in (None: nothing of it is stored under its own name).
INPUT_TABLES: dict[str, type | None] = {
    "WardCreate": models.Ward,
    "WardUpdate": models.Ward,
    "BedCreate": models.Bed,
    "BedUpdate": models.Bed,
    "BedStateChange": models.BedStatePeriod,
    "SiteCreate": models.Site,
    "SiteUpdate": models.Site,
    "PatientBase": models.Patient,
    "PatientCreate": models.Patient,
    "PatientUpdate": models.Patient,
    "PatientSearch": models.Patient,  # compared with the columns, so bounded by them
    "AdmitRequest": models.Stay,
    "TransferRequest": models.Stay,
    "DischargeRequest": models.Stay,
    "EddRequest": models.EddChange,
    "StayUpdate": models.Stay,
    "StayCorrection": models.Stay,
    "ReviewAnswers": models.DailyReview,
    "ReviewRequest": models.DailyReview,
    "ActionCreate": models.Action,
    "ActionUpdate": models.Action,
    "FailedDischargeCreate": models.FailedDischarge,
    "FailedDischargeUpdate": models.FailedDischarge,
    "EscalationCreate": models.Escalation,
    "EscalationStep": models.EscalationEvent,
    "AttendeeIn": models.BoardRoundAttendee,
    "RoundStart": None,
    "RoundEnd": None,
    "StepAction": models.Action,
    "RoundStepRequest": models.Stay,
    "UserCreate": models.User,
    "UserUpdate": models.User,
    "PasswordReset": None,  # hashed
    "TokenCreate": models.ApiToken,
    "SignInForm": None,  # looked up, never stored
    "AuditQuery": None,  # filters
    "PatientStepForm": models.Stay,
    "ReferralCreate": models.Referral,
    "ReferralUpdate": models.Referral,
    "ReferralForm": models.Referral,
    "ReferralStepForm": None,  # becomes a ReferralUpdate (checked above)
    "MilestoneUpdate": models.DischargeMilestone,
    "MilestoneForm": models.DischargeMilestone,
    "RaiseForm": models.Escalation,
    "FailedDischargeForm": models.FailedDischarge,  # detail; the rest become FailedDischargeCreate
    "EddForm": models.EddChange,
    # Day one (app/stays/forms.py, app/wards/forms.py, app/views/ward_list.py)
    "FindPatientForm": models.Patient,
    "AdmitForm": models.Patient,  # and a London date and time, which become the stay's admitted_at
    "MoveForm": None,  # a choice of bed ("ward-bed" ids) and a London date and time: TransferRequest's values
    "DischargeForm": models.Stay,
    "CorrectionForm": models.Stay,
    "AdmissionCorrectionForm": None,  # a London date and time and a reason: StayCorrection's admitted_at
    "BedStateForm": models.BedStatePeriod,
    "SiteForm": models.Site,
    "WardForm": models.Ward,
    "WardEditForm": models.Ward,
    "_WardFields": models.Ward,  # the fields both ward forms share
    "BedForm": models.Bed,
    "BedEditForm": models.Bed,
    "ApplyForm": None,  # the ward list file sent back with its preview's plan: never stored
    "NoChangeForm": models.Stay,  # a new EDD (its reason is an EddChange reason, bounded the same)
    "PreferencesUpdate": models.AlertPreferences,
    "UpTo": None,  # the newest alert the page showed: a bound for "mark all read"
    "DelayReasonIn": None,  # a bounded reference code, stored as reviewdelayreason.reason_code
    "RedGreenAnswers": None,  # the live preview's answers: read, never stored
    "SignInPolicyUpdate": None,  # on or off
}


def input_models() -> dict[str, type[BaseModel]]:
    """Every pydantic model in the app that is not a response shape (…Public, boards, metrics)."""
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.walk_packages(app.__path__, "app."):
        if not (info.name.endswith((".schemas", ".forms")) or info.name.startswith("app.views.")):
            continue
        for name, obj in inspect.getmembers(importlib.import_module(info.name), inspect.isclass):
            if issubclass(obj, BaseModel) and obj.__module__ == info.name and obj.model_config.get("extra"):
                found[name] = obj
    return found


def test_every_input_model_is_classified():
    assert set(input_models()) == set(INPUT_TABLES)


def refused_in(model: type[BaseModel], field: str, value: object) -> None:
    """The model (its field type and its validators) refuses the value for that field."""
    try:
        model.model_validate({field: value})
    except ValidationError as exc:
        assert any(e["loc"][:1] == (field,) for e in exc.errors()), (model.__name__, field, str(value)[:30])
    else:
        raise AssertionError(f"{model.__name__}.{field} takes {str(value)[:30]!r}")


@pytest.mark.parametrize("name", sorted(k for k, v in INPUT_TABLES.items() if v is not None))
def test_input_fits_the_columns_it_is_stored_in(name):
    """Text no longer than its column, integers within INTEGER, dates and moments bounded."""
    model, table = input_models()[name], INPUT_TABLES[name].__table__  # type: ignore[union-attr]
    checked = 0
    for field in model.model_fields:
        if field not in table.c:
            continue
        column = table.c[field].type
        while isinstance(column, sa.types.TypeDecorator):  # AutoString, UTCDateTime
            column = column.impl
        if isinstance(column, sa.String) and column.length:
            refused_in(model, field, "x" * (column.length + 1))
        elif isinstance(column, sa.Integer) and not isinstance(column, sa.BigInteger):
            refused_in(model, field, 2**31)
            refused_in(model, field, -(2**31) - 1)
        elif isinstance(column, sa.DateTime):
            refused_in(model, field, "9999-12-31T23:59:59Z")
            refused_in(model, field, 0)
        elif isinstance(column, sa.Date):
            refused_in(model, field, "9999-12-31")
            refused_in(model, field, "0")
        else:
            continue
        checked += 1
    assert checked, f"{name} shares no column with {table.name}: is the table right?"
