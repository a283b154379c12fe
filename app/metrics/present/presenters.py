"""Display values: the site flow table's cells (each number, where it links, what a screen reader
hears) and the metrics page's charts with their descriptions in words.

The flow cells are built here rather than in Jinja macros: the table has a dozen cells per ward and
a macro call per cell made the page slow to render on a large site.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.long_stay import LONG_STAY_THRESHOLDS
from app.metrics.flow import BOARD_FILTERS, FlowRow
from app.metrics.present import charts
from app.metrics.rules.report import Report

# (measure, column header, what the number counts: completes "<n> ... on <ward>")
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("patients", "Patients", "patients in hospital"),
    ("occupancy", "Beds occupied", ""),
    ("nctr", "NCTR", "with no criteria to reside"),
    *((f"los{t}", f"{t}+ days", f"in hospital {t} or more days") for t in LONG_STAY_THRESHOLDS),
    ("no_edd", "With an EDD", "without an expected discharge date"),
    ("edd_overdue", "EDD passed", "with the expected discharge date passed"),
    ("not_reviewed", "Not reviewed today", "not reviewed today"),
    ("discharged", "Discharged today", "discharged today"),
    ("discharged_before_midday", "Before midday", "discharged before midday"),
    ("failed", "Failed discharges, 7 days", "failed discharges in the last 7 days"),
    ("escalations", "Open escalations", "open escalations"),
)


@dataclass(frozen=True)
class Link:
    """Where a number leads, by route name: the template turns it into a path (`path_for`)."""

    route: str
    params: dict[str, str]
    query: list[tuple[str, str]]


@dataclass(frozen=True)
class Cell:
    text: str
    link: Link | None = None
    hidden: str = ""  # visually hidden words that complete the link text


def link(row: FlowRow, measure: str) -> Link:
    """Per ward: the board's own filter when it has one, else the drill-down; the total: the drill-down."""
    if row.code and measure in BOARD_FILTERS:
        return Link("ward_board", {"code": row.code}, [("filter", BOARD_FILTERS[measure])])
    return Link("flow_patients", {}, ([("ward", row.code)] if row.code else []) + [("measure", measure)])


def _value(row: FlowRow, measure: str) -> int:
    if measure.startswith("los"):
        return row.los[int(measure[3:])]
    return getattr(row, measure)


def cells(row: FlowRow) -> list[Cell]:
    where = f"on {row.name}" if row.code else "on all wards"
    out: list[Cell] = []
    for measure, _header, what in COLUMNS:
        if measure == "occupancy":
            out.append(Cell("–" if row.occupancy_percent is None else f"{row.occupancy_percent:.0f}%"))
            continue
        if measure == "no_edd":
            if not row.patients:
                out.append(Cell("–"))
            elif not row.no_edd:
                out.append(Cell("100%"))
            else:
                percent = f"{row.edd_percent:.0f}%"
                hidden = f" with an expected discharge date {where}: see the {row.no_edd} {what}"
                out.append(Cell(percent, link(row, measure), hidden))
            continue
        value = _value(row, measure)
        out.append(Cell(str(value), link(row, measure), f" {what} {where}") if value else Cell("0"))
    return out


def metric_charts(report: Report) -> dict[str, object]:
    """The SVG chart for each table that has one, with a description in words."""
    days = report.period.days
    t = report.timing
    s = report.census_summary
    d = report.delays
    late = [x.discharges - x.before_midday for x in report.by_day]
    early = [x.before_midday for x in report.by_day]
    bands = list(d.bands)

    def pct(value: float | None) -> str:
        return "no" if value is None else f"{value:.0f}%"

    out: dict[str, object] = {
        "discharges-by-day": charts.stacked_columns(
            days,
            [
                charts.Series("Before midday", early, charts.BLUE),
                charts.Series("Midday or later", late, charts.WARM_YELLOW),
            ],
            chart_id="chart-discharges-by-day",
            title="Discharges per day",
            description=f"{t.discharges} discharges over {len(days)} days, {pct(t.before_midday_percent)} of them "
            f"before midday; the busiest day had {max((x.discharges for x in report.by_day), default=0)}.",
        ),
        "nctr-by-day": charts.lines(
            days,
            [charts.Series("No criteria to reside", [x.nctr for x in report.census], charts.PURPLE)],
            chart_id="chart-nctr-by-day",
            title="Patients with no criteria to reside at 08:00",
            description=f"A mean of {s.mean_nctr or 0:.1f} patients a day had no criteria to reside at the 08:00 "
            f"census, {s.nctr_bed_days} bed days in all" + (f"; {s.latest.nctr} on the last day." if s.latest else "."),
        ),
        "long-stays-by-day": charts.lines(
            days,
            [
                charts.Series(f"{th}+ days", [x.los[th] for x in report.census], colour)
                for th, colour in zip(
                    LONG_STAY_THRESHOLDS, (charts.BLUE, charts.WARM_YELLOW, charts.DARK_PINK), strict=True
                )
            ],
            chart_id="chart-long-stays-by-day",
            title="Long stays at the 08:00 census",
            description="Patients in hospital 7, 14 and 21 or more days each morning; on the last day "
            + (", ".join(f"{s.latest.los[th]} at {th}+" for th in LONG_STAY_THRESHOLDS) if s.latest else "none")
            + ".",
        ),
        "drd-delays": charts.bars(
            [f"{b} day{'s' if b != '1' else ''}" for b in bands],
            [d.bands[b] for b in bands],
            chart_id="chart-drd-delays",
            title="Days from discharge ready date to discharge",
            description=f"Of {d.with_drd} discharges with a discharge ready date, {pct(d.same_day_percent)} left on "
            f"that day; {d.bed_days_lost} bed days were lost to delays.",
            label_width=120,
        ),
        "pathways": charts.bars(
            [x.label for x in report.pathways],
            [x.count for x in report.pathways],
            chart_id="chart-pathways",
            title="Discharges by pathway",
            description="; ".join(f"{x.label}: {x.count} ({pct(x.percent)})" for x in report.pathways) + ".",
            colour=charts.AQUA,
        ),
        "failed-discharges": charts.bars(
            [c.label for c in report.failed_causes],
            [c.count for c in report.failed_causes],
            chart_id="chart-failed-discharges",
            title="Failed discharges by cause",
            description=f"{report.failed_total} failed discharges"
            + (f"; the commonest cause was {report.failed_causes[0].label.lower()}." if report.failed_causes else "."),
            colour=charts.DARK_PINK,
        ),
        "board-rounds": charts.bars(
            [c.ward for c in report.compliance],
            [round(c.reviewed_percent or 0, 1) for c in report.compliance],
            chart_id="chart-board-rounds",
            title="Patient-days reviewed, by ward",
            description=f"{pct(report.compliance_total.reviewed_percent)} of patient-days had a criteria to reside "
            "review across the wards shown.",
            unit="%",
            fixed_max=100,
        ),
    }
    return out
