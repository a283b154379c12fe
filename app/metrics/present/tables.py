"""The numbers behind every chart, as named tables: one source for the HTML tables and the CSVs.

A cell holds a raw value (int, float, None, date, text); each column has a kind that says how to
show it: on the page "12.5%" or "–", in the CSV "12.5" or "" (numbers stay numbers).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from app.core.clock import DAY_NAMES, day_month_year
from app.core.long_stay import LONG_STAY_THRESHOLDS
from app.metrics.rules.discharges import DIED
from app.metrics.rules.readiness import DELAY_BANDS
from app.metrics.rules.report import Report

Kind = Literal["text", "int", "num", "pct", "date", "auto"]  # auto: whole numbers stay whole


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "int"


@dataclass(frozen=True)
class Table:
    name: str  # stable slug: the CSV file name and the element id
    title: str
    columns: tuple[Column, ...]
    rows: list[list[Any]]
    footer: list[Any] | None = None  # a totals row

    @property
    def numeric(self) -> list[bool]:
        return [c.kind != "text" and c.kind != "date" for c in self.columns]


def show(value: Any, kind: Kind) -> str:
    """A cell as the page shows it."""
    if value is None:
        return "–"
    if kind == "auto":
        kind = "int" if isinstance(value, int) else "num"
    if kind == "pct":
        return f"{value:.1f}%"
    if kind == "num":
        return f"{value:.1f}"
    if kind == "date":
        return day_month_year(value) if isinstance(value, date) else str(value)
    if kind == "int":
        return f"{value:,}"
    return str(value)


def raw(value: Any, kind: Kind) -> str:
    """A cell as the CSV holds it: ISO dates, plain numbers to one decimal place."""
    if value is None:
        return ""
    if kind == "auto":
        kind = "int" if isinstance(value, int) else "num"
    if kind in ("pct", "num"):
        return f"{value:.1f}"
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    text = str(value)
    # Spreadsheet-safe: text starting with = + - @ is not run as a formula.
    return "'" + text if kind == "text" and text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    for row in [*table.rows, *([table.footer] if table.footer else [])]:
        writer.writerow([raw(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
    return buffer.getvalue()


def _pct(part: int, whole: int) -> float | None:
    return 100 * part / whole if whole else None


def metric_tables(report: Report) -> dict[str, Table]:
    """Every table of the metrics page, by name, in page order."""
    r = report
    tables: list[Table] = []

    tables.append(
        Table(
            "discharges-by-day",
            "Discharges per day and before midday",
            (
                Column("Date", "date"),
                Column("Day", "text"),
                Column("Discharges"),
                Column("Before midday"),
                Column("% before midday", "pct"),
            ),
            [
                [d.day, DAY_NAMES[d.day.weekday()], d.discharges, d.before_midday, d.before_midday_percent]
                for d in r.by_day
            ],
            ["Total", "", r.timing.discharges, r.timing.before_midday, r.timing.before_midday_percent],
        )
    )
    t = r.timing
    tables.append(
        Table(
            "weekend-discharges",
            "Weekend and weekday discharges",
            (
                Column("Days", "text"),
                Column("Number of days"),
                Column("Discharges"),
                Column("Discharges per day", "num"),
            ),
            [
                ["Weekdays (Monday to Friday)", t.weekday_days, t.weekday_discharges, t.weekday_daily],
                ["Weekends (Saturday and Sunday)", t.weekend_days, t.weekend_discharges, t.weekend_daily],
            ],
        )
    )
    tables.append(
        Table(
            "nctr-by-day",
            "Patients with no criteria to reside at the 08:00 census",
            (
                Column("Date", "date"),
                Column("In hospital at 08:00"),
                Column("No criteria to reside"),
                Column("% no criteria to reside", "pct"),
            ),
            [[d.day, d.patients, d.nctr, d.nctr_percent] for d in r.census],
            ["Bed days", r.census_summary.patient_days, r.census_summary.nctr_bed_days, r.census_summary.nctr_percent],
        )
    )
    tables.append(
        Table(
            "long-stays-by-day",
            "Patients in hospital 7, 14 and 21 or more days at the 08:00 census",
            (
                Column("Date", "date"),
                Column("In hospital at 08:00"),
                *(Column(f"{t}+ days") for t in LONG_STAY_THRESHOLDS),
            ),
            [[d.day, d.patients, *(d.los[t] for t in LONG_STAY_THRESHOLDS)] for d in r.census],
        )
    )
    los = r.los
    tables.append(
        Table(
            "length-of-stay",
            "Length of stay of the patients discharged (midnights, whole stay)",
            (Column("Measure", "text"), Column("Value", "auto")),
            [
                ["Discharges", los.discharges],
                ["Mean length of stay", los.mean],
                ["Median length of stay", los.median],
                *([f"Discharges after {t}+ days", los.over[t]] for t in LONG_STAY_THRESHOLDS),
            ],
        )
    )
    d = r.delays
    tables.append(
        Table(
            "drd-delays",
            "Days from discharge ready date to discharge",
            (
                Column("Days after the discharge ready date", "text"),
                Column("Discharges"),
                Column("% of discharges with a DRD", "pct"),
            ),
            [[label, d.bands[label], _pct(d.bands[label], d.with_drd)] for label, _, _ in DELAY_BANDS],
            ["All with a discharge ready date", d.with_drd, 100.0 if d.with_drd else None],
        )
    )
    tables.append(
        Table(
            "drd-summary",
            "Discharge ready date summary",
            (Column("Measure", "text"), Column("Value", "auto")),
            [
                ["Discharges", d.discharges],
                ["With a discharge ready date", d.with_drd],
                ["Without one (never found without criteria to reside)", d.without_drd],
                ["% discharged on the discharge ready date", d.same_day_percent],
                ["% discharged 1 or more days after it", d.delayed_percent],
                ["Bed days lost (days after the discharge ready date)", d.bed_days_lost],
                ["Mean delay, all with a DRD (days)", d.mean_delay],
                ["Mean delay of the delayed (days)", d.mean_delay_of_delayed],
            ],
        )
    )
    tables.append(
        Table(
            "pathways",
            "Discharges by pathway",
            (Column("Pathway", "text"), Column("Discharges"), Column("% of discharges", "pct")),
            [[s.label, s.count, s.percent] for s in r.pathways]
            + [[f"of which {s.label}", s.count, s.percent] for s in r.pathway_detail if s.key != "none"],
        )
    )
    tables.append(
        Table(
            "destinations",
            "Discharges by destination",
            (
                Column("Code", "text"),
                Column("Destination", "text"),
                Column("Discharges"),
                Column("% of discharges", "pct"),
            ),
            [[s.key, s.label, s.count, s.percent] for s in r.destinations],
            [DIED, "Patients who died (not counted as discharges)", r.timing.deaths, None],
        )
    )
    tables.append(
        Table(
            "failed-discharges",
            "Failed discharges by cause",
            (
                Column("Cause", "text"),
                Column("Failed discharges citing it"),
                Column("As the main cause"),
                Column("% of failed discharges", "pct"),
            ),
            [[c.label, c.count, c.primary, _pct(c.count, r.failed_total)] for c in r.failed_causes],
            ["Failed discharges", r.failed_total, None, None],
        )
    )
    tables.append(
        Table(
            "referrals",
            "Referral to decision and to assessment (hours)",
            (
                Column("Service", "text"),
                Column("Decisions"),
                Column("Median hours to decision", "num"),
                Column("90th centile hours to decision", "num"),
                Column("Assessments"),
                Column("Median hours to assessment", "num"),
                Column("90th centile hours to assessment", "num"),
                Column("Still waiting at the end"),
            ),
            [
                [
                    x.service,
                    x.decided,
                    x.decision_median_hours,
                    x.decision_p90_hours,
                    x.assessed,
                    x.assessment_median_hours,
                    x.assessment_p90_hours,
                    x.waiting,
                ]
                for x in r.referrals
            ],
        )
    )
    for name, title, rows in (
        ("edd-by-ward", "Expected discharge date accuracy by ward", r.edd_by_ward),
        ("edd-by-consultant", "Expected discharge date accuracy by consultant", r.edd_by_consultant),
    ):
        tables.append(
            Table(
                name,
                title,
                (
                    Column("Ward" if name.endswith("ward") else "Consultant", "text"),
                    Column("Discharges"),
                    Column("With an EDD"),
                    Column("Discharged on or before the first EDD"),
                    Column("% on or before", "pct"),
                    Column("Mean drift (days)", "num"),
                    Column("EDD changes per stay", "num"),
                ),
                [
                    [
                        a.group,
                        a.discharges,
                        a.with_edd,
                        a.met_first_edd,
                        a.met_percent,
                        a.drift_days,
                        a.changes_per_stay,
                    ]
                    for a in rows
                ],
            )
        )
    c = r.compliance_total
    tables.append(
        Table(
            "board-rounds",
            "Board round compliance by ward",
            (Column("Ward", "text"), Column("Patient-days"), Column("% reviewed", "pct"), Column("% with an EDD", "pct"),
             Column("% with an EDD and CCD", "pct"), Column("Rounds"), Column("% started before 12:30", "pct"),
             Column("Median length (minutes)", "num")),
            [[x.ward, x.patient_days, x.reviewed_percent, x.edd_percent, x.edd_and_ccd_percent, x.rounds,
              x.on_time_percent, x.median_minutes] for x in r.compliance],
            [c.ward, c.patient_days, c.reviewed_percent, c.edd_percent, c.edd_and_ccd_percent, c.rounds,
             c.on_time_percent, c.median_minutes],
        )
    )  # fmt: skip
    return {t.name: t for t in tables}


TABLE_NAMES: tuple[str, ...] = (
    "discharges-by-day",
    "weekend-discharges",
    "nctr-by-day",
    "long-stays-by-day",
    "length-of-stay",
    "drd-delays",
    "drd-summary",
    "pathways",
    "destinations",
    "failed-discharges",
    "referrals",
    "edd-by-ward",
    "edd-by-consultant",
    "board-rounds",
)
