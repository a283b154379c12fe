"""The Jinja environment, the layout, versioned static files and our asset rules.

Pure tests: no database, no server. Requests are bare Starlette Requests built from a scope that
names the real app (templates link by route name, so they need its routes).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request

from app.config import PROJECT_ROOT
from app.main import create_app
from app.web.static_files import IMMUTABLE, SHORT, STATIC_DIR, mount_static, static_url
from app.web.templating import date_text, datetime_text, env, nhs_number_filter, render, time_text
from tests.dbs import settings_for

TEMPLATES_DIR = PROJECT_ROOT / "templates"
VERSIONED = re.compile(r"^/static/[\w./-]+\?v=[0-9a-f]{12}$")
ERROR_CONTEXT = {"status": 404, "title": "Page not found", "message": "Check the web address."}


@functools.cache
def the_app() -> FastAPI:
    """The real app (no database is opened): pages link by route name, so a request needs its routes."""
    return create_app(settings_for("sqlite://"))


def make_request(path: str = "/", template_context: dict | None = None, root_path: str = "") -> Request:
    request = Request(
        {
            "type": "http",
            "app": the_app(),
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [],
            "scheme": "http",
            "server": ("testserver", 80),
            "root_path": root_path,
        }
    )
    if template_context is not None:
        request.state.template_context = template_context
    return request


class _Tags(HTMLParser):
    """Collects start tags as (name, attributes) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str, name: str) -> list[dict[str, str | None]]:
    parser = _Tags()
    parser.feed(html)
    return [attrs for tag, attrs in parser.tags if tag == name]


def render_page(name: str = "errors/error.html", **context: object) -> str:
    return env.get_template(name).render({**ERROR_CONTEXT, "request": make_request(), **context})


# --------------------------------------------------------------------------------------
# Layout and error page
# --------------------------------------------------------------------------------------


def test_layout_renders_on_its_own() -> None:
    html = env.get_template("layout.html").render(request=make_request())
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert "<title>Boardround</title>" in html


def test_layout_has_nhs_header_skip_link_and_footer() -> None:
    html = render_page()
    assert 'class="nhsuk-skip-link"' in html and 'href="#maincontent"' in html
    assert 'class="nhsuk-header"' in html
    assert '<span class="nhsuk-header__service-name">Boardround</span>' in html
    assert 'class="nhsuk-header__search' not in html
    assert 'class="nhsuk-footer"' in html
    assert '<main class="nhsuk-main-wrapper" id="maincontent">' in html


def test_layout_has_live_status_region_and_flash() -> None:
    html = render_page()
    assert '<div id="status-message" class="nhsuk-u-visually-hidden" aria-live="polite"></div>' in html
    assert '<div id="flash"></div>' in html
    # flash sits inside <main>, ahead of the page content
    main = html[html.index('id="maincontent"') :]
    assert main.index('id="flash"') < main.index("<h1")


def test_assets_are_ours_with_content_hashes() -> None:
    html = render_page()
    stylesheets = [link["href"] for link in tags(html, "link") if link.get("rel") == "stylesheet"]
    scripts = tags(html, "script")
    script_srcs = [script["src"] for script in scripts if script.get("src")]

    assert [href.split("?")[0] for href in stylesheets] == [
        "/static/vendor/nhsuk-frontend-10.6.1/css/nhsuk-frontend.min.css",
        "/static/css/app.css",
    ]
    assert [src.split("?")[0] for src in script_srcs] == [
        "/static/vendor/htmx-2.0.11/htmx.min.js",
        "/static/vendor/htmx-ext-sse-2.2.4/sse.min.js",
        "/static/vendor/nhsuk-frontend-10.6.1/js/nhsuk-frontend.min.js",
        "/static/js/app.js",
    ]
    icons = [link["href"] for link in tags(html, "link") if link.get("rel") != "stylesheet"]
    for url in stylesheets + script_srcs + icons:
        assert url is not None and VERSIONED.match(url), url

    for script in scripts:
        if script.get("src"):
            # classic scripts deferred; the NHS module is deferred by being a module
            assert "defer" in script or script.get("type") == "module", script
    # The installable app: a manifest of ours, served with a content hash.
    manifests = [link for link in tags(html, "link") if link.get("rel") == "manifest"]
    assert [m["href"].split("?v=")[0] for m in manifests] == ["/static/manifest.webmanifest"]


def test_htmx_config_meta() -> None:
    html = render_page()
    (meta,) = [m for m in tags(html, "meta") if m.get("name") == "htmx-config"]
    config = json.loads(meta["content"] or "")
    assert config["selfRequestsOnly"] is True
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["historyCacheSize"] == 0
    assert config["refreshOnHistoryMiss"] is True
    assert config["historyRestoreAsHxRequest"] is False

    def handling(status: int) -> dict:
        # htmx uses the first entry whose code pattern matches
        return next(rule for rule in config["responseHandling"] if re.fullmatch(rule["code"], str(status)))

    assert handling(200)["swap"] is True
    assert handling(204)["swap"] is False
    for status in (422, 409):
        assert handling(status)["swap"] is True and handling(status)["error"] is False
    for status in (400, 403, 404, 500, 503):
        assert handling(status)["swap"] is False and handling(status)["error"] is True


def test_csp_nonce_reaches_the_nhs_inline_script() -> None:
    with_nonce = render_page(csp_nonce="n0nce-123")
    inline = [s for s in tags(with_nonce, "script") if not s.get("src")]
    assert inline == [{"nonce": "n0nce-123"}]

    without = render_page()
    assert [s for s in tags(without, "script") if not s.get("src")] == [{}]


def test_error_page_shows_status_title_and_message() -> None:
    html = render_page(status=403, title="You cannot see this ward", message="Ask the nurse in charge.")
    assert "<title>You cannot see this ward – Boardround</title>" in html
    assert '<h1 class="nhsuk-heading-l">You cannot see this ward</h1>' in html
    assert "Ask the nurse in charge." in html
    assert "Error code: 403" in html


def test_autoescape_is_on_for_our_templates() -> None:
    html = render_page(message="<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_nhs_macros_load_from_the_package() -> None:
    template = env.from_string(
        '{% from "nhsuk/components/button/macro.jinja" import button %}{{ button({"text": "Save review"}) }}'
    )
    html = template.render()
    assert 'class="nhsuk-button"' in html
    assert "Save review" in html


def test_csrf_field_macro_reads_the_token_from_context() -> None:
    template = env.from_string(
        '{% from "macros/csrf.html" import csrf_field with context %}<form method="post">{{ csrf_field() }}</form>'
    )
    html = template.render(csrf_token='tok-"<1>')
    assert '<input type="hidden" name="csrf_token" value="tok-&#34;&lt;1&gt;">' in html


# --------------------------------------------------------------------------------------
# render()
# --------------------------------------------------------------------------------------


def test_render_merges_request_context_and_sets_status() -> None:
    request = make_request(template_context={"csp_nonce": "from-request", "title": "from request"})
    response = render(request, "errors/error.html", {**ERROR_CONTEXT, "status": 409}, status_code=409)
    body = response.body.decode()
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    assert 'nonce="from-request"' in body
    # the view's own context wins over request-wide values
    assert '<h1 class="nhsuk-heading-l">Page not found</h1>' in body


def test_render_without_request_context() -> None:
    response = render(make_request(), "errors/error.html", ERROR_CONTEXT, headers={"Vary": "HX-Request"})
    assert response.status_code == 200
    assert response.headers["vary"] == "HX-Request"
    assert "nonce=" not in response.body.decode()


def test_render_block_is_a_fragment() -> None:
    response = render(make_request(), "errors/error.html", ERROR_CONTEXT, block_name="error_content")
    body = response.body.decode()
    assert "<html" not in body and "nhsuk-header" not in body
    assert '<h1 class="nhsuk-heading-l">Page not found</h1>' in body


# --------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "when", "time"),
    [
        # BST: London is UTC+1
        (datetime(2026, 7, 1, 11, 30, tzinfo=UTC), "Wed 1 Jul 2026, 12:30", "12:30"),
        # GMT: London is UTC
        (datetime(2026, 1, 10, 11, 30, tzinfo=UTC), "Sat 10 Jan 2026, 11:30", "11:30"),
        (datetime(2026, 11, 23, 14, 5, tzinfo=UTC), "Mon 23 Nov 2026, 14:05", "14:05"),
        # 23:30 UTC in summer is already the next day in London
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), "Thu 2 Jul 2026, 00:30", "00:30"),
    ],
)
def test_london_datetime_and_time(moment: datetime, when: str, time: str) -> None:
    assert datetime_text(moment) == when
    assert time_text(moment) == time


def test_london_date() -> None:
    assert date_text(date(2026, 11, 23)) == "23 Nov 2026"
    assert date_text(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == "2 Jul 2026"
    assert date_text(datetime(2026, 1, 10, 23, 30, tzinfo=UTC)) == "10 Jan 2026"


def test_filters_refuse_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        time_text(datetime(2026, 7, 1, 11, 30))


def test_filters_render_nothing_for_missing_values() -> None:
    template = env.from_string(
        "[{{ none | london_datetime }}|{{ missing | london_time }}|{{ none | london_date }}|{{ missing | nhs_number }}]"
    )
    assert template.render(none=None) == "[|||]"


def test_nhs_number_filter() -> None:
    assert nhs_number_filter("9434765919") == "943 476 5919"
    assert env.from_string("{{ n | nhs_number }}").render(n="9434765919") == "943 476 5919"


def test_filters_in_templates() -> None:
    template = env.from_string("{{ at | london_datetime }} / {{ at | london_time }} / {{ at | london_date }}")
    assert template.render(at=datetime(2026, 7, 1, 11, 30, tzinfo=UTC)) == "Wed 1 Jul 2026, 12:30 / 12:30 / 1 Jul 2026"


# --------------------------------------------------------------------------------------
# Static files
# --------------------------------------------------------------------------------------


def test_static_url_hashes_the_file_content() -> None:
    url = static_url("css/app.css")
    expected = hashlib.sha256((STATIC_DIR / "css" / "app.css").read_bytes()).hexdigest()[:12]
    assert url == f"/static/css/app.css?v={expected}"
    assert static_url("/css/app.css") == url


def test_static_url_refuses_missing_and_escaping_paths() -> None:
    with pytest.raises(FileNotFoundError):
        static_url("css/no-such-file.css")
    with pytest.raises(ValueError):
        static_url("../pyproject.toml")


def fetch(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET from an app that only mounts /static, in process."""
    app = FastAPI()
    mount_static(app)

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(url, headers=headers)

    return asyncio.run(get())


def test_versioned_url_is_cached_for_a_year() -> None:
    response = fetch(static_url("js/app.js"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert "javascript" in response.headers["content-type"]


def test_unversioned_or_stale_url_gets_a_short_cache() -> None:
    assert fetch("/static/js/app.js").headers["cache-control"] == SHORT
    assert fetch("/static/js/app.js?v=000000000000").headers["cache-control"] == SHORT


def test_not_modified_keeps_cache_control() -> None:
    url = static_url("css/app.css")
    etag = fetch(url).headers["etag"]
    response = fetch(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["cache-control"] == IMMUTABLE


def test_missing_static_file_is_404() -> None:
    assert fetch("/static/css/no-such-file.css").status_code == 404


def test_css_images_resolve_to_vendored_files() -> None:
    css_path = STATIC_DIR / "vendor" / "nhsuk-frontend-10.6.1" / "css" / "nhsuk-frontend.min.css"
    css = css_path.read_text()
    urls = set(re.findall(r"url\(\"?([^\")]+)\"?\)", css))
    assert urls
    for url in urls:
        assert (css_path.parent / url).resolve().is_file(), url
    assert "@font-face" not in css
    assert "font-family:arial,sans-serif" in css


def test_every_vendored_package_is_listed_in_vendor_md() -> None:
    listing = (STATIC_DIR / "VENDOR.md").read_text()
    for directory in (STATIC_DIR / "vendor").iterdir():
        assert f"static/vendor/{directory.name}/" in listing, directory.name


# --------------------------------------------------------------------------------------
# No asset from another host: wards have locked-down networks and a strict CSP.
# --------------------------------------------------------------------------------------

URL = re.compile(r"https?://[^\s\"'`<>()\\]+", re.IGNORECASE)
# XML namespace names are identifiers, never fetched.
NAMESPACES = (
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/XML/1998/namespace",
)
COMMENTS = {
    ".html": re.compile(r"\{#.*?#\}|<!--.*?-->", re.DOTALL),
    ".jinja": re.compile(r"\{#.*?#\}|<!--.*?-->", re.DOTALL),
    ".css": re.compile(r"/\*.*?\*/", re.DOTALL),
    ".js": re.compile(r"/\*.*?\*/", re.DOTALL),
    ".svg": re.compile(r"<!--.*?-->", re.DOTALL),
}
# Minified third-party code carries documentation links in strings (axe-core's rule help
# pages); there we look for what a browser would load: imports, fetches, src/href, url().
LOADS = re.compile(
    r"""(?:\bimport\s*\(?\s*|\bfrom\s*|importScripts\s*\(\s*|\bfetch\s*\(\s*|EventSource\s*\(\s*|"""
    r"""\.(?:src|href)\s*=\s*|\b(?:src|href|srcset|action)\s*=\s*\\?|url\(\s*|@import\s+)["'`]?https?://""",
    re.IGNORECASE,
)
NOT_LOADED = {".md", ""}  # VENDOR.md, LICENSE files


def external_urls(path: Path, text: str) -> list[str]:
    text = COMMENTS.get(path.suffix, re.compile(r"(?!)")).sub("", text)
    for namespace in NAMESPACES:
        text = text.replace(namespace, "")
    if "vendor" in path.parts and path.suffix == ".js":
        return [match.group(0) for match in LOADS.finditer(text)]
    return URL.findall(text)


def asset_files() -> list[Path]:
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file() and p.suffix not in NOT_LOADED]
    files += [p for p in TEMPLATES_DIR.rglob("*") if p.is_file()]
    return files


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("templates/page.html", '<script src="https://cdn.example.org/htmx.js"></script>'),
        ("static/css/app.css", "body{background:url(https://example.org/a.png)}"),
        ("static/js/app.js", 'fetch("https://example.org/api")'),
        ("static/vendor/x-1.0/x.min.js", 'e.src="https://example.org/font.woff2"'),
        ("static/vendor/x-1.0/x.min.js", 'import("https://example.org/m.js")'),
        ("static/vendor/x-1.0/x.min.css", '@import "https://fonts.example.org/css";'),
        (
            "static/vendor/x-1.0/x.svg",
            '<svg xmlns="http://www.w3.org/2000/svg"><image href="http://example.org/p.png"/></svg>',
        ),
    ],
)
def test_external_url_check_catches_offenders(name: str, text: str) -> None:
    assert external_urls(Path(name), text)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "templates/page.html",
            '{# see https://service-manual.nhs.uk #}<svg xmlns="http://www.w3.org/2000/svg"></svg>',
        ),
        (
            "static/vendor/x-1.0/x.min.js",
            '/*! licence: http://mozilla.org/MPL/2.0/ */ var help="https://example.org/rules/";',
        ),
    ],
)
def test_external_url_check_allows_comments_namespaces_and_doc_strings(name: str, text: str) -> None:
    assert external_urls(Path(name), text) == []


def test_no_asset_urls_to_other_hosts_in_static_or_templates() -> None:
    files = asset_files()
    assert any(p.suffix == ".js" and "vendor" in p.parts for p in files)
    offenders = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images
        found = external_urls(path, text)
        if found:
            offenders[str(path.relative_to(PROJECT_ROOT))] = found
    assert offenders == {}


def test_rendered_pages_load_nothing_from_other_hosts() -> None:
    html = render_page()
    for namespace in NAMESPACES:
        html = html.replace(namespace, "")
    assert URL.findall(html) == []
