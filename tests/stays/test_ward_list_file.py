"""Reading a PAS ward list as people save it: Excel's encodings and separators, UK dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.stays.ward_list_file import FileProblem, parse_moment, read
from tests import factories

NHS = factories.test_nhs_number(5)
SPACED = f"{NHS[:3]} {NHS[3:6]} {NHS[6:]}"


def test_excel_csv_with_a_bom_and_semicolons():
    text = (
        "Bed;NHS Number;Hospital Number;Surname;Forename;DOB;Sex;Admission Date;Consultant;Ward\r\n"
        f"B01;{SPACED};K100;O'Brien;Siân;17/05/1940;F;10/03/2026 09:15;Dr Okafor;AMU\r\n"
    )
    found = read(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert found.notes == ["Read as UTF-8 text separated by semicolons; 1 rows", "Columns not used: Ward"]
    row = found.rows[0]
    assert row.problems == []
    assert (row.bed, row.nhs_number, row.mrn, row.family_name, row.given_name) == (
        "B01",
        NHS,
        "K100",
        "O'Brien",
        "Siân",
    )
    assert row.date_of_birth == date(1940, 5, 17) and row.sex == "female"
    assert row.admitted_at == datetime(2026, 3, 10, 9, 15, tzinfo=UTC)
    assert row.consultant == "Dr Okafor" and row.line == 2


def test_windows_1252_and_utf_16_and_tabs():
    text = "bed,mrn,surname,first name,date of birth,gender,admitted\nB2,K2,Müller,Zoë,1950-01-02,m,2026-03-09\n"
    found = read(text.encode("cp1252"))
    assert found.notes[0] == "Read as Windows-1252 text separated by commas; 1 rows"
    assert (found.rows[0].family_name, found.rows[0].given_name) == ("Müller", "Zoë")
    found = read(text.replace(",", "\t").encode("utf-16"))
    assert found.notes[0] == "Read as UTF-16 text separated by tabs; 1 rows"
    assert found.rows[0].problems == [] and found.rows[0].sex == "male"


def test_a_single_name_column_and_quoted_commas():
    text = 'Bed,MRN,Patient Name,DOB,Sex,Admitted\nB1,K1,"SMITH, Jane Ann",02-01-1950,2,09/03/2026\n'
    row = read(text.encode()).rows[0]
    assert (row.family_name, row.given_name, row.sex) == ("SMITH", "Jane Ann", "female")
    assert row.name == "SMITH, Jane Ann"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10/03/2026", (date(2026, 3, 10), None)),
        ("10-03-2026 14:05", (date(2026, 3, 10), "14:05:00")),
        ("10.03.2026 14:05:30", (date(2026, 3, 10), "14:05:30")),
        ("2026-03-10T14:05", (date(2026, 3, 10), "14:05:00")),
        ("2026/03/10", (date(2026, 3, 10), None)),
        ("1/3/2026", (date(2026, 3, 1), None)),
    ],
)
def test_common_date_formats_day_first(value, expected):
    day, clock = parse_moment(value)
    assert (day, clock.isoformat() if clock else None) == expected


@pytest.mark.parametrize("value", ["03/10/26", "2026-13-01", "31/02/2026", "yesterday", "", "1700000000", "9999-12-31"])
def test_dates_that_are_refused(value):
    with pytest.raises(ValueError):
        parse_moment(value)


def test_summer_times_are_london_times():
    text = "bed,mrn,surname,forename,dob,sex,admitted\nB1,K1,A,B,01/01/1950,u,01/07/2026 09:00\n"
    assert read(text.encode()).rows[0].admitted_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_each_row_says_what_is_wrong_with_it():
    bad_check = NHS[:9] + str((int(NHS[9]) + 1) % 10)
    text = (
        "bed,nhs number,mrn,surname,forename,dob,sex,admitted\n"
        f"B1,{bad_check},K1,A,B,01/01/1950,F,09/03/2026\n"
        "B2,,,C,,31/02/1950,Q,tomorrow\n"
        ",,K3,D,E,01/01/1950,,09/03/2026\n"
    )
    rows = read(text.encode()).rows
    assert rows[0].problems == ["NHS number is not valid: its check digit does not match"]
    assert rows[0].mentions == {bad_check, "K1"}  # still names who it is about
    assert rows[1].problems == [
        "The hospital number (MRN) is missing",
        "The surname or forename is missing",
        "Date of birth: Enter a real date",
        "Sex must be female, male, other or unknown (F, M, O, U)",
        "Admitted: Enter a date as dd/mm/yyyy or yyyy-mm-dd (a time after it is optional)",
    ]
    assert rows[2].problems == [] and rows[2].bed == "" and rows[2].sex == "unknown"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "The file is empty"),
        (b"\n \n", "The file is empty"),
        (b"bed,nhs number\n1,2\n", "The header row (the first line) must name these columns: mrn, date of birth, "
         "admitted at, surname and forename (or name) (docs/setup.md lists the names understood)"),
        (b"\x00\x01\x02binary", "This is not a text (CSV) file"),
        (b"bed,mrn,name,dob,admitted\n" + b"B,K,\"A, B\",01/01/1950,01/01/2026\n" * 501,
         "The file has more than 500 rows: is it one ward's list?"),
    ],
)  # fmt: skip
def test_files_that_are_not_ward_lists(raw, message):
    with pytest.raises(FileProblem) as caught:
        read(raw)
    assert str(caught.value) == message
