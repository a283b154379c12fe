"""HL7 ADT throughput: messages per second through the MLLP listener into the database.

    .venv/bin/python -m bench.adt_throughput [--backend sqlite|postgresql|both]
                                             [--messages 3000] [--connections 4] [--workers 4]
                                             [--processes 2]

For each backend: a fresh database migrated by Alembic, two wards of 20 beds, the `pas-feed`
integration account, then the real listener in its own process (`python -m app.commands.adt
listen`, as `boardround adt listen` runs it) on a free port, on PostgreSQL with `--processes`
worker processes (connections shared out among them). Clients on N concurrent MLLP
connections each send their share of a day's feed (admissions, transfers and discharges; each
connection owns its own beds so its messages are consistent) and wait for every ACK before
sending the next message, as interface engines do. Prints messages per second and ACK latency,
checks every ACK is AA and the final bed state. Target: >= 200 messages/s.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta

from sqlmodel import Session, func, select

from app.adt.mllp import MllpClient
from app.cli import migrate
from app.config import PROJECT_ROOT, Settings
from app.core.clock import utcnow
from app.db import make_engine
from app.models import AdtMessage, Bed, Site, Stay, User, Ward
from bench.databases import database_url, free_port
from tests.adt.messages import ack_fields, workload

DATABASE = "bench_adt"
TARGET = 200.0
WARDS = ("W1", "W2")
BEDS_PER_WARD = 20


def prepare(url: str) -> None:
    engine = make_engine(Settings(environment="development", DATABASE_URL=url, secret_key="b" * 48))
    try:
        migrate(engine)
        with Session(engine) as session:
            site = Site(code="RXX01", name="Bench General")
            session.add(site)
            session.flush()
            for code in WARDS:
                ward = Ward(site_id=site.id, code=code, name=f"Ward {code}")
                session.add(ward)
                session.flush()
                for b in range(BEDS_PER_WARD):
                    session.add(Bed(ward_id=ward.id, label=f"B{b + 1:02d}", sort_order=b))
            session.add(
                User(username="pas-feed", display_name="PAS feed", role_code="integration", is_service_account=True)
            )
            session.commit()
    finally:
        engine.dispose()


def start_listener(url: str, workers: int, processes: int, connections: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = os.environ | {"DATABASE_URL": url, "BOARDROUND_SECRET_KEY": "b" * 48, "BOARDROUND_ENVIRONMENT": "development"}
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
        [
            sys.executable,
            "-m",
            "app.commands.adt",
            "listen",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--processes",
            str(processes),
            "--max-connections",  # room for every client and the start-up probe
            str(connections + 1),
            "--log-level",
            "warning",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"listener exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("listener did not start in 30 s")


def send_stream(port: int, messages: list[str], latencies: list[float], failures: list[str]) -> None:
    with MllpClient("127.0.0.1", port) as client:
        for message in messages:
            started = time.perf_counter()
            ack = client.send(message)
            latencies.append((time.perf_counter() - started) * 1000)
            fields = ack_fields(ack)
            if fields["code"] != "AA":
                failures.append(f"{fields['control_id']}: {fields['code']} {fields['text']}")


def run(backend: str, args: argparse.Namespace) -> dict[str, float | str]:
    url = database_url(backend, DATABASE, fresh=True)
    prepare(url)
    load = workload(
        args.messages,
        connections=args.connections,
        wards=WARDS,
        beds_per_ward=BEDS_PER_WARD,
        end=utcnow() - timedelta(minutes=1),
        prefix="B",
    )
    processes = args.processes if backend == "postgresql" else 1
    proc, port = start_listener(url, args.workers, processes, args.connections)
    latencies: list[float] = []
    failures: list[str] = []
    try:
        threads = [
            threading.Thread(target=send_stream, args=(port, stream, latencies, failures)) for stream in load.streams
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    engine = make_engine(Settings(environment="development", DATABASE_URL=url, secret_key="b" * 48))
    try:
        with Session(engine) as session:
            applied = session.exec(
                select(func.count()).select_from(AdtMessage).where(AdtMessage.status == "applied")
            ).one()
            current = session.exec(
                select(Stay.pas_visit_number, Ward.code, Bed.label)
                .join(Ward, Ward.id == Stay.ward_id)  # type: ignore[arg-type]
                .join(Bed, Bed.id == Stay.bed_id)  # type: ignore[arg-type]
                .where(Stay.discharged_at.is_(None))  # type: ignore[union-attr]
            ).all()
    finally:
        engine.dispose()
    state_ok = {v: (w, b) for v, w, b in current} == load.current and applied == load.total
    ordered = sorted(latencies)
    return {
        "backend": backend + (f" ({processes} processes)" if processes > 1 else ""),
        "messages": load.total,
        "seconds": elapsed,
        "rate": load.total / elapsed,
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "failures": len(failures),
        "state": "ok" if state_ok and not failures else "WRONG",
        "first_failure": failures[0] if failures else "",
    }


def calibrate() -> float:
    """How fast this machine runs Python right now, to put the figures in context."""
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4, help="listener thread pool size")
    parser.add_argument(
        "--processes", type=int, default=2, help="listener worker processes (PostgreSQL only; one per core)"
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python speed check {calibrate():.2f} s "
        f"(a 10-million-step loop; about 0.5 s on an idle modern core); {args.connections} MLLP connections"
    )
    print("| backend | messages | seconds | messages/s | ACK p50 ms | ACK p95 ms | all AA, state right |")
    print("|---|---|---|---|---|---|---|")
    worst = float("inf")
    for backend in backends:
        r = run(backend, args)
        worst = min(worst, float(r["rate"]))
        print(
            f"| {r['backend']} | {r['messages']} | {r['seconds']:.1f} | {r['rate']:.0f} | {r['p50']:.1f} "
            f"| {r['p95']:.1f} | {r['state']} |",
            flush=True,
        )
        if r["first_failure"]:
            print(f"  first failure: {r['first_failure']}")
    print(f"target >= {TARGET:.0f} messages/s: {'met' if worst >= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
