"""Idempotency-Key on the JSON API's POSTs (app/web/idempotency.py), over real HTTP.

Concurrent requests with one key need their own server process: tests/api/test_idempotency_concurrency.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import APIRouter, Response
from sqlalchemy import delete, func, select
from sqlmodel import Session

from app.auth.deps import CurrentPrincipal
from app.core.errors import RuleViolation
from app.core.principal import Principal
from app.db import SessionDep, commit, get_session
from app.main import create_app
from app.models import Action, AuditEvent, IdempotencyKey, Stay
from app.web import live
from app.web.idempotency import IdempotentRoute
from tests import factories
from tests.dbs import settings_for

KEY = "9f0c2a8e-6a4e-4b7e-9d57-2b1f1c0e5a11"


@pytest.fixture
def stay(db, ward, nurse_principal):
    return factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])


def count(db: Session, model) -> int:  # noqa: ANN001
    return db.execute(select(func.count()).select_from(model)).scalar_one()


def action(description: str) -> dict[str, str]:
    return {"description": description, "owner_role_code": "therapist"}


def keyed(key: str = KEY, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


# One POST per kind of write: (path, body) for a stay on the nurse's ward.
WRITES = {
    "admit": lambda db, stay, ward, now, actor: (
        "/stays",
        {
            "ward_id": ward.id,
            "bed_id": factories.beds_of(db, ward)[1].id,
            "admitted_at": (now - timedelta(hours=1)).isoformat(),
            # Ward staff admit by the identifiers they hold (docs/adr/0007).
            "patient": factories.identifiers(factories.make_patient(db, actor)),
        },
    ),
    "discharge": lambda db, stay, ward, now, actor: (
        f"/stays/{stay.id}/discharge",
        {"discharged_at": (now - timedelta(minutes=5)).isoformat(), "destination_code": "19", "version": stay.version},
    ),
    "review": lambda db, stay, ward, now, actor: (
        f"/stays/{stay.id}/reviews",
        {"meets_criteria_to_reside": True, "day_status": "green", "plan": "Home when OT happy"},
    ),
    "action": lambda db, stay, ward, now, actor: (
        f"/stays/{stay.id}/actions",
        action("Chase OT assessment"),
    ),
    "escalation": lambda db, stay, ward, now, actor: (
        f"/stays/{stay.id}/escalations",
        {"category_code": "capacity", "help_needed": "No P1 capacity for 5 days"},
    ),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_retry_gets_the_first_response_and_writes_nothing(db, api, stay, ward, now, nurse_principal, write):
    path, body = WRITES[write](db, stay, ward, now, nurse_principal)
    audit_before = count(db, AuditEvent)

    first = api.post(path, json=body, headers=keyed())
    assert first.status_code in (200, 201), first.text
    audit_after_first = count(db, AuditEvent)
    assert audit_after_first > audit_before
    assert "idempotent-replayed" not in first.headers

    again = api.post(path, json=body, headers=keyed())
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers.get("etag") == first.headers.get("etag")
    assert again.headers["idempotent-replayed"] == "true"
    assert count(db, AuditEvent) == audit_after_first, "the retry wrote again"
    assert count(db, IdempotencyKey) == 1


def test_without_a_key_a_post_runs_every_time(db, api, stay):
    body = action("Chase OT assessment")
    assert api.post(f"/stays/{stay.id}/actions", json=body).status_code == 201
    assert api.post(f"/stays/{stay.id}/actions", json=body).status_code == 201
    assert count(db, Action) == 2
    assert count(db, IdempotencyKey) == 0


def test_a_retried_review_gets_its_201_not_the_200_of_a_replacement(db, api, stay):
    body = {"meets_criteria_to_reside": True, "day_status": "green"}
    first = api.post(f"/stays/{stay.id}/reviews", json=body, headers=keyed())
    assert first.status_code == 201
    assert api.post(f"/stays/{stay.id}/reviews", json=body, headers=keyed()).status_code == 201
    # Unkeyed, it is a new request: replacing today's review, with the version seen.
    again = api.post(f"/stays/{stay.id}/reviews", json=body | {"version": first.json()["version"]})
    assert again.status_code == 200


def test_the_same_key_for_another_request_is_refused(db, api, stay):
    path = f"/stays/{stay.id}/actions"
    assert api.post(path, json=action("Chase OT"), headers=keyed()).status_code == 201

    for other_path, other_body in (
        (path, action("Book transport")),  # another body
        (f"/stays/{stay.id}/escalations", {"category_code": "capacity", "help_needed": "x"}),  # another path
    ):
        r = api.post(other_path, json=other_body, headers=keyed())
        assert r.status_code == 422
        error = r.json()["error"]
        assert error["code"] == "idempotency_key_reused"
        assert error["fields"][0]["field"] == "Idempotency-Key"
    assert count(db, Action) == 1
    assert api.get(path).json()[0]["description"] == "Chase OT"


def test_keys_belong_to_one_user_or_token(db, api_as, nurse, stay, ward):
    doctor = factories.make_user(db, "doctor", wards=[ward], display_name="Dr Dee")
    nurse_tablet, nurse_feed, doctor_tablet = api_as(nurse), api_as(nurse), api_as(doctor)  # two tokens of one user
    path = f"/stays/{stay.id}/actions"

    mine = nurse_tablet.post(path, json=action("Chase OT"), headers=keyed())
    other_token = nurse_feed.post(path, json=action("Chase OT"), headers=keyed())
    theirs = doctor_tablet.post(path, json=action("Book transport"), headers=keyed())

    assert [r.status_code for r in (mine, other_token, theirs)] == [201, 201, 201]
    assert "idempotent-replayed" not in theirs.headers and "idempotent-replayed" not in other_token.headers
    assert len({r.json()["id"] for r in (mine, other_token, theirs)}) == 3
    assert theirs.json()["description"] == "Book transport"  # not the nurse's stored response
    assert count(db, Action) == 3
    # Each still gets its own response back.
    for client, response in ((nurse_tablet, mine), (nurse_feed, other_token), (doctor_tablet, theirs)):
        body = action(response.json()["description"])
        again = client.post(path, json=body, headers=keyed())
        assert again.headers["idempotent-replayed"] == "true" and again.json() == response.json()
    assert count(db, Action) == 3


def test_a_key_lasts_a_day(db, api, stay, clock):
    path, body = f"/stays/{stay.id}/actions", action("Chase OT")
    first = api.post(path, json=body, headers=keyed())
    clock.advance(hours=23, minutes=59)
    assert api.post(path, json=body, headers=keyed()).json() == first.json()

    clock.advance(minutes=1)
    later = api.post(path, json=body, headers=keyed())
    assert later.status_code == 201 and "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert count(db, Action) == 2
    assert db.execute(select(IdempotencyKey.created_at)).scalars().all() == [clock.now()]


def test_expired_keys_of_anyone_are_deleted_by_the_next_keyed_post(db, api, stay, now):
    for n, age in enumerate((timedelta(hours=30), timedelta(hours=24), timedelta(hours=2))):
        db.add(IdempotencyKey(principal=f"user:{9000 + n}", key="k", request_hash="0" * 64, created_at=now - age))
    db.flush()
    assert api.post(f"/stays/{stay.id}/actions", json=action("x")).status_code == 201
    assert count(db, IdempotencyKey) == 3  # unkeyed POSTs leave the table alone

    assert api.post(f"/stays/{stay.id}/actions", json=action("x"), headers=keyed()).status_code == 201
    kept = db.execute(select(IdempotencyKey.principal).order_by(IdempotencyKey.id)).scalars().all()
    assert len(kept) == 2 and kept[0] == "user:9002" and kept[1].startswith("token:")  # the 2-hour-old row stays


@pytest.mark.parametrize(
    ("key", "why"),
    [("", "empty"), ("k" * 256, "too long"), ("tab\there", "control character"), (b"caf\xe9", "not ASCII")],
)
def test_malformed_keys_are_refused(db, api, stay, key, why):
    r = api.post(f"/stays/{stay.id}/actions", json=action("x"), headers={"Idempotency-Key": key})
    assert r.status_code == 422, why
    assert r.json()["error"]["fields"][0]["field"] == "Idempotency-Key"
    assert count(db, Action) == 0


def test_the_longest_key_with_spaces_and_punctuation_is_accepted(db, api, stay):
    key = ("order 42: ~!@#$%^&*()" * 20)[:255]
    assert api.post(f"/stays/{stay.id}/actions", json=action("x"), headers=keyed(key)).status_code == 201
    assert db.execute(select(IdempotencyKey.key)).scalar_one() == key


def test_a_failed_request_keeps_no_key_and_can_be_sent_again(db, api, stay):
    path = f"/stays/{stay.id}/actions"
    refused = api.post(path, json={"description": "x", "owner_role_code": "wizard"}, headers=keyed())
    assert refused.status_code == 422
    again = api.post(path, json={"description": "x", "owner_role_code": "wizard"}, headers=keyed())
    assert again.status_code == 422 and "idempotent-replayed" not in again.headers
    assert count(db, IdempotencyKey) == 0
    # Corrected and sent with the same key: it runs (nothing was stored for the failures).
    fixed = api.post(path, json=action("x"), headers=keyed())
    assert fixed.status_code == 201
    assert count(db, IdempotencyKey) == 1


def test_a_write_refused_at_commit_keeps_no_key(db, api, ward, nurse_principal, now):
    """The key row shares the write's transaction: a write that fails to commit leaves neither."""
    bed = factories.beds_of(db, ward)[0]
    patients = [factories.make_patient(db, nurse_principal) for _ in range(2)]
    body = {"ward_id": ward.id, "bed_id": bed.id, "admitted_at": (now - timedelta(hours=1)).isoformat()}
    stays_before = count(db, Stay)
    first = api.post("/stays", json=body | {"patient": factories.identifiers(patients[0])})
    assert first.status_code == 201
    clash = api.post("/stays", json=body | {"patient": factories.identifiers(patients[1])}, headers=keyed())
    assert clash.status_code == 409
    assert count(db, IdempotencyKey) == 0
    assert count(db, Stay) == stays_before + 1
    # Once the bed is free the same request, same key, runs: no 409 was kept for it.
    discharge = {"discharged_at": now.isoformat(), "destination_code": "19", "version": first.json()["stay"]["version"]}
    assert api.post(f"/stays/{first.json()['stay']['id']}/discharge", json=discharge).status_code == 200
    retry = api.post("/stays", json=body | {"patient": factories.identifiers(patients[1])}, headers=keyed())
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers


def test_a_key_whose_request_has_no_response_yet_answers_409(db, api, stay):
    """A row without a response is never committed by the app; if one is seen, nothing replays it."""
    path = f"/stays/{stay.id}/actions"
    body = action("x")
    api.post(path, json=body, headers=keyed())
    row = db.execute(select(IdempotencyKey)).scalar_one()
    row.status_code = None
    db.flush()
    r = api.post(path, json=body, headers=keyed())
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_in_progress"
    assert count(db, Action) == 1


def test_unauthenticated_keyed_posts_get_401(db, api_as, stay):
    r = api_as(None).post(f"/stays/{stay.id}/actions", json=action("x"), headers=keyed())
    assert r.status_code == 401
    assert count(db, IdempotencyKey) == 0


def test_every_post_of_the_json_api_takes_the_header_in_its_documentation(api):
    """The header is documented by the `claim` dependency, which only IdempotentRoute adds."""
    schema = api.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            expected = method == "post" and path not in {"/api/v1/hl7/adt", "/api/v1/patients/search"}
            assert ("Idempotency-Key" in headers) == expected, f"{method.upper()} {path}"


# Routes no part of the app has: they write and commit, then fail anyway.
failing = APIRouter(prefix="/api/v1/test/stays/{stay_id}", route_class=IdempotentRoute)


def _write(session: Session, actor: Principal, stay_id: int) -> None:
    session.add(Action(stay_id=stay_id, description="x", owner_role_code="nurse", created_by_id=actor.user_id))
    commit(session)


@failing.post("/answers-503")
def answers_503(stay_id: int, session: SessionDep, actor: CurrentPrincipal) -> Response:
    _write(session, actor, stay_id)
    return Response(status_code=503)


@failing.post("/raises-after-commit")
def raises_after_commit(stay_id: int, session: SessionDep, actor: CurrentPrincipal) -> None:
    _write(session, actor, stay_id)
    raise RuleViolation("Too late")


def test_a_keyed_request_that_fails_after_its_commit_keeps_neither_key_nor_write(db, engine, nurse, stay):
    """No route does this today; if one did, its write would not commit without a stored response."""
    app = create_app(settings_for(str(engine.url)))
    app.include_router(failing)

    def test_session() -> Iterator[Session]:
        with Session(bind=db.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            yield s

    app.dependency_overrides[get_session] = test_session
    token = factories.token_for(db, nurse)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as client:
            for name, status in (("answers-503", 503), ("raises-after-commit", 422)):
                path = f"/api/v1/test/stays/{stay.id}/{name}"
                # This loop serves the app: the test's own database calls go to a thread, as the app's do.
                assert (await client.post(path, headers=keyed())).status_code == status
                assert await asyncio.to_thread(lambda: (count(db, Action), count(db, IdempotencyKey))) == (0, 0), name
                assert (await client.post(path)).status_code == status  # without a key: committed, as always
                assert await asyncio.to_thread(count, db, Action) == 1, name
                await asyncio.to_thread(db.execute, delete(Action))

    asyncio.run(scenario())


def test_a_keyed_write_announces_its_change_to_open_boards_once(db, backend, api, stay):
    if backend != "sqlite":
        pytest.skip("in the rolled-back test transaction PostgreSQL never delivers NOTIFY; SQLite publishes in process")
    path = f"/stays/{stay.id}/actions"

    async def scenario() -> None:
        with live.feed.listen(stay.ward_id) as changes:
            for _ in range(2):  # the write, then its replay
                assert (await asyncio.to_thread(api.post, path, json=action("x"), headers=keyed())).status_code == 201
            # Published before each response was sent, so already queued by now.
            assert changes.qsize() == 1
            assert changes.get_nowait() == {"ward_id": stay.ward_id, "stay_id": stay.id, "kind": "stay"}

    asyncio.run(scenario())
