"""Day one on a ward with no PAS feed, in a real browser on both databases.

- An administrator sets up a new hospital from nothing in the admin pages (site, ward with its
  sponsor, beds); a nurse admits a patient from the board and runs a round the same day.
- Two tablets: a patient moved from one ward's board appears on the receiving ward's open board
  without a reload; then discharge, and the audited correction from "Recent discharges".
- The ward list from a spreadsheet (a byte order mark, semicolons, a bad row): preview, apply,
  the same file again changes nothing, and a patient who moved bed.
- Bed states: set on the board, shown on the board, the wall display and the flow overview.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from app.core.clock import london_date
from app.models import Stay, Ward
from tests import factories
from tests.browser.helpers import VIEWPORTS, assert_no_axe_violations, assert_no_horizontal_scroll, assert_touch_targets
from tests.browser.seeding import patient_names

pytestmark = pytest.mark.browser

LIVE_WITHIN_MS = 2_000


def _wait_for_live_stream(page: Page, element_id: str) -> None:
    page.wait_for_function(
        """(id) => {
             const el = document.getElementById(id);
             const data = el && el["htmx-internal-data"];
             return Boolean(data && data.sseEventSource && data.sseEventSource.readyState === 1);
           }""",
        arg=element_id,
    )


def _fits_a_phone(page: Page) -> None:
    """At 320 px (WCAG reflow) nothing scrolls sideways; then back to the tablet."""
    page.set_viewport_size(VIEWPORTS["phone"])
    assert_no_horizontal_scroll(page)
    page.set_viewport_size(VIEWPORTS["tablet"])


def _row_of_bed(page: Page, label: str):  # noqa: ANN202
    return page.locator("#board tbody tr").filter(has=page.locator(".app-board-table__bed", has_text=label))


def test_a_new_hospital_from_nothing_then_a_round_the_same_day(user_with_password, signed_in_page, browser_engine):
    tag = uuid.uuid4().hex[:6].upper()
    admin = user_with_password("admin", display_name=f"Admin {tag}")
    sponsor = user_with_password("executive_sponsor", display_name=f"Sponsor {tag}")
    page = signed_in_page(admin, next_="/")
    page.get_by_role("link", name="Set-up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hospital set-up")
    assert_no_axe_violations(page)
    assert_touch_targets(page)

    page.get_by_label("ODS site code").fill(f"S{tag}")
    page.get_by_label("Site name").fill(f"General {tag}")
    page.locator("#add-site").click()
    expect(page.locator("#sites")).to_contain_text(f"General {tag}")

    page.get_by_label("Site", exact=True).select_option(label=f"General {tag}")
    page.get_by_label("Ward code").fill(f"AMU{tag}")
    page.get_by_label("Ward name").fill(f"Acute Medical Unit {tag}")
    page.get_by_label("Specialty").fill("Acute medicine")
    page.get_by_label("Executive sponsor").select_option(label=f"Sponsor {tag}")
    page.locator("#add-ward").click()
    expect(page.locator("#ward-message")).to_contain_text("now add its beds")
    for n, label in enumerate(["A1", "A2", "A3"]):
        page.get_by_label("Label").fill(label)
        page.get_by_label("Order on the board").fill(str((n + 1) * 10))
        page.locator("#add-bed").click()
        expect(page.locator("#ward-message")).to_contain_text(f"Bed {label} added")
    # A duplicate label: the field says why, what was typed is kept.
    page.get_by_label("Label").fill("A1")
    page.locator("#add-bed").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("already has a bed with that label")
    expect(page.get_by_label("Label")).to_have_value("A1")
    assert_no_axe_violations(page)

    with Session(browser_engine) as s:
        ward = s.exec(select(Ward).where(Ward.code == f"AMU{tag}")).one()
        assert ward.executive_sponsor_id == sponsor.id
        ward_id, code = ward.id, ward.code

    # A nurse on the new ward admits a patient from the board and runs the midday round.
    nurse = user_with_password("nurse", [ward_id], display_name=f"Nurse {tag}")
    board = signed_in_page(nurse, next_=f"/wards/{code}")
    expect(board.locator("#board tbody tr")).to_have_count(3)
    expect(board.locator(".app-bed-counts")).to_contain_text("3 beds free now")
    _row_of_bed(board, "A1").get_by_role("link", name="Bed A1").click()
    board.locator("#bed-actions").get_by_role("link", name="Admit").click()
    expect(board.get_by_role("heading", level=1)).to_contain_text("Admit to bed A1")
    assert_no_axe_violations(board)
    assert_touch_targets(board)
    _fits_a_phone(board)
    nhs = factories.test_nhs_number(int(tag, 16) % 900_000)
    board.get_by_label("NHS number").fill(nhs[:-1] + str((int(nhs[-1]) + 1) % 10))  # a wrong check digit
    board.get_by_label("Hospital number (MRN)").fill(f"M{tag}")
    board.get_by_label("Given name").fill("Mary")
    board.get_by_label("Family name").fill(f"Seacole{tag}")
    board.get_by_label("Date of birth").fill("1940-11-23")
    board.get_by_label("Female").check()
    board.locator("#admit-patient").click()
    expect(board.locator(".nhsuk-error-summary")).to_contain_text("check digit does not match")
    expect(board.get_by_label("Family name")).to_have_value(f"Seacole{tag}")
    board.get_by_label("NHS number").fill(nhs)
    board.locator("#admit-patient").click()
    expect(board).to_have_url(re.compile(rf"/wards/{code}$"))
    expect(_row_of_bed(board, "A1")).to_contain_text(f"SEACOLE{tag}, Mary")

    board.get_by_role("button", name="Start midday board round").click()
    board.locator("#start-round").click()
    expect(board.get_by_role("heading", level=1)).to_contain_text(f"SEACOLE{tag}, Mary")
    board.get_by_label("Meets criteria", exact=True).check()
    expect(board.locator("#red-green-status")).to_have_attribute("data-status", "green")  # derived from the answers
    board.get_by_label("Plan for today").fill("IV antibiotics, review tomorrow")
    board.locator("#save-patient").click()
    expect(board).to_have_url(re.compile(r"/rounds/\d+$"))  # the last patient: the round's overview
    with Session(browser_engine) as s:
        stay = s.exec(select(Stay).where(Stay.ward_id == ward_id, col(Stay.discharged_at).is_(None))).one()
        stay_id = stay.id
    board.goto(f"/wards/{code}")
    expect(board.locator(f"#stay-{stay_id}-row")).to_contain_text("Green")


def test_move_between_two_tablets_then_discharge_and_correct(
    seed_ward, user_with_password, signed_in_page, browser_engine
):
    sending = seed_ward(beds=3, patients=1, name="Sending Ward")
    receiving = seed_ward(beds=2, patients=0, name="Receiving Ward")
    stay_id = sending.stay_ids[0]
    name = patient_names(browser_engine, [stay_id])[stay_id]
    mover = user_with_password("nurse", [sending, receiving], display_name="Nurse Moving")
    watcher = user_with_password("nurse", [receiving], display_name="Nurse Receiving")

    receiving_board = signed_in_page(watcher, next_=f"/wards/{receiving.code}")
    expect(receiving_board.locator("#board")).not_to_contain_text(name)
    _wait_for_live_stream(receiving_board, "board-live")

    page = signed_in_page(mover, next_=f"/wards/{sending.code}")
    page.locator(f"#stay-{stay_id}-row .app-bed-link").click()
    page.locator("#bed-actions").get_by_role("link", name="Move").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Move to another bed")
    assert_no_axe_violations(page)
    assert_touch_targets(page)
    page.get_by_label("Move to").select_option(
        label=f"{receiving.name}, bed {_label(browser_engine, receiving.bed_ids[1])}"
    )
    page.locator("#move-patient").click()
    expect(page).to_have_url(re.compile(rf"/wards/{sending.code}$"))
    expect(page.locator("#board")).not_to_contain_text(name)

    # The receiving tablet, untouched, shows the patient arrive.
    expect(receiving_board.locator(f"#stay-{stay_id}-row")).to_contain_text(name, timeout=LIVE_WITHIN_MS)

    # Discharge from the receiving board: a death is recorded as such.
    receiving_board.locator(f"#stay-{stay_id}-row .app-bed-link").click()
    receiving_board.locator("#bed-actions").get_by_role("link", name="Discharge").click()
    expect(receiving_board.get_by_role("heading", level=1)).to_contain_text("Discharge")
    receiving_board.locator("#discharge-patient").click()
    expect(receiving_board.locator(".nhsuk-error-summary")).to_contain_text("Choose where the patient went")
    assert_no_axe_violations(receiving_board)
    receiving_board.get_by_label("Patient died").check()
    receiving_board.locator("#discharge-patient").click()
    expect(receiving_board).to_have_url(re.compile(rf"/wards/{receiving.code}$"))
    expect(receiving_board.locator("#board")).not_to_contain_text(name)

    # A ward manager corrects the admission date, with a reason, from "Recent discharges".
    manager = user_with_password("ward_manager", [receiving], display_name="Manager Correcting")
    corrector = signed_in_page(manager, next_=f"/wards/{receiving.code}")
    corrector.get_by_role("link", name="Recent discharges").click()
    expect(corrector.locator(f"#discharged-{stay_id}")).to_contain_text("Patient died")
    assert_no_axe_violations(corrector)
    assert_touch_targets(corrector)
    corrector.locator(f"#discharged-{stay_id}").get_by_role("link", name="Correct").click()
    admitted = corrector.get_by_label("Date").first
    day = admitted.input_value()
    earlier = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    admitted.fill(earlier)
    corrector.locator("#save-correction").click()
    expect(corrector.locator(".nhsuk-error-summary")).to_be_visible()  # no reason given
    corrector.get_by_label("Why is this being corrected?").fill("Came in the evening before: typed the next day")
    corrector.locator("#save-correction").click()
    expect(corrector).to_have_url(re.compile(rf"/wards/{receiving.code}/discharged$"))
    with Session(browser_engine) as s:
        stay = s.get(Stay, stay_id)
        assert stay.discharge_destination_code == "79" and stay.ward_id == receiving.id
        assert london_date(stay.admitted_at).isoformat() == earlier


def _label(engine, bed_id: int) -> str:  # noqa: ANN001
    from app.models import Bed

    with Session(engine) as s:
        return s.get(Bed, bed_id).label


def _ward_list(rows: list[tuple]) -> bytes:
    header = "Bed;NHS Number;MRN;Surname;Forename;Date of Birth;Sex;Admitted;Consultant"
    lines = [header] + [";".join(r) for r in rows]
    return b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode()


def _person(n: int, bed: str, tag: str) -> tuple:
    nhs = factories.test_nhs_number((int(tag, 16) % 40_000) * 25 + n * 11)  # spaced: neighbours can share one
    return (bed, nhs, f"WL{tag}{n}", f"Family{tag}{n}", f"Given{n}", "01/02/1945", "F", "09/03/2026 08:30", "Dr Lee")


def _upload(page: Page, body: bytes) -> None:
    page.locator("#file").set_input_files({"name": "ward.csv", "mimeType": "text/csv", "buffer": body})
    page.locator("#preview-ward-list").click()
    expect(page.locator("#preview-heading")).to_be_visible()


def test_ward_list_preview_apply_twice_and_a_move(seed_ward, user_with_password, signed_in_page, browser_engine):
    ward = seed_ward(beds=4, patients=0)
    labels = [_label(browser_engine, b) for b in ward.bed_ids]
    tag = uuid.uuid4().hex[:6].upper()
    manager = user_with_password("ward_manager", [ward])
    page = signed_in_page(manager, next_=f"/wards/{ward.code}")
    page.get_by_role("link", name="Import ward list").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import the ward list")
    assert_no_axe_violations(page)

    bad = (labels[2], "943 476 5918", f"WL{tag}9", "Bad", "Row", "01/02/1945", "F", "09/03/2026 08:30", "Dr Lee")
    body = _ward_list([_person(1, labels[0], tag), _person(2, labels[1], tag), bad])
    _upload(page, body)
    table = page.locator("#ward-list-preview")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).to_contain_text("check digit")
    expect(page.locator("#ward-list-counts")).to_contain_text("2 admit")
    assert_no_axe_violations(page)
    assert_touch_targets(page)
    _fits_a_phone(page)
    page.locator("#apply-ward-list").click()
    expect(page.locator("#ward-list-message")).to_contain_text("has been applied")

    _upload(page, body)  # the same file again
    expect(page.locator("#ward-list-counts")).to_contain_text("2 no change")
    page.locator("#apply-ward-list").click()
    expect(page.locator("#ward-list-message")).to_contain_text("has been applied")

    # Patient 2 moved to the last bed; patient 1 left (discharged only after the second preview).
    _upload(page, _ward_list([_person(2, labels[3], tag)]))
    expect(page.locator("#ward-list-counts")).to_contain_text("1 move")
    expect(page.locator("#ward-list-counts")).to_contain_text("1 not on the list")
    page.locator("#preview-discharge-missing").click()
    expect(page.locator("#ward-list-counts")).to_contain_text("1 discharge")
    page.locator("#apply-ward-list").click()
    expect(page.locator("#ward-list-message")).to_contain_text("has been applied")
    page.goto(f"/wards/{ward.code}")
    expect(_row_of_bed(page, labels[3])).to_contain_text(f"FAMILY{tag}2")
    expect(page.locator("#board")).not_to_contain_text(f"FAMILY{tag}1")


def test_bed_states_on_the_board_the_display_and_the_flow_overview(
    seed_ward, user_with_password, signed_in_page, browser_engine
):
    ward = seed_ward(beds=3, patients=1)
    empty = _label(browser_engine, ward.bed_ids[2])
    nurse = user_with_password("nurse", [ward])
    page = signed_in_page(nurse, next_=f"/wards/{ward.code}")
    _row_of_bed(page, empty).get_by_role("link", name=f"Bed {empty}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Bed {empty}")
    assert_no_axe_violations(page)
    assert_touch_targets(page)
    _fits_a_phone(page)
    page.get_by_role("radio", name=re.compile("^Reserved")).check()
    page.locator("#save-bed-state").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Say who the bed is reserved for")
    page.get_by_role("textbox", name="Reserved for").fill("ED cubicle 4")
    page.get_by_label("Coming from").fill("Emergency department")
    page.locator("#save-bed-state").click()
    expect(page).to_have_url(re.compile(rf"/wards/{ward.code}$"))
    expect(_row_of_bed(page, empty).locator(".app-bed-state")).to_have_text("Reserved")
    expect(_row_of_bed(page, empty).locator(".app-bed-state")).to_have_attribute(
        "title", "Reserved for ED cubicle 4 from Emergency department"
    )
    expect(page.locator(".app-bed-counts")).to_contain_text("1 reserved")
    assert_no_axe_violations(page)
    assert_touch_targets(page)

    page.goto(f"/wards/{ward.code}/display")
    expect(page.locator("#board")).to_contain_text("Reserved")

    flow = user_with_password("flow_coordinator")
    overview = signed_in_page(flow, next_="/flow")
    row = overview.locator(f"#beds-ward-{ward.id}")
    expect(row).to_contain_text(ward.name)
    cells = row.locator("td")
    expect(cells.nth(2)).to_have_text("1")  # free now
    expect(cells.nth(4)).to_have_text("1")  # reserved
    assert_no_axe_violations(overview)


# Who may do what on these screens is in tests/security; this checks the links follow it.
def test_a_therapist_sees_no_admit_or_bed_state_links(seed_ward, user_with_password, signed_in_page):
    ward = seed_ward(beds=2, patients=1)
    therapist = user_with_password("therapist", [ward])
    page = signed_in_page(therapist, next_=f"/wards/{ward.code}")
    expect(page.locator("#board")).to_be_visible()
    expect(page.locator(".app-bed-link")).to_have_count(0)
