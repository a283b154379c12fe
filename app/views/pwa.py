"""The installable app: service worker at the site root (its scope is the whole site)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.config import PROJECT_ROOT

router = APIRouter(include_in_schema=False)


@router.get("/sw.js", name="service_worker")
def service_worker() -> FileResponse:
    # Always revalidated, so a new version of the worker reaches every tablet promptly.
    return FileResponse(
        PROJECT_ROOT / "static" / "js" / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )
