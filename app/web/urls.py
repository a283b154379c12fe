"""Paths to named routes: `path_for(request, "show_patient", stay_id=7)` -> "/stays/7".

Templates link through this (as the `path_for` global) rather than building "/stays/..." by hand,
so a moved or renamed route fails the page's render test instead of leaving a dead link.

Path only, unlike Starlette's `request.url_for`, which is absolute: behind a proxy the scheme and
host the app sees are not the ones the browser used, and the service worker and htmx
(`selfRequestsOnly`) work on paths of this origin. A mount prefix (ASGI `root_path`) is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode
from weakref import WeakKeyDictionary

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.requests import HTTPConnection
from starlette.routing import NoMatchFound

Query = Mapping[str, Any] | Iterable[tuple[str, Any]] | str | None

# App -> (route count when built, route name -> routes). Starlette's own lookup tries every route
# in turn and raises for each miss: about 0.1-0.2 ms a link here, too slow for a 30-row board.
_indexes: WeakKeyDictionary[Any, tuple[int, dict[str, list[RouteContext]]]] = WeakKeyDictionary()


def _routes_named(request: HTTPConnection, name: str) -> list[RouteContext]:
    app = request.scope.get("app")  # keyed on the app: its router is not hashable
    routes = getattr(app, "routes", None)
    if routes is None:
        raise RuntimeError("path_for needs a request served by the app (its scope names the app)")
    cached = _indexes.get(app)
    if cached is None or cached[0] != len(routes):
        index: dict[str, list[RouteContext]] = {}
        for route in iter_route_contexts(routes):
            if route.name:
                index.setdefault(route.name, []).append(route)
        cached = (len(routes), index)
        _indexes[app] = cached
    return cached[1].get(name, [])


def query_string(query: Query) -> str:
    """Encoded query from a mapping or pairs (None and "" left out; a list value repeats the key),
    or a string already encoded, used as it is."""
    if not query:
        return ""
    if isinstance(query, str):
        return query.lstrip("?")
    pairs = query.items() if isinstance(query, Mapping) else query
    kept: list[tuple[str, Any]] = []
    for key, value in pairs:
        values = value if isinstance(value, list | tuple) else [value]
        kept += [(key, v) for v in values if v is not None and v != ""]
    return urlencode(kept)


def path_for(request: HTTPConnection, name: str, /, query: Query = None, **path_params: Any) -> str:
    """The path of route `name` with `path_params` (each percent-encoded: a ward code may hold any
    character), then `?query` if there is one. An unknown name or missing parameter raises."""
    encoded = {key: quote(str(value), safe="") for key, value in path_params.items()}
    if blank := [key for key, value in encoded.items() if not value]:
        raise ValueError(f"path_for({name!r}): no value for {', '.join(blank)}")
    for route in _routes_named(request, name):
        try:
            path = str(route.url_path_for(name, **encoded))
        except NoMatchFound:
            continue
        break
    else:
        raise NoMatchFound(name, path_params)
    prefix = request.scope.get("app_root_path", request.scope.get("root_path", "")).rstrip("/")
    query_part = query_string(query)
    return prefix + path + (f"?{query_part}" if query_part else "")
