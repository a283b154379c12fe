"""Boundary values for every input a route declares, and the means to send them.

Used by the walkers in tests/api/test_errors.py (JSON API) and tests/security/test_boundaries.py
(HTML pages and forms): each sends a valid request with one input replaced by each value below,
inside a savepoint rolled back afterwards, so every request meets the same records.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser

from sqlalchemy import Connection

from app.main import create_app
from tests.dbs import settings_for

# As text (query strings, path segments, form fields).
TEXT_VALUES = [
    "9999-12-31",  # a day more overflows; not a number either
    "0001-01-01",  # a day less overflows; before any real date
    "0",  # a Unix timestamp to lax date parsers
    "-1",
    str(2**31),  # one past a PostgreSQL INTEGER
    str(2**70),  # past any 64-bit column
    "x" * 5000,  # longer than any text column
    "   ",  # blank once stripped
    "a\x00c",  # not a number, and PostgreSQL refuses NUL in text
]
# As JSON (API bodies): the same, plus real numbers and an ISO moment at the edge.
JSON_VALUES = [
    *TEXT_VALUES,
    "9999-12-31T23:59:59Z",
    0,
    -1,
    2**31,
    2**70,
]


@contextlib.contextmanager
def rolled_back(connection: Connection) -> Iterator[None]:
    """Whatever the request writes is undone: the next one meets the same records."""
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()


def route_table() -> list[tuple[str, str, object]]:
    """(method, path, route) for every route of the app, as FastAPI has them."""
    from fastapi.routing import iter_route_contexts

    app = create_app(settings_for("sqlite://"))
    return [
        (method, route.path, route)
        for route in iter_route_contexts(app.routes)
        if route.methods
        for method in sorted(route.methods - {"HEAD"})
    ]


def declared_query_params(route: object) -> list[str]:
    """Query parameters a route declares (its signature and dependencies), by their public name."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return []
    names: list[str] = []

    def walk(dep) -> None:  # noqa: ANN001
        names.extend(p.alias for p in dep.query_params)
        for sub in dep.dependencies:
            walk(sub)

    walk(dependant)
    return list(dict.fromkeys(names))


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def matcher(paths: list[str]) -> list[tuple[re.Pattern[str], str]]:
    """Concrete URL path -> route path; literal routes win over parameters, as in the app."""
    ordered = sorted(set(paths), key=lambda p: (p.count("{"), -len(p)))
    return [(re.compile("^" + re.sub(r"{\w+}", "[^/]+", p) + "$"), p) for p in ordered]


def route_for(url_path: str, patterns: list[tuple[re.Pattern[str], str]]) -> str | None:
    return next((p for rx, p in patterns if rx.match(url_path)), None)


# HTML forms as a person fills them ----------------------------------------------------------


@dataclass
class Control:
    tag: str  # input, textarea, select, button
    kind: str  # the input's type (text, hidden, date...), "select", "textarea", "submit"
    name: str
    value: str = ""
    checked: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # select: (value, selected)


@dataclass
class Form:
    action: str
    method: str
    controls: list[Control] = field(default_factory=list)

    def names(self) -> list[str]:
        return list(dict.fromkeys(c.name for c in self.controls if c.kind != "submit" and c.name != "csrf_token"))

    def filled(self, today: date) -> list[tuple[str, str]]:
        """What a person submits: typed values kept, blanks filled, a choice made for each question."""
        pairs: list[tuple[str, str]] = []
        seen: set[str] = set()
        for c in self.controls:
            if c.name == "csrf_token" or c.kind in ("submit", "button", "reset", "file", "image"):
                continue
            if c.kind in ("checkbox", "radio"):
                group = [x for x in self.controls if x.name == c.name]
                if c.name in seen:
                    continue
                seen.add(c.name)
                chosen = [x.value for x in group if x.checked] or [group[0].value]
                pairs += [(c.name, v) for v in (chosen if c.kind == "checkbox" else chosen[:1])]
            elif c.kind == "select":
                selected = [v for v, s in c.options if s] or [v for v, _ in c.options if v] or [""]
                pairs.append((c.name, selected[0]))
            else:
                pairs.append((c.name, c.value or _filler(c.kind, today)))
        button = next((c for c in self.controls if c.kind == "submit" and c.name), None)
        if button is not None:
            pairs.append((button.name, button.value))
        return pairs


def _filler(kind: str, today: date) -> str:
    return {
        "date": today.isoformat(),
        "time": "10:00",
        "number": "1",
        "password": "correct horse battery staple",
        "email": "test.person@nhs.net",
        "hidden": "",
    }.get(kind, "Test")


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Control | None = None
        self._textarea: Control | None = None
        self._other_actions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            self._form.controls.append(Control("input", kind, name, a.get("value", ""), "checked" in a))
        elif tag == "button" and (a.get("type") or "submit").lower() == "submit":
            self._form.controls.append(Control("button", "submit", name, a.get("value", "")))
            if a.get("formaction"):  # the same fields, sent elsewhere ("No change" on the round step)
                self._other_actions.append(a["formaction"])
        elif tag == "textarea" and name:
            self._textarea = Control("textarea", "textarea", name)
            self._form.controls.append(self._textarea)
        elif tag == "select" and name:
            self._select = Control("select", "select", name)
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._select.options.append((a.get("value", ""), "selected" in a))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            if self._form is not None:
                for action in self._other_actions:
                    self.forms.append(Form(action=action, method=self._form.method, controls=list(self._form.controls)))
            self._other_actions = []
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea is not None:
                self._textarea.value = self._textarea.value.removeprefix("\n")
            self._textarea = None


def forms_in(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def links_in(html: str) -> list[str]:
    return [m.replace("&amp;", "&") for m in re.findall(r'(?:href|hx-get)="([^"#]+)"', html)]
