"""The MLLP listener over real TCP sockets, against a committed database (both backends).

The `db` fixture's rolled-back transaction cannot be shared with the listener's own per-message
transactions, so this module builds its own fresh, migrated database per backend.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from app.adt.mllp import FRAME_END, MllpClient, frame, running_in_thread
from app.adt.receiver import Receiver
from app.core.clock import utcnow
from app.models import AdtMessage, Bed, Site, Stay, User, Ward
from tests import factories
from tests.adt import messages as msg
from tests.dbs import build_engine, drop_pg_database, migrate

WARDS = ("M1", "M2")
BEDS = 20
ACCOUNT = "pas-feed-mllp"
# "A few thousand": override with BOARDROUND_ADT_TEST_MESSAGES for a longer soak.
BULK = int(os.environ.get("BOARDROUND_ADT_TEST_MESSAGES", "3000"))


@pytest.fixture(scope="module")
def engine(backend, tmp_path_factory):
    engine = build_engine(backend, tmp_path_factory.mktemp(f"adt-{backend}"), "adt")
    migrate(engine)
    with Session(engine) as session:
        site = Site(code="RXX77", name="Listener General")
        session.add(site)
        session.flush()
        for code in WARDS + ("M3",):
            ward = Ward(site_id=site.id, code=code, name=f"Ward {code}")
            session.add(ward)
            session.flush()
            for b in range(BEDS):
                session.add(Bed(ward_id=ward.id, label=f"B{b + 1:02d}", sort_order=b))
        session.add(User(username=ACCOUNT, display_name="PAS feed", role_code="integration", is_service_account=True))
        session.commit()
    yield engine
    engine.dispose()
    if backend == "postgresql":
        drop_pg_database(engine.url.render_as_string(hide_password=False))


@pytest.fixture(scope="module")
def listener(engine):
    with running_in_thread(Receiver(engine, ACCOUNT), workers=4) as server:
        yield server


def recent(minutes: int) -> str:
    return msg.hl7_time(utcnow() - timedelta(minutes=minutes))


def client(listener) -> MllpClient:
    return MllpClient("127.0.0.1", listener.port, timeout=60)


def test_a_message_and_its_ack(engine, listener):
    text = msg.adt("A01", control="TCP-1", visit="TCPV1", location="M3^^B01", admit=recent(30), sent=recent(29))
    with client(listener) as c:
        ack = msg.ack_fields(c.send(text))
        assert (ack["code"], ack["control_id"], ack["type"]) == ("AA", "TCP-1", "ACK")
        # The same message again, on the same connection: the same answer, nothing changes.
        assert msg.ack_fields(c.send(text)) == ack
    with Session(engine) as session:
        stay = session.exec(select(Stay).where(Stay.pas_visit_number == "TCPV1")).one()
        assert stay.discharged_at is None
        assert (
            session.exec(select(func.count()).select_from(AdtMessage).where(AdtMessage.control_id == "TCP-1")).one()
            == 1
        )


def test_bad_frames_and_bad_messages_get_answers_and_the_connection_carries_on(engine, listener):
    with client(listener) as c:
        c.send_raw(b"no start block here" + FRAME_END)
        assert msg.ack_fields(c.receive())["code"] == "AR"
        # A message missing only its start block is still answered (and applied).
        c.send_raw(msg.adt("A04", control="TCP-NOVT", nhs=None, mrn="TCPK9").encode() + FRAME_END)
        assert msg.ack_fields(c.receive())["code"] == "AA"
        # Noise between frames (keep-alive newlines) is skipped.
        c.send_raw(b"\r\n\r\n")
        assert msg.ack_fields(c.send("definitely not HL7"))["code"] == "AR"
        ack = msg.ack_fields(c.send(msg.adt("A05", control="TCP-A05")))
        assert (ack["code"], ack["control_id"]) == ("AR", "TCP-A05")
        ack = msg.ack_fields(c.send(msg.adt("A01", control="TCP-UNMAPPED", location="NOWHERE", sent=recent(5))))
        assert ack["code"] == "AE" and "NOWHERE" in ack["text"]
        text = msg.adt("A04", control="TCP-2", nhs=None, mrn="TCPK2", sent=recent(5), sep="\n")
        assert msg.ack_fields(c.send(text))["code"] == "AA"
    with Session(engine) as session:
        kept = session.exec(select(AdtMessage).where(AdtMessage.control_id == "TCP-UNMAPPED")).one()
        assert kept.status == "error" and "NOWHERE" in kept.raw
        junk = session.exec(select(AdtMessage).where(AdtMessage.raw == "no start block here")).one()
        assert junk.status == "rejected"


def test_a_client_vanishing_mid_message_does_not_stop_the_listener(listener):
    half = frame(msg.adt("A04", control="TCP-HALF").encode())[:40]
    with socket.create_connection(("127.0.0.1", listener.port)) as raw:
        raw.sendall(half)
    with client(listener) as c:
        assert msg.ack_fields(c.send(msg.adt("A04", control="TCP-3", mrn="TCPK3", nhs=None)))["code"] == "AA"


def test_an_oversized_message_is_refused_and_the_connection_carries_on(engine):
    with running_in_thread(Receiver(engine, ACCOUNT), workers=1, max_message_bytes=4096) as small:
        with MllpClient("127.0.0.1", small.port) as c:
            huge = msg.adt("A04", control="TCP-BIG", extra=["NTE|1||" + "x" * 10_000])
            ack = msg.ack_fields(c.send(huge))
            assert ack["code"] == "AR" and "too large" in ack["text"]
            assert msg.ack_fields(c.send(msg.adt("A04", control="TCP-4", mrn="TCPK4", nhs=None)))["code"] == "AA"


# -- limits: idle timeout, connection cap ------------------------------------------------------------


def closed_by_listener(sock: socket.socket, within: float = 10.0) -> bool:
    """True once the listener closes the connection (end of stream or reset), False if it is
    still open after `within` seconds or sends something."""
    sock.settimeout(within)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_an_idle_connection_is_closed_after_the_timeout(engine, caplog):
    caplog.set_level(logging.INFO, logger="boardround.adt.mllp")
    with running_in_thread(Receiver(engine, ACCOUNT), workers=1, idle_timeout=0.5) as quick:
        with socket.create_connection(("127.0.0.1", quick.port)) as silent:  # never sends a byte
            assert closed_by_listener(silent)
        with MllpClient("127.0.0.1", quick.port) as c:
            text = msg.adt("A04", control="IDLE-1", nhs=None, mrn="IDLEK1", sent=recent(5))
            assert msg.ack_fields(c.send(text))["code"] == "AA"  # served normally first
            answered = time.monotonic()
            assert closed_by_listener(c.sock)
            assert time.monotonic() - answered >= 0.4  # after the timeout, not at once
    assert any("no complete message in 0.5 s" in r.getMessage() for r in caplog.records)


def test_a_sender_stalled_inside_a_frame_is_closed(engine):
    half = frame(msg.adt("A04", control="STALL-1", nhs=None, mrn="STALLK1").encode())[:60]
    with running_in_thread(Receiver(engine, ACCOUNT), workers=1, idle_timeout=0.5) as quick:
        with socket.create_connection(("127.0.0.1", quick.port)) as raw:
            raw.sendall(half)
            assert closed_by_listener(raw)
        with MllpClient("127.0.0.1", quick.port) as c:  # the listener carries on
            assert msg.ack_fields(c.send(msg.adt("A04", control="STALL-2", nhs=None, mrn="STALLK2")))["code"] == "AA"
    with Session(engine) as session:
        assert session.exec(select(AdtMessage).where(AdtMessage.control_id == "STALL-1")).first() is None


def test_connections_beyond_the_cap_are_refused_and_the_others_served(engine, caplog):
    caplog.set_level(logging.INFO, logger="boardround.adt.mllp")
    with running_in_thread(Receiver(engine, ACCOUNT), workers=2, max_connections=2) as capped:
        first, second = MllpClient("127.0.0.1", capped.port), MllpClient("127.0.0.1", capped.port)
        with first, second:
            for n, c in enumerate((first, second)):
                text = msg.adt("A04", control=f"CAP-{n}", nhs=None, mrn=f"CAPK{n}")
                assert msg.ack_fields(c.send(text))["code"] == "AA"
            with socket.create_connection(("127.0.0.1", capped.port)) as third:
                with contextlib.suppress(OSError):  # it may be closed before this arrives
                    third.sendall(frame(msg.adt("A04", control="CAP-X", nhs=None, mrn="CAPKX").encode()))
                assert closed_by_listener(third)
            for n, c in enumerate((first, second)):  # the first two are still served
                text = msg.adt("A04", control=f"CAP-{n}-again", nhs=None, mrn=f"CAPK{n}")
                assert msg.ack_fields(c.send(text))["code"] == "AA"
            first.close()
            # Its place frees once the listener sees it close.
            deadline = time.monotonic() + 10
            while True:
                try:
                    with MllpClient("127.0.0.1", capped.port, timeout=10) as again:
                        ack = again.send(msg.adt("A04", control="CAP-2", nhs=None, mrn="CAPK2"))
                    break
                except OSError:
                    assert time.monotonic() < deadline, "a closed connection's place was not freed"
                    time.sleep(0.05)
    assert msg.ack_fields(ack)["code"] == "AA"
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused and all("the limit of 2 connections" in m for m in refused)
    assert not any("CAPKX" in m or "CAP-X" in m for m in refused)
    with Session(engine) as session:
        assert session.exec(select(AdtMessage).where(AdtMessage.control_id == "CAP-X")).first() is None


def test_thousands_of_messages_over_concurrent_connections(engine, listener):
    load = msg.workload(
        BULK, connections=4, wards=WARDS, beds_per_ward=BEDS, end=utcnow() - timedelta(minutes=2), prefix="T"
    )
    acks: list[list[dict[str, str]]] = [[] for _ in load.streams]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with client(listener) as c:
                for text in load.streams[i]:
                    acks[i].append(msg.ack_fields(c.send(text)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(load.streams))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    flat = [a for stream in acks for a in stream]
    assert len(flat) == load.total == BULK
    bad = [a for a in flat if a["code"] != "AA"]
    assert not bad, bad[:5]
    with Session(engine) as session:
        current = session.exec(
            select(Stay.pas_visit_number, Ward.code, Bed.label)
            .join(Ward, Ward.id == Stay.ward_id)
            .join(Bed, Bed.id == Stay.bed_id)
            .where(Stay.discharged_at.is_(None), Stay.pas_visit_number.startswith("TV"))
        ).all()
        assert {visit: (ward, bed) for visit, ward, bed in current} == load.current
        discharged = session.exec(
            select(func.count())
            .select_from(Stay)
            .where(Stay.discharged_at.is_not(None), Stay.pas_visit_number.startswith("TV"))
        ).one()
        assert discharged == len(load.discharged)
        assert load.admitted == len(load.current) + len(load.discharged)
        applied = session.exec(
            select(func.count()).select_from(AdtMessage).where(AdtMessage.control_id.startswith("T-"))
        ).one()
        assert applied == BULK


def test_a_dropped_database_connection_is_retried_on_a_new_one(backend, engine):
    """The feed's engine skips the pool's pre-ping (a round trip per message): a connection that
    dropped (database restarted, idle timeout) must cost a retry, not an error or a lost message."""
    if backend != "postgresql":
        pytest.skip("a SQLite connection does not drop")
    from app.db import make_engine
    from tests.dbs import settings_for

    feed_engine = make_engine(settings_for(engine.url.render_as_string(hide_password=False)), pre_ping=False)
    try:
        receiver = Receiver(feed_engine, ACCOUNT)
        who = {"nhs": factories.test_nhs_number(4242), "mrn": "DROP1"}
        first = msg.adt(
            "A01", control="DROP-1", visit="DROPV1", location="M3^^B10", admit=recent(30), sent=recent(29), **who
        )
        assert receiver(first, "test").code == "AA"
        with feed_engine.connect() as conn:  # the pool's one connection, which the next message will use
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with engine.connect() as admin:
            assert admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})").scalar_one()
        second = msg.adt("A02", control="DROP-2", visit="DROPV1", location="M3^^B11", sent=recent(20), **who)
        ack = receiver(second, "test")
        assert (ack.code, ack.text) == ("AA", "")
        with Session(engine) as session:
            stay = session.exec(select(Stay).where(Stay.pas_visit_number == "DROPV1")).one()
            assert session.get(Bed, stay.bed_id).label == "B11"
    finally:
        feed_engine.dispose()


@pytest.fixture
def worker_env(engine, monkeypatch):
    """Worker processes are new interpreters: they find the database the way `boardround` does."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("BOARDROUND_ENVIRONMENT", "test")
    monkeypatch.setenv("BOARDROUND_SECRET_KEY", "w" * 48)


def test_worker_processes_share_out_connections_and_stop_cleanly(backend, engine, worker_env):
    """`adt listen --processes N`: each connection is served whole by the least busy worker process."""
    if backend != "postgresql":
        pytest.skip("worker processes need PostgreSQL (SQLite allows one writer at a time)")
    import asyncio
    import logging

    from app.adt.workers import ConnectionWorkers

    workers = ConnectionWorkers(ACCOUNT, 2, port=0, threads=1, log_level=logging.WARNING)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        port = asyncio.run_coroutine_threadsafe(workers.start(), loop).result(timeout=10)
        clients = [MllpClient("127.0.0.1", port, timeout=60) for _ in range(4)]
        acks: list[dict] = []
        for n, c in enumerate(clients):  # each connection admits, then transfers, its own patient
            who = {"nhs": factories.test_nhs_number(7000 + n), "mrn": f"PROC{n}", "visit": f"PROCV{n}"}
            admit = msg.adt("A01", control=f"PROC-{n}-1", location=f"M3^^B{n + 2:02d}", admit=recent(30), **who)
            move = msg.adt("A02", control=f"PROC-{n}-2", location=f"M3^^B{n + 16:02d}", sent=recent(10), **who)
            acks += [msg.ack_fields(c.send(admit)), msg.ack_fields(c.send(move))]
        assert [a["code"] for a in acks] == ["AA"] * 8, [a["text"] for a in acks]
        assert sorted(workers.load()) == [2, 2]
        for c in clients:
            c.close()
        deadline = time.monotonic() + 10
        while workers.load() != [0, 0] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers.load() == [0, 0]
        with Session(engine) as session:
            beds = session.exec(
                select(Bed.label).join(Stay, Stay.bed_id == Bed.id).where(Stay.pas_visit_number.like("PROCV%"))
            ).all()
            assert sorted(beds) == ["B16", "B17", "B18", "B19"]
    finally:
        asyncio.run_coroutine_threadsafe(workers.stop(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
    assert all(not w.process.is_alive() for w in workers._workers)


def test_worker_processes_keep_the_cap_and_the_idle_timeout(backend, engine, worker_env):
    """With --processes the listener counts connections across workers; each worker times out its own."""
    if backend != "postgresql":
        pytest.skip("worker processes need PostgreSQL")
    import asyncio

    from app.adt.workers import ConnectionWorkers

    workers = ConnectionWorkers(
        ACCOUNT, 1, port=0, threads=1, log_level=logging.WARNING, idle_timeout=1.5, max_connections=1
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        port = asyncio.run_coroutine_threadsafe(workers.start(), loop).result(timeout=10)
        with MllpClient("127.0.0.1", port, timeout=30) as c:
            assert msg.ack_fields(c.send(msg.adt("A04", control="WCAP-1", nhs=None, mrn="WCAPK1")))["code"] == "AA"
            with socket.create_connection(("127.0.0.1", port)) as second:
                assert closed_by_listener(second)  # beyond the cap of 1
            # Still served, so the second was refused for the cap, not closed as idle.
            assert msg.ack_fields(c.send(msg.adt("A04", control="WCAP-2", nhs=None, mrn="WCAPK1")))["code"] == "AA"
            assert closed_by_listener(c.sock)  # then idle past the timeout
        deadline = time.monotonic() + 10
        while workers.load() != [0] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers.load() == [0]
        with MllpClient("127.0.0.1", port, timeout=30) as c:  # its place is free again
            assert msg.ack_fields(c.send(msg.adt("A04", control="WCAP-3", nhs=None, mrn="WCAPK2")))["code"] == "AA"
    finally:
        asyncio.run_coroutine_threadsafe(workers.stop(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def test_worker_processes_refuse_to_start_without_the_account(backend, worker_env):
    if backend != "postgresql":
        pytest.skip("worker processes need PostgreSQL")
    from app.adt.workers import ConnectionWorkers, WorkerFailed

    with pytest.raises(WorkerFailed, match="no-such-feed"):
        ConnectionWorkers("no-such-feed", 2, port=0)


def test_a_worker_process_dying_stops_the_listener(backend, worker_env):
    """A dead worker is not quietly replaced: the listener stops so its supervisor restarts it whole."""
    if backend != "postgresql":
        pytest.skip("worker processes need PostgreSQL")
    import signal

    from app.adt.workers import ConnectionWorkers

    workers = ConnectionWorkers(ACCOUNT, 2, port=0)
    lost = threading.Event()
    workers.on_worker_lost = lost.set
    try:
        os.kill(workers._workers[0].process.pid, signal.SIGKILL)
        assert lost.wait(10) and workers.lost
    finally:
        workers.terminate()
    assert not workers._workers[1].process.is_alive()


def test_listen_with_worker_processes_runs_until_terminated(backend, engine):
    """`boardround adt listen --processes 2` as operators run it: answers, then stops cleanly on SIGTERM."""
    if backend != "postgresql":
        pytest.skip("worker processes need PostgreSQL")
    import subprocess
    import sys

    from app.config import PROJECT_ROOT

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "BOARDROUND_SECRET_KEY": "s" * 48,
    }
    command = ["listen", "--port", str(port), "--account", ACCOUNT, "--processes", "2", "--log-level", "warning"]
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
        [sys.executable, "-m", "app.commands.adt", *command],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                c1, c2 = MllpClient("127.0.0.1", port, timeout=60), MllpClient("127.0.0.1", port, timeout=60)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "listener did not start"
                time.sleep(0.2)
        with c1, c2:
            for n, c in enumerate((c1, c2)):
                who = {"nhs": factories.test_nhs_number(7100 + n), "mrn": f"CLI{n}", "visit": f"CLIV{n}"}
                text = msg.adt("A01", control=f"CLIP-{n}", location=f"M3^^B{n + 6:02d}", admit=recent(5), **who)
                assert msg.ack_fields(c.send(text))["code"] == "AA"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert b"Listening for HL7 ADT over MLLP" in out
