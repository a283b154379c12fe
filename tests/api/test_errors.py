"""One error shape; 422 with field messages; nothing malformed or huge produces a 500."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from urllib.parse import quote

import httpx

from tests import factories
from tests.boundaries import (
    JSON_VALUES,
    TEXT_VALUES,
    declared_query_params,
    path_params,
    rolled_back,
    route_table,
)


def test_validation_errors_name_each_field(db, api, ward):
    r = api.post(
        "/patients",
        json={
            "nhs_number": "9434765918",
            "mrn": "",
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": "1950-13-01",
            "sex": "yes",
        },
    )
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "validation_error"
    fields = {f["field"]: f["message"] for f in body["fields"]}
    assert "check digit" in fields["nhs_number"]
    assert set(fields) == {"nhs_number", "mrn", "date_of_birth", "sex"}


def test_malformed_json_is_422(api):
    r = api.post("/patients", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"


def test_nul_characters_and_huge_ids_are_422(db, api, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    r = api.patch(f"/stays/{stay.id}", json={"clinical_criteria_for_discharge": "a\x00b", "version": 1})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "clinical_criteria_for_discharge"
    assert api.get("/stays/99999999999999999999").status_code == 422
    assert api.get("/stays/-1").status_code == 422


def test_oversized_bodies_are_413(api):
    r = api.post("/patients", content=b"[" + b"1," * 600_000 + b"1]", headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_large"


def test_unknown_route_and_method_use_the_error_shape(api):
    r = api.get("/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = api.delete("/wards")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_anonymous_and_bad_tokens_are_401(api_as):
    anonymous = api_as(None)
    r = anonymous.get("/wards")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    assert r.headers["www-authenticate"] == "Bearer"
    r = anonymous.get("/wards", headers={"Authorization": "Bearer brt_forged"})
    assert r.status_code == 401


JUNK = [
    None,
    {},
    [],
    "x",
    0,
    -1,
    2**64,
    1e308,
    True,
    "\x00",
    "💥" * 3000,
    {"a": {"b": {"c": {"d": [[[[[[]]]]]]}}}},
]


def junk_bodies(rng: random.Random, schema_fields: list[str]):
    yield from ({"_raw": j} for j in JUNK)
    for _ in range(12):
        yield {
            f: rng.choice(JUNK + ["2026-02-30", "1900-01-01T00:00:00", "9999-12-31", "", " ", "Ω"])
            for f in schema_fields
        }


def test_no_input_produces_a_500(db, api, ward, nurse_principal, live_server):
    """Fire malformed values at every write route of the OpenAPI schema."""
    stay = factories.make_stay(db, nurse_principal, ward, factories.beds_of(db, ward)[0])
    spec = api.get("/openapi.json").json()
    rng = random.Random(2026)
    ids = [str(stay.id), str(ward.id), "0", "2147483648", "abc", "1e3"]
    tried = 0
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method not in {"post", "put", "patch"}:
                continue
            ref = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref", "")
            )
            fields = list(spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
            for body in junk_bodies(rng, fields):
                url = path.removeprefix("/api/v1")
                for name in ("stay_id", "ward_id", "patient_id", "action_id", "fd_id", "esc_id", "round_id", "bed_id"):
                    url = url.replace("{" + name + "}", rng.choice(ids))
                content = json.dumps(body["_raw"] if "_raw" in body else body).encode()
                r = api.request(
                    method,
                    url,
                    content=content,
                    headers={"content-type": "application/json", "If-Match": rng.choice(['"1"', 'W/"x"', "*", ""])},
                )
                tried += 1
                assert r.status_code < 500, (method, url, content[:200], r.status_code, r.text[:300])
                assert "error" in r.json() or r.status_code < 300
    assert tried > 200


# Every declared input, every boundary value ------------------------------------------------


def _examples(db, ids: dict, now: datetime) -> dict[tuple[str, str], tuple[dict, dict]]:
    """A valid request for each JSON write route: (path ids, body). Each walk starts from it,
    so a bad value meets the service and the database, not just the first check."""
    from app.models import (
        Action,
        BoardRound,
        DischargeMilestone,
        Escalation,
        FailedDischarge,
        Patient,
        Referral,
        Stay,
        Ward,
    )

    def version(model, key: str) -> int:  # noqa: ANN001
        return db.get(model, ids[key]).version

    at = (now - timedelta(hours=1)).isoformat()
    patient = {
        "nhs_number": factories.test_nhs_number(424242),
        "mrn": "WALK1",
        "given_name": "Walker",
        "family_name": "Test",
        "date_of_birth": "1950-01-02",
        "sex": "female",
    }
    stay = {"version": version(Stay, "stay_id")}
    return {
        ("POST", "/api/v1/wards"): ({}, {"site_id": ids["site_id"], "code": "WALK", "name": "Walk ward"}),
        ("PATCH", "/api/v1/wards/{ward_id}"): ({}, {"name": "Renamed", "version": version(Ward, "ward_id")}),
        ("POST", "/api/v1/wards/{ward_id}/beds"): ({}, {"label": "Z9", "sort_order": 5}),
        ("PATCH", "/api/v1/beds/{bed_id}"): ({}, {"sort_order": 7, "version": 1}),
        ("PUT", "/api/v1/beds/{bed_id}/state"): ({}, {"state_code": "reserved", "reserved_for": "From ED", "reserved_from": "ED", "version": 1}),
        ("POST", "/api/v1/sites"): ({}, {"code": "RWALK", "name": "Walk General"}),
        ("PATCH", "/api/v1/sites/{site_id}"): ({}, {"name": "Renamed", "version": 1}),
        ("POST", "/api/v1/patients"): ({}, patient),
        ("POST", "/api/v1/patients/search"): ({}, {"nhs_number": patient["nhs_number"], "mrn": patient["mrn"]}),
        ("PATCH", "/api/v1/patients/{patient_id}"): ({}, {"given_name": "C", "version": version(Patient, "patient_id")}),
        ("POST", "/api/v1/stays"): ({}, {"patient": patient, "ward_id": ids["ward_id"], "bed_id": ids["bed_id"], "admitted_at": at}),
        ("PATCH", "/api/v1/stays/{stay_id}"): ({}, {"responsible_consultant": "Dr X"} | stay),
        ("PUT", "/api/v1/stays/{stay_id}/edd"): ({}, {"expected_discharge_date": "2026-03-14", "reason": "x"} | stay),
        ("POST", "/api/v1/stays/{stay_id}/transfer"): ({}, {"ward_id": ids["quiet_ward_id"], "at": at} | stay),
        ("POST", "/api/v1/stays/{stay_id}/discharge"): ({}, {"discharged_at": at, "destination_code": "19", "pathway": 0} | stay),
        ("POST", "/api/v1/stays/{stay_id}/correction"): (
            {"stay_id": ids["discharged_stay_id"]},
            {"destination_code": "54", "reason": "Typed in error", "version": version(Stay, "discharged_stay_id")},
        ),
        ("POST", "/api/v1/stays/{stay_id}/reviews"): ({}, {"meets_criteria_to_reside": True, "pathway": 1}),
        ("POST", "/api/v1/stays/{stay_id}/actions"): ({}, {"description": "Book transport", "owner_role_code": "nurse", "due_at": at}),
        ("PATCH", "/api/v1/stays/{stay_id}/actions/{action_id}"): ({}, {"description": "x", "version": version(Action, "action_id")}),
        ("POST", "/api/v1/stays/{stay_id}/referrals"): ({}, {"service_code": "therapy", "detail": "Physio", "sent_at": at}),
        ("PATCH", "/api/v1/stays/{stay_id}/referrals/{referral_id}"): (
            {}, {"response": "challenged", "responded_at": at, "challenge_reason": "Not medically optimised",
                 "assessed_at": at, "decided_at": at, "decision": "x", "version": version(Referral, "referral_id")}
        ),
        ("PATCH", "/api/v1/stays/{stay_id}/milestones/{milestone_id}"): (
            {}, {"status": "in_progress", "due_at": at, "owner_role_code": "nurse", "version": version(DischargeMilestone, "milestone_id")}
        ),
        ("POST", "/api/v1/stays/{stay_id}/failed-discharges"): (
            {},
            {"planned_for": at, "causes": ["transport"], "primary_cause": "transport", "avoidable": False},
        ),
        ("PATCH", "/api/v1/stays/{stay_id}/failed-discharges/{fd_id}"): (
            {},
            {"detail": "x", "follow_up_due_at": at, "version": version(FailedDischarge, "fd_id")},
        ),
        ("POST", "/api/v1/stays/{stay_id}/escalations"): ({}, {"category_code": "capacity", "help_needed": "x", "needed_by": at}),
        ("POST", "/api/v1/escalations/{esc_id}/steps"): ({}, {"action": "note", "note": "x", "version": version(Escalation, "esc_id")}),
        ("POST", "/api/v1/wards/{ward_id}/rounds"): ({"ward_id": ids["quiet_ward_id"]}, {"attendees": [{"role_code": "nurse"}]}),
        ("POST", "/api/v1/rounds/{round_id}/end"): ({}, {"version": version(BoardRound, "round_id")}),
        ("POST", "/api/v1/rounds/{round_id}/stays/{stay_id}"): (
            {},
            {
                "stay_version": version(Stay, "stay_id"),
                "review": {"meets_criteria_to_reside": False, "delay_reason_code": "CAP01"},
                "expected_discharge_date": "2026-03-20",
                "what_matters": "Home by Friday",
                "choice_deadline": "2026-03-18",
                "actions": [{"description": "Book transport", "owner_role_code": "nurse", "due_at": at}],
                "escalation": {"category_code": "capacity", "help_needed": "x", "needed_by": at},
            },
        ),
    }  # fmt: skip


ADMIN_ONLY = {("POST", "/api/v1/sites"), ("PATCH", "/api/v1/sites/{site_id}")}

NOT_JSON = {
    ("POST", "/api/v1/hl7/adt"): "an HL7 v2 message, walked in tests/adt",
    ("GET", "/api/v1/patients"): "takes nothing: refuses identifiers in the URL (tests/patients/test_search.py)",
}


def _body_fields(spec: dict, path: str, method: str) -> list[str]:
    """Top-level fields of the JSON body, and those of a nested object (admit's `patient`) as a.b."""
    content = spec["paths"][path][method.lower()].get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    schemas = spec["components"]["schemas"]
    props = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
    fields = []
    for name, prop in props.items():
        fields.append(name)
        refs = [s.get("$ref", "") for s in prop.get("anyOf", [prop])]
        for nested in (r.rsplit("/", 1)[-1] for r in refs if r):
            fields += [f"{name}.{sub}" for sub in schemas[nested].get("properties", {})]
    return fields


def _with(body: dict, field: str, value: object) -> dict:
    head, _, rest = field.partition(".")
    if rest:
        return body | {head: _with(dict(body.get(head) or {}), rest, value)}
    return body | {head: value}


def _check(r: httpx.Response, what: tuple) -> None:
    assert r.status_code < 500, (*what, r.status_code, r.text[:300])
    assert r.status_code < 300 or "error" in r.json(), (*what, r.text[:300])


def test_every_api_input_survives_boundary_values(db, context, api_as, now):
    """Each query, path, header and body field every API route declares, set to each boundary
    value in turn (the rest of the request valid): a 4xx with the error shape, never a 5xx."""
    ids, users = factories.one_of_everything(db, now)
    flow = api_as(users["flow_coordinator"])  # every permission the JSON routes ask for but HL7's...
    admin = api_as(users["admin"])  # ...and setting up sites
    api = flow
    spec = api.get("/openapi.json").json()
    examples = _examples(db, ids, now)
    routes = [(m, p, r) for m, p, r in route_table() if p.startswith("/api/v1") and p != "/api/v1/openapi.json"]
    sent = 0

    def send(method: str, url: str, what: tuple, **kw) -> httpx.Response:
        nonlocal sent
        with rolled_back(context.connection):
            r = api.request(method, url.removeprefix("/api/v1"), **kw)
        _check(r, what)
        sent += 1
        return r

    for method, path, route in routes:
        if (method, path) in NOT_JSON:
            continue
        api = admin if (method, path) in ADMIN_ONLY else flow
        path_ids, body = examples.get((method, path), ({}, None))
        fields = _body_fields(spec, path, method)
        assert body is not None or not fields, f"add a valid example body for {method} {path} to _examples"
        url = path.format(**(ids | path_ids))
        if body is not None:
            r = send(method, url, (method, path, "example"), json=body)
            assert r.status_code < 300, (method, path, "the example must succeed", r.text[:300])
        for field in fields:
            for value in JSON_VALUES:
                send(method, url, (method, path, field, str(value)[:20]), json=_with(body, field, value))
        for name in declared_query_params(route):
            for value in TEXT_VALUES:
                send(method, url, (method, path, name, value[:20]), params={name: value}, json=body)
        for name in (h.alias for h in route.dependant.header_params):
            for value in (v for v in TEXT_VALUES if v == v.strip() and "\x00" not in v):  # sendable
                send(method, url, (method, path, name, value[:20]), headers={name: value}, json=body)
        if method == "GET":
            for name in path_params(path):
                for value in TEXT_VALUES:
                    send(method, path.format(**(ids | {name: quote(value, safe="")})), (method, path, name, value[:20]))
    assert sent > 1000


def test_dates_far_away_or_not_iso_are_422(db, api_as, ward):
    """date_to=9999-12-31 overflowed when the day after it was worked out (500); "0" was 1970."""
    api = api_as(factories.make_user(db, "flow_coordinator"))
    for url, name in (("/failed-discharges", "date_to"), ("/metrics", "date_to"), ("/metrics/nctr-snapshot", "date")):
        for value, message in (
            ("9999-12-31", "Enter a date between 1 January 1900 and 31 December 2100"),
            ("0", "Enter a date as YYYY-MM-DD"),
            ("1700000000", "Enter a date as YYYY-MM-DD"),
        ):
            r = api.get(url, params={name: value})
            assert r.status_code == 422, (url, value, r.text[:200])
            assert r.json()["error"]["fields"] == [{"field": name, "message": message}], (url, value)


def test_moments_must_be_iso_with_a_time_zone(db, api, ward, nurse_principal):
    stay = factories.make_stay(db, nurse_principal, ward, None)
    for value in (0, "0", "9999-12-31T23:59:59Z"):
        r = api.post(
            f"/stays/{stay.id}/actions", json={"description": "x", "owner_role_code": "nurse", "due_at": value}
        )
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "due_at", value


def test_sort_orders_fit_the_column(db, api_as, ward):
    """2**70 overflowed SQLite (500); on PostgreSQL anything past 2**31 failed the INTEGER column (503)."""
    api = api_as(factories.make_user(db, "ward_manager", wards=[ward]))
    bed = factories.beds_of(db, ward)[0]
    for too_big in (2**70, 2**40, 2**31, -(2**31) - 1):
        r = api.post(f"/wards/{ward.id}/beds", json={"label": "Z1", "sort_order": too_big})
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "sort_order", too_big
        r = api.patch(f"/beds/{bed.id}", json={"sort_order": too_big, "version": bed.version})
        assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "sort_order", too_big
    assert api.post(f"/wards/{ward.id}/beds", json={"label": "Z1", "sort_order": 2**31 - 1}).status_code == 201
    r = api.post(f"/wards/{ward.id}/beds", json={"label": "L" * 21})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "label"  # a 20-character column


def test_if_match_of_other_digits_is_ignored(db, api, ward, nurse_principal):
    """ "²".isdigit() is true and int("²") raises: that was a 500."""
    stay = factories.make_stay(db, nurse_principal, ward, None)
    r = api.patch(
        f"/stays/{stay.id}", json={"responsible_consultant": "Dr X"}, headers={"If-Match": '"²"'.encode("latin-1")}
    )
    assert r.status_code == 428
