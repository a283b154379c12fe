"""A real OpenID provider for the single sign-on tests: the `oidc-provider` npm package (OpenID
Certified), pinned in tests/oidc_provider/package.json and package-lock.json, installed on first
use with `npm ci` into tests/oidc_provider/node_modules (gitignored), run by Node on a free port.

Without Node or npm (or when the install fails) the tests that need it skip, and with CI=true
they fail instead. The test keeps the provider's private signing keys, so it can also mint
tokens of its own (tampered, expired, for another audience) signed by the provider's real key.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.dbs import in_ci
from tests.servers import free_port

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "boardround"
CLIENT_SECRET = "a-test-client-secret-of-some-length"  # noqa: S105
START_SECONDS = 20

# Claim values the tests map (tests/sso and tests/browser/test_sso.py).
ROLE_MAP = {"R8000": "admin", "g-doctors": "doctor", "R8001": "nurse", "g-nurses": "nurse"}
WARD_MAP = {"g-amu": ["SSO-AMU"], "g-w1": ["SSO-W1"]}


def skip_or_fail(message: str) -> None:
    if in_ci():
        pytest.fail(f"{message} (CI=true: the single sign-on tests must run, not skip)", pytrace=False)
    pytest.skip(f"{message} (with CI=true this is a failure)")


def install_provider() -> Path:
    """`npm ci` once per package-lock.json (a stamp in node_modules), one process at a time."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        skip_or_fail("node and npm are needed to run the test OpenID provider")
    lock = (PROVIDER_DIR / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock).hexdigest()
    stamp = PROVIDER_DIR / "node_modules" / ".boardround-installed"
    with (PROVIDER_DIR / ".install.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == digest):
            result = subprocess.run(  # noqa: S603
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=PROVIDER_DIR,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if result.returncode != 0:
                skip_or_fail(f"npm ci for the test OpenID provider failed: {result.stderr[-2000:]}")
            stamp.write_text(digest)
    return Path(node)


def new_key(kid: str | None = None) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid or uuid.uuid4().hex[:12], "use": "sig", "alg": "RS256"})


@dataclass
class OidcProvider:
    """The running provider. `keys[0]` signs; `rotate()` restarts it with a new key."""

    node: Path
    workdir: Path
    port: int
    app_base_url: str
    accounts: dict[str, dict[str, Any]]
    keys: list[RSAKey] = field(default_factory=lambda: [new_key()])
    client_overrides: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings_env(self, **extra: str) -> dict[str, str]:
        """Boardround's settings for this provider (environment variables)."""
        env = {
            "BOARDROUND_OIDC_ISSUER": self.issuer,
            "BOARDROUND_OIDC_CLIENT_ID": CLIENT_ID,
            "BOARDROUND_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "BOARDROUND_OIDC_SCOPES": "openid profile",
            "BOARDROUND_OIDC_PROVIDER_NAME": "the test provider",
            "BOARDROUND_OIDC_ROLE_MAP": json.dumps(ROLE_MAP),
            "BOARDROUND_OIDC_WARD_MAP": json.dumps(WARD_MAP),
            "BOARDROUND_OIDC_JWKS_MIN_REFRESH_SECONDS": "0",
        }
        return env | extra

    def _config(self) -> dict[str, Any]:
        base = self.app_base_url
        config = {
            "issuer": self.issuer,
            "port": self.port,
            "jwks": {"keys": [k.as_dict(private=True) for k in self.keys]},
            "accounts": self.accounts,
            "client": {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{base}/auth/oidc/callback"],
                "post_logout_redirect_uris": [f"{base}/sign-in"],
                "backchannel_logout_uri": f"{base}/auth/oidc/back-channel-logout",
                "backchannel_logout_session_required": True,
                "token_endpoint_auth_method": "client_secret_post",
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            }
            | self.client_overrides,
        }
        config["client"] = {k: v for k, v in config["client"].items() if v is not None}
        return config

    def start(self) -> None:
        config_path = self.workdir / f"provider-{self.port}.json"
        config_path.write_text(json.dumps(self._config()))
        self.log_path = self.workdir / f"provider-{self.port}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [str(self.node), str(PROVIDER_DIR / "provider.mjs"), str(config_path)],
                cwd=PROVIDER_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the test OpenID provider exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the test OpenID provider did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def rotate(self) -> RSAKey:
        """The provider's keys change: a new key signs, the old one is gone."""
        self.stop()
        self.keys = [new_key()]
        self.start()
        return self.keys[0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path and self.log_path.exists() else ""

    def mint(self, claims: dict[str, Any], *, key: RSAKey | None = None, header: dict[str, Any] | None = None) -> str:
        """A token signed with the provider's key (or `key`), claims as given."""
        key = key or self.keys[0]
        return jwt.encode({"alg": "RS256", "kid": key.kid} | (header or {}), claims, key)

    def id_token_claims(self, nonce_sent: str, /, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "u-" + uuid.uuid4().hex[:8],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "nonce": nonce_sent,
        }
        return {k: v for k, v in (claims | overrides).items() if v is not None}


@pytest.fixture(scope="session")
def provider_node() -> Path:
    return install_provider()


def start_provider(
    node: Path, workdir: Path, app_base_url: str, accounts: dict[str, dict[str, Any]], port: int | None = None
) -> OidcProvider:
    provider = OidcProvider(
        node=node, workdir=workdir, port=port or free_port(), app_base_url=app_base_url, accounts=accounts
    )
    provider.start()
    return provider


@pytest.fixture
def oidc_provider(provider_node: Path, tmp_path: Path) -> Iterator[OidcProvider]:
    """A provider of its own for one test (no Boardround server behind its client)."""
    provider = start_provider(provider_node, tmp_path, "http://127.0.0.1:9", {})
    yield provider
    provider.stop()
