"""The site flow overview and metrics pages over HTTP: content, links, scope, fragments, CSV, live updates."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from datetime import date, timedelta

import pytest

from app.escalations.schemas import EscalationCreate
from app.escalations.service import raise_escalation
from app.metrics.stored import ward_days
from app.web import live
from tests import factories
from tests.metrics.scenario import build_march, leave, review


@pytest.fixture
def hospital(db, now):
    """Now is Tue 10 March 2026, 11:00 GMT. Wards A and B on one site; C on it too, for scope."""
    site = factories.make_site(db)
    a, b, c = (factories.make_ward(db, site=site, beds=4, code=code) for code in ("FA", "FB", "FC"))
    a.name, b.name, c.name = "Alder Ward", "Birch Ward", "Cherry Ward"
    actor = factories.principal(db, factories.make_user(db, "flow_coordinator"))
    beds_a, beds_b = factories.beds_of(db, a), factories.beds_of(db, b)

    def admit(ward, bed, days_ago: float, family: str):  # noqa: ANN001, ANN202
        patient = factories.make_patient(db, actor, family_name=family)
        return factories.make_stay(db, actor, ward, bed, admitted_at=now - timedelta(days=days_ago), patient=patient)

    long_a = admit(a, beds_a[0], 8, "Longstay")  # 8 midnights: 7+
    review(db, actor, long_a, now, meets=False)
    new_a = admit(a, beds_a[1], 1, "Newcomer")  # not reviewed today, EDD yesterday: passed
    factories.make_edd(db, actor, new_a, date(2026, 3, 9), now=now - timedelta(days=1))
    gone_a = admit(a, beds_a[2], 2, "Gonehome")
    review(db, actor, gone_a, now - timedelta(hours=2), meets=False)
    leave(db, actor, gone_a, now - timedelta(hours=1), "19", 0)  # 10:00 GMT: before midday
    old_b = admit(b, beds_b[0], 15, "Oldtimer")  # 14+
    review(db, actor, old_b, now, meets=False)
    from app.discharges.schemas import FailedDischargeCreate
    from app.discharges.service import log_failed_discharge

    log_failed_discharge(
        db, actor=actor, stay=old_b, now=now,
        data=FailedDischargeCreate(planned_for=now - timedelta(days=2), causes=["transport"], primary_cause="transport", avoidable=True),
    )  # fmt: skip
    raise_escalation(
        db, actor=actor, stay=old_b, data=EscalationCreate(category_code="capacity", help_needed="P1 package"), now=now
    )
    c_stay = admit(c, factories.beds_of(db, c)[0], 30, "Elsewhere")
    review(db, actor, c_stay, now, meets=False)
    db.flush()
    return {"a": a, "b": b, "c": c, "actor": actor, "long_a": long_a, "new_a": new_a, "gone_a": gone_a, "old_b": old_b}


def cell_values(html: str, row_id: str) -> list[str]:
    """The visible numbers of one row of the flow table (visually hidden words removed)."""
    row = html.split(f'id="{row_id}"')[1].split("</tr>")[0]
    row = re.sub(r'<span class="nhsuk-u-visually-hidden">.*?</span>', "", row)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


# The flow overview ---------------------------------------------------------------------------------


def test_flow_overview_counts_and_links(db, browser_as, hospital):
    a, b = hospital["a"], hospital["b"]
    browser = browser_as(factories.make_user(db, "flow_coordinator"))
    page = browser.get("/flow")
    assert page.status_code == 200 and page.headers["vary"] == "HX-Request, HX-Target"
    assert 'href="/flow"' in page.text and 'href="/metrics"' in page.text  # navigation
    # Open beds, patients, beds occupied, NCTR, 7+, 14+, 21+, EDD %, EDD passed, not reviewed, discharged,
    # before midday, failed in 7 days, open escalations.
    a_row = ["4", "2", "50%", "1", "1", "0", "0", "50%", "1", "1", "1", "1", "0", "0"]
    b_row = ["4", "1", "25%", "1", "1", "1", "0", "0%", "0", "0", "0", "0", "1", "1"]
    assert cell_values(page.text, f"flow-ward-{a.id}") == a_row
    assert cell_values(page.text, f"flow-ward-{b.id}") == b_row
    assert "Cherry Ward" in page.text  # a site-wide role sees every ward
    # Board filters where the board has one, the drill-down otherwise.
    assert f'href="/wards/{a.code}?filter=nctr"' in page.text
    assert f'href="/wards/{a.code}?filter=not_reviewed"' in page.text
    assert f'href="/flow/patients?ward={b.code}&amp;measure=los14"' in page.text
    assert f'href="/flow/patients?ward={b.code}&amp;measure=escalations"' in page.text
    assert 'href="/flow/patients?measure=discharged"' in page.text  # the total row: every ward
    assert 'sse-connect="/flow/events"' in page.text and 'hx-trigger="sse:flow-changed' in page.text


def test_flow_fragment_and_history_restore(db, browser_as, hospital):
    browser = browser_as(factories.make_user(db, "flow_coordinator"))
    fragment = browser.get("/flow", headers={"HX-Request": "true", "HX-Target": "flow-table"})
    assert "<html" not in fragment.text and 'id="flow-table"' in fragment.text
    assert "Alder Ward" in fragment.text and "flow-total" in fragment.text
    table = browser.get("/flow/table")
    assert "<html" not in table.text and 'id="flow-table"' in table.text and "Alder Ward" in table.text
    restore = browser.get("/flow", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_ward_manager_sees_only_their_wards_and_a_nurse_is_refused(db, browser_as, hospital):
    a, c = hospital["a"], hospital["c"]
    manager = browser_as(factories.make_user(db, "ward_manager", wards=[a]))
    page = manager.get("/flow")
    assert "Alder Ward" in page.text and "Birch Ward" not in page.text and "Cherry Ward" not in page.text
    assert cell_values(page.text, "flow-total")[1] == "2"  # the total is of their wards only
    assert manager.get(f"/flow/patients?ward={c.code}&measure=nctr").status_code == 404
    everyone = manager.get("/flow/patients?measure=nctr")
    assert "LONGSTAY" in everyone.text and "ELSEWHERE" not in everyone.text and "OLDTIMER" not in everyone.text
    metrics = manager.get("/metrics")
    assert metrics.status_code == 200 and "Cherry Ward" not in metrics.text
    assert manager.get(f"/metrics?ward={c.code}").status_code == 404
    nurse = browser_as(factories.make_user(db, "nurse", wards=[a]))
    for url in (
        "/flow",
        "/flow/table",
        f"/flow/patients?measure=nctr&ward={a.code}",
        "/metrics",
        "/metrics/csv?table=pathways",
    ):
        assert nurse.get(url).status_code == 403, url
    assert 'href="/flow"' not in nurse.get(f"/wards/{a.code}").text


@pytest.mark.parametrize(
    ("measure", "present", "absent"),
    [
        ("nctr", ["LONGSTAY", "OLDTIMER"], ["NEWCOMER", "GONEHOME"]),
        ("not_reviewed", ["NEWCOMER"], ["LONGSTAY"]),
        ("los14", ["OLDTIMER"], ["LONGSTAY"]),
        ("edd_overdue", ["NEWCOMER"], ["LONGSTAY"]),
        ("no_edd", ["LONGSTAY", "OLDTIMER"], ["NEWCOMER"]),
        ("discharged_before_midday", ["GONEHOME", "Usual place of residence"], ["LONGSTAY"]),
        ("failed", ["OLDTIMER", "Transport"], ["LONGSTAY"]),
        ("escalations", ["OLDTIMER", "level 1"], ["LONGSTAY"]),
    ],
)
def test_drill_down_lists_the_patients_behind_a_number(db, browser_as, hospital, measure, present, absent):
    browser = browser_as(factories.make_user(db, "ward_manager", wards=[hospital["a"], hospital["b"]]))
    page = browser.get(f"/flow/patients?measure={measure}")
    assert page.status_code == 200
    for text in present:
        assert text in page.text, (measure, text)
    for text in absent:
        assert text not in page.text, (measure, text)


def test_drill_down_refuses_an_unknown_measure(db, browser_as, hospital):
    browser = browser_as(factories.make_user(db, "flow_coordinator"))
    assert browser.get("/flow/patients?measure=everything").status_code == 422


def test_flow_query_count_does_not_grow_with_the_wards(db, browser_as, hospital, count_queries):
    one = browser_as(factories.make_user(db, "ward_manager", wards=[hospital["a"]]))
    many = browser_as(factories.make_user(db, "flow_coordinator"))
    for _ in range(4):
        extra = factories.make_ward(db, beds=3)
        stay = factories.make_stay(db, hospital["actor"], extra, factories.beds_of(db, extra)[0])
        review(db, hospital["actor"], stay, factories.NOW, meets=False)
    one.get("/flow")  # warm the reference-data cache
    with count_queries() as few:
        assert one.get("/flow/table").status_code == 200
    with count_queries() as lots:
        assert many.get("/flow/table").status_code == 200
    assert len(few) == len(lots) <= 12  # sign-in and principal (4-5) + wards + six grouped queries


def test_flow_stream_announces_changes_on_any_ward_in_scope(db, backend, browser_as, api_as, hospital):
    if backend != "sqlite":
        pytest.skip("in the rolled-back test transaction PostgreSQL never delivers NOTIFY; tests/wards covers it")
    b = hospital["b"]
    browser = browser_as(factories.make_user(db, "flow_coordinator"))
    nurse = factories.make_user(db, "nurse", wards=[b])
    api = api_as(nurse)
    lines: list[str] = []
    content_types: list[str] = []  # checked here: an assert in the thread would not fail the test

    def listen() -> None:
        with browser.client.stream("GET", "/flow/events", timeout=10) as response:
            content_types.append(response.headers["content-type"])
            for line in response.iter_lines():
                lines.append(line)
                if line.startswith("data:") and line != "data: 1":  # past the heartbeats
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while live.feed.subscriber_count(b.id) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    stay = hospital["old_b"]
    r = api.put(f"/stays/{stay.id}/edd", json={"expected_discharge_date": "2026-03-20", "version": stay.version})
    assert r.status_code == 200, r.text
    thread.join(timeout=5)
    assert content_types and content_types[0].startswith("text/event-stream")
    assert "event: flow-changed" in lines
    data = json.loads(next(line for line in lines if line.startswith("data:") and line != "data: 1")[5:])
    assert data == {"ward_id": b.id, "stay_id": stay.id, "kind": "stay"}


# Metrics over time ------------------------------------------------------------------------------------


@pytest.fixture
def march(db, clock):
    clock.at = clock.at.replace(year=2026, month=4, day=2)
    return build_march(db)


def test_metrics_page_has_charts_tables_and_downloads(db, browser_as, march):
    browser = browser_as(factories.make_user(db, "flow_coordinator"))
    page = browser.get(f"/metrics?date_from=2026-03-23&date_to=2026-03-31&ward={march.a.code}")
    assert page.status_code == 200, page.text[:500]
    text = page.text
    assert "Ash Ward, 23 Mar 2026 to 31 Mar 2026 (9 days)" in text
    assert text.count('role="img"') >= 7 and text.count("<desc id=") >= 7
    assert "style=" not in text.split("<main", 1)[1]  # the CSP forbids inline styles
    assert 'id="table-board-rounds"' in text  # short tables are on the page
    # Daily tables are folded, their rows fetched when opened (a year of rows is hundreds of kB).
    query = f"ward={march.a.code}&amp;date_from=2026-03-23&amp;date_to=2026-03-31"
    assert 'id="table-discharges-by-day"' not in text
    assert f'hx-get="/metrics/table?table=discharges-by-day&amp;{query}"' in text
    assert f'<a href="/metrics/table?table=discharges-by-day&amp;{query}">Open it on its own page</a>' in text
    assert (
        f"/metrics/csv?table=drd-delays&amp;ward={march.a.code}&amp;date_from=2026-03-23&amp;date_to=2026-03-31" in text
    )
    figures = text.split('id="headline-figures"')[1].split("</ul>")[0]
    assert re.search(r'id="figure-value-discharges"><span class="app-figures__value">4<', figures)
    assert "/api/v1/metrics/drd-extract.csv?ward_id=" in text


def test_a_folded_table_opens_as_a_fragment_or_a_page(db, browser_as, march):
    browser = browser_as(factories.make_user(db, "flow_coordinator"))
    url = f"/metrics/table?table=discharges-by-day&ward={march.a.code}&date_from=2026-03-23&date_to=2026-03-31"
    fragment = browser.get(url, headers={"HX-Request": "true", "HX-Target": "numbers-discharges-by-day"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div class="app-table-scroll" role="region"')
    assert '<table class="nhsuk-table app-metrics-table" id="table-discharges-by-day">' in fragment.text
    assert "<html" not in fragment.text and fragment.text.count("<tr") == 1 + 9 + 1  # header, 9 days, total
    page = browser.get(url)
    assert page.status_code == 200 and "<html" in page.text
    assert "Ash Ward, 23 Mar 2026 to 31 Mar 2026 (9 days)" in page.text
    assert 'id="table-discharges-by-day"' in page.text and "Back to the metrics" in page.text
    assert browser.get(url.replace("2026-03-23", "2026-03-32")).status_code == 422
    assert browser.get(url.replace("discharges-by-day", "no-such-table")).status_code == 422
    other = factories.make_user(db, "ward_manager", wards=[march.b])
    assert browser_as(other).get(url).status_code == 404  # another ward's code answers like a missing one


def test_metrics_csv(db, browser_as, march):
    browser = browser_as(factories.make_user(db, "flow_coordinator"))
    r = browser.get("/metrics/csv?table=discharges-by-day&date_from=2026-03-23&date_to=2026-03-31")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        'attachment; filename="discharges-by-day-all-wards-2026-03-23-to-2026-03-31.csv"'
    )
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["Date", "Day", "Discharges", "Before midday", "% before midday"]
    assert rows[7] == ["2026-03-29", "Sun", "3", "2", "66.7"]  # S1, S2 and S6 (ward C is in scope here)
    assert rows[-1][:4] == ["Total", "", "6", "3"]
    delays = list(
        csv.reader(
            io.StringIO(browser.get("/metrics/csv?table=drd-delays&date_from=2026-03-23&date_to=2026-03-31").text)
        )
    )
    assert delays[0] == ["Days after the discharge ready date", "Discharges", "% of discharges with a DRD"]
    assert browser.get("/metrics/csv?table=nothing").status_code == 422


def test_metrics_filter_errors_are_shown(db, browser_as, march):
    browser = browser_as(factories.make_user(db, "flow_coordinator"))
    r = browser.get("/metrics?date_from=2026-03-31&date_to=2026-03-01")
    assert r.status_code == 422
    assert "There is a problem" in r.text and "must be on or before its end" in r.text
    assert 'value="2026-03-31"' in r.text  # what was typed is kept
    assert browser.get("/metrics?date_to=2099-01-01").status_code == 422


def test_metrics_api(db, api_as, march):
    api = api_as(factories.make_user(db, "flow_coordinator"))
    r = api.get("/metrics", params={"ward_id": march.b.id, "date_from": "2026-03-23", "date_to": "2026-03-31"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ward_ids"] == [march.b.id]
    assert body["tables"]["discharges-by-day"]["footer"][2] == 1
    assert body["tables"]["drd-delays"]["rows"][1][:2] == ["1", 1]
    r = api.get("/metrics", params={"date_from": "2026-03-31", "date_to": "2026-03-01"})
    assert r.status_code == 422
    assert api_as(factories.make_user(db, "nurse", wards=[march.a])).get("/metrics").status_code == 403


def test_metrics_page_query_count_does_not_grow_with_wards_or_days(db, browser_as, march, count_queries, clock):
    browser = browser_as(factories.make_user(db, "flow_coordinator"))
    one_ward_a_week = f"/metrics?ward={march.a.code}&date_from=2026-03-25&date_to=2026-03-31"
    all_wards_a_quarter = "/metrics?date_from=2026-01-01&date_to=2026-03-31"
    with count_queries() as first_view:
        assert browser.get(all_wards_a_quarter).status_code == 200
    # Nothing stored yet: the page works the days out from the facts and leaves storing them to the
    # background refresher (app.metrics.stored.refresher): a GET never writes.
    assert not [sql for sql in first_view if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    wards = [march.a.id, march.b.id, march.c.id]
    assert ward_days.refresh(db, wards, date(2026, 1, 1), date(2026, 3, 31), now=clock.now())  # what it does
    browser.get(one_ward_a_week)
    with count_queries() as one_ward:
        assert browser.get(one_ward_a_week).status_code == 200
    with count_queries() as all_wards:
        assert browser.get(all_wards_a_quarter).status_code == 200
    # Sign-in and principal, wards, which days are kept (and, for whole months, whether they are
    # rolled up), any stale marks, four sums of the kept days (per day, per ward, breakdowns, EDD per
    # consultant), failed discharges, referrals, rounds.
    assert len(one_ward) + 1 == len(all_wards) <= 14
    assert not any("metricsrefresh" in sql for sql in all_wards)  # a page view takes no lock and writes nothing


def test_someone_with_no_wards_sees_empty_pages(db, browser_as, hospital):
    sponsor = browser_as(factories.make_user(db, "executive_sponsor"))
    flow = sponsor.get("/flow")
    assert flow.status_code == 200 and 'id="no-wards"' in flow.text and "Alder Ward" not in flow.text
    metrics = sponsor.get("/metrics")
    assert (
        metrics.status_code == 200
        and 'id="figure-value-discharges"><span class="app-figures__value">0<' in metrics.text
    )
    assert "LONGSTAY" not in sponsor.get("/flow/patients?measure=patients").text
