"""API documentation at /docs: Swagger UI from static/vendor, started by a static script."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/docs", name="api_docs")
def show_api_docs(request: Request) -> Response:
    return render(request, "api_docs.html", {})
