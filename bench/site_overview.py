"""Site flow overview and metrics pages over real HTTP, on a 1,000-bed demo hospital.

    .venv/bin/python -m bench.site_overview [--backend sqlite|postgresql|both] [--days 365]
    .venv/bin/python -m bench.site_overview --build-only      # build the databases, measure later
    .venv/bin/python -m bench.site_overview --reuse           # measure what the last build left
    .venv/bin/python -m bench.site_overview --build-only --backend postgresql --copy-from-sqlite

For each backend: its own database (var/bench_site.db, PostgreSQL "bench_site"), migrated by
Alembic and filled by the demo generator (app.demo: 36 wards of 24-32 beds, about 1,000 beds,
`--days` of history, every row written through the real services). Then a real uvicorn server
in a subprocess, an API token for the site-wide flow coordinator, and timed GET requests with
httpx on one keep-alive connection:

    GET /flow                                  the site flow overview (all 36 wards)
    GET /metrics?date_from=..&date_to=..       the last 28 days to today (the page's default: today is
                                               worked out live), 30 and 365 closed days, all wards
    GET /metrics?ward=..&...                   365 days, one ward (round-robin)

Before the requests it times building every ward's stored metrics days from nothing, and
refreshing them after a day's worth of late changes (app.metrics.stored.ward_days); the requests then
read stored days, as they would on any day after the first.

Prints p50/p95/p99/max in milliseconds against the targets (overview p95 < 150 ms, metric
pages p95 < 300 ms). `--append` adds the table to docs/performance.md under "Site flow and
metrics". A year of history takes about an hour per backend to build on a small machine (the
generator replays every admission, review and round through the services), so build once with
--build-only and measure with --reuse. `--copy-from-sqlite` fills PostgreSQL with an exact copy of
the built SQLite database instead (bench.copy_database, a minute or two), so both measure the same rows.
"""

from __future__ import annotations

import argparse
import random
import secrets
import subprocess
import time
from datetime import date, timedelta

import httpx
from sqlalchemy import insert
from sqlmodel import Session, func, select

from app.auth.tokens import issue_token
from app.cli import migrate
from app.config import PROJECT_ROOT, Settings
from app.core.clock import london_date, utcnow
from app.db import make_engine
from app.demo import build_demo
from app.metrics.rules.period import MAX_PERIOD_DAYS
from app.metrics.stored import ward_days
from app.models import Bed, DailyReview, MetricsStale, Stay, User, Ward
from bench.board_latency import Result, start_server, timed
from bench.copy_database import copy_database
from bench.databases import database_url, sqlite_path

DATABASE = "bench_site"
SQLITE_PATH = sqlite_path(DATABASE)
OVERVIEW_TARGET_MS = 150.0
METRICS_TARGET_MS = 300.0
PERFORMANCE_DOC = PROJECT_ROOT / "docs" / "performance.md"
HEADING = "## Site flow and metrics"


def _count(session: Session, model: type, *where: object) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _has_demo(session: Session) -> bool:
    try:
        return session.exec(select(User.id).where(User.username == "flow")).first() is not None
    except Exception:  # noqa: BLE001 - no tables yet
        return False


def copy_from_sqlite(backend: str) -> dict[str, float]:
    """Fill a fresh PostgreSQL benchmark database with the rows of the built SQLite one."""
    if not SQLITE_PATH.exists():
        raise SystemExit(f"no {SQLITE_PATH} to copy: build it first with --build-only --backend sqlite")
    url = database_url(backend, DATABASE, fresh=True)
    engine = make_engine(Settings(environment="development", DATABASE_URL=url, secret_key="b" * 48))
    try:
        migrate(engine)
    finally:
        engine.dispose()
    print(f"[{backend}] copying {SQLITE_PATH} ...", flush=True)
    started = time.perf_counter()
    copy_database(f"sqlite:///{SQLITE_PATH}", url, progress=lambda line: print(f"[{backend}] {line}", flush=True))
    facts = {"build_s": time.perf_counter() - started}
    print(f"[{backend}] copied in {facts['build_s']:.0f} s", flush=True)
    return facts


def build(backend: str, args: argparse.Namespace) -> dict[str, float]:
    if args.copy_from_sqlite:
        return copy_from_sqlite(backend)
    url = database_url(backend, DATABASE, fresh=True)
    engine = make_engine(Settings(environment="development", DATABASE_URL=url, secret_key="b" * 48))
    facts: dict[str, float] = {}
    try:
        started = time.perf_counter()
        migrate(engine)
        print(f"[{backend}] building {args.wards} wards, {args.days} days of history ...", flush=True)
        with Session(engine, expire_on_commit=False) as session:
            build_demo(
                session,
                seed=args.seed,
                now=utcnow(),
                wards=args.wards,
                beds_per_ward=(24, 32),
                days_history=args.days,
                hasher=lambda _password: "!",  # nobody signs in with a password here
                service_review_days=1,
                progress=lambda line: print(f"[{backend}] {line}", flush=True),
            )
            session.commit()
        facts["build_s"] = time.perf_counter() - started
        print(f"[{backend}] built in {facts['build_s']:.0f} s", flush=True)
    finally:
        engine.dispose()
    return facts


def stored_days_costs(session: Session, backend: str, late_changes: int = 150) -> dict[str, float]:
    """Seconds to build every ward's stored metrics days from nothing (MAX_PERIOD_DAYS of them), and
    to refresh them after a day's worth of late changes: clinical criteria for discharge recorded on
    `late_changes` patients in hospital, each of which marks the stay's days since admission."""
    now = utcnow()
    ward_ids = list(session.exec(select(Ward.id)))
    last = ward_days.last_closed_day(now)
    first = last - timedelta(days=MAX_PERIOD_DAYS - 1)
    ward_days.forget_all(session, now=now)
    started = time.perf_counter()
    ward_days.refresh(session, ward_ids, first, last, now=now)  # type: ignore[arg-type]
    build_s = time.perf_counter() - started
    in_hospital = list(session.exec(select(Stay.id, Stay.admitted_at).where(Stay.discharged_at.is_(None))))
    chosen = random.Random(0).sample(in_hospital, min(late_changes, len(in_hospital)))
    session.execute(
        insert(MetricsStale),
        [{"stay_id": i, "ward_id": None, "from_at": at, "to_at": None, "marked_at": now} for i, at in chosen],
    )
    session.commit()
    started = time.perf_counter()
    ward_days.refresh(session, ward_ids, first, last, now=now)  # type: ignore[arg-type]
    refresh_s = time.perf_counter() - started
    print(f"[{backend}] stored days: built in {build_s:.1f} s, refreshed after {len(chosen)} late changes in "
          f"{refresh_s:.1f} s", flush=True)  # fmt: skip
    return {"stored_build_s": build_s, "stored_refresh_s": refresh_s, "late_changes": len(chosen)}


def measure(backend: str, args: argparse.Namespace, facts: dict[str, float]) -> list[Result]:
    url = database_url(backend, DATABASE, fresh=False)
    secret = secrets.token_urlsafe(48)
    engine = make_engine(Settings(environment="development", DATABASE_URL=url, secret_key=secret))
    try:
        migrate(engine)  # a database built by older code gets the tables it lacks
        with Session(engine, expire_on_commit=False) as session:
            if not _has_demo(session):
                raise SystemExit(f"[{backend}] no benchmark database: run with --build-only first")
            facts |= stored_days_costs(session, backend)
            first_admission = session.exec(select(func.min(Stay.admitted_at))).one()
            facts |= {
                "beds": _count(session, Bed),
                "wards": _count(session, Ward),
                "stays": _count(session, Stay),
                "current_stays": _count(session, Stay, Stay.discharged_at.is_(None)),  # type: ignore[union-attr]
                "reviews": _count(session, DailyReview),
                "history_days": (utcnow() - first_admission).days if first_admission else 0,
            }
            flow = session.exec(select(User).where(User.username == "flow")).one()
            _token, raw = issue_token(session, user=flow, name="site-benchmark", actor=None, now=utcnow())
            session.commit()
            ward_codes = list(session.exec(select(Ward.code).order_by(Ward.code)))
    finally:
        engine.dispose()

    today = london_date(utcnow())
    yesterday = today - timedelta(days=1)

    def period(days: int, ward: str | None = None, last: date = yesterday) -> str:
        start = last - timedelta(days=days - 1)
        query = f"date_from={start.isoformat()}&date_to={last.isoformat()}"
        return f"/metrics?{query}" + (f"&ward={ward}" if ward else "")

    proc, base = start_server(url, secret)
    n, warm = args.requests, args.warmup
    try:
        headers = {"Authorization": f"Bearer {raw}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            results = []
            for name, paths in (
                ("GET /flow", ["/flow"] * (warm + n)),
                ("GET /metrics (28 days to today, all wards)", [period(28, last=today)] * (warm + max(5, n // 2))),
                ("GET /metrics (30 days, all wards)", [period(30)] * (warm + max(5, n // 2))),
                ("GET /metrics (365 days, all wards)", [period(365)] * (warm + max(5, n // 5))),
                (
                    "GET /metrics (365 days, one ward)",
                    [period(365, ward_codes[i % len(ward_codes)]) for i in range(warm + max(5, n // 2))],
                ),
            ):
                timed(client, paths[:warm])
                results.append(Result(backend, name, timed(client, paths[warm:])))
                print(f"[{backend}] {results[-1].row()}", flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)  # a long request may still be running in a worker thread
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return results


def report(results: list[Result], facts: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    lines = [
        "| backend | endpoint | n | p50 ms | p95 ms | p99 ms | max ms | mean ms |",
        "|---|---|---|---|---|---|---|---|",
        *(r.row() for r in results),
        "",
    ]
    for backend, f in facts.items():
        lines.append(
            f"- {backend}: {int(f['wards'])} wards, {int(f['beds'])} beds, {int(f['current_stays'])} in hospital, "
            f"{int(f['stays'])} stays and {int(f['reviews'])} reviews (first admission {int(f['history_days'])} days ago)"
            + (f"; built in {f['build_s'] / 60:.0f} min" if "build_s" in f else "")
        )
        if "stored_build_s" in f:
            lines.append(
                f"- {backend}: stored metrics days (every ward, {MAX_PERIOD_DAYS} days) built from nothing in "
                f"{f['stored_build_s']:.1f} s; refreshed after {int(f['late_changes'])} late changes in "
                f"{f['stored_refresh_s']:.1f} s"
            )
    lines.append("")
    for r in results:
        target = OVERVIEW_TARGET_MS if r.endpoint == "GET /flow" else METRICS_TARGET_MS
        verdict = "meets" if r.pct(95) < target else "MISSES"
        lines.append(f"- {r.backend} {r.endpoint}: p95 {r.pct(95):.0f} ms {verdict} the {target:.0f} ms target")
    return "\n".join(lines)


def append_to_doc(text: str, args: argparse.Namespace) -> None:
    existing = PERFORMANCE_DOC.read_text() if PERFORMANCE_DOC.exists() else ""
    block = []
    if HEADING not in existing:
        block.append(f"\n{HEADING}\n")
    block.append(
        f"\n### Run of {date.today().isoformat()} (`python -m bench.site_overview`, "
        f"{args.requests} timed requests per endpoint after {args.warmup} warm-up)\n\n{text}\n"
    )
    with PERFORMANCE_DOC.open("a") as out:
        out.write("".join(block))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--wards", type=int, default=36, help="36 wards of 24-32 beds is about 1,000 beds")
    parser.add_argument("--days", type=int, default=365, help="days of history")
    parser.add_argument("--requests", type=int, default=100, help="timed requests for the overview")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--build-only", action="store_true", help="build the databases and stop")
    parser.add_argument("--reuse", action="store_true", help="measure the databases left by the last build")
    parser.add_argument("--append", action="store_true", help="append the results to docs/performance.md")
    parser.add_argument(
        "--copy-from-sqlite",
        action="store_true",
        help="with --build-only --backend postgresql: copy the built SQLite database instead of building",
    )
    args = parser.parse_args(argv)
    if args.copy_from_sqlite and not (args.build_only and args.backend == "postgresql"):
        parser.error("--copy-from-sqlite goes with --build-only --backend postgresql")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    facts: dict[str, dict[str, float]] = {}
    for backend in backends:
        facts[backend] = {} if args.reuse else build(backend, args)
    if args.build_only:
        return 0
    results: list[Result] = []
    for backend in backends:
        results.extend(measure(backend, args, facts[backend]))
    text = report(results, facts, args)
    print()
    print(text)
    if args.append:
        append_to_doc(text, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
