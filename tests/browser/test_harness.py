"""The browser test helpers catch what they claim to catch.

These pages are served by Playwright's router under the app's real Content Security Policy,
not by the app, so they run once (no database, no server) and can break rules on purpose.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.web.security import content_security_policy
from app.web.static_files import STATIC_DIR
from tests.browser import helpers

pytestmark = pytest.mark.browser

ORIGIN = "http://boardround.test"
NONCE = "harness-nonce"


@pytest.fixture
def fake_site(chromium):
    """page(html) -> Page showing `html` at ORIGIN/ with the app's CSP; /static/ is served from disk."""
    context = chromium.new_context(base_url=ORIGIN, viewport=helpers.VIEWPORTS["tablet"])
    context.set_default_timeout(10_000)
    helpers.watch_context(context)

    def static(route) -> None:  # noqa: ANN001
        file = Path(STATIC_DIR, route.request.url.split("/static/", 1)[1].split("?", 1)[0])
        if file.is_file():
            route.fulfill(path=file)
        else:
            route.fulfill(status=404, body="not found")

    context.route(f"{ORIGIN}/static/**", static)

    def open_page(body: str):  # noqa: ANN202
        html = (
            f'<!doctype html><html lang="en"><head><title>Harness</title></head><body><main>{body}</main></body></html>'
        )
        context.route(
            f"{ORIGIN}/",
            lambda route: route.fulfill(
                body=html,
                content_type="text/html",
                headers={"content-security-policy": content_security_policy(NONCE)},
            ),
        )
        page = context.new_page()
        page.goto("/")
        return page

    yield open_page
    for page in context.pages:
        helpers.forget(page)
    context.close()


def test_the_browser_marker_is_on_every_test_here(request):
    assert request.node.get_closest_marker("browser") is not None


def test_other_tests_can_use_asyncio_between_browser_tests(chromium):
    # During a browser test Playwright's loop counts as running on this thread ...
    assert asyncio.get_running_loop() is not None
    # ... and between browser tests (conftest's pytest_runtest_protocol) it does not, so a
    # test that calls asyncio.run() works, whatever ran before it on this worker.
    helpers.release_playwright_loop()
    try:
        assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
    finally:
        helpers.hold_playwright_loop()
    assert chromium.new_context().pages == []  # and Playwright still works


def test_a_script_blocked_by_the_csp_is_reported(fake_site):
    page = fake_site(f'<h1>Hi</h1><script>window.inline = 1</script><script nonce="{NONCE}">window.ok = 1</script>')
    assert page.evaluate("() => [window.inline, window.ok]") == [None, 1]
    page.wait_for_timeout(100)  # the violation report reaches Python asynchronously
    with pytest.raises(AssertionError, match=r"CSP violation: script-src-elem blocked inline") as failure:
        helpers.assert_no_console_errors(page)
    assert "browser error(s) on http://boardround.test/" in str(failure.value)


def test_uncaught_exceptions_and_console_errors_are_reported(fake_site):
    page = fake_site("<h1>Hi</h1>")
    page.add_script_tag(url="/static/vendor/axe-core-4.14.1/axe.min.js")  # same origin: allowed
    page.evaluate("() => { console.error('boom'); setTimeout(() => { throw new Error('kaboom'); }); }")
    page.wait_for_timeout(100)
    with pytest.raises(AssertionError) as failure:
        helpers.assert_no_console_errors(page)
    assert "console.error: boom" in str(failure.value) and "kaboom" in str(failure.value)
    helpers.allow_console_errors(page, "boom")
    helpers.assert_no_console_errors(page)


def test_axe_violations_name_the_rule_and_the_element(fake_site):
    page = fake_site('<h1>Hi</h1><img id="scan" src="/static/nothing.png"><button id="blank"></button>')
    helpers.allow_console_errors(page, "Failed to load resource")  # the missing image
    with pytest.raises(AssertionError) as failure:
        helpers.assert_no_axe_violations(page)
    message = str(failure.value)
    assert "WCAG 2.2 A/AA violations (2)" in message
    assert "image-alt [critical]" in message and "#scan" in message
    assert "button-name [critical]" in message and "#blank" in message
    helpers.assert_no_axe_violations(
        page, ignore={"image-alt": "testing ignore", "button-name@#blank": "just this one"}
    )


def test_touch_targets_exempt_links_in_sentences_only(fake_site):
    page = fake_site(
        '<h1>Hi</h1><p>Read <a href="#a">the policy</a> first.</p>'
        '<p><a id="alone" href="#b">Standalone</a></p>'
        '<button id="tiny">x</button>'
        '<textarea rows="10" cols="40" aria-label="Notes"></textarea>'
    )
    with pytest.raises(AssertionError) as failure:
        helpers.assert_touch_targets(page)
    message = str(failure.value)
    assert 'a#alone "Standalone"' in message and 'button#tiny "x"' in message
    assert "the policy" not in message
    with pytest.raises(AssertionError, match="remove it from the known small targets"):
        helpers.assert_touch_targets(page, selector="main textarea", known={"textarea": "it is big enough"})


def test_horizontal_scroll_is_reported(fake_site):
    page = fake_site('<h1>Hi</h1><pre id="wide">' + "x" * 400 + "</pre>")
    with pytest.raises(AssertionError, match=r"scrolls sideways at 1024px.*pre#wide"):
        helpers.assert_no_horizontal_scroll(page)
