"""Reading a ward list exported from the PAS as CSV, as people actually save it.

Excel writes CSV in the machine's code page (Windows-1252) or as UTF-8 with a byte order mark,
with commas or, in locales where the comma is the decimal mark, semicolons; "Unicode text" is
UTF-16 with tabs. Dates come as 10/03/2026, 2026-03-10 or 10-03-2026, with or without a time.
This module turns such a file into rows of checked values, each row with its own problems; it
reads nothing from the database. The columns are documented in docs/setup.md.

Nothing here logs: every cell may be a patient identifier.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from pydantic import ValidationError

from app.core.clock import LONDON
from app.core.types import FIRST_DATE, LAST_DATE
from app.patients import nhs_number
from app.patients.schemas import PatientCreate

MAX_BYTES = 1_000_000
MAX_ROWS = 500
MAX_CONSULTANT = 200

# Header words (lower case, letters and digits only) for each column we read.
COLUMNS: dict[str, tuple[str, ...]] = {
    "bed": ("bed", "bedlabel", "bedno", "bednumber", "bedspace"),
    "nhs_number": ("nhsnumber", "nhsno", "nhs"),
    "mrn": ("mrn", "hospitalnumber", "hospitalno", "pasnumber", "pasno", "pasid", "localpatientid", "crn",
            "unitnumber", "casenotenumber"),
    "family_name": ("familyname", "surname", "lastname"),
    "given_name": ("givenname", "forename", "forenames", "firstname", "firstnames"),
    "name": ("name", "patientname", "patient", "fullname"),
    "date_of_birth": ("dateofbirth", "dob", "birthdate"),
    "sex": ("sex", "gender"),
    "admitted_at": ("admittedat", "admitted", "admissiondate", "admissiondatetime", "admission", "dateadmitted",
                    "admdate", "admissiontime"),
    "consultant": ("consultant", "responsibleconsultant", "cons", "consultantname"),
}  # fmt: skip
_COLUMN_OF = {word: column for column, words in COLUMNS.items() for word in words}

SEXES = {
    "f": "female", "female": "female", "2": "female",
    "m": "male", "male": "male", "1": "male",
    "o": "other", "other": "other", "i": "other", "indeterminate": "other", "x": "other",
    "u": "unknown", "unknown": "unknown", "notknown": "unknown", "0": "unknown", "9": "unknown",
    "notspecified": "unknown", "": "unknown",
}  # fmt: skip

_DATE = re.compile(
    r"(?:(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})|(?P<y2>\d{4})[/\-](?P<m2>\d{1,2})[/\-](?P<d2>\d{1,2}))"
    r"(?:[ T](?P<h>\d{1,2}):(?P<min>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?)?"
)


class FileProblem(ValueError):
    """The file as a whole cannot be read (not the problem of one row)."""


@dataclass
class Row:
    line: int  # in the file, counting the header as line 1
    bed: str = ""
    nhs_number: str | None = None
    mrn: str = ""
    family_name: str = ""
    given_name: str = ""
    date_of_birth: date | None = None
    sex: str = "unknown"
    admitted_at: datetime | None = None
    consultant: str = ""
    problems: list[str] = field(default_factory=list)
    # Every identifier this row mentions, readable or not: a patient named here is never
    # "missing from the list", even when the row itself cannot be used.
    mentions: set[str] = field(default_factory=set)
    patient: PatientCreate | None = None

    @property
    def name(self) -> str:
        return ", ".join(p for p in (self.family_name.upper(), self.given_name) if p)


@dataclass
class WardListFile:
    rows: list[Row]
    notes: list[str]


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw.decode("utf-8-sig"), "UTF-8"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "Windows-1252"


def _delimiter(text: str) -> str:
    """The separator of the header line: the commonest of comma, semicolon and tab outside quotes."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    bare = re.sub(r'"[^"]*"', "", header)
    counts = {sep: bare.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _word(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def parse_moment(value: str) -> tuple[date, time | None]:
    """A UK date (day first) or an ISO date, with an optional time: (date, time or None)."""
    found = _DATE.fullmatch(value.strip())
    if found is None:
        raise ValueError("Enter a date as dd/mm/yyyy or yyyy-mm-dd (a time after it is optional)")
    g = found.groupdict()
    year, month, day = (int(g["y"]), int(g["m"]), int(g["d"])) if g["y"] else (int(g["y2"]), int(g["m2"]), int(g["d2"]))
    try:
        parsed = date(year, month, day)
        clock = time(int(g["h"]), int(g["min"]), int(g["s"] or 0)) if g["h"] is not None else None
    except ValueError:
        raise ValueError("Enter a real date") from None
    if not FIRST_DATE <= parsed <= LAST_DATE:
        raise ValueError("Enter a date between 1900 and 2100")
    return parsed, clock


def _moment(value: str) -> datetime:
    """An admission time on the London clock (a date alone: the start of that day), as UTC."""
    day, clock = parse_moment(value)
    return datetime.combine(day, clock or time(0, 0), tzinfo=LONDON).astimezone(UTC)


def _read_row(line: int, cells: dict[str, str]) -> Row:
    row = Row(line=line, bed=cells.get("bed", "").strip(), consultant=" ".join(cells.get("consultant", "").split()))
    raw_nhs = cells.get("nhs_number", "").strip()
    row.mrn = cells.get("mrn", "").strip()
    for value in (raw_nhs.replace(" ", "").replace("-", ""), row.mrn):
        if value:
            row.mentions.add(value.upper())
    if raw_nhs:
        try:
            row.nhs_number = nhs_number.normalise(raw_nhs)
        except ValueError as exc:
            row.problems.append(str(exc))
    if not row.mrn:
        row.problems.append("The hospital number (MRN) is missing")
    family, given = cells.get("family_name", "").strip(), cells.get("given_name", "").strip()
    if not (family or given) and cells.get("name", "").strip():
        family, _, given = cells["name"].partition(",")
        if not given:
            row.problems.append('Write the name as "SURNAME, Forename", or use surname and forename columns')
    # As written (the PAS often writes surnames in capitals, as the feed does): never re-cased.
    row.family_name, row.given_name = " ".join(family.split()), " ".join(given.split())
    if not row.family_name or not row.given_name:
        if not any("name" in p for p in row.problems):
            row.problems.append("The surname or forename is missing")
    try:
        row.date_of_birth = parse_moment(cells.get("date_of_birth", ""))[0]
    except ValueError as exc:
        row.problems.append(f"Date of birth: {exc}")
    sex = SEXES.get(_word(cells.get("sex", "")))
    if sex is None:
        row.problems.append("Sex must be female, male, other or unknown (F, M, O, U)")
    else:
        row.sex = sex
    try:
        row.admitted_at = _moment(cells.get("admitted_at", ""))
    except ValueError as exc:
        row.problems.append(f"Admitted: {exc}")
    if len(row.consultant) > MAX_CONSULTANT:
        row.problems.append(f"The consultant's name is longer than {MAX_CONSULTANT} characters")
    if len(row.bed) > 20:
        row.problems.append("The bed is longer than 20 characters")
    if not row.problems:
        try:
            row.patient = PatientCreate(
                nhs_number=row.nhs_number,
                mrn=row.mrn,
                given_name=row.given_name,
                family_name=row.family_name,
                date_of_birth=row.date_of_birth,
                sex=row.sex,
            )
        except ValidationError as exc:
            for error in exc.errors():
                where = str(error["loc"][0]).replace("_", " ") if error.get("loc") else "patient"
                row.problems.append(f"{where.capitalize()}: {str(error['msg']).removeprefix('Value error, ')}")
    return row


def read(raw: bytes) -> WardListFile:
    """The rows of a ward list file, or FileProblem when it cannot be read as one."""
    if not raw.strip():
        raise FileProblem("The file is empty")
    if len(raw) > MAX_BYTES:
        raise FileProblem(f"The file is larger than {MAX_BYTES // 1_000_000} MB: is it a ward list?")
    text, encoding = _decode(raw)
    if "\x00" in text:
        raise FileProblem("This is not a text (CSV) file")
    separator = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error:
        raise FileProblem("The file is not valid CSV (check the quotes)") from None
    records = [(n, r) for n, r in records if any(cell.strip() for cell in r)]
    if not records:
        raise FileProblem("The file is empty")
    header = records[0][1]
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        column = _COLUMN_OF.get(_word(title))
        if column is None or column in columns.values():
            if title.strip():
                ignored.append(title.strip()[:40])
            continue
        columns[index] = column
    have = set(columns.values())
    missing = [c for c in ("bed", "mrn", "date_of_birth", "admitted_at") if c not in have]
    if not ({"family_name", "given_name"} <= have or "name" in have):
        missing.append("surname and forename (or name)")
    if missing:
        raise FileProblem(
            "The header row (the first line) must name these columns: "
            + ", ".join(m.replace("_", " ") for m in missing)
            + " (docs/setup.md lists the names understood)"
        )
    body = records[1:]
    if len(body) > MAX_ROWS:
        raise FileProblem(f"The file has more than {MAX_ROWS} rows: is it one ward's list?")
    rows = [
        _read_row(line, {column: (record[i] if i < len(record) else "") for i, column in columns.items()})
        for line, record in body
    ]
    names = {",": "commas", ";": "semicolons", "\t": "tabs"}
    notes = [f"Read as {encoding} text separated by {names[separator]}; {len(rows)} rows"]
    if ignored:
        notes.append("Columns not used: " + ", ".join(ignored))
    return WardListFile(rows=rows, notes=notes)
