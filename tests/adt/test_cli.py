"""`boardround adt ...` against a fresh SQLite file database (DATABASE_URL in a temp dir)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.adt.mllp import MllpClient
from app.commands.adt import adt_app
from app.config import PROJECT_ROOT, get_settings
from app.db import make_engine
from app.models import AdtMessage, AuditEvent, Bed, PasLocation, Site, Stay, User, Ward
from tests.adt import messages as msg
from tests.dbs import drop_pg_database, fresh_pg_database, migrate, settings_for, worker_id


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'adt-cli.db'}"
    _prepare(url, monkeypatch)
    yield url
    get_settings.cache_clear()


@pytest.fixture
def any_cli_db(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The same, on SQLite and on PostgreSQL."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'adt-cli.db'}"
    else:
        url = fresh_pg_database(f"br_adtcli_{worker_id()}")
    _prepare(url, monkeypatch)
    yield url
    get_settings.cache_clear()
    if backend == "postgresql":
        drop_pg_database(url)


def _prepare(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BOARDROUND_SECRET_KEY", "s" * 48)
    get_settings.cache_clear()
    engine = make_engine(settings_for(url))
    migrate(engine)
    with Session(engine) as session:
        site = Site(code="RXX08", name="CLI General")
        session.add(site)
        session.flush()
        ward = Ward(site_id=site.id, code="W1", name="Ward 1")
        session.add(ward)
        session.flush()
        for b in range(4):
            session.add(Bed(ward_id=ward.id, label=f"B{b + 1:02d}", sort_order=b))
        session.add(
            User(username="pas-feed", display_name="PAS feed", role_code="integration", is_service_account=True)
        )
        session.add(User(username="nina", display_name="Nina", role_code="nurse"))
        session.commit()
    engine.dispose()


@pytest.fixture
def run(cli_db):
    runner = CliRunner()
    return lambda *args: runner.invoke(adt_app, list(args))


@pytest.fixture
def session(cli_db) -> Iterator[Session]:
    engine = make_engine(settings_for(cli_db))
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_import_a_file_of_mixed_framing(run, session, tmp_path):
    first = msg.adt("A01", control="FILE-1")
    second = msg.adt("A02", control="FILE-2", location="W1^^B02", evn_time="20260310094500", sep="\n")
    third = msg.adt("A01", control="FILE-3", visit="V2", mrn="K2", nhs=None, location="AMU^^1")
    data = (
        b"\x0b" + first.encode() + b"\x1c\r" + b"\n\n" + second.encode() + b"\n" + third.replace("\r", "\r\n").encode()
    )
    path = tmp_path / "feed.hl7"
    path.write_bytes(data)
    result = run("import", str(path))
    assert result.exit_code == 1  # one message was not applied
    assert "3 messages: 2 applied (AA), 1 errors (AE), 0 rejected (AR)" in result.output
    assert "FILE-3" in result.output and "AMU" in result.output
    assert msg.MRN not in result.output and "SMITH" not in result.output
    stay = session.exec(select(Stay).where(Stay.pas_visit_number == "V0001")).one()
    assert session.get(Bed, stay.bed_id).label == "B02"
    # Run again: applied messages are skipped (same control IDs), nothing changes.
    result = run("import", str(path))
    assert "2 applied (AA)" in result.output
    assert len(session.exec(select(AdtMessage)).all()) == 3


def test_map_then_retry(run, session, tmp_path):
    path = tmp_path / "one.hl7"
    path.write_text(msg.adt("A01", control="MAP-1", location="AMU7^^12"))
    assert run("import", str(path)).exit_code == 1
    failed = run("failed")
    assert "MAP-1" in failed.output and "AMU7" in failed.output and "text kept" in failed.output
    result = run("map", "AMU7", "--ward", "W1")
    assert result.exit_code == 0, result.output
    result = run("map", "AMU7", "12", "--ward", "W1", "--bed", "B03")
    assert result.exit_code == 0, result.output
    assert "AMU7 bed 12" in run("maps").output
    result = run("retry", "MAP-1")
    assert result.exit_code == 0, result.output
    assert "MAP-1: AA" in result.output
    stay = session.exec(select(Stay).where(Stay.pas_visit_number == "V0001")).one()
    assert session.get(Bed, stay.bed_id).label == "B03"
    assert session.exec(select(PasLocation)).all()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "map_pas_location")).first() is not None


def test_map_sets_how_pas_beds_are_built(any_cli_db, tmp_path):
    """`adt map --bed-label-from`: bay and bed joined, or the bed in PV1-3.2; audited; on both databases."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(adt_app, list(args))

    engine = make_engine(settings_for(any_cli_db))
    try:
        with Session(engine) as session:
            ward = session.exec(select(Ward).where(Ward.code == "W1")).one()
            session.add(Bed(ward_id=ward.id, label="BAY2/3", sort_order=9))
            session.commit()
        result = run("map", "AMU7", "--ward", "W1", "--bed-label-from", "room_bed", "--bed-separator", "/")
        assert result.exit_code == 0, result.output
        assert "(PAS beds from PV1-3.2 room + '/' + PV1-3.3 bed)" in result.output
        result = run("map", "AMU8", "--ward", "W1", "--bed-label-from", "room")
        assert result.exit_code == 0, result.output
        listed = run("maps").output
        assert "AMU7" in listed and "PV1-3.2 room + '/'" in listed and "(PAS beds from PV1-3.2 room)" in listed
        path = tmp_path / "two.hl7"
        first = msg.adt("A01", control="BAY-1", location="AMU7^BAY2^3")
        second = msg.adt("A02", control="BAY-2", location="AMU8^B04^", evn_time="20260310094500")
        path.write_text(first + "\n" + second)
        result = run("import", str(path))
        assert result.exit_code == 0, result.output
        with Session(engine) as session:
            stay = session.exec(select(Stay).where(Stay.pas_visit_number == "V0001")).one()
            assert session.get(Bed, stay.bed_id).label == "B04"
            rows = session.exec(select(PasLocation).order_by(PasLocation.pas_point_of_care)).all()
            assert [(r.pas_point_of_care, r.bed_label_from, r.bed_label_separator) for r in rows] == [
                ("AMU7", "room_bed", "/"),
                ("AMU8", "room", ""),
            ]
            events = session.exec(select(AuditEvent).where(AuditEvent.action == "map_pas_location")).all()
            assert len(events) == 2 and all(e.actor_name.startswith("cli:") for e in events)
            placed = session.exec(select(AuditEvent).where(AuditEvent.action == "admit")).one()
            assert placed.after["bed_id"] == session.exec(select(Bed.id).where(Bed.label == "BAY2/3")).one()
        # Refused: an unknown code; the setting on a PAS-bed row; a separator without room_bed.
        assert run("map", "AMU7", "--ward", "W1", "--bed-label-from", "bay").exit_code == 2
        result = run("map", "AMU7", "12", "--ward", "W1", "--bed", "B01", "--bed-label-from", "room")
        assert result.exit_code == 1 and "point of care's own row" in result.output
        assert run("map", "AMU8", "--ward", "W1", "--bed-separator", "-").exit_code == 1
    finally:
        engine.dispose()


def test_map_refuses_unknown_ward_or_bed(run):
    assert run("map", "AMU7", "--ward", "NOPE").exit_code == 1
    assert run("map", "AMU7", "12", "--ward", "W1", "--bed", "B99").exit_code == 1
    assert run("map", "AMU7", "--ward", "W1", "--bed", "B01").exit_code == 1  # a bed needs a PAS bed


def test_the_account_must_be_an_active_integration_account(run, tmp_path):
    path = tmp_path / "one.hl7"
    path.write_text(msg.adt("A04"))
    for account, words in (("nobody", "No user"), ("nina", "not 'integration'")):
        result = run("import", str(path), "--account", account)
        assert result.exit_code == 1 and words in result.output


def test_purge(run, tmp_path):
    path = tmp_path / "one.hl7"
    path.write_text(msg.adt("A01", control="P-1", location="NOWHERE"))
    run("import", str(path))
    assert "Cleared the text of 0 failed messages; deleted 0" in run("purge").output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_by_listener(sock: socket.socket, within: float = 10.0) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_listen_runs_until_terminated(cli_db, session):
    """Limits from the environment (idle timeout) and from options (the cap), as operators set them."""
    port = free_port()
    env = {
        "DATABASE_URL": cli_db,
        "BOARDROUND_SECRET_KEY": "s" * 48,
        "BOARDROUND_MLLP_IDLE_TIMEOUT_SECONDS": "2",
        "PATH": "/usr/bin:/bin",
    }
    command = ["listen", "--port", str(port), "--log-level", "warning", "--max-connections", "1"]
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "app.commands.adt", *command],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            c = None
            try:
                c = MllpClient("127.0.0.1", port, timeout=30)
                ack = msg.ack_fields(c.send(msg.adt("A04", control="LISTEN-1")))
                break
            except OSError:
                if c is not None:
                    c.close()
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "listener did not start"
                time.sleep(0.2)
        with c:
            assert ack["code"] == "AA"
            with socket.create_connection(("127.0.0.1", port)) as second:
                assert closed_by_listener(second)  # --max-connections 1
            assert msg.ack_fields(c.send(msg.adt("A04", control="LISTEN-2")))["code"] == "AA"
            assert closed_by_listener(c.sock)  # idle for BOARDROUND_MLLP_IDLE_TIMEOUT_SECONDS
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert b"Listening for HL7 ADT over MLLP" in out
    assert b"refused: the limit of 1 connections is reached" in err
    assert msg.MRN.encode() not in out + err
    assert session.exec(select(AdtMessage.status).where(AdtMessage.control_id == "LISTEN-1")).one() == "applied"


def test_an_unreachable_database_is_a_clear_error(run, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    get_settings.cache_clear()
    path = tmp_path / "one.hl7"
    path.write_text(msg.adt("A04"))
    result = run("import", str(path))
    assert result.exit_code == 1 and "database is unavailable" in result.output
    assert "Traceback" not in result.output
