"""Authentication and authorisation dependencies, for API and HTML routes alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session, select

from app.auth.permissions import Perm, allows
from app.auth.sessions import SIGNED_OUT, BrowserSession, password_fingerprint
from app.auth.tokens import user_for_token
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
    elif getattr(request.state, "session_user_id", None) is not None:
        user = session_user(session, request.state.browser_session)
    if user is None:
        raise NotAuthenticated("Sign in to continue")
    principal = principal_for(session, user, token_id=token_id)
    request.state.principal = principal
    return principal


def session_user(session: Session, browser: BrowserSession) -> User | None:
    """The signed-in user of a browser session, or None (and the session signed out) when the
    account or the session is no longer valid."""
    if browser.user_id is None:
        return None
    user = session.get(User, browser.user_id)
    if (
        user is None
        or not user.is_active
        or user.is_service_account
        # A password reset (or change) ends every session signed in with the old one.
        or browser.pw != password_fingerprint(user.password_hash)
    ):
        browser.sign_out()
        return None
    if _signed_out_since(user, browser.signed_in_at):
        browser.sign_out(SIGNED_OUT)
        return None
    return user


def _signed_out_since(user: User, signed_in_at: float | None) -> bool:
    """The user signed out (here or on another device) after this session signed in: a copied
    cookie, or another tablet still signed in as them, no longer works."""
    cutoff = user.sessions_valid_after
    return cutoff is not None and (signed_in_at is None or signed_in_at <= cutoff.timestamp())


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
CanReadHub = Annotated[Principal, Depends(require(Perm.READ_HUB))]
