"""Named routes and `path_for`: the paths templates link to.

Pure tests: no database, no server (the real app is built for its routes; no database is opened).
"""

from __future__ import annotations

import ast
import functools
from collections import Counter
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.routing import NoMatchFound

from app.config import PROJECT_ROOT
from app.main import create_app
from app.web.templating import env
from app.web.urls import path_for, query_string
from tests.dbs import settings_for


@functools.cache
def the_app() -> FastAPI:
    return create_app(settings_for("sqlite://"))


def request_for(app: FastAPI | None = None, root_path: str = "") -> Request:
    scope = {
        "type": "http",
        "app": app or the_app(),
        "method": "GET",
        "path": root_path + "/",
        "query_string": b"",
        "headers": [],
        "scheme": "https",
        "server": ("boardround.example.nhs.uk", 443),
        "root_path": root_path,
    }
    return Request(scope)


def test_paths_not_absolute_urls():
    request = request_for()
    assert path_for(request, "home") == "/"
    assert path_for(request, "show_patient", stay_id=7) == "/stays/7"
    assert path_for(request, "round_step", round_id=3, stay_id=7) == "/rounds/3/stays/7"
    assert path_for(request, "list_users") == "/admin/users"
    assert path_for(request, "get_drd_extract_csv") == "/api/v1/metrics/drd-extract.csv"
    # Starlette's url_for, for contrast, names the host the app was reached by.
    assert str(request.url_for("home")) == "https://boardround.example.nhs.uk/"


def test_path_parameters_are_percent_encoded():
    # A ward code may hold any character: a space, a slash or a question mark must not end the path.
    assert path_for(request_for(), "ward_board", code="A B/C?#") == "/wards/A%20B%2FC%3F%23"
    assert path_for(request_for(), "ward_board", code="AMU-1") == "/wards/AMU-1"


def test_query_from_a_mapping_pairs_or_an_encoded_string():
    request = request_for()
    assert path_for(request, "ward_board", code="W1", query={"filter": "nctr"}) == "/wards/W1?filter=nctr"
    # Empty values are left out: a link never needs "?filter=".
    assert path_for(request, "ward_board", code="W1", query={"filter": ""}) == "/wards/W1"
    assert path_for(request, "ward_board", code="W1", query={"filter": None, "display": 1}) == "/wards/W1?display=1"
    assert path_for(request, "flow_patients", query=[("ward", "A&B"), ("measure", "los7")]) == (
        "/flow/patients?ward=A%26B&measure=los7"
    )
    assert path_for(request, "failed_discharge_list", query={"cause": ["a", "b"]}) == (
        "/failed-discharges?cause=a&cause=b"
    )
    # A query the view already encoded goes on as it is.
    assert path_for(request, "show_metrics", query="period=month&ward=3") == "/metrics?period=month&ward=3"
    assert path_for(request, "show_metrics", query="") == "/metrics"
    assert query_string(None) == ""


def test_a_mount_prefix_is_kept():
    # Behind a proxy that serves the app under /boardround (ASGI root_path).
    request = request_for(root_path="/boardround")
    assert path_for(request, "home") == "/boardround/"
    assert path_for(request, "show_patient", stay_id=7, query={"x": 1}) == "/boardround/stays/7?x=1"


def test_unknown_names_and_wrong_parameters_raise():
    request = request_for()
    with pytest.raises(NoMatchFound):
        path_for(request, "no_such_route")
    with pytest.raises(NoMatchFound):
        path_for(request, "show_patient")  # stay_id missing
    with pytest.raises(NoMatchFound):
        path_for(request, "show_patient", stay_id=7, round_id=1)
    with pytest.raises(ValueError, match="stay_id"):
        path_for(request, "show_patient", stay_id="")  # an undefined template variable renders as ""


def test_routes_added_after_the_first_lookup_are_found():
    app = FastAPI()

    @app.get("/early", name="early")
    def early() -> None: ...

    assert path_for(request_for(app), "early") == "/early"

    @app.get("/late", name="late")
    def late() -> None: ...

    assert path_for(request_for(app), "late") == "/late"


def test_the_template_global():
    template = env.from_string("{{ path_for('show_patient', stay_id=s, query={'tab': 'plan'}) }}")
    assert template.render(request=request_for(), s=7) == "/stays/7?tab=plan"
    with pytest.raises(RuntimeError, match="needs `request`"):
        template.render(s=7)


def test_route_names_are_unique():
    """One route per name, across the JSON API and the pages: a name always means one path."""
    names = Counter(route.name for route in iter_route_contexts(the_app().routes) if route.name)
    assert [name for name, count in names.items() if count > 1] == []


def test_every_page_route_names_itself():
    """Page routes carry an explicit `name=`: a stable handle for templates and redirects, not the
    function's name by accident."""
    unnamed = []
    for source in sorted(Path(PROJECT_ROOT / "app" / "views").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                is_route = (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr in {"get", "post", "put", "patch", "delete", "api_route"}
                )
                if is_route and "name" not in {k.arg for k in decorator.keywords}:
                    unnamed.append(f"{source.name}:{node.lineno} {node.name}")
    assert unnamed == []
