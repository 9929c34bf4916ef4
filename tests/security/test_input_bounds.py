"""No input gives a 500 (issue 15): a body nested past a sane depth or over the size limit
is a 400 saying so; text PostgreSQL cannot store (NUL, unpaired surrogates) is a 400
naming the field, or is dropped from a search; every text field has a length (notes
4,000 characters); a service billed elsewhere carries a code the product knows. The
OpenAPI document declares every request text's length, and every API view parses JSON
within the bounds."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.utils import timezone

from ccm.limits import NOTE_MAX_LENGTH, UNSTORABLE
from ccm.models import User
from ccm.parsers import JSONParser
from patients.models import OtherService, Patient
from patients.service_codes import KNOWN_OTHER_SERVICE_CODES
from tests.security.routes import site_routes
from timelog.models import TimeActivity
from timelog.services import TimeActivityInput, time_activity_create

pytestmark = pytest.mark.django_db

TOO_DEEP = "nested deeper than 32 levels"


def api(user: User | None) -> Client:
    if user is None:
        return Client()
    return Client(headers={"Authorization": f"Token {user.auth_token.key}"})


def post_json(client: Client, url: str, body: str | bytes) -> Any:
    return client.post(url, body, content_type="application/json")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def entry(patient: Patient, **fields: Any) -> dict[str, Any]:
    return {"patients": [patient.pk], "minutes": 5, "activity": "patient_call", "note": "call"} | (
        fields
    )


# -- depth and size --------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_a_deeply_nested_body_is_a_400_even_anonymous(depth: int) -> None:
    for body in (nested(depth), '{"username": ' + nested(depth) + "}"):
        response = post_json(api(None), "/api/auth/token/", body)
        assert response.status_code == 400, response.content
        assert TOO_DEEP in response.json()["detail"]


def test_depth_is_counted_in_objects_and_arrays_alike(nurse: User, patient: Patient) -> None:
    deep_object = "".join('{"a": ' for _ in range(40)) + "1" + "}" * 40
    for url in ("/api/time-entries/", "/api/billing/evaluate/", f"/api/patients/{patient.pk}/"):
        response = post_json(api(nurse), url, deep_object)
        assert response.status_code in (400, 403, 405), (url, response.content)
    assert TOO_DEEP in post_json(api(nurse), "/api/billing/evaluate/", deep_object).json()["detail"]
    # Within the depth, the body reaches the serializer and is judged on its fields.
    shallow = post_json(api(nurse), "/api/time-entries/", nested(32))
    assert shallow.status_code == 400 and TOO_DEEP not in shallow.content.decode()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=5000)
def test_a_body_over_the_size_limit_is_a_400_naming_the_limit(
    nurse: User, patient: Patient
) -> None:
    response = post_json(
        api(nurse), "/api/time-entries/", json.dumps(entry(patient, outcome="x" * 6000))
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is larger than 5000 bytes."}
    assert not TimeActivity.objects.exists()


# -- unstorable text -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["call\x00", "\ud800 call", "call \udfff"])
def test_unstorable_text_in_a_json_field_is_a_400_naming_it(
    nurse: User, patient: Patient, text: str
) -> None:
    body = json.dumps(entry(patient, note=text))  # \u0000 and lone \ud800 escapes
    response = post_json(api(nurse), "/api/time-entries/", body)
    assert response.status_code == 400
    assert response.json() == {"note": [UNSTORABLE]}
    assert not TimeActivity.objects.exists()


def test_unstorable_text_deep_in_a_body_is_named_by_its_path(nurse: User) -> None:
    facts = {"month": "2026-03", "patient": {"chronic_conditions": [{"icd10": "E11.9\x00"}]}}
    response = post_json(api(nurse), "/api/billing/evaluate/", json.dumps(facts))
    assert response.status_code == 400
    assert response.json() == {"patient.chronic_conditions[0].icd10": [UNSTORABLE]}
    response = post_json(api(nurse), "/api/billing/evaluate/", json.dumps({"bad\x00key": 1}))
    assert response.status_code == 400 and "key" in json.dumps(response.json())


def test_a_nul_in_a_search_is_dropped(nurse: User, make_patient: Any) -> None:
    make_patient(last_name="Lovelace")
    make_patient(last_name="Hopper")
    found = api(nurse).get("/api/patients/", {"search": "Love\x00lace"})
    assert found.status_code == 200
    assert [p["last_name"] for p in found.json()["results"]] == ["Lovelace"]
    assert api(nurse).get("/api/patients/?search=%00").json()["count"] == 2
    page = Client()
    page.force_login(nurse)
    listed = page.get("/patients/?q=%00Hop")
    assert listed.status_code == 200
    assert "Hopper" in listed.content.decode() and "Lovelace" not in listed.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/api/worklist/?month=2026-03%00",
        "/api/time-entries/?month=%00",
        "/api/fee-schedule/?year=20%0026",
        "/api/patients/?billing_practitioner=%00",
    ],
)
def test_a_nul_in_any_other_query_parameter_is_a_400_naming_it(
    billing_user: User, url: str
) -> None:
    response = api(billing_user).get(url)
    assert response.status_code == 400
    (name,) = response.json()
    assert name in url and response.json()[name] == [UNSTORABLE]


def test_a_nul_in_a_page_parameter_or_form_is_a_400_page_naming_it(
    nurse: User, billing_user: User, patient: Patient
) -> None:
    pages = Client()
    pages.force_login(billing_user)
    response = pages.get("/billing/worklist/?month=%00")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "month: NUL" in response.content.decode()
    pages.force_login(nurse)
    today = timezone.localdate().isoformat()
    response = pages.post(
        "/time/log/",
        {"patients": [patient.pk], "date": today, "minutes": 5, "activity": "patient_call",
         "note": "call\x00", "program": "ccm"},
    )  # fmt: skip
    assert response.status_code == 400 and "note: NUL" in response.content.decode()
    form_api = api(nurse).post("/api/time-entries/", entry(patient, note="a\x00b"))
    assert form_api.status_code == 400 and form_api.json() == {"note": [UNSTORABLE]}
    assert not TimeActivity.objects.exists()


# -- lengths and codes -----------------------------------------------------------------


def test_a_note_of_100000_characters_is_refused_by_every_path(
    nurse: User, patient: Patient
) -> None:
    long_note = "n" * 100_000
    response = post_json(
        api(nurse), "/api/time-entries/", json.dumps(entry(patient, note=long_note))
    )
    assert response.status_code == 400 and "4000 characters" in response.json()["note"][0]
    pages = Client()
    pages.force_login(nurse)
    page = pages.post(
        "/time/log/",
        {"patients": [patient.pk], "date": timezone.localdate().isoformat(), "minutes": 5,
         "activity": "patient_call", "note": long_note, "program": "ccm"},
    )  # fmt: skip
    assert page.status_code == 400 and "4000 characters" in page.content.decode()
    for field in ("note", "outcome"):
        with pytest.raises(ValidationError) as error:
            time_activity_create(
                performer=nurse,
                entry=TimeActivityInput(
                    patients=[patient],
                    date=timezone.localdate(),
                    duration_seconds=300,
                    activity="patient_call",
                    **{"note": "call", field: "n" * (NOTE_MAX_LENGTH + 1)},
                ),
            )
        assert field in error.value.message_dict
    ok = post_json(api(nurse), "/api/time-entries/", json.dumps(entry(patient, note="n" * 4000)))
    assert ok.status_code == 201


@pytest.mark.parametrize("code", ["';DROP--", "99999", "E11.9", "G0", "<b>"])
def test_an_unknown_other_service_code_is_refused(
    billing_user: User, patient: Patient, code: str
) -> None:
    response = api(billing_user).post(
        f"/api/patients/{patient.pk}/other-services/",
        {"code": code, "date": "2026-03-02"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "not a code this product reads" in response.json()["code"][0]
    assert not OtherService.objects.exists()


@pytest.mark.parametrize("code", [*sorted(KNOWN_OTHER_SERVICE_CODES)[::7], "g0182", " 99457"])
def test_every_known_code_is_recorded(billing_user: User, patient: Patient, code: str) -> None:
    response = api(billing_user).post(
        f"/api/patients/{patient.pk}/other-services/",
        {"code": code, "date": (timezone.localdate() - dt.timedelta(days=400)).isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


# -- the whole API ---------------------------------------------------------------------


def request_text_fields(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string property of every request body of the OpenAPI document."""
    schemas = document["components"]["schemas"]
    seen: set[str] = set()
    pending: list[tuple[str, dict[str, Any]]] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                pending.append((f"{method.upper()} {path}", content.get("schema", {})))
    while pending:
        where, schema = pending.pop()
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                pending.append((name, schemas[name]))
            continue
        for key in ("allOf", "oneOf", "anyOf"):
            pending.extend((where, part) for part in schema.get(key, []))
        for name, prop in schema.get("properties", {}).items():
            if prop.get("readOnly"):
                continue
            if prop.get("type") == "string":
                yield f"{where}.{name}", prop
            pending.append((f"{where}.{name}", prop))
        if "items" in schema:
            pending.append((f"{where}[]", schema["items"]))


def test_every_request_text_field_has_a_length(client: Client) -> None:
    document = client.get("/api/schema/", {"format": "json"}).json()
    fields = list(request_text_fields(document))
    assert len(fields) > 30
    unbounded = [
        name
        for name, prop in fields
        if "maxLength" not in prop and "enum" not in prop and "format" not in prop
    ]
    assert unbounded == [], "give these a max_length (ccm.limits)"


def test_every_api_view_parses_json_within_the_bounds() -> None:
    views = {route.view_class for route in site_routes() if route.is_api and route.view_class}
    assert len(views) > 20
    for view in views:
        for parser in getattr(view, "parser_classes", ()):
            if parser.media_type == "application/json":
                assert issubclass(parser, JSONParser), (view, parser)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/time-entries/", '{"patients": [100000000000000000000000000]}'),
        ("post", "/api/time-entries/", b'{"note": "\xff\xfe"}'),
        ("post", "/api/time-entries/", '{"minutes": NaN}'),
        ("post", "/api/time-entries/", '{"minutes": 1e999}'),
        ("post", "/api/time-entries/", '{"minutes": ' + "9" * 5000 + "}"),
        ("post", "/api/time-entries/", "[1, 2"),
        ("get", "/api/patients/99999999999999999999999/", ""),
        ("get", "/api/worklist/99999999999999999999999/", ""),
        ("patch", "/api/patients/1/", '{"birth_date": "9999-99-99"}'),
    ],
)
def test_odd_values_are_4xx(
    nurse: User, patient: Patient, method: str, url: str, body: Any
) -> None:
    response = getattr(api(nurse), method)(url, body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content


def test_a_nul_in_an_uploaded_file_is_a_400_naming_the_file(billing_user: User) -> None:
    response = api(billing_user).generic(
        "POST",
        "/api/fee-schedule/import/",
        "code,year,locality,amount\n99490,2026,a\x00b,60.00\n",
        content_type="text/csv",
    )
    assert response.status_code == 400
    assert response.json() == {"file": [f"The file: {UNSTORABLE}"]}
