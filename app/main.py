"""Application factory."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from app.actions.api import router as actions_router
from app.config import Settings, get_settings
from app.discharges.api import router as discharges_router
from app.escalations.api import router as escalations_router
from app.patients.api import router as patients_router
from app.reference_api import router as reference_router
from app.reviews.api import router as reviews_router
from app.rounds.api import router as rounds_router
from app.stays.api import router as stays_router
from app.wards.api import router as wards_router
from app.web import errors
from app.web.limits import BodySizeLimit

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for sub in (
        wards_router,
        patients_router,
        stays_router,
        reviews_router,
        actions_router,
        discharges_router,
        escalations_router,
        rounds_router,
        reference_router,
    ):
        router.include_router(sub)
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Boardround",
        summary="Daily multidisciplinary board round for NHS acute wards",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.include_router(api_router())
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
