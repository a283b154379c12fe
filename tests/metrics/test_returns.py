"""National returns over the API, on the hand-built March week: layouts, figures and warnings."""

from __future__ import annotations

import csv
import io

import pytest

from app.metrics import returns
from app.metrics.rules.period import Period
from tests import factories
from tests.metrics.scenario import build_march


@pytest.fixture
def march(db, clock):
    clock.at = clock.at.replace(month=4, day=2)
    return build_march(db)


@pytest.fixture
def api(db, api_as):
    return api_as(factories.make_user(db, "flow_coordinator"))


def test_nctr_snapshot_on_the_morning_the_clocks_went_forward(api, march):
    s = march.stays
    r = api.get("/metrics/nctr-snapshot", params={"date": "2026-03-29", "ward_id": march.a.id})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["census_at"].startswith("2026-03-29T07:00:00")  # 08:00 BST
    site = next(iter(body["in_hospital"]))
    assert body["in_hospital"] == {site: 3}  # S1, S5, S8 on Ash at 08:00
    (total,) = body["nctr"]
    # S1 (latest review 28th: NCTR, LOS 9) and S8 (20th: NCTR, LOS 28).
    assert (total["patients"], total["los_7_plus"], total["los_14_plus"], total["los_21_plus"]) == (2, 2, 1, 1)
    assert [(x["code"], x["patients"], x["family"]) for x in body["reasons"]] == [("CAP01", 2, "capacity")]
    warnings = {w["code"]: w["stay_ids"] for w in body["warnings"]}
    assert warnings == {"never_reviewed": [s["S5"].id], "not_reviewed_yesterday": [s["S8"].id]}


def test_nctr_snapshot_csv_layout(api, march):
    r = api.get("/metrics/nctr-snapshot.csv", params={"date": "2026-03-29", "ward_id": march.a.id})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="nctr-snapshot-2026-03-29.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == returns.SNAPSHOT_HEADER
    kinds = [row[0] for row in rows[1:]]
    assert kinds == ["in_hospital", "nctr_total", "nctr_reason", "warning", "warning"]
    assert rows[3][4:] == ["CAP01", rows[3][5], "capacity", "2", "2", "1", "1"]
    assert api.get("/metrics/nctr-snapshot", params={"date": "2026-04-03"}).status_code == 422  # the future


def test_drd_extract(api, march):
    s = march.stays
    params = {"date_from": "2026-03-23", "date_to": "2026-03-31"}
    body = api.get("/metrics/drd-extract", params=params | {"ward_id": march.a.id}).json()
    records = {x["stay_id"]: x for x in body["records"]}
    assert set(records) == {s["S1"].id, s["S3"].id, s["S4"].id, s["S5"].id}  # S2 left from B; S7 died
    s1 = records[s["S1"].id]
    assert (s1["discharge_ready_date"], s1["days_delayed"], s1["delay_band"], s1["los_midnights"]) == (
        "2026-03-27",
        2,
        "2-3",
        9,
    )
    assert records[s["S3"].id]["days_delayed"] == 0 and records[s["S3"].id]["data_quality"] == []
    assert records[s["S4"].id]["discharge_ready_date"] is None and records[s["S4"].id]["data_quality"] == ["no_review"]
    assert [(w["code"], w["count"]) for w in body["warnings"]] == [("no_review", 1)]

    r = api.get("/metrics/drd-extract.csv", params=params)
    assert r.headers["content-disposition"] == 'attachment; filename="drd-extract-2026-03-23-to-2026-03-31.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == returns.DRD_HEADER
    assert len(rows) == 1 + 6  # A and B (5) and C (S6, never reviewed, flagged)
    by_stay = {row[2]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_stay[str(s["S2"].id)]["ward_code"] == march.b.code and by_stay[str(s["S2"].id)]["delay_band"] == "1"
    assert by_stay[str(s["S6"].id)]["data_quality"] == "no_review"


def test_returns_loaders_cost_a_fixed_number_of_queries(db, march, count_queries):
    from datetime import date

    with count_queries() as snapshot:
        returns.load_census_patients(db, [march.a.id, march.b.id], date(2026, 3, 29))
    with count_queries() as extract:
        returns.load_discharged_stays(
            db, [march.a.id, march.b.id, march.c.id], Period(date(2026, 3, 1), date(2026, 3, 31))
        )
    assert (len(snapshot), len(extract)) == (1, 3)


def test_returns_need_read_site(db, api_as, march):
    nurse = api_as(factories.make_user(db, "nurse", wards=[march.a]))
    for url in (
        "/metrics/flow",
        "/metrics/nctr-snapshot",
        "/metrics/nctr-snapshot.csv",
        "/metrics/drd-extract",
        "/metrics/drd-extract.csv",
    ):
        assert nurse.get(url).status_code == 403, url
    manager = api_as(factories.make_user(db, "ward_manager", wards=[march.a]))
    assert manager.get("/metrics/drd-extract", params={"ward_id": march.b.id}).status_code == 404
    flow = manager.get("/metrics/flow").json()
    assert [w["code"] for w in flow["wards"]] == [march.a.code]
