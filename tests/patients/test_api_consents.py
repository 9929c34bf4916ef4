"""/api/patients/{id}/consents/: the four disclosures, the billing practitioner,
revocation, the period lock, the audit log and the three-user check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from ccm.models import AuditEvent, BillingMonth, Role, User
from patients.models import Consent, Patient
from tests.patients.factories import ConsentFactory

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]
DISCLOSURES = [
    "informed_service_available",
    "informed_cost_sharing",
    "informed_one_practitioner",
    "informed_may_stop",
]


def url(patient: Patient) -> str:
    return f"/api/patients/{patient.pk}/consents/"


def revoke_url(patient: Patient, consent: Consent) -> str:
    return f"/api/patients/{patient.pk}/consents/{consent.pk}/revoke/"


def payload(**fields: Any) -> dict[str, Any]:
    return {"date": "2026-01-10", "method": "verbal", **fields}


def test_create_defaults_to_the_patients_practitioner_and_all_disclosures(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(url(patient), payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["billing_practitioner"] == patient.billing_practitioner_id
    assert body["recorded_by"] == nurse.pk
    assert all(body[name] is True for name in DISCLOSURES)
    assert AuditEvent.objects.get(action="consent.create").object_id == str(body["id"])


def test_create_with_another_practitioner_of_the_practice(
    nurse: User, patient: Patient, make_user: Callable[..., User], api_client_for: Client
) -> None:
    other = make_user(Role.PRACTITIONER)
    response = api_client_for(nurse).post(
        url(patient), payload(billing_practitioner=other.pk, method="written"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["billing_practitioner"] == other.pk


@pytest.mark.parametrize("missing", DISCLOSURES)
def test_a_missing_disclosure_is_a_400_naming_it(
    missing: str, nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(url(patient), payload(**{missing: False}), format="json")
    assert response.status_code == 400
    assert set(response.json()) == {missing}
    assert not Consent.objects.exists()


def test_a_practitioner_of_another_practice_is_a_400(
    nurse: User, patient: Patient, other_practitioner: User, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient), payload(billing_practitioner=other_practitioner.pk), format="json"
    )
    assert response.status_code == 400
    assert "billing_practitioner" in response.json()
    assert not Consent.objects.exists()


def test_a_bad_method_is_a_400(nurse: User, patient: Patient, api_client_for: Client) -> None:
    response = api_client_for(nurse).post(url(patient), payload(method="email"), format="json")
    assert response.status_code == 400 and "method" in response.json()


def test_a_consent_in_a_closed_month_is_a_409(
    nurse: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    close_month(dt.date(2026, 1, 1))
    response = api_client_for(nurse).post(url(patient), payload(), format="json")
    assert response.status_code == 409
    assert not Consent.objects.exists()


def test_revoke_sets_the_date_and_audits_the_reason(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    consent = ConsentFactory(patient=patient)
    response = api_client_for(nurse).post(
        revoke_url(patient, consent), {"date": "2026-02-01", "reason": "Declined"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["revoked"] == "2026-02-01"
    event = AuditEvent.objects.get(action="consent.revoke")
    assert event.reason == "Declined" and event.before["revoked"] is None


def test_revoke_before_the_consent_date_is_a_400(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    consent = ConsentFactory(patient=patient, date=dt.date(2026, 1, 10))
    response = api_client_for(nurse).post(
        revoke_url(patient, consent), {"date": "2026-01-09", "reason": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "before the consent" in response.json()["date"][0]
    consent.refresh_from_db()
    assert consent.revoked is None


def test_revoke_without_a_reason_is_a_400(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    consent = ConsentFactory(patient=patient)
    response = api_client_for(nurse).post(
        revoke_url(patient, consent), {"date": "2026-02-01", "reason": ""}, format="json"
    )
    assert response.status_code == 400 and "reason" in response.json()


def test_revoke_in_a_closed_month_is_a_409(
    nurse: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    consent = ConsentFactory(patient=patient)
    close_month(dt.date(2026, 2, 1))
    response = api_client_for(nurse).post(
        revoke_url(patient, consent), {"date": "2026-02-01", "reason": "x"}, format="json"
    )
    assert response.status_code == 409
    consent.refresh_from_db()
    assert consent.revoked is None


def test_three_user_check(
    nurse: User, billing_user: User, outsider: User, patient: Patient, api_client_for: Client
) -> None:
    consent = ConsentFactory(patient=patient)
    revoke = {"date": "2026-02-01", "reason": "x"}
    # owner: a nurse records a consent
    owner = api_client_for(nurse)
    assert owner.post(url(patient), payload(date="2026-01-11"), format="json").status_code == 201
    # colleague: billing staff read consents but may not record or revoke them
    colleague = api_client_for(billing_user)
    assert colleague.get(url(patient)).json()["count"] == 2
    assert colleague.post(url(patient), payload(), format="json").status_code == 403
    assert colleague.post(revoke_url(patient, consent), revoke, format="json").status_code == 403
    # outsider: 404, nothing changes
    stranger = api_client_for(outsider)
    assert stranger.get(url(patient)).status_code == 404
    assert stranger.post(url(patient), payload(), format="json").status_code == 404
    assert stranger.post(revoke_url(patient, consent), revoke, format="json").status_code == 404
    assert Consent.objects.count() == 2
    consent.refresh_from_db()
    assert consent.revoked is None
