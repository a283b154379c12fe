"""Assertions and small actions for browser tests (Playwright, sync API).

Import what you need in a test module:

    from tests.browser.helpers import assert_no_axe_violations, assert_no_console_errors

Every page the fixtures in tests/browser/conftest.py open is already watched for console
errors, uncaught exceptions and Content Security Policy violations (see `watch_page`), and
the fixture checks them when the test ends; `assert_no_console_errors` checks them at a
point of your choosing, with a readable message.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.pages import PASSWORD

__all__ = [
    "AXE_URL",
    "BEST_PRACTICE_TAGS",
    "PASSWORD",
    "TOUCH_TARGETS",
    "VIEWPORTS",
    "WCAG_TAGS",
    "allow_console_errors",
    "assert_no_axe_violations",
    "assert_no_console_errors",
    "assert_no_horizontal_scroll",
    "assert_nothing_overlaps_controls",
    "assert_touch_targets",
    "axe_violations",
    "path_of",
    "sign_in",
]

# Tablet on a ward trolley (the main device) and the smallest phone we support (WCAG 1.4.10
# reflow: 320 CSS px wide without scrolling sideways).
VIEWPORTS: dict[str, dict[str, int]] = {
    "tablet": {"width": 1024, "height": 768},
    "phone": {"width": 320, "height": 640},
    "portrait": {"width": 768, "height": 1024},  # the same tablet turned upright
    "small-phone": {"width": 375, "height": 812},
}

# Same-origin URL of the vendored axe-core: allowed by the app's CSP (script-src 'self'),
# unlike an inline <script>. Only the tests load it; no page links it.
AXE_URL = "/static/vendor/axe-core-4.14.1/axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe has no wcag22a tag: 2.2 added no A rule axe tests).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BEST_PRACTICE_TAGS = ["best-practice"]

# Controls that must be at least 44 x 44 CSS px (see assert_touch_targets).
TOUCH_TARGETS = "main a, main button, main input[type=submit], header button"


# --------------------------------------------------------------------------------------------
# Console errors and CSP violations
# --------------------------------------------------------------------------------------------

_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const report = {
    directive: event.effectiveDirective || event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
    page: document.location.href,
  };
  if (typeof window.__boardroundCspViolation === "function") {
    window.__boardroundCspViolation(JSON.stringify(report));
  }
}, true);
"""


# Chromium logs "Failed to load resource" for every 4xx/5xx response, the page's own included.
# 422 (a form with errors, re-rendered) and 409 (a conflict panel) are answers the app gives
# on purpose and htmx swaps in (see responseHandling in templates/layout.html); any other
# status is still an error.
EXPECTED_CONSOLE = [re.compile(r"Failed to load resource: the server responded with a status of (409|422)\b")]


@dataclass
class PageWatch:
    """Everything a page said went wrong: console errors, uncaught exceptions, CSP violations."""

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=lambda: list(EXPECTED_CONSOLE))

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]


_watches: dict[Page, PageWatch] = {}


def watch_context(context: BrowserContext) -> None:
    """Watch every page the context opens (the fixtures call this for you)."""

    def on_csp(source: dict, payload: str) -> None:
        page = source.get("page")
        if page is not None:
            report = json.loads(payload)
            _watch(page).problems.append(
                f"CSP violation: {report['directive']} blocked {report['blocked'] or '(inline)'}"
                f" at {report['source'] or report['page']}:{report['line']}"
                + (f" sample={report['sample']!r}" if report.get("sample") else "")
            )

    context.expose_binding("__boardroundCspViolation", on_csp)
    context.add_init_script(_CSP_LISTENER)
    context.on("page", watch_page)


def watch_page(page: Page) -> PageWatch:
    """Start recording console errors and uncaught exceptions for one page."""
    if page in _watches:
        return _watches[page]
    watch = _watches[page] = PageWatch()

    def on_console(message: ConsoleMessage) -> None:
        if message.type in {"error", "assert"}:
            where = message.location or {}
            url = where.get("url") or page.url
            watch.problems.append(f"console.{message.type}: {message.text} ({url}:{where.get('lineNumber', '?')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.problems.append(f"uncaught {error.name}: {error.message}"))
    return watch


def _watch(page: Page) -> PageWatch:
    return _watches.get(page) or watch_page(page)


def forget(page: Page) -> PageWatch | None:
    return _watches.pop(page, None)


def allow_console_errors(page: Page, *patterns: str) -> None:
    """Accept console errors matching these regular expressions (all of them if none given).

    For a test that provokes an error on purpose; say why in a comment.
    """
    _watch(page).allowed.extend(re.compile(p) for p in (patterns or [".*"]))


def console_problems(page: Page) -> list[str]:
    return _watch(page).unexpected()


def assert_no_console_errors(page: Page) -> None:
    """Fail if the page logged an error, threw, or had something blocked by the CSP.

    A script the CSP blocks shows up twice (a console error and a CSP violation): that is
    how a test notices that, say, an inline script or an onclick attribute slipped in.
    """
    problems = console_problems(page)
    if problems:
        raise AssertionError(
            f"{len(problems)} browser error(s) on {page.url}:\n" + "\n".join(f"  - {p}" for p in problems)
        )


# --------------------------------------------------------------------------------------------
# Accessibility (axe-core)
# --------------------------------------------------------------------------------------------


def axe_violations(page: Page, *, tags: Iterable[str], context: object = None) -> list[dict]:
    """Run the vendored axe-core on the page as it is now; return its violations."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE_URL)
    options = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
    results = page.evaluate(
        "async ([context, options]) => await window.axe.run(context || document, options)", [context, options]
    )
    return results["violations"]


def _describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"  - {v['id']} [{v.get('impact')}]: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:10]:
            target = " ".join(json.dumps(t) if not isinstance(t, str) else t for t in node["target"])
            html = re.sub(r"\s+", " ", node.get("html", ""))[:160]
            summary = re.sub(r"\s+", " ", node.get("failureSummary") or "")[:300]
            lines.append(f"      {target}\n        html: {html}\n        why: {summary}")
        if len(v["nodes"]) > 10:
            lines.append(f"      ... and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


# Accepted on every page, with the reason. Keys: "rule" (everywhere) or "rule@target" (one
# element: axe's first target selector, exactly as axe reports it).
ACCEPTED_AXE: dict[str, str] = {
    # Best practice, not WCAG: the NHS page template puts the back link (beforeContent) above
    # <main>, outside any landmark, as the NHS design system shows it.
    "region@.nhsuk-back-link": "NHS layout: back link above <main>",
}


def _accepted(violations: list[dict], ignore: Mapping[str, str]) -> list[dict]:
    """Drop the ignored rules and the ignored nodes; keep violations that still have nodes."""
    kept = []
    for v in violations:
        if v["id"] in ignore:
            continue
        nodes = [n for n in v["nodes"] if f"{v['id']}@{n['target'][0] if n['target'] else ''}" not in ignore]
        if nodes:
            kept.append(v | {"nodes": nodes})
    return kept


def assert_no_axe_violations(
    page: Page,
    *,
    context: object = None,
    best_practice: bool = True,
    ignore: Mapping[str, str] | None = None,
) -> None:
    """Fail with a readable list if axe-core finds WCAG 2.2 A/AA (or best-practice) violations.

    Runs the WCAG 2.0/2.1/2.2 A and AA rules and axe's best-practice rules, and reports them in
    separate sections so it is clear which is a WCAG failure.
    context: an axe context (a selector, or {"include": [...], "exclude": [...]}); default the page.
    best_practice: False to run only the WCAG rules.
    ignore: {"rule" or "rule@target": reason} for a known, accepted exception (added to
    ACCEPTED_AXE); the reason is required.
    """
    ignore = ACCEPTED_AXE | dict(ignore or {})
    for rule, reason in ignore.items():
        assert reason.strip(), f"say why axe rule {rule!r} is ignored"
    viewport = page.viewport_size or {}
    where = f"{page.url} ({viewport.get('width')}x{viewport.get('height')})"
    # One axe run for both sets of rules (it is the slow part); sorted apart by their tags.
    tags = WCAG_TAGS + (BEST_PRACTICE_TAGS if best_practice else [])
    found = _accepted(axe_violations(page, tags=tags, context=context), ignore)
    wcag = [v for v in found if set(v["tags"]) & set(WCAG_TAGS)]
    practice = [v for v in found if v not in wcag]
    sections = []
    if wcag:
        sections.append(f"WCAG 2.2 A/AA violations ({len(wcag)}):\n{_describe(wcag)}")
    if practice:
        sections.append(f"axe best-practice violations ({len(practice)}):\n{_describe(practice)}")
    if sections:
        raise AssertionError(f"axe-core found problems on {where}:\n" + "\n".join(sections))


# --------------------------------------------------------------------------------------------
# Layout: target size and reflow
# --------------------------------------------------------------------------------------------

_MEASURE_TARGETS = """
([selector, minSize, known]) => {
  const blockOf = (el) => {
    let node = el.parentElement;
    while (node && getComputedStyle(node).display.startsWith("inline")) node = node.parentElement;
    return node || document.body;
  };
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    for (const c of el.classList) name += "." + c;
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().replace(/\\s+/g, " ");
    return name + (text ? ` "${text.slice(0, 40)}"` : "");
  };
  const small = [];
  const knownSeen = {};
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    // Not rendered, or visually hidden (clipped to 1px for screen readers only).
    if (!el.getClientRects().length || style.visibility === "hidden" || box.width <= 1 || box.height <= 1) continue;
    // WCAG 2.5.8 exception: a link inside a sentence, sized by the line height of the text.
    if (el.tagName === "A" && style.display === "inline") {
      const block = blockOf(el);
      const around = (block.textContent || "").replace(el.textContent || "", "").trim();
      if (around.length > 0) continue;
    }
    const tooSmall = box.width < minSize || box.height < minSize;
    const knownAs = known.find((k) => el.matches(k)) || null;
    if (knownAs) knownSeen[knownAs] = (knownSeen[knownAs] || false) || tooSmall;
    if (tooSmall && !knownAs) {
      small.push(`${describe(el)}: ${Math.round(box.width * 10) / 10} x ${Math.round(box.height * 10) / 10}`);
    }
  }
  const fixed = Object.entries(knownSeen).filter(([, stillSmall]) => !stillSmall).map(([k]) => k);
  return {small, fixed};
}
"""


def assert_touch_targets(
    page: Page, selector: str = TOUCH_TARGETS, min_size: int = 44, known: Mapping[str, str] | None = None
) -> None:
    """Every visible control matched by `selector` is at least min_size x min_size CSS px.

    Rule (docs/testing.md): buttons, submit inputs and standalone links (a link alone in
    its block: a list item, a table cell, a paragraph of its own) must be 44 x 44, for
    gloved fingers on ward tablets (WCAG 2.5.5 AAA size, stricter than 2.5.8's 24 px).
    Links inside a sentence are exempt, as WCAG 2.5.8 allows for inline targets.

    known: {css selector: reason} for reported, not yet fixed, small controls. Strict: once a
    matching control on the page is big enough, the entry must be removed.
    """
    known = dict(known or {})
    result = page.evaluate(_MEASURE_TARGETS, [selector, min_size, list(known)])
    problems = [f"  - {s}" for s in result["small"]]
    problems += [f"  - {k}: now {min_size}px or more, remove it from the known small targets" for k in result["fixed"]]
    if problems:
        raise AssertionError(
            f"touch targets on {page.url} (minimum {min_size}x{min_size} CSS px):\n" + "\n".join(problems)
        )


def assert_no_horizontal_scroll(page: Page) -> None:
    """The page fits the viewport's width (WCAG 1.4.10 reflow at 320 CSS px)."""
    width = (page.viewport_size or {})["width"]
    # After a viewport change the NHS header moves overflowing links into its "More" menu on the
    # next animation frame; give layout a moment to settle before judging.
    try:
        page.wait_for_function("(w) => document.documentElement.scrollWidth <= w", arg=width, timeout=2_000)
    except PlaywrightTimeoutError:
        pass
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll > width:
        wide = page.evaluate(
            """(width) => [...document.querySelectorAll("body *")]
                 .filter((el) => el.getBoundingClientRect().right > width + 0.5
                   || (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === "visible"))
                 .slice(0, 8)
                 .map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
                      + [...el.classList].map((c) => "." + c).join("")
                      + " right=" + Math.round(el.getBoundingClientRect().right))""",
            width,
        )
        raise AssertionError(f"{page.url} scrolls sideways at {width}px: scrollWidth={scroll}; too wide: {wide}")


# Everything a finger or a keyboard can act on.
INTERACTIVE = (
    "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    "[tabindex]:not([tabindex='-1']), [role=button], [contenteditable=true]"
)

_OVERLAPPED_CONTROLS = """
(selector) => {
  const describe = (el) => {
    if (!el) return "nothing";
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    if (el.name) name += `[name=${el.name}]`;
    for (const c of el.classList) name += "." + c;
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().replace(/\\s+/g, " ");
    return name + (text ? ` "${text.slice(0, 40)}"` : "");
  };
  const problems = [];
  const before = [window.scrollX, window.scrollY];
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    if (!el.getClientRects().length || style.visibility === "hidden" || el.closest("[inert]")) continue;
    const closed = el.closest("details:not([open])");
    if (closed && !(el.tagName === "SUMMARY" && el.parentElement === closed)) continue;  // not shown until opened
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;  // visually hidden (a skip link until focused)
    // Scrolled to the top edge, the middle and the bottom edge of the screen in turn: where a
    // sticky header, a floating button or a sticky footer would sit over it.
    for (const block of ["start", "center", "end"]) {
      el.scrollIntoView({block, inline: "center", behavior: "instant"});
      // A link wrapped over two lines has a box per line: the centre of each.
      const boxes = [...el.getClientRects()].filter((r) => r.width > 1 && r.height > 1);
      const centres = boxes.map((r) => [r.left + r.width / 2, r.top + r.height / 2]);
      const inView = centres.filter(([x, y]) => x >= 0 && y >= 0 && x < window.innerWidth && y < window.innerHeight);
      if (!inView.length) {
        problems.push(`${describe(el)}: its centre cannot be scrolled into view`);
        break;
      }
      let hit = null;
      const own = inView.some(([x, y]) => {
        hit = document.elementFromPoint(x, y);
        return hit && (hit === el || el.contains(hit) || [...(el.labels || [])].some((l) => l === hit || l.contains(hit)));
      });
      if (!own) {
        problems.push(`${describe(el)} is covered at its centre by ${describe(hit)} (scrolled to the ${block})`);
        break;
      }
    }
  }
  window.scrollTo(before[0], before[1]);
  return problems;
}
"""


def assert_nothing_overlaps_controls(page: Page, selector: str = INTERACTIVE) -> None:
    """No control is covered by anything: for every visible interactive element, scrolled into
    view in turn (centred where the page allows), document.elementFromPoint at its centre is the
    element itself, something inside it, or its own label. A floating button, a sticky bar or a
    menu left open over a form fails this: a tap there would land on something else."""
    problems = page.evaluate(_OVERLAPPED_CONTROLS, selector)
    if problems:
        size = page.viewport_size or {}
        raise AssertionError(
            f"controls covered on {page.url} at {size.get('width')}x{size.get('height')}:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


# --------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def sign_in(page: Page, username: str, password: str = PASSWORD, next_: str | None = None) -> None:
    """Sign in through the real sign-in page; fail with the page's error summary if refused."""
    page.goto("/sign-in" + (f"?{urlencode({'next': next_})}" if next_ else ""))
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    if path_of(page) == "/sign-in":
        summary = page.locator(".nhsuk-error-summary")
        message = summary.inner_text() if summary.count() else page.title()
        raise AssertionError(f"could not sign in as {username!r}: {message}")


# --------------------------------------------------------------------------------------------
# Harness internals: Playwright's event loop
# --------------------------------------------------------------------------------------------
# Playwright's sync API runs its asyncio loop in a greenlet on this thread and, between its
# calls, leaves that loop marked as the thread's running loop. With one browser for the whole
# session, every later test on the same worker would see a running loop, and asyncio.run()
# (which other tests use) would fail. So conftest marks the loop as running only while a
# browser test runs (its pytest_runtest_protocol hook) and while the browser is being closed.

_playwright_loop: asyncio.AbstractEventLoop | None = None


def adopt_playwright_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    global _playwright_loop
    _playwright_loop = loop


def hold_playwright_loop() -> None:
    if _playwright_loop is not None and not _playwright_loop.is_closed():
        asyncio._set_running_loop(_playwright_loop)


def release_playwright_loop() -> None:
    if _playwright_loop is not None and asyncio._get_running_loop() is _playwright_loop:
        asyncio._set_running_loop(None)
