"""Ward board and stay latency over real HTTP, on a 1,000-bed demo hospital.

    .venv/bin/python -m bench.board_latency [--backend sqlite|postgresql|both]

For each backend: a fresh database migrated by Alembic, the demo generator's 1,000-bed hospital
(36 wards, 14 days of history), a real uvicorn server in a subprocess, an API token for the
flow coordinator (site-wide, so every ward is visible), then timed GET requests with httpx on
one keep-alive connection: the ward board round-robin over every ward, and stay detail for
random current stays. Prints p50/p95/p99/max in milliseconds. Target: ward board p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from app.auth.tokens import issue_token
from app.cli import migrate
from app.config import PROJECT_ROOT, Settings
from app.core.clock import utcnow
from app.db import make_engine
from app.demo import build_demo
from app.models import AuditEvent, Bed, DailyReview, Stay, User, Ward
from bench.databases import database_url, free_port

DATABASE = "bench_boardround"
TARGET_P95_MS = 50.0


@dataclass
class Result:
    backend: str
    endpoint: str
    samples: list[float]  # milliseconds

    def pct(self, p: float) -> float:
        ordered = sorted(self.samples)
        rank = max(1, round(p / 100 * len(ordered)))  # nearest rank
        return ordered[rank - 1]

    def row(self) -> str:
        return (
            f"| {self.backend} | {self.endpoint} | {len(self.samples)} | {self.pct(50):.1f} | {self.pct(95):.1f} "
            f"| {self.pct(99):.1f} | {max(self.samples):.1f} | {statistics.fmean(self.samples):.1f} |"
        )


def start_server(url: str, secret: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": url,
        "BOARDROUND_SECRET_KEY": secret,
        "BOARDROUND_ENVIRONMENT": "development",
    }
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "app.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=PROJECT_ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("server did not start in 30 s")


def timed(client: httpx.Client, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        start = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
        out.append(elapsed)
    return out


def run_backend(backend: str, args: argparse.Namespace) -> tuple[list[Result], dict[str, float]]:
    secret = secrets.token_urlsafe(48)
    url = database_url(backend, DATABASE, fresh=not args.reuse)
    settings = Settings(environment="development", DATABASE_URL=url, secret_key=secret)
    engine = make_engine(settings)
    facts: dict[str, float] = {}
    try:
        with Session(engine, expire_on_commit=False) as session:
            reuse = args.reuse and _has_demo(session)
        if reuse:
            print(f"[{backend}] reusing the existing benchmark database", flush=True)
        else:
            _build(backend, engine, args, facts)
        with Session(engine, expire_on_commit=False) as session:
            facts |= {
                "beds": _count(session, Bed),
                "current_stays": _count(session, Stay, Stay.discharged_at.is_(None)),
                "reviews": _count(session, DailyReview),
                "audit_events": _count(session, AuditEvent),
            }
            flow = session.exec(select(User).where(User.username == "flow")).one()
            _token, raw = issue_token(session, user=flow, name="benchmark", actor=None, now=utcnow())
            session.commit()
            ward_ids = list(session.exec(select(Ward.id).order_by(Ward.code)))
            stay_ids = list(session.exec(select(Stay.id).where(Stay.discharged_at.is_(None)).order_by(Stay.id)))
    finally:
        engine.dispose()
    return _measure(backend, url, secret, raw, ward_ids, stay_ids, args, facts)


def _has_demo(session: Session) -> bool:
    try:
        return session.exec(select(User.id).where(User.username == "flow")).first() is not None
    except Exception:  # noqa: BLE001 - no tables yet
        return False


def _count(session: Session, model: type, *where: object) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _build(backend: str, engine: Engine, args: argparse.Namespace, facts: dict[str, float]) -> None:
    started = time.perf_counter()
    migrate(engine)
    facts["migrate_s"] = time.perf_counter() - started
    print(f"[{backend}] building {args.wards} wards, {args.days} days of history ...", flush=True)
    with Session(engine, expire_on_commit=False) as session:
        started = time.perf_counter()
        summary = build_demo(
            session,
            seed=args.seed,
            now=utcnow(),
            wards=args.wards,
            beds_per_ward=(24, 32),
            days_history=args.days,
            hasher=lambda _password: "!",  # nobody signs in with a password here
            # The batched path writes exactly what the review service writes (tests/demo).
            service_review_days=1,
        )
        session.commit()
        facts["build_s"] = time.perf_counter() - started
    print(
        f"[{backend}] built in {facts['build_s']:.1f} s: {summary.beds} beds, {summary.current_stays} current stays",
        flush=True,
    )


def _measure(
    backend: str,
    url: str,
    secret: str,
    raw: str,
    ward_ids: list[int],
    stay_ids: list[int],
    args: argparse.Namespace,
    facts: dict[str, float],
) -> tuple[list[Result], dict[str, float]]:
    proc, base = start_server(url, secret)
    rng = random.Random(args.seed)
    facts["load_before"] = os.getloadavg()[0]
    try:
        headers = {"Authorization": f"Bearer {raw}"}
        with httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=30) as client:
            boards = [f"/wards/{ward_ids[i % len(ward_ids)]}/board" for i in range(args.warmup + args.requests)]
            timed(client, boards[: args.warmup])
            board = timed(client, boards[args.warmup :])
            stays = [f"/stays/{rng.choice(stay_ids)}" for _ in range(args.warmup + args.requests)]
            timed(client, stays[: args.warmup])
            stay = timed(client, stays[args.warmup :])
            facts["load_after"] = os.getloadavg()[0]
            rows = len(client.get(boards[0]).json()["rows"])
            facts["rows_per_board"] = rows
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    results = [
        Result(backend, "GET /wards/{id}/board", board),
        Result(backend, "GET /stays/{id}", stay),
    ]
    return results, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--wards", type=int, default=36, help="36 wards of 24-32 beds is about 1,000 beds")
    parser.add_argument("--days", type=int, default=14, help="days of history")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per endpoint")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true", help="measure the database left by the last run")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: list[Result] = []
    facts: dict[str, dict[str, float]] = {}
    for backend in backends:
        backend_results, facts[backend] = run_backend(backend, args)
        results.extend(backend_results)
    print()
    print("| backend | endpoint | n | p50 ms | p95 ms | p99 ms | max ms | mean ms |")
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        print(result.row())
    print()
    for backend, f in facts.items():
        print(
            f"{backend}: {int(f['beds'])} beds, {int(f['current_stays'])} current stays, "
            f"{int(f['reviews'])} reviews, {int(f['audit_events'])} audit events; "
            + (f"migrate {f['migrate_s']:.1f} s, build {f['build_s']:.1f} s; " if "build_s" in f else "reused; ")
            + f"{int(f['rows_per_board'])} rows on a board; "
            + f"1-min load average {f['load_before']:.2f} before, {f['load_after']:.2f} after measuring"
        )
    worst = max(r.pct(95) for r in results if "board" in r.endpoint)
    verdict = "meets" if worst < TARGET_P95_MS else "MISSES"
    print(f"\nWard board p95 (worst backend) {worst:.1f} ms: {verdict} the {TARGET_P95_MS:.0f} ms target")
    print(f"({os.cpu_count()} CPUs; a load average above that means other work competed for them)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
