"""`boardround adt ...`: the PAS feed from the command line.

    boardround adt listen --host 127.0.0.1 --port 2575 [--account pas-feed] [--idle-timeout 300]
                          [--max-connections 16] [--max-message-bytes 1000000]
    boardround adt import FILE [--account pas-feed]
    boardround adt map POINT_OF_CARE [PAS_BED] --ward CODE [--bed LABEL]
                       [--bed-label-from bed|room|room_bed] [--bed-separator -]
    boardround adt maps
    boardround adt failed
    boardround adt retry CONTROL_ID
    boardround adt purge [--raw-days 30] [--keep-days 400]

The listener and import act as the integration service account named by --account, which must
exist, be active and have the role `integration`. Output names control IDs and outcomes only.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import signal
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlmodel import Session, select

from app import session_hooks
from app.adt import mapping, parser, review
from app.adt.mllp import MllpServer
from app.adt.pipeline import Unavailable
from app.adt.receiver import AccountError, Receiver
from app.adt.workers import ConnectionWorkers, WorkerFailed
from app.config import get_settings
from app.core import log_redaction
from app.core.clock import utcnow
from app.core.errors import DomainError
from app.db import make_engine
from app.models import Bed, BedLabelFrom, PasLocation, Ward

adt_app = typer.Typer(help="HL7 v2 ADT feed from the PAS: listener, file import, location map.", no_args_is_help=True)

Account = Annotated[
    str, typer.Option("--account", help="Integration service account the feed acts as (role integration).")
]


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _engine() -> Engine:
    # No pre-ping (a round trip per message): a dropped connection makes the message retry on a
    # new one (pipeline._is_transient).
    return make_engine(get_settings(), pre_ping=False)


def _receiver(engine: Engine, account: str) -> Receiver:
    try:
        return Receiver(engine, account)
    except AccountError as exc:
        raise _fail(str(exc)) from None
    except Unavailable as exc:
        raise _fail(f"the database is unavailable ({exc}): check DATABASE_URL and that the server is up") from None


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@adt_app.command("listen")
def listen(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (2575 is the registered HL7 port).")] = 2575,
    account: Account = "pas-feed",
    workers: Annotated[int, typer.Option(min=1, max=64, help="Messages processed at once (across connections).")] = 8,
    processes: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (PostgreSQL only): more than one core's worth.")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="info logs every message (control ID and outcome only).")] = "info",
    idle_timeout: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Close a connection that completes no message in this many seconds "
            "[default: BOARDROUND_MLLP_IDLE_TIMEOUT_SECONDS, else 300].",
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Connections open at once; more are closed on arrival "
            "[default: BOARDROUND_MLLP_MAX_CONNECTIONS, else 16].",
        ),
    ] = None,
    max_message_bytes: Annotated[
        int | None,
        typer.Option(
            min=1024,
            help="Largest frame; bigger ones get an AR, unread "
            "[default: BOARDROUND_MLLP_MAX_MESSAGE_BYTES, else 1000000].",
        ),
    ] = None,
) -> None:
    """Receive ADT messages over MLLP until interrupted (Ctrl-C or SIGTERM)."""
    level = getattr(logging, log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log_redaction.install()
    settings = get_settings()
    # Options win over the BOARDROUND_MLLP_* settings.
    idle = idle_timeout if idle_timeout is not None else settings.mllp_idle_timeout_seconds
    cap = max_connections if max_connections is not None else settings.mllp_max_connections
    largest = max_message_bytes if max_message_bytes is not None else settings.mllp_max_message_bytes
    engine = _engine()
    receiver = _receiver(engine, account)  # checks the account before listening
    server: MllpServer | ConnectionWorkers
    if processes > 1:
        if engine.dialect.name == "sqlite":
            raise _fail("--processes needs PostgreSQL: SQLite allows one writer at a time")
        try:
            # Each process serves whole connections, with --workers threads shared out among them.
            server = ConnectionWorkers(
                account,
                processes,
                host=host,
                port=port,
                threads=max(1, workers // processes),
                log_level=level,
                max_message_bytes=largest,
                idle_timeout=idle,
                setup=session_hooks.install,
                max_connections=cap,
            )
        except WorkerFailed as exc:
            raise _fail(f"worker processes did not start: {exc}") from None
    else:
        server = MllpServer(
            receiver,
            host=host,
            port=port,
            workers=workers,
            max_message_bytes=largest,
            idle_timeout=idle,
            max_connections=cap,
        )

    async def main() -> None:
        bound = await server.start()
        typer.echo(f"Listening for HL7 ADT over MLLP on {host}:{bound} as {account}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if isinstance(server, ConnectionWorkers):
            server.on_worker_lost = lambda: loop.call_soon_threadsafe(stop.set)
        await stop.wait()
        typer.echo("Stopping: finishing messages in progress")
        await server.stop()

    try:
        asyncio.run(main())
    finally:
        engine.dispose()
    if isinstance(server, ConnectionWorkers) and server.lost:
        raise _fail("a worker process died: the listener stopped (restart it)")


@adt_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="File of HL7 messages.")],
    account: Account = "pas-feed",
) -> None:
    """Apply a file of ADT messages in order, each in its own transaction.

    Messages may be MLLP-framed, separated by blank lines, or one after another. Exit code 1 if
    any message was not accepted (AA).
    """
    engine = _engine()
    try:
        receiver = _receiver(engine, account)
        counts = {"AA": 0, "AE": 0, "AR": 0}
        for n, message in enumerate(parser.split_messages(file.read_bytes()), start=1):
            try:
                ack = receiver(message, "file")
            except Unavailable:
                raise _fail(
                    f"message {n}: the database is unavailable; stopped (re-run: applied ones are skipped)"
                ) from None
            counts[ack.code] = counts.get(ack.code, 0) + 1
            if not ack.accepted:
                typer.echo(f"message {n} [{ack.control_id or 'no control ID'}]: {ack.code} {ack.text}")
    finally:
        engine.dispose()
    total = sum(counts.values())
    typer.echo(
        f"{total} messages: {counts['AA']} applied (AA), {counts['AE']} errors (AE), {counts['AR']} rejected (AR)"
    )
    if counts["AE"] or counts["AR"]:
        raise typer.Exit(code=1)


@adt_app.command("map")
def add_map(
    point_of_care: Annotated[str, typer.Argument(help="PAS point of care (PV1-3.1), e.g. W7B.")],
    pas_bed: Annotated[
        str | None,
        typer.Argument(
            help="PAS bed, as the point of care builds it (PV1-3.3 unless set); omit to map the whole point of care."
        ),
    ] = None,
    ward: Annotated[str, typer.Option("--ward", help="Boardround ward code.")] = ...,  # type: ignore[assignment]
    bed: Annotated[str | None, typer.Option("--bed", help="Boardround bed label on that ward.")] = None,
    bed_label_from: Annotated[
        BedLabelFrom,
        typer.Option(
            "--bed-label-from",
            help="Whole point of care only: the PAS bed is PV1-3.3 (bed), PV1-3.2 (room), or both joined (room_bed).",
        ),
    ] = BedLabelFrom.BED,
    bed_separator: Annotated[
        str | None, typer.Option("--bed-separator", help="Between room and bed for room_bed [default: -].")
    ] = None,
) -> None:
    """Map a PAS location to a ward (and bed). Replaces an existing mapping for the same PAS code."""
    engine = _engine()
    try:
        with Session(engine, expire_on_commit=False) as session:
            try:
                row = mapping.add_mapping(
                    session,
                    point_of_care=point_of_care,
                    pas_bed=pas_bed,
                    ward_code=ward,
                    bed_label=bed,
                    bed_label_from=bed_label_from,
                    bed_label_separator=bed_separator,
                    actor=None,
                    actor_name=_cli_actor(),
                    now=utcnow(),
                )
            except DomainError as exc:
                raise _fail(exc.message) from None
            session.commit()
    finally:
        engine.dispose()
    typer.echo(
        f"Mapped PAS {point_of_care}{' bed ' + pas_bed if pas_bed else ''} to ward {ward}{' bed ' + bed if bed else ''}"
        + _built(row)
    )


def _built(row: PasLocation) -> str:
    """How a point of care's PAS beds are built, when it is not simply PV1-3.3."""
    if row.bed_label_from == BedLabelFrom.ROOM:
        return " (PAS beds from PV1-3.2 room)"
    if row.bed_label_from == BedLabelFrom.ROOM_BED:
        return f" (PAS beds from PV1-3.2 room + {row.bed_label_separator!r} + PV1-3.3 bed)"
    return ""


@adt_app.command("maps")
def list_maps() -> None:
    """List the PAS location map."""
    engine = _engine()
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(PasLocation, Ward.code, Bed.label)
                .join(Ward, Ward.id == PasLocation.ward_id)  # type: ignore[arg-type]
                .outerjoin(Bed, Bed.id == PasLocation.bed_id)  # type: ignore[arg-type]
                .order_by(PasLocation.pas_point_of_care, PasLocation.pas_bed)
            ).all()
            for loc, ward_code, bed_label in rows:
                pas = loc.pas_point_of_care + (f" bed {loc.pas_bed}" if loc.pas_bed else "")
                ours = ward_code + (f" bed {bed_label}" if bed_label else "")
                typer.echo(f"{pas:<30} -> {ours}{_built(loc)}")
    finally:
        engine.dispose()
    typer.echo("(wards whose code equals the PAS point of care, and beds with the PAS bed label, need no row)")


@adt_app.command("failed")
def list_failed(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50) -> None:
    """Messages not applied (AE/AR), newest first: control ID, event, when, why."""
    engine = _engine()
    try:
        with Session(engine) as session:
            for row in review.failed_messages(session, limit=limit):
                kept = "text kept" if row.raw is not None else "text purged"
                typer.echo(
                    f"{row.received_at:%Y-%m-%d %H:%M} {row.ack_code} {row.event or '-':<4} "
                    f"{row.control_id or '(no control ID)'} [{kept}]: {row.error_text}"
                )
    finally:
        engine.dispose()


@adt_app.command("retry")
def retry(
    control_id: Annotated[str, typer.Argument(help="MSH-10 of a failed message.")], account: Account = "pas-feed"
) -> None:
    """Apply a failed message again (after fixing the location map, for example)."""
    engine = _engine()
    try:
        receiver = _receiver(engine, account)
        with Session(engine, expire_on_commit=False) as session:
            try:
                ack = review.retry(session, control_id=control_id, actor=receiver.principal(), now=utcnow())
            except DomainError as exc:
                raise _fail(exc.message) from None
    finally:
        engine.dispose()
    typer.echo(f"{control_id}: {ack.code}{' ' + ack.text if ack.text else ''}")
    if not ack.accepted:
        raise typer.Exit(code=1)


@adt_app.command("purge")
def purge(
    raw_days: Annotated[int, typer.Option(min=1, help="Drop the text of failed messages older than this.")] = 30,
    keep_days: Annotated[int, typer.Option(min=1, help="Delete message records older than this.")] = 400,
) -> None:
    """Retention (docs/adt.md): run daily, e.g. from cron."""
    now = utcnow()
    engine = _engine()
    try:
        with Session(engine) as session:
            cleared, deleted = review.purge(
                session, raw_older_than=now - timedelta(days=raw_days), rows_older_than=now - timedelta(days=keep_days)
            )
    finally:
        engine.dispose()
    typer.echo(f"Cleared the text of {cleared} failed messages; deleted {deleted} old message records")


if __name__ == "__main__":  # pragma: no cover - `python -m app.commands.adt` before it is mounted
    adt_app()
