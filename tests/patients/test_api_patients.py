"""/api/patients/ and /api/patients/{id}/: registering, listing, searching, reading every
fact and correcting a patient; the three-user check (owner, colleague, outsider)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from ccm.models import AuditEvent, Practice, Role, User
from patients.models import Patient
from tests.patients.factories import (
    CarePlanFactory,
    ChronicConditionFactory,
    ConsentFactory,
    InpatientStayFactory,
    OtherServiceFactory,
    PatientFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]
URL = "/api/patients/"


def new_patient(practitioner: User, **fields: Any) -> dict[str, Any]:
    return {
        "mrn": "MRN-100",
        "first_name": "Ann",
        "last_name": "Lee",
        "birth_date": "1950-02-03",
        "billing_practitioner": practitioner.pk,
        **fields,
    }


def test_create_returns_the_patient_and_audits(
    nurse: User, practitioner: User, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(URL, new_patient(practitioner), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mrn"] == "MRN-100"
    assert body["billing_practitioner"] == practitioner.pk
    assert body["conditions"] == [] and body["care_plan"] is None
    patient = Patient.objects.get(pk=body["id"])
    assert patient.practice == nurse.practice
    event = AuditEvent.objects.get(action="patient.create")
    assert event.object_id == str(patient.pk) and event.actor == nurse


def test_front_desk_may_register_a_patient(
    front_desk: User, practitioner: User, api_client_for: Client
) -> None:
    response = api_client_for(front_desk).post(URL, new_patient(practitioner), format="json")
    assert response.status_code == 201


def test_duplicate_mrn_is_a_400_on_mrn(
    nurse: User, practitioner: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        URL, new_patient(practitioner, mrn=patient.mrn), format="json"
    )
    assert response.status_code == 400
    assert "already exists" in response.json()["mrn"][0]
    assert Patient.objects.count() == 1


def test_a_practitioner_of_another_practice_is_a_400(
    nurse: User, other_practitioner: User, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(URL, new_patient(other_practitioner), format="json")
    assert response.status_code == 400
    assert "billing_practitioner" in response.json()
    assert not Patient.objects.exists()


def test_a_non_practitioner_as_billing_practitioner_is_a_400(
    nurse: User, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(URL, new_patient(nurse), format="json")
    assert response.status_code == 400
    assert "not an active practitioner" in response.json()["billing_practitioner"][0]


def test_a_future_birth_date_is_a_400(
    nurse: User, practitioner: User, api_client_for: Client
) -> None:
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = api_client_for(nurse).post(
        URL, new_patient(practitioner, birth_date=tomorrow), format="json"
    )
    assert response.status_code == 400
    assert "future" in response.json()["birth_date"][0]


def test_missing_fields_are_named(nurse: User, api_client_for: Client) -> None:
    response = api_client_for(nurse).post(URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {
        "mrn",
        "first_name",
        "last_name",
        "birth_date",
        "billing_practitioner",
    }


def test_list_is_paginated_scoped_and_searchable(
    nurse: User,
    practice: Practice,
    practitioner: User,
    patient: Patient,
    foreign_patient: Patient,
    api_client_for: Client,
) -> None:
    PatientFactory(
        practice=practice,
        billing_practitioner=practitioner,
        mrn="Z-9",
        first_name="Bob",
        last_name="Roe",
    )
    client = api_client_for(nurse)
    body = client.get(URL).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2
    assert foreign_patient.pk not in {row["id"] for row in body["results"]}
    by_name = client.get(URL, {"search": "jane doe"}).json()["results"]
    assert [row["id"] for row in by_name] == [patient.pk]
    by_mrn = client.get(URL, {"search": "z-9"}).json()["results"]
    assert [row["last_name"] for row in by_mrn] == ["Roe"]


def test_detail_holds_every_fact(nurse: User, patient: Patient, api_client_for: Client) -> None:
    ChronicConditionFactory(patient=patient)
    ConsentFactory(patient=patient)
    VisitFactory(patient=patient)
    CarePlanFactory(patient=patient, version=1)
    CarePlanFactory(patient=patient, version=2, goals="v2 goals")
    OtherServiceFactory(patient=patient)
    InpatientStayFactory(patient=patient)
    body = api_client_for(nurse).get(f"{URL}{patient.pk}/").json()
    assert [c["icd10"] for c in body["conditions"]] == ["E11.9"]
    assert body["consents"][0]["billing_practitioner"] == patient.billing_practitioner_id
    assert body["visits"][0]["code"] == "99214"
    assert body["care_plan"]["version"] == 2 and body["care_plan"]["goals"] == "v2 goals"
    assert body["other_services"][0]["code"] == "G0182"
    assert body["inpatient_stays"][0]["admitted"] == "2026-03-12"


def _queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_query_counts_do_not_grow_with_rows(
    nurse: User,
    practice: Practice,
    practitioner: User,
    patient: Patient,
    api_client_for: Client,
) -> None:
    client = api_client_for(nurse)
    list_before = _queries(client, URL)
    detail_before = _queries(client, f"{URL}{patient.pk}/")
    for _ in range(4):
        PatientFactory(practice=practice, billing_practitioner=practitioner)
        ChronicConditionFactory(patient=patient)
        ConsentFactory(patient=patient)
        VisitFactory(patient=patient, practitioner=practitioner)
        OtherServiceFactory(patient=patient)
        InpatientStayFactory(patient=patient)
    CarePlanFactory(patient=patient, version=1, signed_by=practitioner)
    CarePlanFactory(patient=patient, version=2, created_by=nurse)
    assert _queries(client, URL) == list_before
    assert _queries(client, f"{URL}{patient.pk}/") == detail_before


def test_patch_updates_and_audits_before_and_after(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).patch(
        f"{URL}{patient.pk}/", {"last_name": "Smith", "is_active": False}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["last_name"] == "Smith"
    patient.refresh_from_db()
    assert (patient.last_name, patient.is_active) == ("Smith", False)
    event = AuditEvent.objects.get(action="patient.update")
    assert event.before["last_name"] == "Doe" and event.after["is_active"] is False


def test_patch_to_a_practitioner_of_another_practice_is_a_400(
    nurse: User, patient: Patient, other_practitioner: User, api_client_for: Client
) -> None:
    response = api_client_for(nurse).patch(
        f"{URL}{patient.pk}/", {"billing_practitioner": other_practitioner.pk}, format="json"
    )
    assert response.status_code == 400
    assert "billing_practitioner" in response.json()
    patient.refresh_from_db()
    assert patient.billing_practitioner_id != other_practitioner.pk


def test_no_token_is_401(patient: Patient) -> None:
    assert APIClient().get(URL).status_code == 401
    assert APIClient().get(f"{URL}{patient.pk}/").status_code == 401


def test_three_user_check(
    nurse: User,
    billing_user: User,
    outsider: User,
    practitioner: User,
    patient: Patient,
    api_client_for: Client,
) -> None:
    detail = f"{URL}{patient.pk}/"
    # owner: a nurse reads and changes
    owner = api_client_for(nurse)
    assert owner.get(detail).json()["mrn"] == "MRN-001"
    assert owner.patch(detail, {"first_name": "Janet"}, format="json").status_code == 200
    # colleague: billing staff read, but may not register or change a patient
    colleague = api_client_for(billing_user)
    assert colleague.get(detail).status_code == 200
    assert colleague.get(URL).json()["count"] == 1
    assert colleague.post(URL, new_patient(practitioner), format="json").status_code == 403
    assert colleague.patch(detail, {"first_name": "X"}, format="json").status_code == 403
    # outsider: an admin of another practice sees nothing and changes nothing
    stranger = api_client_for(outsider)
    assert stranger.get(detail).status_code == 404
    assert stranger.patch(detail, {"first_name": "X"}, format="json").status_code == 404
    assert stranger.get(URL).json()["count"] == 0
    patient.refresh_from_db()
    assert patient.first_name == "Janet"
    assert Patient.objects.count() == 1


def test_roles_that_may_register(
    make_user: Callable[..., User], practitioner: User, api_client_for: Client
) -> None:
    expected = {
        Role.RN: 201,
        Role.LPN: 201,
        Role.MA: 201,
        Role.CARE_MANAGER: 201,
        Role.PRACTITIONER: 201,
        Role.ADMIN: 201,
        Role.FRONT_DESK: 201,
        Role.BILLING: 403,
    }
    for number, (role, status) in enumerate(expected.items()):
        client = api_client_for(make_user(role))
        response = client.post(URL, new_patient(practitioner, mrn=f"R{number}"), format="json")
        assert response.status_code == status, role
