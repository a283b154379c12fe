"""When the ward Wi-Fi drops: the last board stays readable, and no change is lost silently.

The service worker (/sw.js, static/js/sw.js) keeps the last good copy of each board page it
fetched; static/js/app.js shows #offline-banner and disables saving while the browser is
offline. Playwright's context.set_offline(True) takes the whole context offline, service
worker fetches included, and Chromium fires the window's offline/online events.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from app.models import DailyReview
from tests.browser.helpers import allow_console_errors, assert_no_console_errors, choose_day
from tests.browser.seeding import clear_none_textareas, london_today, patient_names

pytestmark = pytest.mark.browser

BOARD_CACHE = "boardround-boards-v1"
# Offline, the board's event stream (/wards/<code>/events, never cached) cannot connect: Chromium
# logs the failed request, and htmx logs the SSE extension's error event ("[object Event]").
OFFLINE_CONSOLE = (r"net::ERR_INTERNET_DISCONNECTED", r"console\.error: \[object Event\]")


def _service_worker_state(page: Page) -> dict:
    return page.evaluate(
        """async () => {
             const registration = await navigator.serviceWorker.ready;
             return {
               active: registration.active && registration.active.state,
               scope: registration.scope,
               controlled: Boolean(navigator.serviceWorker.controller),
             };
           }"""
    )


def _board_is_cached(page: Page, url: str) -> bool:
    return page.evaluate(
        """async ([name, url]) => {
             const cache = await caches.open(name);
             return Boolean(await cache.match(url, {ignoreVary: true}));
           }""",
        [BOARD_CACHE, url],
    )


def _open_board_with_service_worker(page: Page, board_url: str) -> None:
    """Wait for the worker, reload once so it controls the page, wait for the board's copy."""
    first = _service_worker_state(page)  # resolves once /sw.js has an active worker
    assert first["active"] in ("activating", "activated"), f"service worker not active: {first}"
    page.reload()
    state = _service_worker_state(page)
    assert state["controlled"], f"the service worker does not control the board after a reload: {state}"
    deadline = time.monotonic() + 5
    while not _board_is_cached(page, board_url):
        assert time.monotonic() < deadline, f"the board was not cached by the service worker ({state})"
        page.wait_for_timeout(100)


def _post_buttons(page: Page) -> list[tuple[str, bool]]:
    """(text, disabled) for every submit button of a POST form on the page."""
    return page.evaluate(
        """() => [...document.querySelectorAll('form[method="post"] button[type="submit"], form[method="post"] .nhsuk-button')]
                 .map((b) => [b.textContent.trim().replace(/\\s+/g, " "), b.disabled])"""
    )


def _reviews_today(engine, stay_id: int) -> list[DailyReview]:  # noqa: ANN001
    with Session(engine) as db:
        return list(
            db.exec(
                select(DailyReview).where(DailyReview.stay_id == stay_id, DailyReview.review_date == london_today())
            )
        )


def test_the_last_board_opens_offline_read_only(seed_ward, user_with_password, signed_in_page, browser_engine):
    ward = seed_ward(beds=4, patients=3)
    names = patient_names(browser_engine, ward.stay_ids)
    nurse = user_with_password("nurse", [ward])
    page = signed_in_page(nurse, next_=f"/wards/{ward.code}")
    board_url = page.url
    _open_board_with_service_worker(page, board_url)
    updated = page.locator(".app-updated").inner_text()  # "Updated HH:MM", as served online

    page.context.set_offline(True)
    allow_console_errors(page, *OFFLINE_CONSOLE)
    response = page.reload()
    assert response is not None and response.from_service_worker, "the offline board did not come from the worker"
    assert page.evaluate("() => navigator.onLine") is False

    # The patients are all there, read-only.
    expect(page.get_by_role("heading", level=1)).to_contain_text(ward.name)
    for name in names.values():
        expect(page.locator("#board-rows")).to_contain_text(name)
    banner = page.locator("#offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_attribute("role", "status")
    expect(banner).to_contain_text(re.compile(r"Offline, last updated \d\d:\d\d\."))
    shown = re.search(r"last updated (\d\d:\d\d)", banner.inner_text()).group(1)
    assert updated == f"Updated {shown}", f"banner says {shown}, the cached board says {updated!r}"
    expect(banner).to_contain_text("changes cannot be saved until the connection is back")
    buttons = _post_buttons(page)
    assert buttons, "no form buttons found on the board"
    assert all(disabled for _, disabled in buttons), f"buttons still enabled offline: {buttons}"

    # Back online: the banner goes and the buttons work again.
    page.context.set_offline(False)
    expect(banner).to_have_count(0)
    assert not any(disabled for _, disabled in _post_buttons(page))


def test_a_change_made_while_offline_is_kept_and_saved_when_back_online(
    seed_ward, past_reviews, user_with_password, signed_in_page, browser_engine
):
    ward = seed_ward(beds=3, patients=2)
    past_reviews(ward)
    first, second = ward.stay_ids
    names = patient_names(browser_engine, ward.stay_ids)
    nurse = user_with_password("nurse", [ward])
    page = signed_in_page(nurse, next_=f"/wards/{ward.code}")
    page.get_by_role("button", name="Start midday board round").click()
    page.locator("#start-round").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(names[first])
    step_url = page.url

    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)

    # The nurse answers; then the Wi-Fi drops before they save.
    clear_none_textareas(page)
    choose_day(page, "Red day")  # overrides the answers' green: with a reason
    page.get_by_label("If overriding: why?").fill("No senior review before the round")
    page.get_by_label("If red: why?").select_option(label="No senior review today")
    page.get_by_label("Plan for today").fill("Registrar to review after clinic")
    page.get_by_label("What needs doing (optional)").fill("Ask the registrar")
    page.get_by_label("Who", exact=True).select_option(label="Doctor")
    page.context.set_offline(True)
    allow_console_errors(page, *OFFLINE_CONSOLE)

    banner = page.locator("#offline-banner")
    expect(banner).to_contain_text("changes cannot be saved until the connection is back")
    save = page.locator("#save-patient")
    expect(save).to_be_disabled()
    expect(save).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#no-change")).to_be_disabled()
    expect(page.locator("#skip-patient")).to_be_disabled()
    # A tap on the disabled button, or Enter in a field, sends nothing.
    save.click(force=True)
    page.get_by_label("What needs doing (optional)").press("Enter")
    page.wait_for_timeout(300)
    assert posts == [], f"a request was sent while offline: {posts}"
    assert page.url == step_url
    # Everything typed is still there, and nothing was recorded.
    expect(page.get_by_label("Red day", exact=True)).to_be_checked()
    expect(page.get_by_label("If red: why?")).to_have_value("no_senior_review")
    expect(page.get_by_label("Plan for today")).to_have_value("Registrar to review after clinic")
    expect(page.get_by_label("What needs doing (optional)")).to_have_value("Ask the registrar")
    assert _reviews_today(browser_engine, first) == []

    # The connection comes back, but the first attempt still fails on the way (the browser
    # thinks it is online): the user is told nothing was saved, and keeps their answers.
    page.context.set_offline(False)
    expect(banner).to_have_count(0)
    expect(save).to_be_enabled()
    page.context.route(re.compile(rf"/rounds/\d+/stays/{first}$"), lambda route: route.abort("internetdisconnected"))
    # Chromium logs the aborted request; htmx logs its sendError and the failed afterRequest.
    allow_console_errors(page, r"net::ERR_INTERNET_DISCONNECTED", r"console\.error: htmx:(sendError|afterRequest),")
    save.click()
    problem = page.locator("#flash .nhsuk-error-summary")
    expect(problem).to_contain_text("could not reach the server, so nothing was saved")
    expect(problem).to_be_focused()
    assert page.url == step_url
    expect(page.get_by_label("Plan for today")).to_have_value("Registrar to review after clinic")
    expect(page.get_by_label("Red day", exact=True)).to_be_checked()
    expect(save).to_be_enabled()
    assert _reviews_today(browser_engine, first) == []

    # Properly back: the same answers save, and the round moves on.
    page.context.unroute_all()
    save.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(names[second])
    (review,) = _reviews_today(browser_engine, first)
    assert (review.day_status, review.red_day_reason_code, review.plan) == (
        "red",
        "no_senior_review",
        "Registrar to review after clinic",
    )
    assert_no_console_errors(page)
