"""Authentication and authorisation dependencies, for API and HTML routes alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session, select

from app.auth import sessions
from app.auth.permissions import Perm, allows
from app.auth.sessions import DISABLED, BrowserSession
from app.auth.tokens import user_for_token
from app.config import Settings
from app.core.errors import DomainError, Forbidden
from app.core.principal import Principal
from app.db import SessionDep
from app.models import StaffRole, User, UserWard


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


def principal_for(session: Session, user: User, *, token_id: int | None = None) -> Principal:
    role = session.get(StaffRole, user.role_code)
    ward_ids = session.exec(select(UserWard.ward_id).where(UserWard.user_id == user.id)).all()
    return Principal(
        user_id=user.id,
        display_name=user.display_name,
        role=user.role_code,
        site_wide=bool(role and role.site_wide),
        ward_ids=frozenset(ward_ids),
        is_service_account=user.is_service_account,
        token_id=token_id,
    )


def current_principal(request: Request, session: SessionDep) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    auth = request.headers.get("authorization", "")
    user: User | None = None
    token_id: int | None = None
    if auth.lower().startswith("bearer "):
        found = user_for_token(session, auth[7:].strip())
        if found is None:
            raise NotAuthenticated("Invalid or revoked token")
        user, token_id = found[0], found[1].id
    elif getattr(request.state, "session_cookie", False):
        user = session_user(session, request.state.browser_session, request.app.state.settings)
    if user is None:
        raise NotAuthenticated("Sign in to continue")
    principal = principal_for(session, user, token_id=token_id)
    request.state.principal = principal
    return principal


def session_user(session: Session, browser: BrowserSession, settings: Settings) -> User | None:
    """The signed-in user of a browser session, or None (and the browser told why) when the
    session or the account is no longer valid (app/auth/sessions.py)."""
    row = sessions.live(session, browser, settings)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.is_service_account:
        # Disabling ends the sessions already (app/users/service.py); this is the backstop.
        browser.forget(DISABLED)
        return None
    return user


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(perm: Perm) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if not allows(principal.role, perm):
            raise Forbidden("Your role does not allow this")
        return principal

    check.__name__ = f"require_{perm.name.lower()}"
    return check


# One dependency per permission, named for what it allows: `actor: CanReadWard` in a route's
# signature. Aliases, not a function returning Annotated, so type checkers see a Principal.
CanReadWard = Annotated[Principal, Depends(require(Perm.READ_WARD))]
CanSetUpHospital = Annotated[Principal, Depends(require(Perm.SETUP_HOSPITAL))]
CanManageWard = Annotated[Principal, Depends(require(Perm.MANAGE_WARD))]
CanManageBedState = Annotated[Principal, Depends(require(Perm.MANAGE_BED_STATE))]
CanWritePatient = Annotated[Principal, Depends(require(Perm.WRITE_PATIENT))]
CanManageStay = Annotated[Principal, Depends(require(Perm.MANAGE_STAY))]
CanImportWardList = Annotated[Principal, Depends(require(Perm.IMPORT_WARD_LIST))]
CanCorrectStay = Annotated[Principal, Depends(require(Perm.CORRECT_STAY))]
CanWriteClinical = Annotated[Principal, Depends(require(Perm.WRITE_CLINICAL))]
CanRecordLateReview = Annotated[Principal, Depends(require(Perm.LATE_REVIEW))]
CanRunRound = Annotated[Principal, Depends(require(Perm.RUN_ROUND))]
CanLogFailedDischarge = Annotated[Principal, Depends(require(Perm.LOG_FAILED_DISCHARGE))]
CanRaiseEscalation = Annotated[Principal, Depends(require(Perm.RAISE_ESCALATION))]
CanActEscalation = Annotated[Principal, Depends(require(Perm.ACT_ESCALATION))]
CanReadSite = Annotated[Principal, Depends(require(Perm.READ_SITE))]
CanReadAudit = Annotated[Principal, Depends(require(Perm.READ_AUDIT))]
CanManageUsers = Annotated[Principal, Depends(require(Perm.MANAGE_USERS))]
CanSubmitHl7 = Annotated[Principal, Depends(require(Perm.SUBMIT_HL7))]
CanReceiveAlerts = Annotated[Principal, Depends(require(Perm.RECEIVE_ALERTS))]
CanReadHub = Annotated[Principal, Depends(require(Perm.READ_HUB))]
