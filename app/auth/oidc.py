"""OpenID Connect single sign-on: the client side of the authorisation code flow (docs/single-sign-on.md).

Authlib makes the authorisation request (PKCE S256, state, nonce) and the token request (client
secret or private-key JWT); joserfc checks every signed token against the provider's keys. The
discovery document and the keys are cached; a token signed with a key id not in the cache makes
the keys be fetched again (the provider rotated them), at most once per
`oidc_jwks_min_refresh_seconds`, so forged key ids cannot make us hammer the provider.

ID tokens: signature (asymmetric algorithms only), `iss` equal to the configured issuer, `aud`
holding our client id (and `azp` ours when there are several audiences), `exp`, `iat`, `sub` and
`nonce` equal to the one sent, within `oidc_clock_skew_seconds`. Logout tokens (back-channel
logout): signature, `iss`, `aud`, `iat`, `jti`, the back-channel logout event, `sid` or `sub`,
and no `nonce`.

Nothing here touches the database: app/users/sso.py turns checked claims into a user.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from app.config import Settings

with warnings.catch_warnings():
    # Authlib 1.9 would rather have httpx2 (not yet released as stable); httpx works the same.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client

# Asymmetric only: a symmetric algorithm would let anyone holding the client secret sign tokens.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
BACK_CHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class OidcError(Exception):
    """A sign-in or logout the provider or its token did not allow. `reason` is audited."""

    def __init__(self, reason: str, message: str = "Single sign-on did not work. Try again.") -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class AuthRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    """A checked ID token's claims (with the userinfo claims when configured)."""

    issuer: str
    subject: str
    sid: str | None
    claims: Mapping[str, Any]


@dataclass(frozen=True)
class LogoutNotice:
    issuer: str
    subject: str | None
    sid: str | None


@dataclass
class _Cache:
    metadata: dict[str, Any] | None = None
    metadata_at: float = 0.0
    keys: KeySet | None = None
    keys_at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


class Provider:
    """One configured identity provider; one instance per app (it holds the caches)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self._cache = _Cache()
        self._private_key: RSAKey | None = None
        if settings.oidc_private_key_file:
            with open(settings.oidc_private_key_file, "rb") as fh:
                raw = fh.read()
            # A JWK (JSON) or a PEM file.
            self._private_key = RSAKey.import_key(json.loads(raw) if raw.lstrip().startswith(b"{") else raw)

    # Discovery and keys ----------------------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self.settings.oidc_timeout_seconds, follow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError("provider_unreachable", "The sign-in service cannot be reached. Try again.") from exc
        if not isinstance(data, dict):
            raise OidcError("provider_unreachable", "The sign-in service cannot be reached. Try again.")
        return data

    def metadata(self) -> dict[str, Any]:
        cache = self._cache
        with cache.lock:
            fresh = time.monotonic() - cache.metadata_at < self.settings.oidc_metadata_cache_seconds
            if cache.metadata is None or not fresh:
                data = self._get_json(self.settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration")
                if data.get("issuer") != self.settings.oidc_issuer:
                    raise OidcError("issuer_mismatch", "The sign-in service is misconfigured.")
                cache.metadata, cache.metadata_at = data, time.monotonic()
            return cache.metadata

    def keys(self, kid: str | None) -> KeySet:
        """The provider's keys; fetched again when `kid` is not among them (rate-limited)."""
        cache = self._cache
        jwks_uri = str(self.metadata()["jwks_uri"])
        with cache.lock:
            known = cache.keys is not None and (kid is None or any(k.kid == kid for k in cache.keys.keys))
            may_refresh = time.monotonic() - cache.keys_at >= self.settings.oidc_jwks_min_refresh_seconds
            if cache.keys is None or (not known and may_refresh):
                try:
                    cache.keys = KeySet.import_key_set(self._get_json(jwks_uri))  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as exc:
                    raise OidcError("bad_jwks", "The sign-in service is misconfigured.") from exc
                cache.keys_at = time.monotonic()
            return cache.keys

    # The authorisation code flow -------------------------------------------------------------

    def _client(self, redirect_uri: str | None = None) -> OAuth2Client:
        token_endpoint = str(self.metadata()["token_endpoint"])
        if self._private_key is not None:
            headers = {"kid": self.settings.oidc_private_key_id} if self.settings.oidc_private_key_id else None
            client = OAuth2Client(
                client_id=self.client_id,
                client_secret=self._private_key,
                token_endpoint_auth_method="private_key_jwt",  # noqa: S106 (a method name)
                scope=self.settings.oidc_scopes,
                redirect_uri=redirect_uri,
                code_challenge_method="S256",
                timeout=self.settings.oidc_timeout_seconds,
            )
            client.register_client_auth_method(PrivateKeyJWT(token_endpoint, headers=headers))
            return client
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self.settings.oidc_client_secret,
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 (a method name)
            scope=self.settings.oidc_scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.settings.oidc_timeout_seconds,
        )

    def authorisation_request(self, redirect_uri: str) -> AuthRequest:
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                str(self.metadata()["authorization_endpoint"]),
                state=state,
                nonce=nonce,
                code_verifier=verifier,
                **self.settings.oidc_auth_params,
            )
        return AuthRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    def sign_in(self, *, code: str, code_verifier: str, nonce: str, redirect_uri: str) -> Identity:
        """Exchange the code (PKCE), check the ID token, read userinfo if configured."""
        metadata = self.metadata()
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(
                    str(metadata["token_endpoint"]),
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                    redirect_uri=redirect_uri,
                )
                id_token = token.get("id_token")
                if not id_token:
                    raise OidcError("no_id_token")
                claims = self.verify_id_token(str(id_token), nonce=nonce)
                if self.settings.oidc_userinfo and metadata.get("userinfo_endpoint"):
                    response = client.get(str(metadata["userinfo_endpoint"]))
                    response.raise_for_status()
                    info = response.json()
                    if not isinstance(info, dict) or info.get("sub") != claims["sub"]:
                        raise OidcError("userinfo_subject_mismatch")
                    claims = {**info, **claims}
        except OidcError:
            raise
        except Exception as exc:  # the token request: Authlib's OAuthError, httpx errors
            raise OidcError("token_request_failed") from exc
        return Identity(issuer=self.issuer, subject=str(claims["sub"]), sid=_opt_str(claims.get("sid")), claims=claims)

    # Token checks ----------------------------------------------------------------------------

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError, TypeError) as exc:
            raise OidcError("malformed_token") from exc
        kid = header.get("kid")
        keys = self.keys(str(kid) if kid is not None else None)
        try:
            return dict(jwt.decode(token, keys, algorithms=ALGORITHMS).claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise OidcError("bad_signature") from exc

    def _registry(self, **claims: Any) -> jwt.JWTClaimsRegistry:
        return jwt.JWTClaimsRegistry(
            leeway=self.settings.oidc_clock_skew_seconds,
            iss={"essential": True, "value": self.settings.oidc_issuer},
            aud={"essential": True, "value": self.client_id},
            iat={"essential": True},
            **claims,
        )

    def verify_id_token(self, token: str, *, nonce: str) -> dict[str, Any]:
        claims = self._decode(token)
        registry = self._registry(
            sub={"essential": True}, exp={"essential": True}, nonce={"essential": True, "value": nonce}
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OidcError(f"bad_id_token:{getattr(exc, 'claim', '') or exc.error}"[:60]) from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != self.client_id:
            raise OidcError("bad_id_token:azp")
        return claims

    def verify_logout_token(self, token: str) -> LogoutNotice:
        claims = self._decode(token)
        try:
            self._registry(jti={"essential": True}).validate(claims)
        except JoseError as exc:
            raise OidcError(f"bad_logout_token:{getattr(exc, 'claim', '') or exc.error}"[:60]) from exc
        events = claims.get("events")
        if not isinstance(events, dict) or BACK_CHANNEL_EVENT not in events:
            raise OidcError("bad_logout_token:events")
        if "nonce" in claims:
            raise OidcError("bad_logout_token:nonce")
        subject, sid = _opt_str(claims.get("sub")), _opt_str(claims.get("sid"))
        if subject is None and sid is None:
            raise OidcError("bad_logout_token:sub")
        return LogoutNotice(issuer=self.issuer, subject=subject, sid=sid)

    # Logout at the provider ------------------------------------------------------------------

    def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """RP-initiated logout: where to send the browser so the provider signs out too."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except OidcError:
            return None
        if not endpoint:
            return None
        query = urlencode({"client_id": self.client_id, "post_logout_redirect_uri": post_logout_redirect_uri})
        return f"{endpoint}{'&' if '?' in str(endpoint) else '?'}{query}"


def sso_origins(settings: Settings) -> tuple[str, ...]:
    """The identity provider's origin, where signing out may send the browser (its CSP)."""
    if not settings.oidc_enabled:
        return ()
    parts = urlsplit(settings.oidc_issuer)
    return (f"{parts.scheme}://{parts.netloc}",) if parts.scheme in ("http", "https") and parts.netloc else ()


def _opt_str(value: object) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None
