"""One HL7 message in, one ACK out: the path every channel (MLLP, HTTP, file) takes.

Per message: parse the envelope and claim its control ID (a row in `adtmessage`; a control ID
seen before changes nothing and gets its first answer again), apply the event (app.adt.events),
audit the message and commit, in one transaction. On any problem everything is rolled back and
the message stored as `rejected` (AR) or `error` (AE) with its text, for review. A clash with a
concurrent writer runs the whole message again.

The session passed in must carry no unsaved work of its own: it is committed and rolled back.
Logs carry control IDs, event types and outcomes only: never identifiers or message text.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from app.adt import errors as codes
from app.adt import events, mapping, parser
from app.adt.ack import Ack, build
from app.adt.errors import AdtProblem, Invalid
from app.adt.parser import Envelope
from app.audit import service as audit
from app.core.errors import Conflict, DomainError, NotFound
from app.core.principal import Principal
from app.db import commit
from app.models import AdtMessage

log = logging.getLogger("boardround.adt")

ATTEMPTS = 4  # a message that races another writer is retried from the start this often


class Unavailable(Exception):
    """The database could not even record the outcome: send no ACK, let the sender retry."""


class _Retry(Exception):
    """A concurrent writer got there first: roll back and run the whole message again."""


def handle(session: Session, raw: bytes | str, *, actor: Principal, now: datetime, channel: str) -> Ack:
    """Process one message in its own transaction(s) on `session`; return the ACK to send."""
    envelope = parser.read_envelope(raw)
    raw_text = parser.decode(raw).replace("\x00", "")
    try:
        for attempt in range(ATTEMPTS):
            try:
                last = attempt == ATTEMPTS - 1
                return _handle_once(session, envelope, raw_text, actor=actor, now=now, channel=channel, last=last)
            except _Retry:
                session.rollback()
                mapping.unpin(session)
                log.info(
                    "adt %s %s: clashed with a concurrent change, retrying",
                    envelope.header.control_id,
                    envelope.header.event,
                )
                time.sleep(0.005 * (attempt + 1))
    finally:
        mapping.unpin(session)
    log.warning(
        "adt %s %s: still clashing after %d attempts", envelope.header.control_id, envelope.header.event, ATTEMPTS
    )
    # Not stored: the same control ID sent again will be processed afresh.
    return build(
        envelope,
        code="AE",
        text="Records for this message were changing at the same moment: send it again",
        error_code=codes.RECORD_LOCKED,
        now=now,
    )


def stored_message(session: Session, control_id: str) -> AdtMessage | None:
    """The stored message with this control ID, if any (control IDs are unique)."""
    return session.exec(select(AdtMessage).where(AdtMessage.control_id == control_id)).first()


def _replay(session: Session, envelope: Envelope, now: datetime) -> Ack | None:
    """The first answer again, if this control ID was seen before."""
    header = envelope.header
    previous = stored_message(session, header.control_id)
    if previous is None:
        return None
    session.rollback()
    log.info("adt %s %s: duplicate control ID, answered %s again", header.control_id, header.event, previous.ack_code)
    return build(
        envelope,
        code=previous.ack_code,
        text=previous.error_text,
        error_code=previous.error_code,
        location=previous.error_location or None,
        now=now,
    )


def _handle_once(
    session: Session, envelope: Envelope, raw_text: str, *, actor: Principal, now: datetime, channel: str, last: bool
) -> Ack:
    header = envelope.header
    if envelope.problem is not None:
        replay = _replay(session, envelope, now) if header.control_id else None
        return replay or _fail(session, envelope, raw_text, envelope.problem, now=now, channel=channel)
    # Claim the control ID first: a duplicate stops at this insert, before anything is applied
    # (and a new message needs no lookup beforehand). A plain INSERT, not an ORM flush: it runs
    # for every message and nothing else in the transaction needs the row as an object.
    messages = AdtMessage.__table__  # type: ignore[attr-defined]
    claim = (
        insert(messages)
        .values(
            control_id=header.control_id,
            received_at=now,
            channel=channel,
            event=header.event,
            hl7_version=header.version,
            sending_application=header.sending_application,
            status="applied",
            ack_code="AA",
        )
        .returning(messages.c.id)
    )
    try:
        message_id = session.execute(claim).scalar_one()
    except IntegrityError as exc:
        session.rollback()
        replay = _replay(session, envelope, now)
        if replay is not None:
            return replay
        raise _Retry from exc
    except OperationalError as exc:
        session.rollback()
        if _is_transient(exc):
            raise _Retry from exc
        raise Unavailable(type(exc).__name__) from exc
    try:
        adt = parser.read_adt(envelope)
        effect = events.apply(session, adt, actor=actor, now=now)
        audit.record(
            session,
            actor=actor,
            action=f"hl7_{header.event.lower()}",
            entity_type="adtmessage",
            entity_id=message_id,
            at=now,
            after={
                "control_id": header.control_id,
                "event": header.event,
                "effect": effect.summary,
                "stay_id": effect.stay_id,
            },
            ward_id=effect.ward_id,
            patient_id=effect.patient_id,
        )
        _commit(session)
    except _Retry:
        raise
    except AdtProblem as problem:
        session.rollback()
        return _fail(session, envelope, raw_text, problem, now=now, channel=channel)
    except DomainError as exc:
        session.rollback()
        code = codes.UNKNOWN_KEY if isinstance(exc, NotFound) else codes.INTERNAL_ERROR
        return _fail(session, envelope, raw_text, Invalid(exc.message, code=code), now=now, channel=channel)
    except (IntegrityError, StaleDataError) as exc:
        # Checked rules passed but the database refused: usually someone else wrote the same
        # rows (retry); if it persists, keep the message for review.
        if not last:
            raise _Retry from exc
        session.rollback()
        log.error("adt %s %s: database refused the change (%s)", header.control_id, header.event, type(exc).__name__)
        problem = Invalid("The database refused the change: the message is kept for review", code=codes.INTERNAL_ERROR)
        return _fail(session, envelope, raw_text, problem, now=now, channel=channel)
    except OperationalError as exc:
        if _is_transient(exc):
            raise _Retry from exc
        session.rollback()
        raise Unavailable(type(exc).__name__) from exc
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the feed: keep the message for review
        session.rollback()
        log.error("adt %s %s: internal error %s", header.control_id, header.event, type(exc).__name__)
        problem = Invalid("Internal error while applying the message: it is kept for review", code=codes.INTERNAL_ERROR)
        return _fail(session, envelope, raw_text, problem, now=now, channel=channel)
    log.info("adt %s %s applied: %s", header.control_id, header.event, effect.summary)
    return build(envelope, code="AA", now=now)


def _is_transient(exc: OperationalError) -> bool:
    if exc.connection_invalidated:
        return True  # the connection had dropped (database restarted, say): the retry takes a new one
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return any(word in text for word in ("locked", "busy", "deadlock", "could not serialize"))


def _commit(session: Session) -> None:
    try:
        commit(session)
    except Conflict as exc:  # includes StaleVersion: app.db.commit turns races into these
        raise _Retry from exc
    except OperationalError as exc:
        session.rollback()
        if _is_transient(exc):
            raise _Retry from exc
        raise Unavailable(type(exc).__name__) from exc


def _fail(
    session: Session, envelope: Envelope, raw_text: str, problem: AdtProblem, *, now: datetime, channel: str
) -> Ack:
    header = envelope.header
    session.add(
        AdtMessage(
            control_id=header.control_id or None,
            received_at=now,
            channel=channel,
            event=header.event,
            hl7_version=header.version,
            sending_application=header.sending_application,
            status=problem.status,
            ack_code=problem.ack_code,
            error_text=problem.text[:1000],
            error_code=problem.code,
            error_location=(problem.location or "")[:20],
            raw=raw_text,
        )
    )
    try:
        _commit(session)
    except DBAPIError as exc:
        session.rollback()
        raise Unavailable(type(exc).__name__) from exc
    log.warning(
        "adt %s %s %s: %s", header.control_id or "(no control ID)", header.event, problem.ack_code, problem.text
    )
    return build(
        envelope, code=problem.ack_code, text=problem.text, error_code=problem.code, location=problem.location, now=now
    )
