"""Everything the server process writes names no patient.

The app runs in a real uvicorn process, started the two ways operators start it
(`uvicorn --factory app.main:create_app`, here with a logging config that also shows the app's
INFO records and every SQL statement, and `boardround serve` with its defaults), on SQLite and on
PostgreSQL. A realistic sequence of requests follows: API patient searches (and the retired
search by URL that old clients still send), registrations and validation failures, the audit
viewer's patient filter and its pages, an old bookmark and a sign-in carrying an identifier in
its URL, and HL7 ADT messages that register, update and fail. Then every NHS number, hospital
number, name and date of birth of those patients is looked for in all the process wrote.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.auth.tokens import issue_token
from app.config import PROJECT_ROOT
from app.models import Patient, Ward
from app.patients.nhs_number import display
from tests import factories
from tests.adt import messages as msg
from tests.dbs import build_engine, drop_pg_database, migrate
from tests.pages import PASSWORD, csrf_from

START_SECONDS = 30
HL7 = {"Content-Type": "x-application/hl7-v2+er7"}

# Shows the app's INFO records and every SQL statement (as an operator chasing a fault might)
# as well as uvicorn's own lines.
VERBOSE_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(name)s %(message)s"},
        "access": {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        },
    },
    "handlers": {
        "default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "": {"handlers": ["default"], "level": "INFO"},
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        "sqlalchemy.engine": {"level": "INFO"},
    },
}


# -- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(launcher: str, port: int, tmp: Path) -> list[str]:
    if launcher == "uvicorn":
        config = tmp / "logging.json"
        config.write_text(json.dumps(VERBOSE_LOGGING))
        return [
            *(sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-config", str(config)),
        ]
    # `boardround serve`, run from this checkout (the console script may point at another).
    return [sys.executable, "-c", "from app.cli import app; app()", "serve", "--port", str(port)]


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOARDROUND_") and k != "DATABASE_URL"}
    return env | {
        "DATABASE_URL": database_url,
        "BOARDROUND_ENVIRONMENT": "test",
        "BOARDROUND_SECRET_KEY": secrets.token_urlsafe(36),
        "BOARDROUND_SECURE_COOKIES": "false",
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        """Stop the process (so everything is written) and read what it wrote."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.log_path.read_text("utf-8", "replace")


def _start(launcher: str, database_url: str, tmp: Path) -> Server:
    log_path = tmp / "server.log"
    port = _free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            _command(launcher, port, tmp),
            cwd=PROJECT_ROOT,
            env=_env(database_url),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    log = server.output()
    raise RuntimeError(f"the server did not start ({launcher}):\n{log[-5000:]}")


# -- committed data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A patient's identifying details, as the log must never show them."""

    nhs_number: str | None
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date

    def secrets(self) -> list[str]:
        found = [self.mrn, self.given_name, self.family_name, self.date_of_birth.isoformat()]
        found += [self.date_of_birth.strftime("%Y%m%d"), self.date_of_birth.strftime("%d/%m/%Y")]
        if self.nhs_number:
            found += [self.nhs_number, display(self.nhs_number)]
        return found


def _person(n: int) -> Person:
    # Names and numbers nothing else in a log could contain by chance.
    return Person(
        nhs_number=factories.test_nhs_number(700_000 + n * 7919),
        mrn=f"KLOG{n:04d}",
        given_name=f"Ysolde{chr(97 + n)}q",
        family_name=f"Thistlewood{chr(97 + n)}x",
        date_of_birth=date(1931, 1 + n, 3 + n),
    )


@dataclass
class World:
    ward: Ward
    on_ward: list[Patient]
    elsewhere: Patient
    stay_id: int
    manager: str
    nurse_token: str
    pas_token: str
    new: list[Person]  # sent to the server, never seeded


def _seed(engine: Engine, password_hash: str) -> World:
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as db:
        ward = factories.make_ward(db, beds=6)
        other = factories.make_ward(db, beds=2)
        manager = factories.make_user(db, "ward_manager", wards=[ward], password_hash=password_hash)
        nurse = factories.make_user(db, "nurse", wards=[ward])
        pas = factories.make_user(db, "integration", is_service_account=True)
        actor = factories.principal(db, manager)
        seeded = [_person(n) for n in range(3)]
        patients = [factories.make_patient(db, actor, **vars(p)) for p in seeded]
        beds = factories.beds_of(db, ward)
        stays = [factories.make_stay(db, actor, ward, beds[i], patient=patients[i], now=now) for i in range(2)]
        factories.make_stay(
            db, factories.principal(db, factories.make_user(db, "admin")), other, None, patient=patients[2]
        )
        _, nurse_token = issue_token(db, user=nurse, name="log test", actor=None, now=now)
        _, pas_token = issue_token(db, user=pas, name="log test", actor=None, now=now)
        db.commit()
        return World(
            ward=ward,
            on_ward=patients[:2],
            elsewhere=patients[2],
            stay_id=stays[0].id,
            manager=manager.username,
            nurse_token=nurse_token,
            pas_token=pas_token,
            new=[_person(n) for n in range(3, 9)],
        )


# -- the requests -----------------------------------------------------------------------------


def _api_requests(base_url: str, world: World) -> None:
    a, b = world.on_ward
    api = httpx.Client(base_url=f"{base_url}/api/v1", headers={"Authorization": f"Bearer {world.nurse_token}"})
    with api:
        found = api.post("/patients/search", json={"nhs_number": display(a.nhs_number)})
        assert [p["id"] for p in found.json()] == [a.id], found.text
        assert api.post("/patients/search", json={"mrn": b.mrn}).json()[0]["id"] == b.id
        assert api.post("/patients/search", json={"nhs_number": world.elsewhere.nhs_number}).json() == []
        bad_check_digit = a.nhs_number[:9] + str((int(a.nhs_number[9]) + 1) % 10)
        assert api.post("/patients/search", json={"nhs_number": bad_check_digit}).status_code == 422
        assert api.post("/patients/search", json={}).status_code == 422
        # Old clients still put identifiers in the URL: refused, and the log shows the path only.
        assert api.get("/patients", params={"nhs_number": a.nhs_number}).status_code == 422
        assert api.get("/patients", params={"mrn": b.mrn, "given_name": b.given_name}).status_code == 422
        new = world.new[0]
        body = {
            "nhs_number": new.nhs_number,
            "mrn": new.mrn,
            "given_name": new.given_name,
            "family_name": new.family_name,
            "date_of_birth": new.date_of_birth.isoformat(),
            "sex": "female",
        }
        assert api.post("/patients", json=body).status_code == 201
        assert api.post("/patients", json=body).status_code == 409
        assert api.post("/patients", json=body | {"mrn": "", "date_of_birth": "1931-02-30"}).status_code == 422
        refused = world.new[1]
        assert api.post("/patients", json=body | {"nhs_number": refused.nhs_number[:9] + "x"}).status_code == 422
        assert api.get(f"/patients/{a.id}").status_code == 200
        r = api.patch(f"/patients/{a.id}", json={"family_name": "", "version": 1})
        assert r.status_code == 422
        assert api.get(f"/stays/{world.stay_id}").status_code == 200


def _html_requests(base_url: str, world: World) -> None:
    a, b = world.on_ward
    with httpx.Client(base_url=base_url, follow_redirects=False) as browser:
        # An old bookmark of a filtered audit page, through sign-in.
        old = f"/audit?patient={a.nhs_number}"
        page = browser.get("/audit", params={"patient": a.nhs_number})
        assert page.status_code == 303 and page.headers["location"].startswith("/sign-in?next=")
        form = browser.get(page.headers["location"])
        r = browser.post(
            "/sign-in",
            data={"username": world.manager, "password": PASSWORD, "next": old, "csrf_token": csrf_from(form.text)},
        )
        assert r.status_code == 303 and r.headers["location"] == old
        page = browser.get(old)
        assert page.status_code == 422  # not looked up: "enter it in the Patient box"
        token = csrf_from(page.text)
        for typed in (a.nhs_number, display(b.nhs_number), b.mrn.lower()):
            r = browser.post("/audit", data={"patient": typed, "user": "", "csrf_token": token})
            assert r.status_code == 303, r.text[:500]
            assert browser.get(r.headers["location"]).status_code == 200
        for typed in (world.elsewhere.nhs_number, world.new[2].mrn):
            r = browser.post("/audit", data={"patient": typed, "csrf_token": token})
            assert r.status_code == 200 and "No patient matches that" in r.text
        r = browser.post("/audit", data={"patient": a.mrn, "date_from": "31/02/2026", "csrf_token": token})
        assert browser.get(r.headers["location"]).status_code == 422
        assert browser.get(f"/wards/{world.ward.code}", params={"filter": "nctr"}).status_code == 200
        assert browser.get(f"/stays/{world.stay_id}").status_code == 200


def _adt_requests(base_url: str, world: World) -> list[str]:
    """Returns the visit numbers sent (they identify a hospital stay, so stay out of logs too)."""
    a = world.on_ward[0]
    recent = msg.hl7_time(datetime.now(UTC) - timedelta(minutes=5))
    bed = f"{world.ward.code}^^B05"

    def send(event: str, person: Person, **kw) -> str:  # noqa: ANN003
        text = msg.adt(
            event,
            control=f"LOG-{uuid.uuid4().hex[:12]}",
            sent=recent,
            admit=recent,
            nhs=kw.pop("nhs", person.nhs_number),
            mrn=kw.pop("mrn", person.mrn),
            family=kw.pop("family", person.family_name.upper()),
            given=person.given_name.upper(),
            dob=kw.pop("dob", person.date_of_birth.strftime("%Y%m%d")),
            location=kw.pop("location", bed),
            **kw,
        )
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {world.pas_token}"}) as pas:
            r = pas.post("/api/v1/hl7/adt", content=text.encode(), headers=HL7)
        assert r.status_code == 200, r.text
        return msg.ack_fields(r.text)["code"]

    admitted, renamed, bad = world.new[3], world.new[4], world.new[5]
    visits = [f"VLOG{uuid.uuid4().hex[:8].upper()}" for _ in range(3)]
    assert send("A01", admitted, visit=visits[0]) == "AA"
    assert send("A08", admitted, family=renamed.family_name.upper(), visit=visits[0]) == "AA"
    assert send("A01", bad, nhs=bad.nhs_number[:9] + str((int(bad.nhs_number[9]) + 1) % 10), visit=visits[1]) == "AE"
    assert send("A01", bad, location="NOWHERE^^B01", visit=visits[1]) == "AE"
    assert send("A01", bad, mrn=a.mrn, nhs=admitted.nhs_number, visit=visits[2]) == "AE"  # two different patients
    assert send("A04", bad, dob="", visit=visits[2]) == "AE"
    return visits


# -- the test ---------------------------------------------------------------------------------


@pytest.fixture
def server_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = build_engine(backend, tmp_path_factory.mktemp(f"serverlog-{backend}"), "serverlog")
    migrate(engine)
    yield engine
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    if backend == "postgresql":
        drop_pg_database(url)


@pytest.mark.parametrize("launcher", ["uvicorn", "boardround serve"])
def test_the_server_output_names_no_patient(server_engine, password_hash, tmp_path, launcher):
    world = _seed(server_engine, password_hash)
    server = _start(launcher, server_engine.url.render_as_string(hide_password=False), tmp_path)
    try:
        _api_requests(server.base_url, world)
        _html_requests(server.base_url, world)
        visits = _adt_requests(server.base_url, world)
    finally:
        output = server.output()

    # Nothing that identifies a patient...
    with Session(server_engine) as db:
        registered = db.exec(select(Patient)).all()
        assert len(registered) == 5, "the API and an ADT message should have registered one patient each"
    people = [Person(p.nhs_number, p.mrn, p.given_name, p.family_name, p.date_of_birth) for p in registered] + world.new
    secrets_ = [s for person in people for s in person.secrets()] + visits
    leaks = {s for s in secrets_ if s.lower() in output.lower()}
    assert not leaks, f"patient details in the server output: {sorted(leaks)}"

    # ...though the log did record the requests (so an empty log cannot pass)...
    for line in (
        '"POST /api/v1/patients/search HTTP/1.1" 200',
        '"GET /api/v1/patients HTTP/1.1" 422',
        '"GET /sign-in HTTP/1.1" 200',
        '"GET /audit HTTP/1.1" 422',
        '"POST /audit HTTP/1.1" 303',
        '"POST /api/v1/hl7/adt HTTP/1.1" 200',
    ):
        assert line in output, f"{line} not in the log:\n{output[-3000:]}"
    assert "AE: PV1-3 PAS location 'NOWHERE'" in output  # the app's own warnings are in it too
    if launcher == "uvicorn":
        assert "boardround.adt" in output and "sqlalchemy.engine" in output
    # ...and not a single query string.
    access = [line for line in output.splitlines() if ' HTTP/1.1" ' in line]
    assert access and not [line for line in access if "?" in line]
