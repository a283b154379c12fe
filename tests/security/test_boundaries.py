"""No boundary value in any input of any HTML page or form is a server error.

Walks the app's route table (the same one PAGES in test_permissions.py classifies): every GET
page with each query parameter it declares, takes from its own filter form or links, or reads by
hand (HAND_READ), and each path parameter; every POST form found on those pages, filled in as a
person would, with each field in turn set to each value of tests/boundaries.TEXT_VALUES, left
out altogether, and (for a choice: a select, radio or checkbox) set to a code no list has. A bad
value must answer 4xx as an HTML page (a form re-rendered with its message, or an error page),
never 5xx and never JSON. Each request is rolled back, so each meets the same records.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest

from app.auth.permissions import Perm
from app.core.clock import london_date
from tests import factories
from tests.boundaries import (
    TEXT_VALUES,
    declared_query_params,
    forms_in,
    links_in,
    matcher,
    path_params,
    rolled_back,
    route_for,
    route_table,
)
from tests.pages import Browser
from tests.security.test_permissions import PAGES, PUBLIC

# Query parameters views read from request.query_params themselves, outside any form or link.
HAND_READ = {
    "/failed-discharges": ["done"],
    "/failed-discharges/new": ["ward"],
    "/stays/{stay_id}/edd": ["failed_discharge"],
}
# Routes whose inputs go through the same parser as another route's (named in the comment):
# fields the other route also has are walked there with every value, and here with one each.
SAME_PARSER = {
    ("POST", "/rounds/{round_id}/stays/{stay_id}"): "/stays/{stay_id}",  # app.views.round_step.apply_form
    ("POST", "/failed-discharges/new"): "/stays/{stay_id}/failed-discharges/new",  # FailedDischargeForm
    ("GET", "/failed-discharges.csv"): "/failed-discharges",  # discharges.views._filters
    ("GET", "/failed-discharges/causes.csv"): "/failed-discharges/causes",  # discharges.views._chart_data
    ("GET", "/metrics/table"): "/metrics",  # metrics.views._filter
    ("GET", "/metrics/csv"): "/metrics",
    ("GET", "/escalations/items"): "/escalations",  # escalations.views._ladder_context
    ("GET", "/wards/{code}/rows"): "/wards/{code}",  # wards.views._board_context
    ("GET", "/wards/{code}/display"): "/wards/{code}",
}
UNKNOWN_CODE = "no-such-code"
CHOICES = ("select", "radio", "checkbox")
REFUSED_AS_FILLED = {
    "/sign-in": "no account is called Test; the fields still reach the lookup and the hash",
    "/beds/{bed_id}/admit": "Test is not an NHS number (its check digit is checked); every field is still parsed",
    "/wards/{code}/ward-list": "the walker uploads no file: the page asks for one (uploads: tests/stays/test_day_one_pages.py)",
}
EXEMPT_POSTS = {
    "/sign-out": "ends the browser's session and takes no fields (tests/auth)",
    "/auth/oidc/back-channel-logout": "the identity provider's call, no page's form: its one field is a signed "
    "token (tests/auth/test_oidc_provider.py)",
    "/wards/{code}/ward-list/apply": "shown only after an uploaded file's preview; its fields are walked in "
    "tests/stays/test_day_one_pages.py",
}
STREAMS = ("/events",)  # server-sent events: never end, no inputs but the ward code (typed PathCode)


def _check(r: httpx.Response, what: tuple) -> None:
    assert r.status_code < 500, (*what, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert "json" not in r.headers.get("content-type", ""), (*what, r.status_code, "JSON on an HTML route")


def _values(method: str, path: str, name: str, walked: dict[tuple[str, str], set[str]], turn: int) -> list[str]:
    """Every value, or one (taking turns) where the same parser already met them all."""
    same = SAME_PARSER.get((method, path))
    if same is not None and name in walked.get((method, same), set()):
        return [TEXT_VALUES[turn % len(TEXT_VALUES)]]
    walked.setdefault((method, path), set()).add(name)
    return TEXT_VALUES


def test_every_hand_read_query_parameter_is_walked():
    read = set()
    for source in Path("app").rglob("*.py"):
        read |= set(re.findall(r"query_params\.get\(\"(\w+)\"", source.read_text()))
    assert read <= {name for names in HAND_READ.values() for name in names}


@pytest.fixture
def cheap_password_hashing(monkeypatch):
    """Sign-in and user forms hash passwords: at production cost that is most of this walk's time."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from app.auth import passwords, service

    monkeypatch.setattr(passwords, "_hasher", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),)))
    monkeypatch.setattr(service, "_DUMMY_HASH", None)


def test_no_page_or_form_input_is_a_server_error(db, context, browser_as, live_server, now, cheap_password_hashing):
    ids, users = factories.one_of_everything(db, now)
    ids |= {"user_id": users["nurse"].id}
    today = london_date(now)
    browsers = {"manager": browser_as(users["ward_manager"]), "admin": browser_as(users["admin"])}
    browsers["anonymous"] = Browser(live_server)

    def browser_for(method: str, path: str) -> Browser:
        perm = PAGES[(method, path)]
        if perm == PUBLIC:
            return browsers["anonymous"]
        # Set-up pages as an administrator: only they see the site form, only site-wide roles the ward form.
        admin = perm in (Perm.MANAGE_USERS, Perm.SETUP_HOSPITAL) or path.startswith("/admin/")
        return browsers["admin" if admin else "manager"]

    routes = [(m, p, r) for m, p, r in route_table() if not p.startswith(("/api/", "/static"))]
    assert {(m, p) for m, p, _ in routes} == set(PAGES)
    patterns = matcher([p for _, p, _ in routes])

    # Crawl every page once: its forms and links say what it and the other routes take.
    seeds = [(p, p.format(**ids)) for m, p, _ in routes if m == "GET" and not p.endswith(STREAMS)]
    seeds += [
        ("/admin/users/{user_id}", f"/admin/users/{ids['service_user_id']}"),  # token forms
        ("/wards/{code}/rounds/new", f"/wards/{ids['quiet_code']}/rounds/new"),  # no round open there
        ("/stays/{stay_id}", f"/stays/{ids['discharged_stay_id']}"),
        ("/stays/{stay_id}/correct", f"/stays/{ids['discharged_stay_id']}/correct"),  # only a discharged stay
    ]
    forms: dict[tuple[str, str], tuple[str, object]] = {}
    link_queries: dict[str, list[tuple[str, str]]] = {}
    for path, url in seeds:
        r = browser_for("GET", path).get(url)
        _check(r, ("GET", url))
        for form in forms_in(r.text):
            action = form.action or url
            route = route_for(urlsplit(action).path, patterns)
            if route is not None:
                forms.setdefault((form.method.upper(), route), (action, form))
        for link in links_in(r.text):
            parts = urlsplit(link)
            route = route_for(parts.path, patterns)
            if route is not None and parts.query and not parts.netloc:
                link_queries.setdefault(route, parse_qsl(parts.query, keep_blank_values=True))

    sent = missing_or_unknown = 0
    walked: dict[tuple[str, str], set[str]] = {}
    order = sorted(routes, key=lambda r: (r[0], (r[0], r[1]) in SAME_PARSER))  # canonical routes first
    for method, path, route in order:
        if method != "GET" or path.endswith(STREAMS):
            continue
        browser = browser_for(method, path)
        url = path.format(**ids)
        own_form = forms.get(("GET", path))
        baseline = own_form[1].filled(today) if own_form else link_queries.get(path, [])
        names = [*declared_query_params(route), *(n for n, _ in baseline), *HAND_READ.get(path, [])]
        for name in dict.fromkeys(names):
            for value in _values(method, path, name, walked, sent):
                params = [(k, v) for k, v in baseline if k != name] + [(name, value)]
                with rolled_back(context.connection):
                    _check(browser.get(url, params=params), (method, path, name, value[:20]))
                sent += 1
        for name in path_params(path):
            for value in TEXT_VALUES:
                if value:
                    bad = path.format(**(ids | {name: quote(value, safe="")}))
                    with rolled_back(context.connection):
                        _check(browser.get(bad), (method, path, name, value[:20]))
                    sent += 1

    for method, path, _ in order:
        if method != "POST" or path in EXEMPT_POSTS:
            continue
        assert ("POST", path) in forms, f"no page shows a form for POST {path}: seed one in this test"
        action, form = forms[("POST", path)]
        browser = browser_for(method, path)
        baseline = form.filled(today)
        with rolled_back(context.connection):
            r = browser.post(action, baseline)
        _check(r, (method, path, "as filled in"))
        assert r.status_code < 400 or path in REFUSED_AS_FILLED, (path, "filled in, the form must be accepted")
        for name in form.names():
            for value in _values(method, path, name, walked, sent):
                pairs = [(k, v) for k, v in baseline if k != name] + [(name, value)]
                with rolled_back(context.connection):
                    _check(browser.post(action, pairs), (method, path, name, value[:20]))
                sent += 1
            others = [(k, v) for k, v in baseline if k != name]
            variants = [("missing", others)]
            if any(c.name == name and c.kind in CHOICES for c in form.controls):
                variants.append(("unknown code", [*others, (name, UNKNOWN_CODE)]))
            for what, pairs in variants:
                with rolled_back(context.connection):
                    _check(browser.post(action, pairs), (method, path, name, what))
                sent += 1
                missing_or_unknown += 1
    assert sent > 800
    assert missing_or_unknown > 100
