"""/api/patients/{id}/other-services/: services billed elsewhere (hospice, home health,
ESRD, PCM, another practitioner's CCM), NPI validation, the period lock, the audit log and
the three-user check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from ccm.models import AuditEvent, BillingMonth, User
from patients.models import OtherService, Patient
from tests.patients.factories import OtherServiceFactory

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]
HOSPICE = {"code": "G0182", "date": "2026-03-02"}


def url(patient: Patient, service: OtherService | None = None) -> str:
    base = f"/api/patients/{patient.pk}/other-services/"
    return f"{base}{service.pk}/" if service else base


def test_billing_staff_record_a_service_with_a_valid_npi(
    billing_user: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(billing_user).post(
        url(patient),
        {"code": "99490", "date": "2026-03-05", "practitioner_npi": "1234567893"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["practitioner_npi"] == "1234567893"
    event = AuditEvent.objects.get(action="other_service.create")
    assert event.actor == billing_user and event.after["code"] == "99490"


def test_the_npi_is_optional(billing_user: User, patient: Patient, api_client_for: Client) -> None:
    response = api_client_for(billing_user).post(url(patient), HOSPICE, format="json")
    assert response.status_code == 201 and response.json()["practitioner_npi"] == ""


@pytest.mark.parametrize("npi", ["12345", "1234567890", "abcdefghij"])
def test_a_bad_npi_is_a_400(
    npi: str, billing_user: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(billing_user).post(
        url(patient), {**HOSPICE, "practitioner_npi": npi}, format="json"
    )
    assert response.status_code == 400
    assert "practitioner_npi" in response.json()
    assert not OtherService.objects.exists()


def test_a_service_in_a_closed_month_is_a_409_and_cannot_be_deleted(
    billing_user: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    existing = OtherServiceFactory(patient=patient, date=dt.date(2026, 3, 2))
    close_month(dt.date(2026, 3, 1))
    client = api_client_for(billing_user)
    assert client.post(url(patient), HOSPICE, format="json").status_code == 409
    assert client.delete(url(patient, existing)).status_code == 409
    assert list(OtherService.objects.values_list("pk", flat=True)) == [existing.pk]


def test_delete_is_audited(billing_user: User, patient: Patient, api_client_for: Client) -> None:
    service = OtherServiceFactory(patient=patient)
    assert api_client_for(billing_user).delete(url(patient, service)).status_code == 204
    assert not OtherService.objects.exists()
    event = AuditEvent.objects.get(action="other_service.delete")
    assert event.object_id == str(service.pk) and event.before["code"] == "G0182"


def test_three_user_check(
    billing_user: User,
    front_desk: User,
    outsider: User,
    patient: Patient,
    api_client_for: Client,
) -> None:
    service = OtherServiceFactory(patient=patient)
    # owner: billing staff record services billed elsewhere
    owner = api_client_for(billing_user)
    assert owner.post(url(patient), HOSPICE, format="json").status_code == 201
    # colleague: the front desk may not see them (clinical and billing facts), nor
    # record or delete them
    colleague = api_client_for(front_desk)
    assert colleague.get(url(patient)).status_code == 403
    assert colleague.get(url(patient, service)).status_code == 403
    assert colleague.post(url(patient), HOSPICE, format="json").status_code == 403
    assert colleague.delete(url(patient, service)).status_code == 403
    # outsider: 404, nothing changes
    stranger = api_client_for(outsider)
    assert stranger.get(url(patient)).status_code == 404
    assert stranger.get(url(patient, service)).status_code == 404
    assert stranger.post(url(patient), HOSPICE, format="json").status_code == 404
    assert stranger.delete(url(patient, service)).status_code == 404
    assert OtherService.objects.count() == 2
