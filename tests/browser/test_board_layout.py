"""The ward board and wall screen, measured in real Chromium (docs/board.md).

- Dense: at least 12 patient rows fully visible on a landscape tablet (1024 x 768) and 8 on a
  portrait one (768 x 1024) when the board opens; every bed of a 36-bed ward on a 1920 x 1080
  wall screen, and on 1366 x 768 a page at a time with a page indicator.
- Nothing covers a control: for every link and button on the board and the wall screen at
  1024 x 768, 768 x 1024 and 375 x 812, the element at its centre is itself (or inside it).
- Freshness: with the server stopped, an open board says so (role=status) and greys within
  15 s; the stream's heartbeat keeps it live while the server is up.
- Words, not codes: criteria to reside are shown by their labels.
- Axe and the 44 px touch-target rule still pass.

With BOARDROUND_SCREENSHOTS=1 the tests also save docs/screenshots/board-*.png.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlmodel import Session

from app.config import PROJECT_ROOT
from app.models import Stay, Ward
from tests import factories
from tests.browser.helpers import assert_no_axe_violations, assert_nothing_overlaps_controls, assert_touch_targets
from tests.browser.seeding import london_today
from tests.servers import LiveServer, server_env, start_server, stop_server

pytestmark = pytest.mark.browser

LANDSCAPE = {"width": 1024, "height": 768}
PORTRAIT = {"width": 768, "height": 1024}
PHONE = {"width": 375, "height": 812}
WALL = {"width": 1920, "height": 1080}
SMALL_WALL = {"width": 1366, "height": 768}
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"


def _screenshot(page: Page, name: str) -> None:
    if os.environ.get("BOARDROUND_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=Path(SCREENSHOTS, name))


def fill_today(engine: Engine, ward_id: int, stay_ids: list[int]) -> None:
    """Today's reviews for a busy ward, through the real services: most meet two criteria on a
    green day, every third has no criteria to reside on a red day, every fifth is not reviewed
    yet; EDDs and open actions here and there. The longest texts the board shows."""
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as db:
        ward = db.get(Ward, ward_id)
        assert ward is not None
        doctor = factories.make_user(
            db, "doctor", wards=[ward], username=f"busy-{uuid.uuid4().hex[:8]}", display_name="Dr Busy"
        )
        actor = factories.principal(db, doctor)
        for n, stay_id in enumerate(stay_ids):
            stay = db.get(Stay, stay_id)
            assert stay is not None
            if n % 5 == 4:
                continue
            factories.make_edd(db, actor, stay, london_today() + timedelta(days=n % 4), now=now)
            if n % 3 == 0:
                factories.make_review(
                    db, actor, stay, meets=False, now=now, delay_reason_code="IP03",
                    day_status="red", red_day_reason_code="waiting_external", pathway=3,
                )  # fmt: skip
            else:
                factories.make_review(db, actor, stay, meets=True, now=now, criteria=["02", "08"], pathway=1)
            if n % 4 == 0:
                factories.make_action(db, actor, stay, now=now)
        db.commit()


@pytest.fixture
def busy_ward(seed_ward, browser_engine):
    """A 36-bed ward with 34 patients and today's reviews recorded."""

    def make(beds: int = 36, patients: int = 34):
        ward = seed_ward(beds=beds, patients=patients)
        fill_today(browser_engine, ward.id, list(ward.stay_ids))
        return ward

    return make


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

FULLY_VISIBLE_ROWS = """(selector) => {
  const rows = [...document.querySelectorAll(selector)];
  const h = window.innerHeight, w = window.innerWidth;
  return rows.filter((r) => {
    const b = r.getBoundingClientRect();
    return b.height > 0 && b.top >= 0 && b.bottom <= h && b.left >= 0 && b.right <= w;
  }).length;
}"""

ROW_HEIGHTS = """(selector) => [...document.querySelectorAll(selector)].map((r) => Math.round(r.getBoundingClientRect().height))"""


def fully_visible(page: Page, selector: str) -> int:
    return page.evaluate(FULLY_VISIBLE_ROWS, selector)


# --------------------------------------------------------------------------------------------
# Dense board
# --------------------------------------------------------------------------------------------


def test_twelve_rows_fit_a_landscape_tablet_and_eight_a_portrait_one(busy_ward, user_with_password, signed_in_page):
    ward = busy_ward()
    nurse = user_with_password("ward_manager", [ward])
    page = signed_in_page(nurse, viewport=LANDSCAPE, next_=f"/wards/{ward.code}")
    rows = "#board tbody tr"
    expect(page.locator(rows)).to_have_count(36)
    visible = fully_visible(page, rows)
    heights = page.evaluate(ROW_HEIGHTS, rows)
    assert visible >= 12, f"{visible} rows fully visible at 1024 x 768 (row heights {sorted(set(heights))})"
    # The same information as before: name, age, LOS, EDD, criteria in words, day, pathway, items, changed.
    first = page.locator(f"#stay-{ward.stay_ids[0]}-row")
    expect(first).to_contain_text("No criteria to reside")
    expect(first).to_contain_text("Residential or nursing home care arrangements still underway")
    expect(first).to_contain_text("Red day")
    expect(first).to_contain_text("P3")
    expect(first).to_contain_text("1 action")
    expect(first).to_contain_text("just now")
    second = page.locator(f"#stay-{ward.stay_ids[1]}-row")
    expect(second).to_contain_text("Needs oxygen therapy or non-invasive ventilation (NIV)")
    expect(second).not_to_contain_text("02, 08")
    _screenshot(page, "board-tablet-landscape.png")
    assert_no_axe_violations(page)
    assert_touch_targets(page)

    page.set_viewport_size(PORTRAIT)
    visible = fully_visible(page, rows)
    heights = page.evaluate(ROW_HEIGHTS, rows)
    assert visible >= 8, f"{visible} rows fully visible at 768 x 1024 (row heights {sorted(set(heights))})"
    _screenshot(page, "board-tablet-portrait.png")
    assert_no_axe_violations(page)
    assert_touch_targets(page)


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT, PHONE], ids=["landscape", "portrait", "phone"])
def test_nothing_covers_a_control_on_the_board(viewport, busy_ward, user_with_password, signed_in_page):
    ward = busy_ward(beds=14, patients=13)
    manager = user_with_password("ward_manager", [ward])
    page = signed_in_page(manager, viewport=viewport, next_=f"/wards/{ward.code}")
    expect(page.locator("#board tbody tr")).to_have_count(14)
    assert_nothing_overlaps_controls(page)
    if viewport is PHONE:
        _screenshot(page, "board-phone.png")
        assert_touch_targets(page)
        assert_no_axe_violations(page)


# --------------------------------------------------------------------------------------------
# Wall screen
# --------------------------------------------------------------------------------------------


def test_every_bed_of_a_36_bed_ward_fits_the_wall_screen(busy_ward, user_with_password, signed_in_page):
    ward = busy_ward()
    nurse = user_with_password("nurse", [ward])
    page = signed_in_page(nurse, viewport=WALL, next_=f"/wards/{ward.code}/display")
    cards = "#board > li"
    expect(page.locator(cards)).to_have_count(36)
    visible = fully_visible(page, cards)
    assert visible == 36, f"{visible} of 36 beds fully visible at 1920 x 1080"
    expect(page.locator("[data-wall-pager]")).to_be_hidden()
    # Initials only on the wall; the names are a tap away on a signed-in tablet's own screen.
    names = page.locator("#board").inner_text()
    assert not re.search(r"[A-Z]{3,}, [A-Z][a-z]", names), "a full name is on the wall screen"
    _screenshot(page, "board-wall-1920x1080.png")
    assert_no_axe_violations(page)
    assert_touch_targets(page)
    assert_nothing_overlaps_controls(page)


def test_a_small_wall_screen_turns_its_pages_and_says_which_it_shows(busy_ward, user_with_password, signed_in_page):
    ward = busy_ward()
    nurse = user_with_password("nurse", [ward])
    page = signed_in_page(nurse, viewport=SMALL_WALL, next_=f"/wards/{ward.code}/display")
    pager = page.locator("[data-wall-pager]")
    expect(pager).to_be_visible()
    expect(pager).to_contain_text(re.compile(r"Page 1 of \d"))
    shown = page.locator("#board > li:not([data-off-page])")
    count = shown.count()
    assert 0 < count < 36
    assert fully_visible(page, "#board > li:not([data-off-page])") == count, "a card on the page is cut off"
    _screenshot(page, "board-wall-1366x768.png")
    # It turns by itself (every 15 s).
    expect(pager).to_contain_text("Page 2 of", timeout=20_000)


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT, PHONE], ids=["landscape", "portrait", "phone"])
def test_nothing_covers_a_control_on_the_wall_screen(viewport, busy_ward, user_with_password, signed_in_page):
    ward = busy_ward(beds=14, patients=13)
    nurse = user_with_password("nurse", [ward])
    page = signed_in_page(nurse, viewport=viewport, next_=f"/wards/{ward.code}/display")
    expect(page.locator("#board > li")).to_have_count(14)
    assert_nothing_overlaps_controls(page)


# --------------------------------------------------------------------------------------------
# Freshness
# --------------------------------------------------------------------------------------------


@dataclass
class OwnServer:
    """An app server process of this test's own, to stop and start again in the middle of it."""

    database_url: str
    log_path: Path
    secret_key: str
    server: LiveServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def start(self) -> None:
        self.server = start_server(self.database_url, self.log_path, env={"BOARDROUND_SECRET_KEY": self.secret_key})

    def stop(self) -> None:
        assert self.server is not None
        stop_server(self.server.process)

    def restart_on_the_same_port(self) -> None:
        """Start again where the browser expects it, with the same key (sessions stay valid)."""
        assert self.server is not None
        port = self.base_url.rsplit(":", 1)[1]
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--host", "127.0.0.1",
                 "--timeout-graceful-shutdown", "2", "--port", port],
                cwd=PROJECT_ROOT,
                env=server_env(self.database_url, {"BOARDROUND_SECRET_KEY": self.secret_key}),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        self.server = LiveServer(self.base_url, process, self.log_path)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # polling a server process, not waiting in the browser
        raise AssertionError(f"the server did not start again on port {port}:\n{self.server.log_since()}")


@pytest.fixture
def own_server(browser_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnServer]:
    own = OwnServer(
        browser_engine.url.render_as_string(hide_password=False),
        tmp_path_factory.mktemp("own-server") / "uvicorn.log",
        secrets.token_urlsafe(36),
    )
    own.start()
    yield own
    if own.server is not None and own.server.process.poll() is None:
        stop_server(own.server.process)


def test_a_board_whose_server_stops_says_so_and_greys_within_fifteen_seconds(
    own_server, seed_ward, user_with_password, new_page
):
    from tests.browser.helpers import allow_console_errors, sign_in

    ward = seed_ward(beds=4, patients=2)
    nurse = user_with_password("nurse", [ward])
    page = new_page(LANDSCAPE, base_url=own_server.base_url)
    sign_in(page, nurse.username, nurse.password, next_=f"/wards/{ward.code}")
    live = page.locator("#board-live")
    status = page.locator("#live-status")
    expect(live).to_have_attribute("data-live", "live")
    # Heard: the stream opened (and sends a heartbeat every few seconds).
    page.wait_for_function(
        """() => { const d = document.getElementById("board-live")["htmx-internal-data"];
                   return Boolean(d && d.sseEventSource && d.sseEventSource.readyState === 1); }"""
    )
    expect(status).to_be_empty()
    assert_no_axe_violations(page)  # also loads axe, for the check while the server is away

    # htmx logs each failed reconnection of the stream ("[object Event]"), Chromium the refused connection.
    allow_console_errors(
        page, r"\[object Event\]", r"ERR_CONNECTION_REFUSED", r"Failed to load resource", r"EventSource"
    )
    own_server.stop()

    expect(status).to_contain_text("Not live", timeout=15_000)
    expect(status).to_have_attribute("role", "status")
    expect(live).to_have_class(re.compile(r"\bapp-board-live--stale\b"))
    assert page.evaluate("() => getComputedStyle(document.getElementById('board-rows')).filter") == "grayscale(1)", (
        "the board is not greyed"
    )
    assert_no_axe_violations(page)  # the banner, and the greyed board behind it

    # Back: it says so, stops greying, and fetches the rows again (changes made meanwhile were missed).
    own_server.restart_on_the_same_port()
    with page.expect_response(re.compile(r"/wards/[^/]+/rows"), timeout=20_000):
        expect(status).to_contain_text("Live again", timeout=20_000)
    expect(live).not_to_have_class(re.compile(r"\bapp-board-live--stale\b"))
    expect(live).to_have_attribute("data-live", "live")


def test_the_heartbeat_keeps_a_quiet_board_live(seed_ward, user_with_password, signed_in_page):
    """Nothing changes on the ward for 12 s: the heartbeat alone keeps the board from going stale."""
    ward = seed_ward(beds=2, patients=1)
    nurse = user_with_password("nurse", [ward])
    page = signed_in_page(nurse, next_=f"/wards/{ward.code}")
    page.evaluate(
        """() => { window.__heartbeats = 0;
                   document.addEventListener("htmx:sseOpen", (e) =>
                     e.detail.source.addEventListener("heartbeat", () => { window.__heartbeats += 1; })); }"""
    )
    # Heartbeats arrive (every 4 s) on the open stream.
    page.wait_for_function(
        """() => { const d = document.getElementById("board-live")["htmx-internal-data"];
                   const s = d && d.sseEventSource;
                   if (s && !s.__counted) { s.__counted = true; s.addEventListener("heartbeat", () => { window.__heartbeats += 1; }); }
                   return window.__heartbeats >= 3; }""",
        polling=200,
        timeout=20_000,
    )
    expect(page.locator("#board-live")).to_have_attribute("data-live", "live")
    expect(page.locator("#live-status")).to_be_empty()


# --------------------------------------------------------------------------------------------
# The audit viewer: compact, in words
# --------------------------------------------------------------------------------------------

AUDIT_EVENT_MAX_PX = 400  # was about 1,130 px for one new review


def test_audit_events_are_compact_and_in_words(busy_ward, user_with_password, signed_in_page):
    ward = busy_ward(beds=3, patients=2)
    manager = user_with_password("ward_manager", [ward])
    page = signed_in_page(manager, viewport=LANDSCAPE, next_="/audit")
    events = page.locator("#audit-events tbody tr")
    expect(events.first).to_be_visible()
    heights = page.evaluate(ROW_HEIGHTS, "#audit-events tbody tr")
    assert max(heights) <= AUDIT_EVENT_MAX_PX, f"audit events up to {max(heights)} px tall: {heights}"
    table = page.locator("#audit-events")
    expect(table).to_contain_text("Criteria met")
    expect(table).to_contain_text("Needs oxygen therapy or non-invasive ventilation (NIV)")
    expect(table).not_to_contain_text("delay_reason_code")
    expect(table).not_to_contain_text(re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d"))
    assert_no_axe_violations(page)
