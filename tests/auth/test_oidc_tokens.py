"""ID tokens and logout tokens checked against a real OpenID provider's discovery document and
keys (tests/sso_provider.py): the provider's real key signs what the tests mint, so each refusal
is for the one thing the test changed."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from app.auth.oidc import BACK_CHANNEL_EVENT, OidcError, Provider
from app.config import Settings
from tests.sso_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, new_key

NONCE = "the-nonce-we-sent"


def client_for(provider: OidcProvider, **settings: object) -> Provider:
    return Provider(
        Settings(
            environment="test",
            secret_key="k" * 48,
            oidc_issuer=provider.issuer,
            oidc_client_id=CLIENT_ID,
            **({"oidc_client_secret": CLIENT_SECRET} | settings),  # type: ignore[arg-type]
        )
    )


def test_discovery_and_a_good_id_token(oidc_provider):
    client = client_for(oidc_provider)
    assert client.metadata()["issuer"] == oidc_provider.issuer
    claims = client.verify_id_token(oidc_provider.mint(oidc_provider.id_token_claims(NONCE, sub="alice")), nonce=NONCE)
    assert claims["sub"] == "alice"


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: _tamper(p.mint(p.id_token_claims(NONCE))), "bad_signature"),
        (lambda p: p.mint(p.id_token_claims(NONCE, exp=int(time.time()) - 600)), "bad_id_token:exp"),
        (lambda p: p.mint(p.id_token_claims(NONCE, aud="another-app")), "bad_id_token:aud"),
        (lambda p: p.mint(p.id_token_claims("a-replayed-nonce")), "bad_id_token:nonce"),
        (lambda p: p.mint(p.id_token_claims(NONCE, nonce=None)), "bad_id_token:nonce"),
        (lambda p: p.mint(p.id_token_claims(NONCE, iss="http://127.0.0.1:1")), "bad_id_token:iss"),
        (lambda p: p.mint(p.id_token_claims(NONCE, aud=[CLIENT_ID, "other"])), "bad_id_token:azp"),
        # Signed by a key the provider does not have, under the real key's id.
        (lambda p: p.mint(p.id_token_claims(NONCE), key=new_key(p.keys[0].kid)), "bad_signature"),
        # Symmetric, with the client secret as the key: never accepted.
        (
            lambda p: jwt.encode({"alg": "HS256"}, p.id_token_claims(NONCE), OctKey.import_key(CLIENT_SECRET)),
            "bad_signature",
        ),
        (lambda p: "not.a.token", "malformed_token"),
    ],
    ids=[
        "tampered",
        "expired",
        "wrong-audience",
        "wrong-nonce",
        "no-nonce",
        "wrong-issuer",
        "no-azp",
        "other-key",
        "hs256",
        "garbage",
    ],
)
def test_refused_id_tokens(oidc_provider, change, reason):
    client = client_for(oidc_provider)
    with pytest.raises(OidcError) as refused:
        client.verify_id_token(change(oidc_provider), nonce=NONCE)
    assert refused.value.reason == reason


def test_key_rotation_fetches_the_new_keys(oidc_provider):
    client = client_for(oidc_provider, oidc_jwks_min_refresh_seconds=0)
    old = oidc_provider.keys[0]
    client.verify_id_token(oidc_provider.mint(oidc_provider.id_token_claims(NONCE)), nonce=NONCE)  # keys cached
    new = oidc_provider.rotate()
    assert new.kid != old.kid
    # A token with the new key id: the keys are fetched again and it is accepted...
    assert client.verify_id_token(oidc_provider.mint(oidc_provider.id_token_claims(NONCE)), nonce=NONCE)
    # ...and the old key is gone from the cache with it.
    with pytest.raises(OidcError) as refused:
        client.verify_id_token(oidc_provider.mint(oidc_provider.id_token_claims(NONCE), key=old), nonce=NONCE)
    assert refused.value.reason == "bad_signature"


def test_unknown_key_ids_do_not_make_us_hammer_the_provider(oidc_provider):
    client = client_for(oidc_provider, oidc_jwks_min_refresh_seconds=3600)
    client.verify_id_token(oidc_provider.mint(oidc_provider.id_token_claims(NONCE)), nonce=NONCE)
    oidc_provider.rotate()
    # Within the refresh interval an unknown key id is refused, not fetched again.
    with pytest.raises(OidcError) as refused:
        client.verify_id_token(oidc_provider.mint(oidc_provider.id_token_claims(NONCE)), nonce=NONCE)
    assert refused.value.reason == "bad_signature"


def logout_claims(provider: OidcProvider, **overrides: object) -> dict:
    claims = {
        "iss": provider.issuer,
        "aud": CLIENT_ID,
        "iat": int(time.time()),
        "jti": "j1",
        "sid": "provider-session",
        "events": {BACK_CHANNEL_EVENT: {}},
    }
    return {k: v for k, v in (claims | overrides).items() if v is not None}


def test_logout_tokens(oidc_provider):
    client = client_for(oidc_provider)
    notice = client.verify_logout_token(oidc_provider.mint(logout_claims(oidc_provider)))
    assert notice.sid == "provider-session" and notice.subject is None
    for overrides, reason in [
        ({"events": None}, "bad_logout_token:events"),
        ({"nonce": "n"}, "bad_logout_token:nonce"),
        ({"sid": None}, "bad_logout_token:sub"),
        ({"aud": "another-app"}, "bad_logout_token:aud"),
        ({"jti": None}, "bad_logout_token:jti"),
    ]:
        with pytest.raises(OidcError) as refused:
            client.verify_logout_token(oidc_provider.mint(logout_claims(oidc_provider, **overrides)))
        assert refused.value.reason == reason, overrides
    with pytest.raises(OidcError):
        client.verify_logout_token(_tamper(oidc_provider.mint(logout_claims(oidc_provider, sub="x"))))


def test_a_provider_whose_discovery_names_another_issuer_is_refused(oidc_provider):
    client = Provider(
        Settings(
            environment="test",
            secret_key="k" * 48,
            oidc_issuer=oidc_provider.issuer + "/",
            oidc_client_id=CLIENT_ID,
        )
    )
    with pytest.raises(OidcError) as refused:
        client.metadata()
    assert refused.value.reason == "issuer_mismatch"


def test_the_code_flow_with_pkce_and_a_private_key_jwt(oidc_provider, tmp_path):
    """The whole exchange against the provider, the client authenticated by a signed JWT (CIS2's way)."""
    import re
    from urllib.parse import parse_qs, urljoin, urlsplit

    import httpx

    client_key = new_key()
    key_file = tmp_path / "client-key.json"
    key_file.write_text(json.dumps(client_key.as_dict(private=True)))
    oidc_provider.accounts = {"pat": {"name": "Pat Porter", "groups": ["g-nurses"]}}
    oidc_provider.client_overrides = {
        "token_endpoint_auth_method": "private_key_jwt",
        "client_secret": None,
        "jwks": {"keys": [client_key.as_dict(private=False)]},
    }
    oidc_provider.stop()
    oidc_provider.start()
    client = client_for(
        oidc_provider, oidc_client_secret="", oidc_private_key_file=str(key_file), oidc_private_key_id=client_key.kid
    )
    redirect_uri = f"{oidc_provider.app_base_url}/auth/oidc/callback"

    def code_for(request) -> str:
        with httpx.Client(follow_redirects=True, timeout=10) as browser:
            page = browser.get(request.url)
            action = re.search(r'<form autocomplete="off" action="([^"]+)"', page.text).group(1)
            browser.follow_redirects = False
            r = browser.post(urljoin(str(page.url), action), data={"prompt": "login", "login": "pat", "password": "x"})
            while not r.headers["location"].startswith(redirect_uri):
                r = browser.get(urljoin(str(r.url), r.headers["location"]))
        back = parse_qs(urlsplit(r.headers["location"]).query)
        assert back["state"] == [request.state]
        return back["code"][0]

    request = client.authorisation_request(redirect_uri)
    query = parse_qs(urlsplit(request.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [request.state]
    assert query["nonce"] == [request.nonce] and "code_verifier" not in query
    identity = client.sign_in(
        code=code_for(request), code_verifier=request.code_verifier, nonce=request.nonce, redirect_uri=redirect_uri
    )
    assert identity.subject == "pat" and identity.claims["groups"] == ["g-nurses"] and identity.sid
    # Another flow with the wrong verifier: the provider refuses the code (PKCE).
    request = client.authorisation_request(redirect_uri)
    with pytest.raises(OidcError) as refused:
        client.sign_in(code=code_for(request), code_verifier="x" * 50, nonce=request.nonce, redirect_uri=redirect_uri)
    assert refused.value.reason == "token_request_failed"
