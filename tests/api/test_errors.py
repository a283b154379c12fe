"""One error shape; 422 with field messages; nothing malformed or huge produces a 500."""

from __future__ import annotations

import json
import random

from tests import factories


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
