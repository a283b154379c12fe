"""The ward board: every bed, its stay, today's review and flags, in a fixed number of queries."""

from __future__ import annotations

from datetime import date, timedelta

from tests import factories


def fill(db, ward, actor, now, n):
    beds = factories.beds_of(db, ward)
    stays = []
    for i in range(n):
        stay = factories.make_stay(db, actor, ward, beds[i], admitted_at=now - timedelta(days=i * 3, hours=1))
        if i % 2 == 0:
            factories.make_review(db, actor, stay, criteria=["02"], now=now)
        else:
            factories.make_review(db, actor, stay, meets=False, now=now)  # delay reason CAP01
        factories.make_action(db, actor, stay, description="Book transport", now=now)
        stays.append(stay)
    return stays


def board_query_count(api, ward, count_queries) -> tuple[int, dict]:
    with count_queries() as statements:
        r = api.get(f"/wards/{ward.id}/board")
    assert r.status_code == 200, r.text
    return len(statements), r.json()


def test_board_query_count_does_not_grow_with_the_ward(db, api_as, nurse_principal, now, count_queries):
    small = factories.make_ward(db, beds=3)
    large = factories.make_ward(db, beds=30)
    user = factories.make_user(db, "nurse", wards=[small, large])
    actor = factories.principal(db, user)
    fill(db, small, actor, now, 2)
    fill(db, large, actor, now, 28)
    api = api_as(user)
    small_count, _ = board_query_count(api, small, count_queries)
    large_count, board = board_query_count(api, large, count_queries)
    assert small_count == large_count
    assert large_count <= 10  # auth (2-3) + ward + 5 board queries
    assert board["counts"]["patients"] == 28


def test_board_lists_every_bed_with_flags(db, api, ward, nurse_principal, now):
    beds = factories.beds_of(db, ward)
    beds[5].is_open = False
    stays = fill(db, ward, nurse_principal, now, 3)
    factories.make_edd(db, nurse_principal, stays[2], date(2026, 3, 5), now=now)
    unbedded = factories.make_stay(db, nurse_principal, ward, None, admitted_at=now - timedelta(days=21))
    db.flush()
    board = api.get(f"/wards/{ward.id}/board").json()
    rows = board["rows"]
    assert [r["bed"]["label"] if r["bed"] else None for r in rows] == ["B01", "B02", "B03", "B04", "B05", "B06", None]
    assert rows[3]["stay"] is None and rows[3]["bed"]["is_open"] is True
    assert rows[5]["bed"]["is_open"] is False
    first, second, third = (rows[i]["stay"] for i in range(3))
    assert first["review_today"]["meets_criteria_to_reside"] is True and first["review_today"]["criteria"] == ["02"]
    assert second["review_today"]["delay_reason_code"] == "CAP01"
    assert third["length_of_stay_midnights"] == 6 and third["edd_overdue"] is True
    assert first["open_actions"] == 1
    assert rows[6]["stay"]["id"] == unbedded.id and rows[6]["stay"]["long_stay_flag"] == 21
    assert board["counts"] | {} == board["counts"]
    assert board["counts"]["beds_open"] == 5 and board["counts"]["beds_occupied"] == 3
    assert board["counts"]["not_meeting_criteria"] == 1 and board["counts"]["reviewed_today"] == 3
    assert board["counts"]["long_stay_21"] == 1 and board["counts"]["edd_overdue"] == 1
    assert board["today"] == "2026-03-10"


def test_board_of_another_ward_is_not_found(db, api):
    other = factories.make_ward(db)
    r = api.get(f"/wards/{other.id}/board")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
