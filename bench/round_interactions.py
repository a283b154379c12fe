"""Board-round interactions on a 30-bed ward: server time per htmx request, taps per patient.

    .venv/bin/python -m bench.round_interactions [--backend sqlite|postgresql|both]

For each backend: a fresh migrated database with a one-ward demo hospital (30 beds, 7 days of
history), a real uvicorn server in a subprocess, a nurse signed in through the sign-in page.
It then runs a whole round as the tablet does (htmx requests with HX-Request/HX-Target):
open each patient's screen, confirm "No change since last review" where there is a previous
review (following HX-Location to the next patient), and save the full form for the rest. Server
time comes from the Server-Timing header; wall time from the client. It counts the taps (user
actions that send a request) needed per unchanged patient: the goal is one.
Then it repeats reads (patient screen, board rows) and saves (replacing today's review) for
more samples. Target: p95 under 100 ms server time for every interaction.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import sys
import time
from collections import defaultdict

import httpx
from sqlmodel import Session, select

from app.cli import migrate
from app.config import Settings
from app.core.clock import utcnow
from app.db import make_engine
from app.demo import build_demo
from app.models import Ward
from bench.board_latency import start_server
from bench.databases import database_url

TARGET_P95_MS = 100.0
DATABASE = "bench_round"
HTMX = {"HX-Request": "true", "HX-Target": "round-step"}


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def form_fields(html: str) -> dict[str, str | list[str]]:
    """The patient form as the browser would submit it (hidden, text, checked, selected)."""
    form = html.split('id="patient-form"', 1)[1].split("</form>", 1)[0]
    data: dict[str, str | list[str]] = {}
    for name, value in re.findall(r'<input[^>]*type="hidden" name="(\w+)" value="([^"]*)"', form):
        data[name] = value
    for name, value in re.findall(r'name="(\w+)" type="(?:radio|checkbox)" value="([^"]*)" checked', form):
        if name == "criteria":
            data.setdefault("criteria", [])
            data["criteria"].append(value)  # type: ignore[union-attr]
        else:
            data[name] = value
    for name in ("expected_discharge_date",):
        m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', form)
        data[name] = m.group(1) if m else ""
    for name in ("delay_reason_code", "red_day_reason_code"):
        select = form.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
        m = re.search(r'<option value="([^"]*)" selected', select)
        data[name] = m.group(1) if m else ""
    data.setdefault("meets", "yes")
    data.setdefault("day_status", "green")
    if data["meets"] == "no" and not data.get("delay_reason_code"):
        data["delay_reason_code"] = "HP01"
    if data["day_status"] == "red" and not data.get("red_day_reason_code"):
        data["red_day_reason_code"] = "waiting_external"
    return data


class Recorder:
    def __init__(self) -> None:
        self.server: dict[str, list[float]] = defaultdict(list)
        self.wall: dict[str, list[float]] = defaultdict(list)

    def call(self, client: httpx.Client, name: str, method: str, url: str, **kw) -> httpx.Response:
        start = time.perf_counter()
        response = client.request(method, url, **kw)
        self.wall[name].append((time.perf_counter() - start) * 1000)
        timing = response.headers.get("server-timing", "")
        match = re.search(r"dur=([\d.]+)", timing)
        if match:
            self.server[name].append(float(match.group(1)))
        if response.status_code >= 400:
            raise RuntimeError(f"{name}: {method} {url} -> {response.status_code} {response.text[:300]}")
        return response


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, round(p / 100 * len(ordered))) - 1]


def run(backend: str, rounds_of_saves: int) -> tuple[Recorder, dict[str, float]]:
    secret = secrets.token_urlsafe(48)
    url = database_url(backend, DATABASE, fresh=True)
    settings = Settings(environment="development", DATABASE_URL=url, secret_key=secret)
    engine = make_engine(settings)
    migrate(engine)
    with Session(engine) as session:
        build_demo(session, seed=7, now=utcnow(), wards=1, beds_per_ward=(30, 30), days_history=7)
        session.commit()
        ward_code = session.exec(select(Ward.code)).one()
    engine.dispose()
    os.environ["BOARDROUND_SECURE_COOKIES"] = "false"  # plain HTTP on loopback
    proc, base = start_server(url, secret)
    rec = Recorder()
    facts: dict[str, float] = {}
    try:
        with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as client:
            page = client.get("/sign-in")
            r = client.post(
                "/sign-in",
                data={"username": "nurse", "password": "boardround-demo", "next": "/", "csrf_token": csrf(page.text)},
            )
            if r.status_code != 303:
                raise RuntimeError("sign-in failed")
            token = csrf(client.get(f"/wards/{ward_code}").text)
            headers = HTMX | {"X-CSRF-Token": token}
            r = client.post(f"/wards/{ward_code}/rounds/new", data={"roles": ["nurse", "doctor"], "csrf_token": token})
            location = r.headers["location"]
            taps_unchanged: list[int] = []
            patients = 0
            while "/stays/" in location:
                patients += 1
                step = rec.call(client, "open patient screen", "GET", location, headers=HTMX)
                taps = 0
                if 'id="no-change"' in step.text:
                    version = re.search(r'/no-change".*?name="stay_version" value="(\d+)"', step.text, re.S).group(1)
                    r = rec.call(
                        client,
                        "no change (one tap)",
                        "POST",
                        location + "/no-change",
                        data={"stay_version": version},
                        headers=headers,
                    )
                    taps += 1
                    taps_unchanged.append(taps)
                else:
                    r = rec.call(
                        client, "save patient form", "POST", location, data=form_fields(step.text), headers=headers
                    )
                hx = r.headers.get("hx-location")
                if hx:
                    location = json.loads(hx)["path"]  # the next patient, swapped in place
                elif r.headers.get("hx-redirect"):
                    location = r.headers["hx-redirect"]  # the round overview, a whole page
                else:
                    raise RuntimeError(f"nowhere to go after saving {location}: {r.status_code}")
            facts["patients in round"] = patients
            facts["unchanged patients"] = len(taps_unchanged)
            facts["taps per unchanged patient"] = statistics.fmean(taps_unchanged) if taps_unchanged else float("nan")
            # More samples: reads and replacing saves.
            board = client.get(f"/wards/{ward_code}").text
            stay_ids = sorted(set(int(s) for s in re.findall(r'href="/stays/(\d+)"', board)))
            round_id = re.search(r"/rounds/(\d+)", location).group(1)  # type: ignore[union-attr]
            for _ in range(rounds_of_saves):
                for stay_id in stay_ids:
                    step = rec.call(
                        client, "open patient screen", "GET", f"/rounds/{round_id}/stays/{stay_id}", headers=HTMX
                    )
                    rec.call(
                        client,
                        "save patient form",
                        "POST",
                        f"/rounds/{round_id}/stays/{stay_id}",
                        data=form_fields(step.text),
                        headers=headers,
                    )
                rec.call(
                    client,
                    "board rows refresh",
                    "GET",
                    f"/wards/{ward_code}/rows",
                    headers={"HX-Request": "true", "X-Boardround-Background": "1"},
                )
                for _ in range(9):
                    rec.call(
                        client,
                        "board rows refresh",
                        "GET",
                        f"/wards/{ward_code}/rows",
                        headers={"HX-Request": "true", "X-Boardround-Background": "1"},
                    )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return rec, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=3, help="extra passes of open+save over every patient")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    failed = False
    print("| Backend | Interaction | n | server p50 ms | server p95 ms | wall p95 ms |")
    print("|---|---|---|---|---|---|")
    all_facts = {}
    for backend in backends:
        rec, facts = run(backend, args.repeats)
        all_facts[backend] = facts
        for name in rec.server:
            server, wall = rec.server[name], rec.wall[name]
            print(
                f"| {backend} | {name} | {len(server)} | {pct(server, 50):.1f} | {pct(server, 95):.1f} | {pct(wall, 95):.1f} |"
            )
            failed |= pct(server, 95) > TARGET_P95_MS
    for backend, facts in all_facts.items():
        print(f"{backend}: " + ", ".join(f"{k} = {v:g}" for k, v in facts.items()))
    print(f"target: server p95 < {TARGET_P95_MS:.0f} ms for every interaction; taps per unchanged patient = 1")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
