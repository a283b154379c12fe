from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.patients.nhs_number import display, normalise
from app.patients.schemas import PatientCreate


@pytest.mark.parametrize("value", ["9434765919", "943 476 5919", "943-476-5919", "9434765900"])
def test_valid_numbers_normalise_to_digits(value):
    assert normalise(value) == value.replace(" ", "").replace("-", "")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9434765918", "check digit"),
        ("1234567890", "check digit"),  # 123456789 gives check 10: never issued
        ("943476591", "10 digits"),
        ("94347659190", "10 digits"),
        ("94347659l9", "10 digits"),
    ],
)
def test_invalid_numbers_are_refused_with_a_clear_message(value, message):
    with pytest.raises(ValueError, match=message):
        normalise(value)


def test_schema_reports_the_field():
    with pytest.raises(ValidationError) as info:
        PatientCreate(
            nhs_number="9434765918", mrn="K1", given_name="A", family_name="B", date_of_birth="1950-01-01", sex="female"
        )
    (error,) = info.value.errors()
    assert error["loc"] == ("nhs_number",)
    assert "check digit" in error["msg"]


def test_missing_nhs_number_is_allowed():
    patient = PatientCreate(
        nhs_number="  ", mrn="K1", given_name="A", family_name="B", date_of_birth="1950-01-01", sex="unknown"
    )
    assert patient.nhs_number is None


def test_display_format():
    assert display("9434765919") == "943 476 5919"
    assert display(None) == ""
