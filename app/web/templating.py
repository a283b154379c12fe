"""The one Jinja environment, and `render` for HTML responses.

Templates are looked up in our templates/ first, then in the nhsuk-frontend-jinja package
(`nhsuk/template.jinja`, `nhsuk/components/<name>/macro.jinja`, `nhsuk/macros/...`).
ChainableUndefined is what the NHS macros expect (`params.hint.text` on a missing hint is
empty, not an error); because it also hides our typos, every page needs a render test.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    Undefined,
    pass_context,
)
from jinja2.runtime import Context
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from app.config import PROJECT_ROOT
from app.core.clock import DAY_NAMES, day_month_year, london_date, london_wall_clock
from app.patients import nhs_number
from app.web.navigation import navigation_for, receives_alerts
from app.web.static_files import static_url
from app.web.urls import Query
from app.web.urls import path_for as _path_for

TEMPLATES_DIR = PROJECT_ROOT / "templates"


def datetime_text(moment: datetime | None) -> str:
    """Aware datetime -> "Mon 23 Nov 2026, 14:05" on the London clock; empty for no value."""
    if not moment:
        return ""
    local = london_wall_clock(moment)
    return f"{DAY_NAMES[local.weekday()]} {day_month_year(local)}, {local:%H:%M}"


def time_text(moment: datetime | None) -> str:
    """Aware datetime -> "14:05" on the London clock."""
    if not moment:
        return ""
    return f"{london_wall_clock(moment):%H:%M}"


def date_text(value: date | datetime | None) -> str:
    """A date as it is, or an aware datetime's London date -> "23 Nov 2026"."""
    if not value:
        return ""
    if isinstance(value, datetime):
        value = london_date(value)
    return day_month_year(value)


def nhs_number_filter(value: str | None) -> str:
    """Ten digits -> "943 476 5919"."""
    if not value:
        return ""
    return nhs_number.display(str(value))


def select_items(rows: Iterable[Any], selected: object, blank: str) -> list[dict[str, Any]]:
    """Items for the NHS select macro from reference rows, with a blank first choice."""
    chosen = "" if selected is None else str(selected)
    return [{"value": "", "text": blank}] + [
        {"value": str(row.code), "text": row.label, "selected": str(row.code) == chosen} for row in rows
    ]


def _macro_name(component: str) -> str:
    first, *rest = component.split("-")
    return first + "".join(part.capitalize() for part in rest)


def _json_default(value: Any) -> Any:
    if isinstance(value, Undefined):
        return None
    return str(value)


@lru_cache(maxsize=4096)
def _render_component(component: str, params_json: str) -> Markup:
    module = env.get_template(f"nhsuk/components/{component}/macro.jinja").module
    return Markup(getattr(module, _macro_name(component))(json.loads(params_json)))  # noqa: S704 - NHS macro output


def _defined(value: Any) -> Any:
    """Drop missing values (Jinja's undefined, None) so the macro sees them as absent, not "None"."""
    if isinstance(value, Mapping):
        return {k: _defined(v) for k, v in value.items() if v is not None and not isinstance(v, Undefined)}
    if isinstance(value, list | tuple):
        return [_defined(v) for v in value if v is not None and not isinstance(v, Undefined)]
    return value


def nhs(component: str, params: Mapping[str, Any]) -> Markup:
    """Render an NHS.UK frontend component, memoised by its parameters.

    The NHS macros are faithful but slow to render (a patient form took ~110 ms). Their
    output depends only on their parameters, so identical calls (the criteria checklist, the
    delay-reason list with the same choice) are rendered once per process.
    """
    return _render_component(component, json.dumps(_defined(params), sort_keys=True, default=_json_default))


@pass_context
def path_for(context: Context, name: str, /, query: Query = None, **path_params: Any) -> str:
    """`path_for("show_patient", stay_id=stay.id, query={"tab": "plan"})` -> "/stays/7?tab=plan".

    Every link, form action, htmx and SSE URL in a template comes from here (static files from
    `static_url`); tests/web/test_links.py holds templates to it. Paths, not absolute URLs: see
    app/web/urls.py.
    """
    request = context.get("request")
    if request is None:
        raise RuntimeError(f"path_for({name!r}) needs `request` in the template context")
    return _path_for(request, name, query, **path_params)


def build_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES_DIR),
                PackageLoader("nhsuk_frontend_jinja"),
            ]
        ),
        undefined=ChainableUndefined,
        # Every template, whatever its extension: ours are .html, the NHS ones .jinja.
        autoescape=True,
    )
    env.globals["static_url"] = static_url
    env.globals["path_for"] = path_for
    env.globals["navigation_for"] = navigation_for
    env.globals["receives_alerts"] = receives_alerts
    env.filters["london_datetime"] = datetime_text
    env.filters["london_time"] = time_text
    env.filters["london_date"] = date_text
    env.filters["london_iso_date"] = lambda moment: london_date(moment).isoformat() if moment else ""
    env.filters["nhs_number"] = nhs_number_filter
    env.globals["select_items"] = select_items
    env.globals["nhs"] = nhs
    env.filters["dict_merge"] = lambda a, b: {**(a or {}), **(b or {})}
    return env


env = build_environment()
# Jinja2Blocks adds block rendering, and `url_for` (absolute URLs), which templates do not use:
# they link with `path_for`.
templates = Jinja2Blocks(env=env)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    block_name: str | None = None,
    block_names: list[str] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render a page, or one block of it (`block_name`) or several (`block_names`).

    The context starts from `request.state.template_context` (a dict that middleware and
    dependencies fill: CSRF token, current user, CSP nonce), then `context` on top, so a
    view can override a request-wide value deliberately. `request` is always present.
    """
    merged: dict[str, Any] = dict(getattr(request.state, "template_context", None) or {})
    merged.update(context or {})
    merged["request"] = request
    options: dict[str, Any] = {}
    if block_name:
        options["block_name"] = block_name
    elif block_names:
        options["block_names"] = block_names
    return templates.TemplateResponse(
        request,
        name,
        merged,
        status_code=status_code,
        headers=headers,
        **options,
    )
