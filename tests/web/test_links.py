"""Every link, form and htmx/SSE URL a page shows leads somewhere the app routes, and templates
build none of them by hand (they use `path_for` with a route name, or `static_url`).

The crawl signs in as each role (one for each set of permissions) and as nobody, renders every
page (each page route with the ids of `factories.one_of_everything`, then the pages its links lead
to), reads every URL attribute of the HTML and looks each up in the app's route table with the
method it would be sent with. tests/web/test_urls.py covers `path_for` and the route names.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Match

from app.auth.permissions import MATRIX
from app.config import PROJECT_ROOT
from app.main import create_app
from app.web.static_files import STATIC_DIR, STATIC_PREFIX
from tests import factories
from tests.dbs import settings_for
from tests.pages import Browser

TEMPLATES = PROJECT_ROOT / "templates"
SCRIPTS = PROJECT_ROOT / "static" / "js"

# Attributes that hold a URL, and the method a browser or htmx sends to it (forms: their method).
URL_ATTRIBUTES = {
    "href": "GET",
    "src": "GET",
    "action": None,
    "hx-get": "GET",
    "hx-post": "POST",
    "hx-put": "PUT",
    "hx-patch": "PATCH",
    "hx-delete": "DELETE",
    "sse-connect": "GET",
}
# Pages no page links to, with why.
UNLINKED = {
    ("GET", "/healthz"): "for load balancers",
    ("GET", "/docs"): "the API's reference, for integrators",
    ("GET", "/stays/{stay_id}/edd"): "where logging a failed discharge redirects (app/views/discharges.py)",
    ("POST", "/wards/{code}/ward-list/apply"): "its form is on the preview of an uploaded ward list, which the "
    "crawl does not upload (tests/stays/test_day_one_pages.py)",
    ("GET", "/auth/oidc/start"): "the sign-in page links to it only when single sign-on is set up, which the "
    "crawl's app is not (tests/browser/test_sso.py)",
    ("GET", "/auth/oidc/callback"): "the identity provider's redirect back",
    ("GET", "/auth/oidc/front-channel-logout"): "the identity provider's logout call",
    ("POST", "/auth/oidc/back-channel-logout"): "the identity provider's logout call, server to server",
}
# Not followed by the crawl: they never end (server-sent events) or are not HTML.
NOT_CRAWLED = re.compile(r"(/events|\.csv|/metrics/csv|/sw\.js|/openapi\.json|/healthz)$")
# Routes that only send the browser on (303), never a page of their own, with why.
REDIRECTS = {
    ("GET", "/rounds/{round_id}/continue"): "the next patient not yet seen, or the overview (app/views/rounds.py)",
    ("GET", "/auth/oidc/start"): "sends the browser to the identity provider (tests/browser/test_sso.py)",
    ("GET", "/auth/oidc/callback"): "the identity provider sends the browser back here, signed in or refused "
    "(tests/browser/test_sso.py)",
    ("GET", "/auth/oidc/front-channel-logout"): "the identity provider's logout call, no page of ours links to it "
    "(tests/browser/test_sso.py)",
}
PER_ROUTE = 2  # distinct URLs of one route rendered per role: its links vary little with the query


# Templates ----------------------------------------------------------------------------------------

# A URL attribute whose written value starts with "/" (href="/stays/{{ id }}").
_LITERAL_ATTRIBUTE = re.compile(
    r"""\b(?:href|src|action|hx-(?:get|post|put|patch|delete)|sse-connect|data-[\w-]+)\s*=\s*["']\s*/"""
)
_JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)
# Inside Jinja: a string that starts a path ("/stays/" ~ id, "/rounds/%d" % id, {"href": "/"}).
_PATH_STRING = re.compile(r"""(["'])/[^"'\s]*\1|(["'])/[\w?{%-]""")


def hand_built_paths(template: str) -> list[str]:
    """The hand-built app paths in a template's source, as "line N: source"."""
    at = [m.start() for m in _LITERAL_ATTRIBUTE.finditer(template)]
    for block in _JINJA.finditer(template):
        # url_for gives absolute URLs: templates use path_for (app/web/urls.py says why).
        if _PATH_STRING.search(block.group(0)) or re.search(r"\burl_for\(", block.group(0)):
            at.append(block.start())
    lines = template.splitlines()
    return [f"line {n}: {lines[n - 1].strip()[:160]}" for n in sorted({template.count("\n", 0, i) + 1 for i in at})]


def test_the_template_check_finds_hand_built_paths():
    for source in (
        '<a href="/stays/{{ stay.id }}">',
        "<form action='/audit' method=post>",
        '<div hx-get="/flow/table">',
        '<div sse-connect="/escalations/events">',
        '<div data-next="/rounds/1/stays/2">',
        '{{ backLink({"href": "/stays/" ~ stay.id}) }}',
        '{{ button({"href": "/rounds/%d" % round.id}) }}',
        '{{ header({"service": {"href": "/"}}) }}',
        "{% set page = '/metrics/table?table=' ~ t.name %}",
        "<a href=\"{{ url_for('home') }}\">",
    ):
        assert hand_built_paths(source), source
    for source in (
        "<a href=\"{{ path_for('show_patient', stay_id=stay.id) }}\">",
        '{{ backLink({"href": path_for("show_patient", stay_id=stay.id)}) }}',
        "<link href=\"{{ static_url('css/app.css') }}\">",
        '<a href="#maincontent">',
        "{{ a / b }} {{ 'and/or' }} {{ total // 2 }}",
    ):
        assert not hand_built_paths(source), source


def test_templates_build_no_paths_by_hand():
    offenders = {
        str(path.relative_to(TEMPLATES)): found
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (found := hand_built_paths(path.read_text()))
    }
    assert offenders == {}, "link with path_for('route_name', ...) (static files: static_url)"


def test_page_scripts_take_paths_from_the_page():
    """app.js reads the paths it needs from data attributes the layout renders with path_for.
    (sw.js is the exception: a service worker has no page; it is served at the site root.)"""
    for script in sorted(SCRIPTS.glob("*.js")):
        if script.name == "sw.js":
            continue
        assert not re.findall(r"""(["'])/[\w.-]*""", script.read_text()), script.name


# Pages ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    attribute: str
    method: str
    url: str


class _Targets(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Target] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for name, value in a.items():
            if name in URL_ATTRIBUTES:
                method = URL_ATTRIBUTES[name] or (a.get("method") or "get").upper()
                self.found.append(Target(f"<{tag} {name}>", method, value))
            elif name.startswith("data-") and value.startswith("/"):
                self.found.append(Target(f"<{tag} {name}>", "GET", value))


def targets_in(html: str) -> list[Target]:
    parser = _Targets()
    parser.feed(html)
    return parser.found


class RouteTable:
    """The app's routes, matched as the app matches them (path and method)."""

    def __init__(self) -> None:
        self.routes = list(iter_route_contexts(create_app(settings_for("sqlite://")).routes))

    def route_for(self, method: str, path: str) -> str | None:
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        for route in self.routes:
            if route.path.startswith(STATIC_PREFIX):
                continue
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return route.path
        return None

    def page_routes(self) -> set[tuple[str, str]]:
        return {
            (method, route.path)
            for route in self.routes
            if route.methods and not route.path.startswith(("/api/", STATIC_PREFIX))
            for method in route.methods - {"HEAD"}
        }


def problem(target: Target, table: RouteTable, own_host: str = "testserver") -> str | None:
    """Why this URL does not lead anywhere the app serves, or None (other sites are not checked)."""
    url = target.url.strip()
    if not url:
        return "empty"
    if url.startswith("#"):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return "absolute URL to this app: link by path" if parts.netloc in ("", own_host) else None
    if not parts.path.startswith("/"):
        return "relative path"
    path = unquote(parts.path)
    if path.startswith(STATIC_PREFIX + "/"):
        file = (STATIC_DIR / path.removeprefix(STATIC_PREFIX + "/")).resolve()
        return None if file.is_relative_to(STATIC_DIR.resolve()) and file.is_file() else "no such static file"
    if table.route_for(target.method, path) is None:
        return f"no {target.method} route"
    return None


@pytest.mark.parametrize("check", ["missing", "wrong method"])
def test_the_route_lookup_refuses_what_the_app_does_not_route(check):
    table = RouteTable()
    if check == "missing":
        assert problem(Target("<a href>", "GET", "/stays/7/nothing"), table) == "no GET route"
        assert problem(Target("<a href>", "GET", "/static/css/none.css"), table) == "no such static file"
        assert problem(Target("<a href>", "GET", "stays/7"), table) == "relative path"
        assert problem(Target("<a href>", "GET", "http://testserver/stays/7"), table).startswith("absolute URL")
        assert problem(Target("<a href>", "GET", "https://www.nhs.uk/"), table) is None  # another site
    else:
        assert problem(Target("<form action>", "POST", "/stays/7/plan"), table) == "no POST route"
        assert problem(Target("<a href>", "GET", "/rounds/1/end"), table) == "no GET route"
    assert problem(Target("<form action>", "POST", "/rounds/1/end"), table) is None
    assert problem(Target("<a href>", "GET", "/wards/A%20B?filter=nctr"), table) is None


def _ended_round(db, user, ward_id: int, now) -> int:  # noqa: ANN001
    from app.models import Ward
    from app.rounds.schemas import RoundStart
    from app.rounds.service import end_round, start_round

    actor = factories.principal(db, user)
    board_round = start_round(db, actor=actor, ward=db.get(Ward, ward_id), data=RoundStart(), now=now)
    db.flush()
    end_round(db, actor=actor, board_round=board_round, expected_version=board_round.version, now=now)
    db.flush()
    return board_round.id


def test_every_link_on_every_page_is_routed(db, browser_as, live_server, now):
    ids, users = factories.one_of_everything(db, now)
    ids |= {"user_id": users["nurse"].id}
    ended = _ended_round(db, users["ward_manager"], ids["quiet_ward_id"], now)  # its overview links the handover
    table = RouteTable()
    seeds = [path.format(**ids) for method, path in sorted(table.page_routes()) if method == "GET"]
    seeds += [
        f"/admin/users/{ids['service_user_id']}",  # the token forms
        f"/wards/{ids['quiet_code']}/rounds/new?again=1",  # no round open there; today's has ended
        f"/stays/{ids['discharged_stay_id']}",
        f"/rounds/{ended}",
    ]
    # One role for each set of permissions: the links a page shows follow the permissions.
    roles = {frozenset(perms): role for role, perms in sorted(MATRIX.items()) if role != "integration"}
    browsers = {role: browser_as(users[role]) for role in roles.values()}
    browsers["anonymous"] = Browser(live_server)

    broken: set[tuple[str, str, str, str]] = set()
    rendered: set[str] = set()  # page routes that answered 200 with HTML
    linked: set[tuple[str, str]] = set()  # (method, route) some page sends a person to
    for role, browser in browsers.items():
        queue = deque(seeds)
        seen: set[str] = set()
        per_route: dict[str, int] = {}
        while queue:
            url = queue.popleft()
            route = table.route_for("GET", unquote(urlsplit(url).path))
            if url in seen or route is None or NOT_CRAWLED.search(route):
                continue
            seen.add(url)
            if per_route.get(route, 0) >= PER_ROUTE:
                continue
            per_route[route] = per_route.get(route, 0) + 1
            r = browser.get(url)
            assert r.status_code < 500, (role, url, r.status_code)
            if "text/html" not in r.headers.get("content-type", ""):
                continue
            if r.status_code == 200:
                rendered.add(route)
            for target in targets_in(r.text):
                why = problem(target, table, urlsplit(live_server).netloc)
                if why:
                    broken.add((role, url, f"{target.attribute} {target.url}", why))
                    continue
                parts = urlsplit(target.url)
                if not parts.path.startswith("/") or parts.path.startswith(STATIC_PREFIX):
                    continue
                found = table.route_for(target.method, unquote(parts.path))
                linked.add((target.method, found))
                if target.method == "GET" and not target.attribute.startswith("<link"):
                    queue.append(target.url)

    assert sorted(broken) == []
    every_page = {
        path
        for method, path in table.page_routes()
        if method == "GET" and not NOT_CRAWLED.search(path) and (method, path) not in REDIRECTS
    }
    assert every_page - rendered == set(), "pages the crawl never rendered"
    assert table.page_routes() - linked == set(UNLINKED), "routes no page leads to"
