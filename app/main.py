"""Application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from app import session_hooks
from app.alerts import job as alerts_job
from app.api.actions import router as actions_router
from app.api.adt import router as adt_router
from app.api.discharges import router as discharges_router
from app.api.escalations import router as escalations_router
from app.api.hub import router as hub_router
from app.api.metrics import router as metrics_router
from app.api.milestones import router as milestones_router
from app.api.patients import router as patients_router
from app.api.reference import router as reference_router
from app.api.referrals import router as referrals_router
from app.api.reviews import router as reviews_router
from app.api.rounds import router as rounds_router
from app.api.stays import router as stays_router
from app.api.ward_list import router as ward_list_router
from app.api.wards import router as wards_router
from app.auth.oidc import Provider, sso_origins
from app.auth.sessions import SessionMiddleware
from app.config import Settings, get_settings
from app.core import log_redaction
from app.db import DatabaseGate, make_engine, pool_capacity, write_engine
from app.metrics.stored.refresher import Refresher, nothing_later
from app.views.alerts import router as alert_views
from app.views.api_docs import router as api_docs_router
from app.views.audit import router as audit_views
from app.views.auth import router as auth_views
from app.views.discharges import router as discharge_views
from app.views.escalations import router as escalation_views
from app.views.home import router as home_views
from app.views.hospital import router as hospital_views
from app.views.hub import router as hub_views
from app.views.metrics import router as metrics_views
from app.views.milestones import router as milestone_views
from app.views.movements import router as movement_views
from app.views.pwa import router as pwa_views
from app.views.red_green import router as red_green_views
from app.views.rounds import router as round_views
from app.views.sessions import router as session_views
from app.views.stays import router as stay_views
from app.views.users import router as user_views
from app.views.ward_list import router as ward_list_views
from app.views.wards import router as ward_views
from app.web import errors
from app.web.csrf import CSRFMiddleware
from app.web.limits import BodySizeLimit
from app.web.live import PostgresListener
from app.web.pages import TemplateContext, html_error
from app.web.security import SecurityHeaders
from app.web.serving_loop import ServingLoop
from app.web.static_files import mount_static
from app.web.timing import ServerTiming

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for sub in (
        wards_router,
        ward_list_router,
        patients_router,
        stays_router,
        reviews_router,
        actions_router,
        milestones_router,
        referrals_router,
        hub_router,
        discharges_router,
        escalations_router,
        rounds_router,
        reference_router,
        metrics_router,
        adt_router,
    ):
        router.include_router(sub)
    return router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    listener = None
    if not settings.is_sqlite:
        # Changes made by other server processes reach this process's open boards.
        listener = PostgresListener(settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1))
        listener.start()
    # Everything loaded so far lives as long as the process: keep it out of the garbage collector's
    # full passes, which otherwise rescan it mid-request (seen as 50-100 ms stalls on metric pages).
    gc.collect()
    gc.freeze()
    refresher: Refresher | None = app.state.metrics_refresher
    if refresher is not None:
        refresher.start_sweeping()
    alert_timer = None
    if settings.alerts_every_minutes > 0:
        link = settings.public_url.rstrip("/") + str(app.url_path_for("list_alerts"))
        alert_timer = alerts_job.Timer(app.state.engine, settings, link=link)
        alert_timer.start()
    yield
    if alert_timer is not None:
        alert_timer.stop()
    if refresher is not None:
        refresher.stop()
    if listener is not None:
        listener.stop()
    app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    session_hooks.install()
    # Here rather than in `boardround serve`: `uvicorn --factory app.main:create_app` (and each of
    # its worker processes) must not log query strings or exception messages either.
    log_redaction.install()
    app = FastAPI(
        lifespan=lifespan,
        title="Boardround",
        summary="Daily multidisciplinary board round for NHS acute wards",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # our own /docs page: Swagger UI served locally, no inline script
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.write_engine = write_engine(app.state.engine)
    app.state.db_gate = DatabaseGate(pool_capacity(settings))
    refresher = Refresher(app.state.engine) if settings.metrics_background_refresh else None
    app.state.metrics_refresher = refresher
    app.state.metrics_refresh_later = refresher.later if refresher else nothing_later
    app.state.html_error_handler = html_error
    # Single sign-on (docs/single-sign-on.md): one provider, its discovery document and keys cached.
    app.state.oidc = Provider(settings) if settings.oidc_enabled else None
    app.include_router(api_router())
    for views in (
        auth_views,
        home_views,
        ward_views,
        round_views,
        red_green_views,
        escalation_views,
        metrics_views,
        stay_views,
        milestone_views,
        hub_views,
        user_views,
        session_views,
        audit_views,
        discharge_views,
        movement_views,
        ward_list_views,
        hospital_views,
        api_docs_router,
        pwa_views,
        alert_views,
    ):
        app.include_router(views)
    mount_static(app)
    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Outermost last: limits and headers wrap everything; the session is loaded before CSRF
    # checks it and before templates read the token.
    app.add_middleware(TemplateContext, secret=settings.secret_key)
    app.add_middleware(CSRFMiddleware, secret=settings.secret_key, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(SessionMiddleware, settings=settings)
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies, form_targets=sso_origins(settings))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ServerTiming)
    app.add_middleware(ServingLoop)
    return app
