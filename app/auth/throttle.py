"""Sign-in throttling: attempts counted per client address and per username, before the
password is checked (docs/adr/0011-sign-in-throttling.md).

An attempt first reserves its place. In one short transaction, holding the two counter rows
(the client's, then the username's: always in that order, so two attempts cannot deadlock),
it is either refused, or counted as a failure in advance and allowed. The route commits that,
then checks the Argon2 hash outside any transaction; a correct password gives the attempt
back. So parallel guesses cannot all be checked: each waits for the rows, sees the attempts
counted before it, and all but the allowed few are refused without a hash check.

Both counters allow a few failures, then make each further attempt wait twice as long as the
one before, up to a cap; nothing locks an account. A username held at its cap by someone
else's guesses can still be signed in to from a client with no failures of its own.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.models import SignInThrottle

CLIENT = "client"
ACCOUNT = "account"


@dataclass(frozen=True)
class Limit:
    scope: str
    # Failures allowed in a window before attempts must wait.
    free: int
    # The count starts again this long after its window began (once no wait is pending).
    window: timedelta
    # The longest wait: no attempt is ever refused for longer than this after the last one.
    max_delay: timedelta

    def delay(self, failures: int) -> timedelta:
        """The wait after `failures` counted attempts: none for the free ones, then 2 s, 4 s..."""
        if failures < self.free:
            return timedelta(0)
        return min(timedelta(seconds=2 ** min(failures - self.free + 1, 30)), self.max_delay)


# A client (a device, or a whole network behind one address) mistyping on many usernames: room
# for a busy ward's typos, not for trying one password on every account.
CLIENT_LIMIT = Limit(CLIENT, free=20, window=timedelta(hours=1), max_delay=timedelta(minutes=15))
# One username: three tries, then 2 s, 4 s... at most 5 minutes apart.
ACCOUNT_LIMIT = Limit(ACCOUNT, free=3, window=timedelta(hours=1), max_delay=timedelta(minutes=5))

# Rows untouched for this long are deleted, a batch at a time, by later attempts.
KEEP_FOR = timedelta(days=1)
PURGE_BATCH = 100


@dataclass(frozen=True)
class Reservation:
    allowed: bool
    # When refused: which limit refused it ("client" or "account") and until when.
    refused_by: str | None = None
    retry_at: datetime | None = None
    # When allowed and the password then turns out wrong: the earliest next attempt.
    next_allowed_at: datetime | None = None

    def retry_after_seconds(self, now: datetime) -> int:
        """For the Retry-After header: whole seconds, at least 1."""
        if self.retry_at is None:
            return 1
        return max(1, math.ceil((self.retry_at - now).total_seconds()))


def client_key(host: str | None) -> str:
    """The client's address as uvicorn reports it (the proxy's client when the proxy is trusted
    with --forwarded-allow-ips). An IPv6 client by its /64: one machine can hold a whole /64."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def username_key(username: str) -> str:
    return username.strip().lower()[:100]


def reserve(session: Session, *, client: str, username: str, now: datetime) -> Reservation:
    """Refuse this attempt, or count it (as a failure until its password proves right)."""
    client_row = _locked_row(session, CLIENT_LIMIT, client, now)
    account_row = _locked_row(session, ACCOUNT_LIMIT, username_key(username), now)
    if client_row.next_allowed_at > now:
        # Not before the username's wait either: this client has failures, so that applies too.
        retry_at = max(client_row.next_allowed_at, account_row.next_allowed_at)
        return Reservation(False, refused_by=CLIENT, retry_at=retry_at)
    # A username made to wait by failures elsewhere stays open to a client with none of its own
    # in this window (the user's own tablet): guessing cannot lock the user out.
    if account_row.next_allowed_at > now and client_row.failures > 0:
        return Reservation(False, refused_by=ACCOUNT, retry_at=account_row.next_allowed_at)
    for limit, row in ((CLIENT_LIMIT, client_row), (ACCOUNT_LIMIT, account_row)):
        row.failures += 1
        row.next_allowed_at = max(row.next_allowed_at, now + limit.delay(row.failures))
    session.flush()
    _purge(session, now)
    return Reservation(True, next_allowed_at=max(client_row.next_allowed_at, account_row.next_allowed_at))


def give_back(session: Session, *, client: str, username: str, now: datetime) -> None:
    """A correct password: its attempt was no failure, and the username's count starts again.

    The client's count goes down by one, and if that leaves it within its free attempts, so
    does the wait this attempt may have set (the next person on a busy tablet need not wait).
    Client first, then the username, as in `reserve`; relative updates: no read, no race."""
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    within_free = table.c.failures <= CLIENT_LIMIT.free
    session.execute(
        update(table)
        .where(table.c.scope == CLIENT, table.c.key == client)
        .values(
            failures=case((table.c.failures > 0, table.c.failures - 1), else_=0),
            next_allowed_at=case(
                (within_free & (table.c.next_allowed_at > now), literal(now, table.c.next_allowed_at.type)),
                else_=table.c.next_allowed_at,
            ),
        )
    )
    clear_account(session, username)


def clear_account(session: Session, username: str) -> None:
    """Forget a username's failed attempts (a correct password, an admin's unlock or reset)."""
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    session.execute(delete(table).where(table.c.scope == ACCOUNT, table.c.key == username_key(username)))


def account_status(session: Session, username: str) -> SignInThrottle | None:
    return session.get(SignInThrottle, (ACCOUNT, username_key(username)))


def waiting_usernames(session: Session, now: datetime) -> set[str]:
    """Usernames (lower case) whose next attempt must wait: for the admin's user list."""
    query = select(col(SignInThrottle.key)).where(
        col(SignInThrottle.scope) == ACCOUNT, col(SignInThrottle.next_allowed_at) > now
    )
    return set(session.scalars(query))


def _locked_row(session: Session, limit: Limit, key: str, now: datetime) -> SignInThrottle:
    """The counter row, created if new, locked until the transaction ends (FOR UPDATE on
    PostgreSQL; on SQLite the write transaction began IMMEDIATE and holds the database)."""
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    create = (
        insert(table)
        .values(scope=limit.scope, key=key, failures=0, window_started_at=now, next_allowed_at=now)
        .on_conflict_do_nothing()
    )
    query = (
        select(SignInThrottle)
        .where(col(SignInThrottle.scope) == limit.scope, col(SignInThrottle.key) == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for _ in range(3):  # a row deleted by another attempt's purge between the two statements
        session.execute(create)
        row = session.scalars(query).first()
        if row is not None:
            break
    else:
        raise RuntimeError("sign-in counter row vanished three times")
    if row.window_started_at + limit.window <= now and row.next_allowed_at <= now:
        row.failures = 0
        row.window_started_at = now
    return row


def _purge(session: Session, now: datetime) -> None:
    """A batch of rows nobody has used for a day. Last in the transaction, skipping rows other
    attempts hold (SKIP LOCKED on PostgreSQL), so it never waits for them."""
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    cutoff = now - KEEP_FOR
    stale = (
        select(table.c.scope, table.c.key)
        .where(table.c.window_started_at <= cutoff, table.c.next_allowed_at <= cutoff)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(table).where(tuple_(table.c.scope, table.c.key).in_(stale)))
