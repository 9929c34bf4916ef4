"""/api/patients/{id}/visits/: recording visits, the period lock, the audit log and the
three-user check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from ccm.models import AuditEvent, BillingMonth, User
from patients.models import Patient, Visit

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]
VISIT = {"date": "2026-01-10", "code": "99214", "ccm_discussed": True}


def url(patient: Patient) -> str:
    return f"/api/patients/{patient.pk}/visits/"


def test_create_and_list(
    front_desk: User, practitioner: User, patient: Patient, api_client_for: Client
) -> None:
    client = api_client_for(front_desk)
    response = client.post(
        url(patient), {**VISIT, "code": "g0438 ", "practitioner": practitioner.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["code"] == "G0438"
    assert response.json()["practitioner"] == practitioner.pk
    rows = client.get(url(patient)).json()["results"]
    assert [(row["date"], row["ccm_discussed"]) for row in rows] == [("2026-01-10", True)]
    event = AuditEvent.objects.get(action="visit.create")
    assert event.actor == front_desk and event.after["code"] == "G0438"


def test_ccm_discussed_defaults_to_false(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient), {"date": "2026-01-10", "code": "99213"}, format="json"
    )
    assert response.status_code == 201 and response.json()["ccm_discussed"] is False


def test_a_blank_code_or_bad_date_is_a_400(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient), {"date": "10/01/2026", "code": " "}, format="json"
    )
    assert response.status_code == 400
    assert {"date", "code"} <= set(response.json())


def test_an_unknown_code_is_a_400_naming_code(
    nurse: User, practitioner: User, patient: Patient, api_client_for: Client
) -> None:
    """Issue 12: a visit coded "FOO" was recorded and satisfied the 12-month rule."""
    response = api_client_for(nurse).post(
        url(patient), {**VISIT, "code": "FOO", "practitioner": practitioner.pk}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["code"] and "'FOO'" in response.json()["code"][0]
    assert not Visit.objects.exists()


@pytest.mark.parametrize(
    "code", ["99202", "99211", "99215", "G0402", "G0439", "99495", "99350", "99310", "98006"]
)
def test_the_practices_visit_codes_are_accepted(
    nurse: User, patient: Patient, api_client_for: Client, code: str
) -> None:
    response = api_client_for(nurse).post(url(patient), {**VISIT, "code": code}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("code", ["99343", "99201", "99499", "G0506"])
def test_deleted_and_non_visit_codes_are_refused(
    nurse: User, patient: Patient, api_client_for: Client, code: str
) -> None:
    response = api_client_for(nurse).post(url(patient), {**VISIT, "code": code}, format="json")
    assert response.status_code == 400 and "code" in response.json()


def test_the_practitioner_defaults_to_a_practitioner_caller(
    nurse: User, practitioner: User, patient: Patient, api_client_for: Client
) -> None:
    own = api_client_for(practitioner).post(url(patient), VISIT, format="json").json()
    assert (own["practitioner"], own["practitioner_name"]) == (
        practitioner.pk,
        practitioner.display_name,
    )
    unknown = api_client_for(nurse).post(url(patient), VISIT, format="json").json()
    assert (unknown["practitioner"], unknown["practitioner_name"]) == (None, None)
    explicit = api_client_for(practitioner).post(
        url(patient), {**VISIT, "practitioner": None}, format="json"
    )
    assert explicit.json()["practitioner"] is None


def test_a_practitioner_must_be_one_of_the_practice(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient), {**VISIT, "practitioner": nurse.pk}, format="json"
    )
    assert response.status_code == 400 and "practitioner" in response.json()
    assert not Visit.objects.exists()


def test_a_practitioner_of_another_practice_is_a_400(
    nurse: User, patient: Patient, other_practitioner: User, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient), {**VISIT, "practitioner": other_practitioner.pk}, format="json"
    )
    assert response.status_code == 400 and "practitioner" in response.json()
    assert not Visit.objects.exists()


def test_a_visit_in_a_closed_month_is_a_409(
    nurse: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    close_month(dt.date(2026, 1, 1))
    assert api_client_for(nurse).post(url(patient), VISIT, format="json").status_code == 409
    assert not Visit.objects.exists()


def test_three_user_check(
    nurse: User, billing_user: User, outsider: User, patient: Patient, api_client_for: Client
) -> None:
    owner = api_client_for(nurse)
    assert owner.post(url(patient), VISIT, format="json").status_code == 201
    colleague = api_client_for(billing_user)
    assert colleague.get(url(patient)).json()["count"] == 1
    assert colleague.post(url(patient), VISIT, format="json").status_code == 403
    stranger = api_client_for(outsider)
    assert stranger.get(url(patient)).status_code == 404
    assert stranger.post(url(patient), VISIT, format="json").status_code == 404
    assert Visit.objects.count() == 1
