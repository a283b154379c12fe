"""Users from single sign-on (app/users/sso.py): claims to role and wards, just-in-time creation,
updates at each sign-in, disabling when the claims no longer give a role, the CIS2 assurance
level, and back-channel logout ending sessions. The tokens themselves: test_oidc_tokens.py; the
whole flow through a real provider and Chromium: tests/browser/test_sso.py."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.auth import sessions
from app.auth.oidc import Identity, LogoutNotice, OidcError
from app.config import Settings
from app.models import AuditEvent, User, UserSession
from app.users import sso
from app.users.service import ward_ids_of
from tests import factories
from tests.sso_provider import ROLE_MAP, WARD_MAP

ISSUER = "https://auth.example.nhs.uk"


def settings(**overrides: object) -> Settings:
    return Settings(
        environment="test",
        secret_key="k" * 48,
        oidc_issuer=ISSUER,
        oidc_client_id="boardround",
        oidc_role_map=ROLE_MAP,
        oidc_ward_map=WARD_MAP,
        **overrides,  # type: ignore[arg-type]
    )


def identity(subject: str = "u-1", sid: str | None = "op-sid-1", **claims: object) -> Identity:
    return Identity(issuer=ISSUER, subject=subject, sid=sid, claims={"sub": subject, **claims})


@pytest.fixture
def wards(db):
    return {code: factories.make_ward(db, code=code) for code in ("SSO-AMU", "SSO-W1")}


def test_claim_values_read_strings_lists_and_cis2_role_objects():
    assert sso.claim_values(["g-nurses", "g-amu"], "role_code") == ["g-nurses", "g-amu"]
    assert sso.claim_values("R8000", "role_code") == ["R8000"]
    cis2 = [{"role_code": "S8000:G8000:R8001", "org_code": "RXX"}, {"person_roleid": "x"}]
    assert sso.claim_values(cis2, "role_code") == ["S8000:G8000:R8001", "S8000", "G8000", "R8001"]
    assert sso.claim_values(None, "role_code") == [] and sso.claim_values({"a": 1}, "role_code") == []


def test_mapping_the_first_matching_role_wins_and_wards_add_up():
    mapped = sso.map_claims({"groups": ["g-nurses", "g-doctors", "g-amu", "g-w1"]}, settings())
    assert mapped.role_code == "doctor"  # listed before g-nurses in the map
    assert mapped.ward_codes == ["SSO-AMU", "SSO-W1"]
    assert sso.map_claims({"groups": ["g-unknown"]}, settings()).role_code is None
    cis2 = settings(oidc_roles_claim="nhsid_nrbac_roles")
    assert sso.map_claims({"nhsid_nrbac_roles": [{"role_code": "S8000:G8000:R8001"}]}, cis2).role_code == "nurse"


def test_first_sign_in_creates_the_user_with_role_and_wards(db, wards, now):
    user = sso.sign_in(
        db,
        identity(name="Sam Sister", preferred_username="Sam.Sister@nhs.net", groups=["g-nurses", "g-amu"]),
        settings(),
        now=now,
    )
    assert (user.username, user.display_name, user.role_code) == ("sam.sister@nhs.net", "Sam Sister", "nurse")
    assert (user.oidc_issuer, user.oidc_subject, user.password_hash) == (ISSUER, "u-1", None)
    assert ward_ids_of(db, user.id) == [wards["SSO-AMU"].id]
    created = db.exec(select(AuditEvent).where(AuditEvent.action == "user_create")).all()[-1]
    assert created.actor_name == "single sign-on" and created.entity_id == str(user.id)


def test_each_sign_in_updates_role_wards_and_name(db, wards, now):
    first = sso.sign_in(db, identity(name="Sam", groups=["g-nurses", "g-amu"]), settings(), now=now)
    again = sso.sign_in(db, identity(name="Dr Sam", groups=["g-doctors", "g-w1"]), settings(), now=now)
    assert again.id == first.id
    assert (again.display_name, again.role_code) == ("Dr Sam", "doctor")
    assert ward_ids_of(db, again.id) == [wards["SSO-W1"].id]
    update = db.exec(select(AuditEvent).where(AuditEvent.action == "user_update")).all()[-1]
    assert update.before["role_code"] == "nurse" and update.after["role_code"] == "doctor"


def test_no_role_in_the_claims_refuses_and_disables_the_account(db, wards, now):
    user = sso.sign_in(db, identity(groups=["g-nurses"]), settings(), now=now)
    row = sessions.begin(
        db, sessions.BrowserSession(sid="x"), user_id=user.id, method="oidc", client="10.0.0.1", user_agent=""
    )
    with pytest.raises(OidcError) as refused:
        sso.sign_in(db, identity(groups=["g-leavers"]), settings(), now=now)
    assert refused.value.reason == "no_role"
    db.refresh(user)
    db.refresh(row)
    assert not user.is_active and row.ended_reason == sessions.DISABLED
    # A new person with no mapped role is refused too, and nothing is created.
    with pytest.raises(OidcError):
        sso.sign_in(db, identity(subject="u-2", groups=[]), settings(), now=now)
    assert db.exec(select(User).where(User.oidc_subject == "u-2")).first() is None
    # An account that is disabled stays disabled, whatever the claims say.
    with pytest.raises(OidcError) as refused:
        sso.sign_in(db, identity(groups=["g-nurses"]), settings(), now=now)
    assert refused.value.reason == "disabled"


def test_a_local_account_with_the_same_username_is_not_taken_over(db, now):
    factories.make_user(db, "admin", username="boss")
    with pytest.raises(OidcError) as refused:
        sso.sign_in(db, identity(preferred_username="Boss", groups=["R8000"]), settings(), now=now)
    assert refused.value.reason == "username_taken"


@pytest.mark.parametrize(("level", "allowed"), [("3", True), (3, True), ("2", False), (None, False), ("x", False)])
def test_cis2_assurance_level_below_the_setting_is_refused(db, now, level, allowed):
    claims = {"groups": ["R8001"]} | ({"authentication_assurance_level": level} if level is not None else {})
    cis2 = settings(oidc_min_assurance_level=3)
    if allowed:
        assert sso.sign_in(db, identity(**claims), cis2, now=now).role_code == "nurse"
    else:
        with pytest.raises(OidcError) as refused:
            sso.sign_in(db, identity(**claims), cis2, now=now)
        assert refused.value.reason == "assurance_too_low"
        failed = db.exec(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).all()[-1]
        assert failed.after["reason"] == "assurance_too_low"


def test_back_channel_logout_ends_the_named_provider_session_or_all_of_the_subject(db, now):
    user = sso.sign_in(db, identity(groups=["g-nurses"]), settings(), now=now)

    def signed_in(oidc_sid: str) -> UserSession:
        return sessions.begin(
            db,
            sessions.BrowserSession(sid="x"),
            user_id=user.id,
            method="oidc",
            client="",
            user_agent="",
            oidc_sid=oidc_sid,
        )

    a, b = signed_in("op-a"), signed_in("op-b")
    assert sso.back_channel_logout(db, LogoutNotice(issuer=ISSUER, subject=None, sid="op-a"), now=now) == 1
    db.refresh(a)
    db.refresh(b)
    assert a.ended_reason == sessions.IDP_LOGOUT and b.ended_at is None
    assert sso.back_channel_logout(db, LogoutNotice(issuer=ISSUER, subject="u-1", sid=None), now=now) == 1
    db.refresh(b)
    assert b.ended_reason == sessions.IDP_LOGOUT


def test_passwords_can_be_turned_off_only_once_single_sign_on_is_set_up(db, now):
    from app.auth.service import password_sign_in_allowed
    from app.core.errors import RuleViolation
    from app.users.service import set_password_sign_in

    admin = factories.principal(db, factories.make_user(db, "admin"))
    without_sso = Settings(environment="test", secret_key="k" * 48)
    with pytest.raises(RuleViolation):
        set_password_sign_in(db, actor=admin, allowed=False, settings=without_sso, now=now)
    assert password_sign_in_allowed(db, without_sso)
    set_password_sign_in(db, actor=admin, allowed=False, settings=settings(), now=now)
    assert not password_sign_in_allowed(db, settings())
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "sign_in_policy_update")).one()
    assert event.before == {"password_sign_in": True} and event.after == {"password_sign_in": False}
    set_password_sign_in(db, actor=admin, allowed=True, settings=settings(), now=now)
    assert password_sign_in_allowed(db, settings())
    # The server's setting wins over the administrator's choice.
    assert not password_sign_in_allowed(db, settings(password_sign_in=False))
