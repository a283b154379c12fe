"""The Receiver: applies messages outside a request (MLLP listener, file import) as the
integration account, each in a fresh session."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.adt.ack import Ack
from app.adt.pipeline import Unavailable, handle
from app.auth.deps import principal_for
from app.core.clock import get_clock
from app.core.principal import Principal
from app.models import User

INTEGRATION_ROLE = "integration"


class AccountError(Exception):
    """The integration account is missing, disabled or not an integration account."""


def integration_principal(session: Session, username: str) -> Principal:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise AccountError(
            f"No user called {username!r}: create it with `boardround user create {username} --role integration --service-account`"
        )
    if user.role_code != INTEGRATION_ROLE:
        raise AccountError(f"{username!r} has role {user.role_code!r}, not {INTEGRATION_ROLE!r}")
    if not user.is_active:
        raise AccountError(f"{username!r} is disabled")
    return principal_for(session, user)


class Receiver:
    """Handles messages in fresh sessions on an engine, as the integration account.

    Thread-safe. On SQLite, writers are serialised (one writer at a time is all SQLite allows;
    queueing here is cheaper than lock retries). The account is re-checked every
    `account_ttl` seconds, so disabling it stops the feed without a restart.
    """

    def __init__(
        self,
        engine: Engine,
        account: str = "pas-feed",
        *,
        now: Callable[[], datetime] | None = None,
        account_ttl: float = 30.0,
    ) -> None:
        self.engine = engine
        self.account = account
        self.now = now or (lambda: get_clock().now())
        self.account_ttl = account_ttl
        self._lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        self._principal: Principal | None = None
        self._checked = 0.0
        self.principal()  # fail fast

    def principal(self) -> Principal:
        if self._principal is None or time.monotonic() - self._checked > self.account_ttl:
            for attempt in range(2):  # once more on a new connection if the pooled one had dropped
                try:
                    with Session(self.engine) as session:
                        self._principal = integration_principal(session, self.account)
                    break
                except OperationalError as exc:
                    if attempt or not exc.connection_invalidated:
                        raise Unavailable(type(exc).__name__) from exc
            self._checked = time.monotonic()
        return self._principal

    def __call__(self, raw: bytes | str, channel: str) -> Ack:
        actor = self.principal()
        if self._lock is None:
            return self._handle(raw, actor, channel)
        with self._lock:
            return self._handle(raw, actor, channel)

    def _handle(self, raw: bytes | str, actor: Principal, channel: str) -> Ack:
        with Session(self.engine, expire_on_commit=False) as session:
            return handle(session, raw, actor=actor, now=self.now(), channel=channel)
