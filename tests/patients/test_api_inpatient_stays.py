"""/api/patients/{id}/inpatient-stays/: admitted <= discharged, the period lock over every
month a stay covers, the audit log and the three-user check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from ccm.models import AuditEvent, BillingMonth, User
from patients.models import InpatientStay, Patient
from tests.patients.factories import InpatientStayFactory

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]
STAY = {"admitted": "2026-03-12", "discharged": "2026-03-15"}


def url(patient: Patient, stay: InpatientStay | None = None) -> str:
    base = f"/api/patients/{patient.pk}/inpatient-stays/"
    return f"{base}{stay.pk}/" if stay else base


def test_create_defaults_to_a_hospital_stay(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(url(patient), STAY, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "hospital"
    snf = api_client_for(nurse).post(
        url(patient), {**STAY, "kind": "snf", "facility": "Oak SNF"}, format="json"
    )
    assert snf.json()["kind"] == "snf" and snf.json()["facility"] == "Oak SNF"
    assert AuditEvent.objects.filter(action="inpatient_stay.create").count() == 2


def test_discharged_before_admitted_is_a_400(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient), {"admitted": "2026-03-12", "discharged": "2026-03-11"}, format="json"
    )
    assert response.status_code == 400
    assert "discharged" in response.json()
    assert not InpatientStay.objects.exists()


def test_a_bad_kind_is_a_400(nurse: User, patient: Patient, api_client_for: Client) -> None:
    response = api_client_for(nurse).post(url(patient), {**STAY, "kind": "hotel"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()


def test_a_stay_covering_a_closed_month_is_a_409(
    nurse: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    close_month(dt.date(2026, 2, 1))
    response = api_client_for(nurse).post(
        url(patient), {"admitted": "2026-01-28", "discharged": "2026-03-02"}, format="json"
    )
    assert response.status_code == 409
    assert not InpatientStay.objects.exists()
    after = api_client_for(nurse).post(url(patient), STAY, format="json")
    assert after.status_code == 201


def test_delete_is_audited_and_locked_in_a_closed_month(
    nurse: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    locked = InpatientStayFactory(
        patient=patient, admitted=dt.date(2026, 1, 5), discharged=dt.date(2026, 1, 9)
    )
    free = InpatientStayFactory(patient=patient)
    close_month(dt.date(2026, 1, 1))
    client = api_client_for(nurse)
    assert client.delete(url(patient, locked)).status_code == 409
    assert client.delete(url(patient, free)).status_code == 204
    assert list(InpatientStay.objects.values_list("pk", flat=True)) == [locked.pk]
    event = AuditEvent.objects.get(action="inpatient_stay.delete")
    assert event.before["admitted"] == "2026-03-12"


def test_three_user_check(
    nurse: User, billing_user: User, outsider: User, patient: Patient, api_client_for: Client
) -> None:
    stay = InpatientStayFactory(patient=patient)
    owner = api_client_for(nurse)
    assert owner.post(url(patient), STAY, format="json").status_code == 201
    colleague = api_client_for(billing_user)
    assert colleague.get(url(patient)).json()["count"] == 2
    assert colleague.get(url(patient, stay)).status_code == 200
    assert colleague.post(url(patient), STAY, format="json").status_code == 403
    assert colleague.delete(url(patient, stay)).status_code == 403
    stranger = api_client_for(outsider)
    assert stranger.get(url(patient)).status_code == 404
    assert stranger.get(url(patient, stay)).status_code == 404
    assert stranger.post(url(patient), STAY, format="json").status_code == 404
    assert stranger.delete(url(patient, stay)).status_code == 404
    assert InpatientStay.objects.count() == 2
