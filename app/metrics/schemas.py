"""JSON shapes of the metrics API (/api/v1/metrics/...)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

Cell = str | int | float | None


class FlowWardPublic(BaseModel):
    ward_id: int
    code: str
    name: str
    beds_open: int
    beds_occupied: int
    patients: int
    nctr: int
    los_7_plus: int
    los_14_plus: int
    los_21_plus: int
    with_edd: int
    edd_percent: float | None
    edd_overdue: int
    not_reviewed: int
    discharged: int
    discharged_before_midday: int
    failed_last_7_days: int
    open_escalations: int


class FlowPublic(BaseModel):
    today: date
    at: datetime
    wards: list[FlowWardPublic]
    total: FlowWardPublic


class ColumnPublic(BaseModel):
    header: str
    kind: str  # text, int, num (one decimal), pct (percentage), date (ISO), auto


class TablePublic(BaseModel):
    title: str
    columns: list[ColumnPublic]
    rows: list[list[Cell]]
    footer: list[Cell] | None = None


class MetricsPublic(BaseModel):
    date_from: date
    date_to: date
    ward_ids: list[int]
    tables: dict[str, TablePublic]


class WarningPublic(BaseModel):
    code: str
    message: str
    count: int
    stay_ids: list[int]


class ReasonPublic(BaseModel):
    site_code: str
    code: str
    label: str
    family: str
    patients: int
    los_7_plus: int
    los_14_plus: int
    los_21_plus: int


class NctrSnapshotPublic(BaseModel):
    snapshot_date: date
    census_at: datetime
    in_hospital: dict[str, int]
    nctr: list[ReasonPublic]
    reasons: list[ReasonPublic]
    warnings: list[WarningPublic]


class DrdRecordPublic(BaseModel):
    site_code: str
    ward_code: str
    stay_id: int
    spell_id: str | None
    mrn: str
    admission_date: date
    discharge_date: date
    discharge_ready_date: date | None
    days_delayed: int | None
    delay_band: str | None
    los_midnights: int
    discharge_destination_code: str | None
    discharge_pathway: int | None
    data_quality: list[str]


class DrdExtractPublic(BaseModel):
    date_from: date
    date_to: date
    records: list[DrdRecordPublic]
    warnings: list[WarningPublic]
