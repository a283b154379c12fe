"""What an htmx request wants, and the responses htmx understands."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response


def is_htmx(request: Request) -> bool:
    """A request htmx sent and will swap into the page. A history restore is not one: it needs the
    whole page (with historyRestoreAsHxRequest off, as in our layout, htmx does not even mark it)."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


def wants_fragment(request: Request, target_id: str) -> bool:
    """A fragment only for an htmx request aimed at that container; a full page otherwise
    (plain GET, reload, history restore, a link opened in a new tab)."""
    return is_htmx(request) and request.headers.get("hx-target") == target_id


def vary(response: Response) -> Response:
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


def go_to(request: Request, url: str, *, target: str | None = None, message: str | None = None) -> Response:
    """Move on after a successful form: 303 for a plain form; for htmx, HX-Location swapping just
    `target` when the next page has that container, else HX-Redirect for a whole new page."""
    if is_htmx(request):
        if target:
            headers = {"HX-Location": json.dumps({"path": url, "target": f"#{target}", "swap": "outerHTML"})}
        else:
            headers = {"HX-Redirect": url}
        if message:
            headers["HX-Trigger"] = json.dumps({"status-message": message})
        return Response(status_code=200, headers=headers)
    return RedirectResponse(url, status_code=303)


def trigger(response: Response, **events: Any) -> Response:
    response.headers["HX-Trigger"] = json.dumps(events)
    return response
