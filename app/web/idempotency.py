"""`Idempotency-Key` on the JSON API's POSTs: a retried request gets the first response again.

A client that lost the reply to a POST sends it again with the same key and gets the stored
first response (status, body, ETag, Location) marked `Idempotent-Replayed: true`, instead of a
second row. docs/adr/0008-idempotency-keys.md gives the reasons; in short:

- Keys belong to one principal (a signed-in user, or one API token) and last 24 hours.
- The key is reserved in the request's own session before the route runs, and the response is
  stored in that same transaction: for a keyed request `app.db.commit` only flushes, and
  `IdempotentRoute` commits once the response exists. Key and write commit together or not at
  all, so only responses whose write committed are stored; a request that failed changed
  nothing, kept no key and may be sent again as it is.
- A second request with a key still in use waits for the first (PostgreSQL: on the unique
  index; SQLite: BEGIN IMMEDIATE), then gets its response.
- Expired rows are deleted by the next keyed POST (a bounded batch, skipping rows another
  transaction holds): no scheduled job needed.

Logs never carry the key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth.deps import current_principal
from app.core.errors import Conflict, DomainError
from app.core.params import Now
from app.core.principal import Principal
from app.db import COMMIT_AFTER_RESPONSE, COMMIT_REQUESTED, SQLITE_IMMEDIATE, SessionDep, commit
from app.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEEP_FOR = timedelta(hours=24)
PURGE_BATCH = 100
STORED_HEADERS = ("content-type", "etag", "location")

KeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[ -~]+$",  # printable ASCII
        description=(
            "Makes a retry safe: send the same key again with the same request and get the first "
            "response again (marked `Idempotent-Replayed: true`) instead of a second record. "
            "1-255 printable ASCII characters, e.g. a UUID; kept 24 hours, per user or API token. "
            "The same key with a different request is refused (422 `idempotency_key_reused`); a "
            "retry sent while the first is still running waits for it. Only responses of requests "
            "that changed something are kept: after an error, send the request again as it is."
        ),
    ),
]


class KeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"


class KeyInProgress(Conflict):
    code = "idempotency_key_in_progress"


class _Replay(Exception):  # noqa: N818 - an answer, not an error
    def __init__(self, stored: IdempotencyKey) -> None:
        self.stored = stored

    def response(self) -> Response:
        headers = dict(self.stored.response_headers or {}) | {REPLAYED: "true"}
        return Response(content=self.stored.response_body, status_code=self.stored.status_code, headers=headers)


@dataclass
class _Claim:
    session: Session
    row: IdempotencyKey

    def finish(self, response: Response) -> None:
        """Store the response and commit it with the route's write, or keep nothing at all."""
        session = self.session
        session.info.pop(COMMIT_AFTER_RESPONSE, None)
        if not session.info.pop(COMMIT_REQUESTED, False) or response.status_code >= 500:
            session.rollback()  # nothing to keep: release the key now for a waiting retry
            return
        self.row.status_code = response.status_code
        self.row.response_headers = {h: response.headers[h] for h in STORED_HEADERS if h in response.headers}
        self.row.response_body = bytes(response.body)
        commit(session)


# The dependency -----------------------------------------------------------------------------


async def claim(request: Request, session: SessionDep, now: Now, key: KeyHeader = None) -> None:
    """Reserve the key in this request's transaction, or answer from what it stored before.

    IdempotentRoute makes this the first dependency of every POST, so it runs before anything
    else reads the database. Without the header it returns at once (no thread hop).
    """
    if key is None:
        return
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode() + b"\n")
    digest.update(await request.body())
    await run_in_threadpool(_reserve, request, session, key, digest.hexdigest(), now)


def _reserve(request: Request, session: Session, key: str, request_hash: str, now: datetime) -> None:
    if session.get_bind().dialect.name == "sqlite":
        # A SQLite transaction that has read cannot wait for the write lock: a concurrent retry
        # would fail with "database is locked". Taking the lock first makes it wait its turn
        # (busy_timeout), then find the first request's stored response.
        session.connection(execution_options={SQLITE_IMMEDIATE: True})
    owner = _owner(current_principal(request, session))  # 401 as usual; cached for the route
    stored = _find(session, owner, key)
    if stored is not None and stored.created_at > now - KEEP_FOR:
        raise _answer(stored, request_hash)
    if stored is not None:
        session.expunge(stored)  # expired: deleted below, and its id may be given out again (SQLite)
    _purge_expired(session, owner, key, now)
    row = IdempotencyKey(principal=owner, key=key, request_hash=request_hash, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # PostgreSQL: another request with this key held it; we waited, and it committed.
        raise _answer(_find(session, owner, key), request_hash) from None
    session.info[COMMIT_AFTER_RESPONSE] = True
    request.state.idempotency = _Claim(session, row)


def _owner(principal: Principal) -> str:
    return f"token:{principal.token_id}" if principal.token_id is not None else f"user:{principal.user_id}"


def _find(session: Session, owner: str, key: str) -> IdempotencyKey | None:
    query = select(IdempotencyKey).where(IdempotencyKey.principal == owner, IdempotencyKey.key == key)  # type: ignore[arg-type]
    return session.scalars(query.execution_options(populate_existing=True)).first()


def _answer(stored: IdempotencyKey | None, request_hash: str) -> Exception:
    if stored is not None and stored.request_hash != request_hash:
        return KeyReused(
            f"This {HEADER} was used for a different request: use a new key for a new request", field=HEADER
        )
    if stored is None or stored.status_code is None:
        return KeyInProgress(f"A request with this {HEADER} is still being processed: try again shortly")
    return _Replay(stored)


def _purge_expired(session: Session, owner: str, key: str, now: datetime) -> None:
    """This key's expired row (it holds the unique slot), then a batch of anyone's expired rows.

    A bounded batch keeps each write cheap; rows another transaction is deleting are skipped
    rather than waited for (SKIP LOCKED on PostgreSQL; SQLite has one writer at a time).
    """
    table: Any = IdempotencyKey.__table__  # type: ignore[attr-defined]
    cutoff = now - KEEP_FOR
    session.execute(delete(table).where(table.c.principal == owner, table.c.key == key, table.c.created_at <= cutoff))
    batch = select(table.c.id).where(table.c.created_at <= cutoff).limit(PURGE_BATCH).with_for_update(skip_locked=True)
    session.execute(delete(table).where(table.c.id.in_(batch.scalar_subquery())))


def reads_only(endpoint: Any) -> Any:
    """Mark a POST that changes nothing (a search whose criteria must stay out of the URL): a
    retry is harmless, and its answer, patient data, is not worth keeping."""
    endpoint.reads_only = True
    return endpoint


# The route class ----------------------------------------------------------------------------


class IdempotentRoute(APIRoute):
    """Route class of the JSON API routers: every POST honours `Idempotency-Key`.

    The `claim` dependency goes first, so on SQLite it opens the transaction before
    authentication reads; after the route has built its response, the claim stores it and
    commits. Without the header a POST runs exactly as it would without this class.
    """

    def __init__(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        if "POST" in {m.upper() for m in kwargs.get("methods") or ()} and not getattr(endpoint, "reads_only", False):
            kwargs["dependencies"] = [Depends(claim), *(kwargs.get("dependencies") or ())]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()
        if "POST" not in self.methods or getattr(self.endpoint, "reads_only", False):
            return handler

        async def keyed_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except _Replay as replay:
                return replay.response()
            pending: _Claim | None = getattr(request.state, "idempotency", None)
            if pending is not None:
                await run_in_threadpool(pending.finish, response)
            return response

        return keyed_handler
