"""/api/patients/{id}/care-plan/: versions on every PUT, history, signing by a
practitioner, the period lock, the audit log and the three-user check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from ccm.models import AuditEvent, BillingMonth, User
from patients.models import CarePlan, Patient
from tests.patients.factories import CarePlanFactory

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]


def url(patient: Patient, tail: str = "") -> str:
    return f"/api/patients/{patient.pk}/care-plan/{tail}"


def plan(**fields: Any) -> dict[str, Any]:
    return {
        "established": "2026-01-10",
        "problems": "DM2, CHF",
        "goals": "A1c < 7.5",
        "interventions": "Monthly calls",
        **fields,
    }


def test_no_care_plan_yet_is_a_404(nurse: User, patient: Patient, api_client_for: Client) -> None:
    assert api_client_for(nurse).get(url(patient)).status_code == 404


def test_put_writes_a_new_version_each_time_and_keeps_the_old(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    client = api_client_for(nurse)
    first = client.put(url(patient), plan(coordination="Cardiology"), format="json")
    assert first.status_code == 201, first.content
    assert first.json()["version"] == 1 and first.json()["coordination"] == "Cardiology"
    second = client.put(url(patient), plan(goals="A1c < 7"), format="json")
    assert second.status_code == 200
    assert second.json()["version"] == 2 and second.json()["coordination"] == ""
    assert client.get(url(patient)).json()["goals"] == "A1c < 7"
    versions = client.get(url(patient, "versions/")).json()
    assert versions["count"] == 2
    assert [(v["version"], v["goals"]) for v in versions["results"]] == [
        (2, "A1c < 7"),
        (1, "A1c < 7.5"),
    ]
    events = AuditEvent.objects.filter(action="care_plan.save").order_by("id")
    assert [e.after["version"] for e in events] == [1, 2]


def test_required_elements_are_named(nurse: User, patient: Patient, api_client_for: Client) -> None:
    response = api_client_for(nurse).put(url(patient), {"problems": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"established", "goals", "interventions"}
    assert not CarePlan.objects.exists()


def test_establishing_in_a_closed_month_is_a_409(
    nurse: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    close_month(dt.date(2026, 1, 1))
    response = api_client_for(nurse).put(url(patient), plan(), format="json")
    assert response.status_code == 409
    assert not CarePlan.objects.exists()


def test_sign_by_a_practitioner(
    practitioner: User, patient: Patient, api_client_for: Client
) -> None:
    CarePlanFactory(patient=patient, version=1)
    current = CarePlanFactory(patient=patient, version=2)
    client = api_client_for(practitioner)
    response = client.post(url(patient, "sign/"))
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    assert response.json()["signed_by"] == practitioner.pk
    current.refresh_from_db()
    assert current.signed_at is not None
    assert CarePlan.objects.get(version=1).signed_at is None
    event = AuditEvent.objects.get(action="care_plan.sign")
    assert event.object_id == str(current.pk) and event.actor == practitioner
    again = client.post(url(patient, "sign/"))
    assert again.status_code == 400 and "already signed" in again.json()["non_field_errors"][0]


def test_sign_without_a_plan_is_a_400(
    practitioner: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(practitioner).post(url(patient, "sign/"))
    assert response.status_code == 400


def test_a_new_version_after_signing_is_unsigned(
    nurse: User, practitioner: User, patient: Patient, api_client_for: Client
) -> None:
    api_client_for(nurse).put(url(patient), plan(), format="json")
    api_client_for(practitioner).post(url(patient, "sign/"))
    body = api_client_for(nurse).put(url(patient), plan(goals="new"), format="json").json()
    assert body["version"] == 2 and body["signed_at"] is None


def test_three_user_check(
    nurse: User,
    billing_user: User,
    outsider: User,
    other_practitioner: User,
    patient: Patient,
    api_client_for: Client,
) -> None:
    CarePlanFactory(patient=patient)
    # owner: a nurse rewrites the plan
    owner = api_client_for(nurse)
    assert owner.put(url(patient), plan(goals="v2"), format="json").status_code == 200
    assert owner.post(url(patient, "sign/")).status_code == 403  # only practitioners sign
    # colleague: billing reads the plan and its history, may neither write nor sign
    colleague = api_client_for(billing_user)
    assert colleague.get(url(patient)).json()["version"] == 2
    assert colleague.get(url(patient, "versions/")).json()["count"] == 2
    assert colleague.put(url(patient), plan(), format="json").status_code == 403
    assert colleague.post(url(patient, "sign/")).status_code == 403
    # outsiders: another practice's admin and practitioner get 404 and change nothing
    stranger = api_client_for(outsider)
    assert stranger.get(url(patient)).status_code == 404
    assert stranger.get(url(patient, "versions/")).status_code == 404
    assert stranger.put(url(patient), plan(), format="json").status_code == 404
    assert api_client_for(other_practitioner).post(url(patient, "sign/")).status_code == 404
    assert CarePlan.objects.count() == 2
    assert not CarePlan.objects.filter(signed_at__isnull=False).exists()


def test_reviewed_defaults_to_established_and_is_checked(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    client = api_client_for(nurse)
    first = client.put(url(patient), plan(), format="json").json()
    assert first["reviewed"] == "2026-01-10"
    revised = client.put(url(patient), plan(reviewed="2026-02-03"), format="json").json()
    assert (revised["established"], revised["reviewed"]) == ("2026-01-10", "2026-02-03")
    before = client.put(url(patient), plan(reviewed="2025-12-31"), format="json")
    assert before.status_code == 400 and "reviewed" in before.json()
    future = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    ahead = client.put(url(patient), plan(reviewed=future), format="json")
    assert ahead.status_code == 400 and "reviewed" in ahead.json()
    event = AuditEvent.objects.filter(action="care_plan.save").order_by("id").last()
    assert event is not None and event.after["reviewed"] == "2026-02-03"


def test_only_the_billing_practitioner_signs(
    practitioner: User,
    make_user: Callable[..., User],
    patient: Patient,
    api_client_for: Client,
) -> None:
    """Issue 12: any practitioner of the practice could sign; the plan CCM works to is
    directed by the practitioner who bills it (rule CARE_PLAN_UNSIGNED)."""
    CarePlanFactory(patient=patient, version=1)
    colleague = make_user("practitioner", credential="DO")
    refused = api_client_for(colleague).post(url(patient, "sign/"))
    assert refused.status_code == 403
    assert not CarePlan.objects.filter(signed_at__isnull=False).exists()
    signed = api_client_for(practitioner).post(url(patient, "sign/"))
    assert signed.status_code == 200 and signed.json()["signed_by"] == practitioner.pk
