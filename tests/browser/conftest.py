"""Real headless Chromium against a real uvicorn process, on SQLite and on PostgreSQL.

Unlike the rest of the suite (one transaction per test, rolled back), browser tests need
committed data that a separate server process can read, several browser contexts at once and,
later, server-sent events. So, per pytest session (per xdist worker) and per backend:

- a fresh database named "browser", built by the Alembic migrations (tests/dbs.py);
- the app in a uvicorn subprocess on a free port, pointed at that database;
- one Chromium (Debian's /usr/bin/chromium, never a downloaded one) for the whole session,
  with a new browser context per page a test opens.

Tests write their rows through the real services and commit (`seed_ward`,
`user_with_password`); every ward code and username carries a uuid suffix, so tests never
see each other's data and nothing is wiped. Every test here is marked `browser`. Without
Chromium the tests skip, and with CI=true they fail instead: CI must never skip them
silently. docs/testing.md has the how-to.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.models import Ward
from tests import factories
from tests.browser import helpers
from tests.dbs import build_engine, in_ci, migrate
from tests.pages import PASSWORD
from tests.servers import LiveServer, start_server, stop_server

# Debian's Chromium (apt-get install chromium); never a browser Playwright downloads. The
# variable exists to point at another build, or at nothing to try the skip/fail path.
CHROMIUM = os.environ.get("BOARDROUND_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
# Fail fast: a locator that has not matched in 10 s will not match.
TIMEOUT_MS = 10_000

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------------------------
# Marker and failure reports
# --------------------------------------------------------------------------------------------


def _is_browser_item(item: pytest.Item) -> bool:
    return Path(item.path).resolve().is_relative_to(HERE)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: the marker must be on before `-m browser` / `-m "not browser"` deselects.
    for item in items:
        if _is_browser_item(item):
            item.add_marker(pytest.mark.browser)


_LOG_OFFSET = pytest.StashKey[int]()
_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    """On a failure, attach what the browser and the server saw (pages are still open here)."""
    report = yield
    if report.when == "call" and report.failed and _is_browser_item(item):
        item.stash[_CALL_FAILED] = True
        pages = item.funcargs.get("browser_pages")
        if isinstance(pages, BrowserPages):
            report.sections.append(("browser", pages.describe_for_failure(item)))
        server = item.funcargs.get("app_server")
        if isinstance(server, LiveServer):
            report.sections.append(("server log (this test)", server.log_since(item.stash.get(_LOG_OFFSET, 0))))
    return report


# --------------------------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------------------------


def _skip_or_fail(message: str) -> None:
    if in_ci():
        pytest.fail(f"{message} (CI=true: browser tests must run, not skip)", pytrace=False)
    pytest.skip(f"{message} (with CI=true this is a failure)")


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        _skip_or_fail(f"{CHROMIUM} is not installed: apt-get install chromium")
    return CHROMIUM


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # noqa: ANN201
    if not _is_browser_item(item):
        return (yield)
    # See helpers.hold_playwright_loop: Playwright's loop counts as running only in browser tests.
    helpers.hold_playwright_loop()
    try:
        return (yield)
    finally:
        helpers.release_playwright_loop()


@pytest.fixture(scope="session")
def chromium(chromium_executable: str):  # noqa: ANN201
    """One headless Chromium for the session (per xdist worker); tests open contexts on it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        helpers.adopt_playwright_loop(asyncio.get_running_loop())
        browser = playwright.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        helpers.hold_playwright_loop()  # the session may end in the teardown of a test that is not a browser test
        browser.close()
    helpers.adopt_playwright_loop(None)


# --------------------------------------------------------------------------------------------
# Database and server (per session and backend; `backend` comes from tests/conftest.py)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A fresh, migrated database with committed data, shared with the server process."""
    engine = build_engine(backend, tmp_path_factory.mktemp(f"browser-{backend}"), "browser")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app_server(browser_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app in its own uvicorn process (real HTTP, real middleware, real clock)."""
    url = browser_engine.url.render_as_string(hide_password=False)
    log_path = tmp_path_factory.mktemp("browser-server") / f"uvicorn-{browser_engine.dialect.name}.log"
    server = start_server(url, log_path)
    yield server
    stop_server(server.process)


@pytest.fixture
def base_url(app_server: LiveServer, request: pytest.FixtureRequest) -> str:
    request.node.stash[_LOG_OFFSET] = app_server.log_size()
    return app_server.base_url


# --------------------------------------------------------------------------------------------
# Committed test data, written through the real services
# --------------------------------------------------------------------------------------------


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class SeededWard:
    id: int
    code: str
    name: str
    site_id: int
    bed_ids: list[int] = field(default_factory=list)
    patient_ids: list[int] = field(default_factory=list)
    stay_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class SeededUser:
    id: int
    username: str
    display_name: str
    role: str
    ward_ids: list[int]
    password: str = PASSWORD


@pytest.fixture
def seed_ward(browser_engine: Engine) -> Callable[..., SeededWard]:
    """seed_ward(beds=4, patients=0, *, name=None, specialty="Medicine") -> SeededWard (committed).

    A new site and ward with `beds` open beds; `patients` patients admitted three days ago,
    one per bed in order (any beyond the beds are admitted without a bed). The admissions are
    made by a ward manager created for the purpose ("Seed Data", no password), so the audit
    trail has a real actor.
    """

    def make(beds: int = 4, patients: int = 0, *, name: str | None = None, specialty: str = "Medicine") -> SeededWard:
        suffix = _suffix()
        now = datetime.now(UTC)
        with Session(browser_engine, expire_on_commit=False) as db:
            site = factories.make_site(db, code=f"S{suffix}")
            ward = factories.make_ward(db, site=site, beds=beds, code=f"W-{suffix}", specialty=specialty)
            ward.name = name or f"Ward {suffix}"
            seeder = factories.make_user(
                db, "ward_manager", wards=[ward], username=f"seed-{suffix}", display_name="Seed Data"
            )
            actor = factories.principal(db, seeder)
            bed_rows = factories.beds_of(db, ward)
            stays = [
                factories.make_stay(db, actor, ward, bed_rows[i] if i < len(bed_rows) else None, now=now)
                for i in range(patients)
            ]
            db.commit()
            return SeededWard(
                id=ward.id,
                code=ward.code,
                name=ward.name,
                site_id=site.id,
                bed_ids=[b.id for b in bed_rows],
                patient_ids=[s.patient_id for s in stays],
                stay_ids=[s.id for s in stays],
            )

    return make


@pytest.fixture
def user_with_password(browser_engine: Engine, password_hash: str) -> Callable[..., SeededUser]:
    """user_with_password(role="nurse", wards=(), *, display_name=None) -> SeededUser (committed).

    wards: SeededWard objects or ward ids. The password is tests.pages.PASSWORD (its Argon2
    hash is computed once per session by the `password_hash` fixture in tests/conftest.py).
    """

    def make(role: str = "nurse", wards: Iterable[SeededWard | int] = (), *, display_name: str | None = None):
        suffix = _suffix()
        with Session(browser_engine, expire_on_commit=False) as db:
            ward_rows = [db.get(Ward, w if isinstance(w, int) else w.id) for w in wards]
            assert all(ward_rows), f"no such ward among {wards!r}"
            user = factories.make_user(
                db,
                role,
                wards=ward_rows,
                username=f"{role.replace('_', '-')}-{suffix}",
                display_name=display_name or f"{role.replace('_', ' ').title()} {suffix}",
                password_hash=password_hash,
            )
            db.commit()
            return SeededUser(
                id=user.id,
                username=user.username,
                display_name=user.display_name,
                role=role,
                ward_ids=[w.id for w in ward_rows],
            )

    return make


@pytest.fixture
def past_reviews(browser_engine: Engine) -> Callable[..., list]:
    """past_reviews(ward, stay_ids=None, *, days_ago=1, meets=True, delay_reason_code=None,
    day_status=None (derived), edd_in_days=2, plan=...) -> [seeding.PastReview] (committed).

    Reviews recorded `days_ago` days ago (and a first EDD) for the ward's stays (all of them
    by default), through the real services: see tests/browser/seeding.py.
    """
    from tests.browser import seeding

    def make(ward: SeededWard, stay_ids: Iterable[int] | None = None, **options) -> list:
        ids = list(ward.stay_ids if stay_ids is None else stay_ids)
        return seeding.record_past_reviews(browser_engine, ward.id, ids, **options)

    return make


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


class BrowserPages:
    """The browser contexts one test opened; closed, and checked for console errors, at the end."""

    def __init__(self, chromium, base_url: str, artifacts: Path) -> None:  # noqa: ANN001
        self.chromium = chromium
        self.base_url = base_url
        self.artifacts = artifacts
        self.contexts: list = []

    def new_page(self, viewport: str | dict = "tablet", **context_options):  # noqa: ANN201
        size = helpers.VIEWPORTS[viewport] if isinstance(viewport, str) else viewport
        options = {
            "base_url": self.base_url,
            "viewport": size,
            "locale": "en-GB",
            "timezone_id": "Europe/London",
            "reduced_motion": "reduce",
            # Tablets and phones have touch screens; keeps `tap()` available.
            "has_touch": True,
        } | context_options
        context = self.chromium.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        helpers.watch_context(context)
        self.contexts.append(context)
        return context.new_page()

    def pages(self) -> list:
        return [page for context in self.contexts for page in context.pages]

    def describe_for_failure(self, item: pytest.Item) -> str:
        lines = []
        name = re.sub(r"[^\w.-]+", "_", item.nodeid)[-150:]
        for n, page in enumerate(self.pages()):
            lines.append(f"page {n}: {page.url} viewport={page.viewport_size}")
            try:
                shot = self.artifacts / f"{name}-{n}.png"
                page.screenshot(path=shot, full_page=True)
                lines.append(f"  screenshot: {shot}")
            except Exception as exc:  # noqa: BLE001 - a failed screenshot must not hide the real failure
                lines.append(f"  (no screenshot: {exc})")
            lines.extend(f"  {p}" for p in helpers.console_problems(page))
        return "\n".join(lines) or "(no pages open)"

    def close(self) -> list[str]:
        problems: list[str] = []
        for page in self.pages():
            problems.extend(f"{page.url}: {p}" for p in helpers.console_problems(page))
            helpers.forget(page)
        for context in self.contexts:
            context.close()
        self.contexts.clear()
        return problems


@pytest.fixture
def browser_pages(
    chromium, base_url: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[BrowserPages]:  # noqa: ANN001
    artifacts = tmp_path_factory.getbasetemp() / "browser-failures"
    artifacts.mkdir(exist_ok=True)
    pages = BrowserPages(chromium, base_url, artifacts)
    yield pages
    problems = pages.close()
    # A failed test already says what went wrong; otherwise unchecked browser errors fail it here.
    if problems and not request.node.stash.get(_CALL_FAILED, False):
        pytest.fail(
            "browser errors the test did not check (call helpers.allow_console_errors(page, ...) if expected):\n"
            + "\n".join(f"  - {p}" for p in problems),
            pytrace=False,
        )


@pytest.fixture
def new_page(browser_pages: BrowserPages) -> Callable[..., object]:
    """new_page(viewport="tablet" | "phone" | {"width": .., "height": ..}, **context_options) -> Page.

    A signed-out page in a new browser context (its own cookies), base_url set to the server.
    """
    return browser_pages.new_page


@pytest.fixture
def signed_in_page(browser_pages: BrowserPages) -> Callable[..., object]:
    """signed_in_page(user, viewport="tablet", next_=None) -> Page, signed in through /sign-in.

    user: a SeededUser from `user_with_password` (or anything with .username and .password).
    """

    def make(user, viewport: str | dict = "tablet", next_: str | None = None):  # noqa: ANN001, ANN202
        page = browser_pages.new_page(viewport)
        helpers.sign_in(page, user.username, getattr(user, "password", PASSWORD), next_=next_)
        return page

    return make
