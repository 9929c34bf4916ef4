"""/api/patients/{id}/conditions/: billable ICD-10-CM codes only, the period lock, the
audit log and the three-user check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from ccm.models import AuditEvent, BillingMonth, User
from patients.models import ChronicCondition, Patient
from tests.patients.factories import ChronicConditionFactory

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]


def url(patient: Patient, condition: ChronicCondition | None = None) -> str:
    base = f"/api/patients/{patient.pk}/conditions/"
    return f"{base}{condition.pk}/" if condition else base


def test_create_normalises_the_code_and_fills_the_description(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient), {"icd10": "e119", "onset": "2019-05-01"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["icd10"] == "E11.9"
    assert body["description"] == "Type 2 diabetes mellitus without complications"
    assert body["resolved"] is None
    event = AuditEvent.objects.get(action="condition.create")
    assert event.object_id == str(body["id"]) and event.after["icd10"] == "E11.9"


def test_an_unknown_code_is_a_400_naming_icd10(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient), {"icd10": "XYZ99", "onset": "2019-05-01"}, format="json"
    )
    assert response.status_code == 400
    assert "is not an ICD-10-CM code" in response.json()["icd10"][0]
    assert not ChronicCondition.objects.exists()


@pytest.mark.parametrize("code", ["E11", "N18.3"])
def test_a_category_is_a_400_suggesting_a_more_specific_code(
    code: str, nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient), {"icd10": code, "onset": "2019-05-01"}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["icd10"][0]
    assert "category" in message and "more specific" in message
    assert not ChronicCondition.objects.exists()


def test_resolved_before_onset_is_a_400(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    response = api_client_for(nurse).post(
        url(patient),
        {"icd10": "I10", "onset": "2020-05-01", "resolved": "2020-04-01"},
        format="json",
    )
    assert response.status_code == 400
    assert "resolved" in response.json()


def test_a_condition_dated_in_a_closed_month_is_a_409(
    nurse: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    close_month(dt.date(2025, 1, 1))
    client = api_client_for(nurse)
    closed = client.post(url(patient), {"icd10": "I10", "onset": "2025-01-20"}, format="json")
    assert closed.status_code == 409
    assert not ChronicCondition.objects.exists()
    assert not AuditEvent.objects.filter(action="condition.create").exists()
    open_month = client.post(url(patient), {"icd10": "I10", "onset": "2025-02-01"}, format="json")
    assert open_month.status_code == 201


def test_patch_resolves_and_reactivates(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    condition = ChronicConditionFactory(patient=patient)
    client = api_client_for(nurse)
    response = client.patch(url(patient, condition), {"resolved": "2026-02-01"}, format="json")
    assert response.status_code == 200 and response.json()["resolved"] == "2026-02-01"
    response = client.patch(url(patient, condition), {"resolved": None}, format="json")
    assert response.status_code == 200 and response.json()["resolved"] is None
    condition.refresh_from_db()
    assert condition.resolved is None
    events = list(AuditEvent.objects.filter(action="condition.update").order_by("id"))
    assert [e.after["resolved"] for e in events] == ["2026-02-01", None]


def test_patch_to_a_category_is_a_400_and_changes_nothing(
    nurse: User, patient: Patient, api_client_for: Client
) -> None:
    condition = ChronicConditionFactory(patient=patient)
    response = api_client_for(nurse).patch(url(patient, condition), {"icd10": "E11"}, format="json")
    assert response.status_code == 400 and "icd10" in response.json()
    condition.refresh_from_db()
    assert condition.icd10 == "E11.9"


def test_delete_is_audited_and_locked_in_a_closed_month(
    nurse: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    locked = ChronicConditionFactory(patient=patient, onset=dt.date(2025, 1, 10))
    free = ChronicConditionFactory(patient=patient, onset=dt.date(2025, 3, 10), icd10="I10")
    close_month(dt.date(2025, 1, 1))
    client = api_client_for(nurse)
    assert client.delete(url(patient, locked)).status_code == 409
    assert client.delete(url(patient, free)).status_code == 204
    assert list(ChronicCondition.objects.values_list("pk", flat=True)) == [locked.pk]
    assert AuditEvent.objects.get(action="condition.delete").before["icd10"] == "I10"


def test_a_condition_is_reached_only_through_its_own_patient(
    nurse: User,
    patient: Patient,
    practice: object,
    practitioner: User,
    api_client_for: Client,
) -> None:
    from tests.patients.factories import PatientFactory

    other = PatientFactory(practice=patient.practice, billing_practitioner=practitioner)
    condition = ChronicConditionFactory(patient=other)
    assert api_client_for(nurse).delete(url(patient, condition)).status_code == 404
    assert ChronicCondition.objects.filter(pk=condition.pk).exists()


def test_three_user_check(
    nurse: User, front_desk: User, outsider: User, patient: Patient, api_client_for: Client
) -> None:
    condition = ChronicConditionFactory(patient=patient)
    payload = {"icd10": "I10", "onset": "2020-01-01"}
    # owner: a nurse reads and writes
    owner = api_client_for(nurse)
    assert owner.get(url(patient)).json()["count"] == 1
    assert owner.post(url(patient), payload, format="json").status_code == 201
    # colleague: the front desk reads, but may not touch conditions
    colleague = api_client_for(front_desk)
    assert colleague.get(url(patient)).json()["count"] == 2
    assert colleague.get(url(patient, condition)).status_code == 200
    assert colleague.post(url(patient), payload, format="json").status_code == 403
    assert (
        colleague.patch(
            url(patient, condition), {"resolved": "2026-01-01"}, format="json"
        ).status_code
        == 403
    )
    assert colleague.delete(url(patient, condition)).status_code == 403
    # outsider: another practice's admin gets 404 everywhere and changes nothing
    stranger = api_client_for(outsider)
    assert stranger.get(url(patient)).status_code == 404
    assert stranger.get(url(patient, condition)).status_code == 404
    assert stranger.post(url(patient), payload, format="json").status_code == 404
    assert (
        stranger.patch(
            url(patient, condition), {"resolved": "2026-01-01"}, format="json"
        ).status_code
        == 404
    )
    assert stranger.delete(url(patient, condition)).status_code == 404
    assert ChronicCondition.objects.filter(patient=patient).count() == 2
    condition.refresh_from_db()
    assert condition.resolved is None


def attest_url(patient: Patient, condition: ChronicCondition) -> str:
    return f"{url(patient, condition)}attest-chronic/"


def test_a_practitioner_attests_a_condition_chronic_and_withdraws_it(
    practitioner: User, patient: Patient, api_client_for: Client
) -> None:
    """Billing rule CONDITION_NOT_CHRONIC: an attested condition counts as chronic."""
    condition = ChronicConditionFactory(patient=patient, icd10="M54.50")
    client = api_client_for(practitioner)
    attested = client.post(attest_url(patient, condition))
    assert attested.status_code == 200, attested.content
    body = attested.json()
    assert body["attested_chronic"] is True
    assert (body["attested_chronic_by"], body["attested_chronic_by_name"]) == (
        practitioner.pk,
        practitioner.display_name,
    )
    assert body["attested_chronic_at"]
    listed = client.get(url(patient)).json()["results"][0]
    assert listed["attested_chronic"] is True
    event = AuditEvent.objects.get(action="condition.attest_chronic")
    assert event.actor == practitioner and event.after["attested_chronic_by_id"] == practitioner.pk
    assert event.before["attested_chronic_by_id"] is None

    withdrawn = client.delete(attest_url(patient, condition))
    assert withdrawn.status_code == 200 and withdrawn.json()["attested_chronic"] is False
    withdrawal = AuditEvent.objects.get(action="condition.withdraw_chronic")
    assert withdrawal.before["attested_chronic_by_id"] == practitioner.pk
    assert withdrawal.after["attested_chronic_at"] is None
    again = client.delete(attest_url(patient, condition))
    assert again.status_code == 400 and "attested_chronic" in again.json()


def test_attesting_is_not_refused_by_a_closed_onset_month(
    practitioner: User,
    patient: Patient,
    api_client_for: Client,
    close_month: Callable[..., BillingMonth],
) -> None:
    """The attestation is made today; a closed month keeps its worklist until reopened."""
    condition = ChronicConditionFactory(patient=patient, onset=dt.date(2026, 1, 5))
    close_month(dt.date(2026, 1, 1))
    response = api_client_for(practitioner).post(attest_url(patient, condition))
    assert response.status_code == 200, response.content
    condition.refresh_from_db()
    assert condition.attested_chronic_by == practitioner
    # The condition's own facts stay locked in that month.
    edit = api_client_for(practitioner).patch(url(patient, condition), {"onset": "2026-01-06"})
    assert edit.status_code == 409


def test_a_new_code_withdraws_the_attestation(
    practitioner: User, nurse: User, patient: Patient, api_client_for: Client
) -> None:
    condition = ChronicConditionFactory(patient=patient, icd10="M54.50")
    api_client_for(practitioner).post(attest_url(patient, condition))
    changed = api_client_for(nurse).patch(url(patient, condition), {"icd10": "J44.9"})
    assert changed.status_code == 200 and changed.json()["attested_chronic"] is False
    event = AuditEvent.objects.filter(action="condition.update").get()
    assert event.before["attested_chronic_by_id"] == practitioner.pk
    assert event.after["attested_chronic_by_id"] is None


def test_attestation_three_user_check(
    practitioner: User,
    nurse: User,
    other_practitioner: User,
    patient: Patient,
    api_client_for: Client,
) -> None:
    condition = ChronicConditionFactory(patient=patient)
    assert api_client_for(practitioner).post(attest_url(patient, condition)).status_code == 200
    colleague = api_client_for(nurse)  # a nurse records conditions but does not attest
    assert colleague.post(attest_url(patient, condition)).status_code == 403
    assert colleague.delete(attest_url(patient, condition)).status_code == 403
    stranger = api_client_for(other_practitioner)
    assert stranger.post(attest_url(patient, condition)).status_code == 404
    assert stranger.delete(attest_url(patient, condition)).status_code == 404
    condition.refresh_from_db()
    assert condition.attested_chronic_by == practitioner
