"""Users from single sign-on: the provider's claims to a Boardround user, role and wards.

At each OpenID Connect sign-in (app/auth/oidc.py checked the tokens) the account linked to the
provider's issuer and subject is found, or created just in time, and its name, role and wards are
set from the claims through the mapping in the settings (docs/single-sign-on.md). Claims that no
longer map to a role disable the account and end its sessions: the provider has said this person
no longer works here in a Boardround role. An account an administrator disabled stays disabled.
Every change is audited, with "single sign-on" as the actor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from app.audit import service as audit
from app.auth import sessions
from app.auth.oidc import Identity, OidcError
from app.config import Settings
from app.models import StaffRole, User, Ward
from app.users.service import _set_wards, ward_ids_of

ACTOR = "single sign-on"


@dataclass(frozen=True)
class Mapped:
    role_code: str | None
    ward_codes: list[str]
    matched: list[str]  # the claim values that matched, for the audit trail


def claim_values(value: object, field: str) -> list[str]:
    """A claim as strings: a string, a list of strings, or a list of objects (CIS2's
    `nhsid_nrbac_roles`, read through `field`). Colon-separated codes (CIS2's
    "S8000:G8000:R8000") also count by each part, so a map can name R8000 alone."""
    items: Iterable[object]
    if isinstance(value, str):
        items = re.split(r"[\s,]+", value) if " " in value or "," in value else [value]
    elif isinstance(value, list):
        items = value
    else:
        return []
    found: list[str] = []
    for item in items:
        if isinstance(item, Mapping):
            item = item.get(field)
        if isinstance(item, str | int) and str(item):
            text = str(item)
            found.append(text)
            if ":" in text:
                found.extend(part for part in text.split(":") if part)
    return found


def map_claims(claims: Mapping[str, Any], settings: Settings) -> Mapped:
    roles = claim_values(claims.get(settings.oidc_roles_claim), settings.oidc_role_field)
    role_code = None
    matched: list[str] = []
    for value, code in settings.oidc_role_map.items():  # the first entry that matches wins
        if value in roles:
            role_code, matched = code, [value]
            break
    ward_values = claim_values(
        claims.get(settings.oidc_wards_claim or settings.oidc_roles_claim), settings.oidc_role_field
    )
    wards: list[str] = []
    for value, codes in settings.oidc_ward_map.items():
        if value in ward_values:
            matched.append(value)
            wards.extend(c for c in codes if c not in wards)
    return Mapped(role_code=role_code, ward_codes=wards, matched=matched)


def check_assurance(claims: Mapping[str, Any], settings: Settings) -> None:
    """NHS CIS2: refuse an authentication weaker than the configured assurance level."""
    if settings.oidc_min_assurance_level <= 0:
        return
    raw = claims.get(settings.oidc_assurance_claim)
    try:
        level = int(str(raw))
    except ValueError:
        level = 0
    if level < settings.oidc_min_assurance_level:
        raise OidcError(
            "assurance_too_low",
            f"Boardround needs a stronger sign-in (assurance level {settings.oidc_min_assurance_level}), "
            "for example your smartcard. Sign in again with it.",
        )


def _refuse(session: Session, identity: Identity, now: datetime, reason: str, user: User | None = None) -> None:
    audit.record(
        session,
        actor=None,
        actor_name=f"sso:{identity.subject[:60]}",
        action="sign_in_failed",
        entity_type="user",
        entity_id=user.id if user else "",
        at=now,
        after={"reason": reason, "method": sessions.OIDC_METHOD, "issuer": identity.issuer},
    )


def sign_in(session: Session, identity: Identity, settings: Settings, *, now: datetime) -> User:
    """The user for a checked identity: found, created or updated from its claims. Raises
    OidcError (audited) when this identity may not sign in. The caller commits, even then."""
    claims = identity.claims
    try:
        check_assurance(claims, settings)
    except OidcError as exc:
        _refuse(session, identity, now, exc.reason)
        raise
    user = session.exec(
        select(User).where(User.oidc_issuer == identity.issuer, User.oidc_subject == identity.subject)
    ).first()
    mapped = map_claims(claims, settings)
    role = session.get(StaffRole, mapped.role_code) if mapped.role_code else None
    if role is None or not role.can_sign_in:
        if user is not None and user.is_active:
            _disable(session, user, now)
        _refuse(session, identity, now, "no_role", user)
        raise OidcError("no_role", "Your account does not give you a role in Boardround. Ask your IT service desk.")
    ward_ids = sorted(
        session.exec(select(Ward.id).where(col(Ward.code).in_(mapped.ward_codes))).all() if mapped.ward_codes else []
    )
    name = _text(claims.get(settings.oidc_name_claim)) or _text(claims.get("name")) or identity.subject
    if user is None:
        user = _create(session, identity, settings, role.code, name[:200], ward_ids, now)
    else:
        if not user.is_active:
            _refuse(session, identity, now, "disabled", user)
            raise OidcError("disabled", "Your Boardround account is disabled. Ask a Boardround administrator.")
        _update(session, user, role.code, name[:200], ward_ids, mapped.matched, now)
    return user


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _create(
    session: Session, identity: Identity, settings: Settings, role: str, name: str, ward_ids: list[int], now: datetime
) -> User:
    username = (_text(identity.claims.get(settings.oidc_username_claim)) or identity.subject).lower()[:100]
    if session.exec(select(User.id).where(func.lower(User.username) == username)).first() is not None:
        # Never take over a local account because the provider reports the same name.
        _refuse(session, identity, now, "username_taken")
        raise OidcError(
            "username_taken",
            "A Boardround account with your username already exists. Ask a Boardround administrator to link it.",
        )
    user = User(
        username=username,
        display_name=name,
        role_code=role,
        password_hash=None,
        oidc_issuer=identity.issuer,
        oidc_subject=identity.subject,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    _set_wards(session, user, ward_ids)
    session.flush()
    audit.record(
        session,
        actor=None,
        actor_name=ACTOR,
        action="user_create",
        entity=user,
        at=now,
        after=audit.snapshot(user, ward_ids=ward_ids),
    )
    return user


def _update(
    session: Session, user: User, role: str, name: str, ward_ids: list[int], matched: list[str], now: datetime
) -> None:
    before = audit.snapshot(user, ward_ids=ward_ids_of(session, user.id))
    if user.display_name != name or user.role_code != role or before["ward_ids"] != ward_ids:
        user.display_name = name
        user.role_code = role
        user.updated_at = now
        _set_wards(session, user, ward_ids)
        session.flush()
        old, new = audit.changed(before, audit.snapshot(user, ward_ids=ward_ids))
        audit.record(
            session,
            actor=None,
            actor_name=ACTOR,
            action="user_update",
            entity=user,
            at=now,
            before=old,
            after=new | {"claims_matched": matched},
        )


def _disable(session: Session, user: User, now: datetime) -> None:
    user.is_active = False
    user.updated_at = now
    session.flush()
    ended = sessions.end_sessions(session, sessions.DISABLED, user_id=user.id)
    audit.record(
        session,
        actor=None,
        actor_name=ACTOR,
        action="user_disable",
        entity=user,
        at=now,
        before={"is_active": True},
        after={"is_active": False, "reason": "no_role_in_claims", "sessions_ended": ended},
    )


def back_channel_logout(session: Session, notice: Any, *, now: datetime) -> int:
    """The provider says this person signed out there: end the Boardround sessions it names
    (its session id, else every session of that subject). Returns how many ended."""
    ended = 0
    users = list(
        session.exec(
            select(User).where(User.oidc_issuer == notice.issuer, User.oidc_subject == notice.subject)
            if notice.subject
            else select(User).where(col(User.id).in_([]))
        )
    )
    if notice.sid:
        ended = sessions.end_sessions(session, sessions.IDP_LOGOUT, oidc_sid=notice.sid)
    else:
        for user in users:
            ended += sessions.end_sessions(session, sessions.IDP_LOGOUT, user_id=user.id)
    audit.record(
        session,
        actor=None,
        actor_name="identity provider",
        action="sign_out",
        entity_type="user",
        entity_id=users[0].id if users else "",
        at=now,
        after={"reason": sessions.IDP_LOGOUT, "sessions_ended": ended},
    )
    return ended
