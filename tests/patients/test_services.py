"""The patients services: validation, the period lock and the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ccm.exceptions import PeriodClosed
from ccm.models import AuditEvent, BillingMonth, Practice, Role, User
from patients import services
from patients.models import CarePlan, ChronicCondition, Consent, InpatientStay, Patient
from tests.patients.factories import (
    CarePlanFactory,
    ChronicConditionFactory,
    ConsentFactory,
    InpatientStayFactory,
    OtherServiceFactory,
)

pytestmark = pytest.mark.django_db

Close = Callable[..., BillingMonth]
Events = Callable[[str], list[AuditEvent]]


def fields_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# -- patients --------------------------------------------------------------------------


def test_patient_create_is_audited(
    practice: Practice, nurse: User, practitioner: User, audit_events: Events
) -> None:
    patient = services.patient_create(
        practice=practice,
        actor=nurse,
        mrn=" A-1 ",
        first_name="Ann",
        last_name="Lee",
        birth_date=dt.date(1950, 2, 3),
        billing_practitioner=practitioner,
    )
    assert patient.mrn == "A-1"
    [event] = audit_events("patient.create")
    assert event.actor == nurse
    assert event.practice == practice
    assert event.object_id == str(patient.pk)
    assert event.before is None
    assert event.after["billing_practitioner_id"] == practitioner.pk
    assert event.after["birth_date"] == "1950-02-03"


def test_patient_mrn_is_unique_per_practice_only(
    practice: Practice, nurse: User, practitioner: User, foreign_patient: Patient
) -> None:
    kwargs = {
        "first_name": "A",
        "last_name": "B",
        "birth_date": dt.date(1950, 1, 1),
        "billing_practitioner": practitioner,
        "actor": nurse,
        "practice": practice,
    }
    services.patient_create(mrn=foreign_patient.mrn, **kwargs)  # another practice's MRN: fine
    with pytest.raises(ValidationError) as raised:
        services.patient_create(mrn=foreign_patient.mrn, **kwargs)
    assert "already exists" in fields_of(raised)["mrn"][0]
    assert Patient.objects.filter(practice=practice).count() == 1


@pytest.mark.parametrize("who", ["other_practitioner", "nurse", "inactive"])
def test_billing_practitioner_must_be_an_active_practitioner_of_the_practice(
    who: str,
    practice: Practice,
    nurse: User,
    other_practitioner: User,
    make_user: Callable[..., User],
) -> None:
    candidates = {
        "other_practitioner": other_practitioner,
        "nurse": nurse,
        "inactive": make_user(Role.PRACTITIONER, is_active=False),
    }
    with pytest.raises(ValidationError) as raised:
        services.patient_create(
            practice=practice,
            actor=nurse,
            mrn="X1",
            first_name="A",
            last_name="B",
            birth_date=dt.date(1950, 1, 1),
            billing_practitioner=candidates[who],
        )
    assert "not an active practitioner" in fields_of(raised)["billing_practitioner"][0]
    assert not Patient.objects.exists()


def test_birth_date_cannot_be_in_the_future(
    practice: Practice, nurse: User, practitioner: User
) -> None:
    with pytest.raises(ValidationError) as raised:
        services.patient_create(
            practice=practice,
            actor=nurse,
            mrn="X1",
            first_name="A",
            last_name="B",
            birth_date=timezone.localdate() + dt.timedelta(days=1),
            billing_practitioner=practitioner,
        )
    assert "future" in fields_of(raised)["birth_date"][0]


def test_patient_update_records_before_and_after(
    patient: Patient, nurse: User, make_user: Callable[..., User], audit_events: Events
) -> None:
    new_practitioner = make_user(Role.PRACTITIONER)
    old_practitioner_id = patient.billing_practitioner_id
    services.patient_update(
        patient=patient, actor=nurse, last_name="Smith", billing_practitioner=new_practitioner
    )
    patient.refresh_from_db()
    assert patient.last_name == "Smith"
    assert patient.billing_practitioner == new_practitioner
    [event] = audit_events("patient.update")
    assert event.before["last_name"] == "Doe"
    assert event.before["billing_practitioner_id"] == old_practitioner_id
    assert event.after["last_name"] == "Smith"
    assert event.after["billing_practitioner_id"] == new_practitioner.pk


def test_patient_update_that_changes_nothing_writes_no_audit_event(
    patient: Patient, nurse: User, audit_events: Events
) -> None:
    services.patient_update(patient=patient, actor=nurse, last_name=patient.last_name)
    assert audit_events("patient.update") == []


def test_patient_update_to_a_taken_mrn_is_refused(
    patient: Patient, nurse: User, practitioner: User, practice: Practice
) -> None:
    other = services.patient_create(
        practice=practice,
        actor=nurse,
        mrn="MRN-002",
        first_name="A",
        last_name="B",
        birth_date=dt.date(1950, 1, 1),
        billing_practitioner=practitioner,
    )
    with pytest.raises(ValidationError) as raised:
        services.patient_update(patient=other, actor=nurse, mrn=patient.mrn)
    assert "mrn" in fields_of(raised)
    other.refresh_from_db()
    assert other.mrn == "MRN-002"


# -- conditions ------------------------------------------------------------------------


def test_condition_create_normalises_the_code_and_defaults_the_description(
    patient: Patient, nurse: User, audit_events: Events
) -> None:
    condition = services.condition_create(
        patient=patient, actor=nurse, icd10="e119", onset=dt.date(2020, 1, 1)
    )
    assert condition.icd10 == "E11.9"
    assert condition.description == "Type 2 diabetes mellitus without complications"
    [event] = audit_events("condition.create")
    assert event.practice == patient.practice
    assert event.after["icd10"] == "E11.9"


def test_condition_keeps_a_description_given(patient: Patient, nurse: User) -> None:
    condition = services.condition_create(
        patient=patient, actor=nurse, icd10="I10", onset=dt.date(2020, 1, 1), description="HTN"
    )
    assert condition.description == "HTN"


def test_condition_resolved_before_onset_is_refused(patient: Patient, nurse: User) -> None:
    with pytest.raises(ValidationError) as raised:
        services.condition_create(
            patient=patient,
            actor=nurse,
            icd10="I10",
            onset=dt.date(2020, 5, 1),
            resolved=dt.date(2020, 4, 30),
        )
    assert "resolved" in fields_of(raised)
    assert not ChronicCondition.objects.exists()


def test_condition_in_a_closed_month_is_refused_in_an_open_one_accepted(
    patient: Patient, nurse: User, close_month: Close
) -> None:
    close_month(dt.date(2025, 1, 1))
    with pytest.raises(PeriodClosed):
        services.condition_create(
            patient=patient, actor=nurse, icd10="I10", onset=dt.date(2025, 1, 20)
        )
    services.condition_create(patient=patient, actor=nurse, icd10="I10", onset=dt.date(2025, 2, 1))
    assert ChronicCondition.objects.filter(patient=patient).count() == 1


def test_a_closing_month_is_locked_too(patient: Patient, nurse: User, close_month: Close) -> None:
    close_month(dt.date(2025, 1, 1), status=BillingMonth.Status.CLOSING)
    with pytest.raises(PeriodClosed):
        services.visit_create(patient=patient, actor=nurse, date=dt.date(2025, 1, 3), code="99214")


def test_resolving_a_condition_whose_onset_month_is_closed_is_allowed(
    patient: Patient, nurse: User, close_month: Close, audit_events: Events
) -> None:
    condition = ChronicConditionFactory(patient=patient, onset=dt.date(2025, 1, 15))
    close_month(dt.date(2025, 1, 1))
    services.condition_update(condition=condition, actor=nurse, resolved=dt.date(2025, 6, 1))
    condition.refresh_from_db()
    assert condition.resolved == dt.date(2025, 6, 1)
    [event] = audit_events("condition.update")
    assert event.before["resolved"] is None
    assert event.after["resolved"] == "2025-06-01"


def test_recoding_a_condition_whose_onset_month_is_closed_is_refused(
    patient: Patient, nurse: User, close_month: Close
) -> None:
    condition = ChronicConditionFactory(patient=patient, onset=dt.date(2025, 1, 15))
    close_month(dt.date(2025, 1, 1))
    with pytest.raises(PeriodClosed):
        services.condition_update(condition=condition, actor=nurse, icd10="E11.65")
    condition.refresh_from_db()
    assert condition.icd10 == "E11.9"


def test_recoding_a_condition_replaces_the_old_codes_description(
    patient: Patient, nurse: User
) -> None:
    condition = ChronicConditionFactory(patient=patient)
    services.condition_update(condition=condition, actor=nurse, icd10="E1165")
    condition.refresh_from_db()
    assert condition.icd10 == "E11.65"
    assert condition.description.startswith("Type 2 diabetes mellitus with hyperglycemia")


def test_condition_delete_is_audited_and_period_locked(
    patient: Patient, nurse: User, close_month: Close, audit_events: Events
) -> None:
    kept = ChronicConditionFactory(patient=patient, onset=dt.date(2025, 1, 15))
    gone = ChronicConditionFactory(patient=patient, onset=dt.date(2025, 3, 1), icd10="I10")
    close_month(dt.date(2025, 1, 1))
    with pytest.raises(PeriodClosed):
        services.condition_delete(condition=kept, actor=nurse)
    gone_id = gone.pk
    services.condition_delete(condition=gone, actor=nurse)
    assert list(ChronicCondition.objects.values_list("pk", flat=True)) == [kept.pk]
    [event] = audit_events("condition.delete")
    assert event.object_id == str(gone_id)
    assert event.before["icd10"] == "I10"
    assert event.after is None


# -- consents --------------------------------------------------------------------------


def test_consent_defaults_to_the_patients_practitioner_and_records_who(
    patient: Patient, nurse: User, audit_events: Events
) -> None:
    consent = services.consent_create(
        patient=patient, actor=nurse, date=dt.date(2026, 1, 10), method="written"
    )
    assert consent.billing_practitioner == patient.billing_practitioner
    assert consent.recorded_by == nurse
    [event] = audit_events("consent.create")
    assert event.after["method"] == "written"


def test_consent_with_two_disclosures_missing_names_both(patient: Patient, nurse: User) -> None:
    with pytest.raises(ValidationError) as raised:
        services.consent_create(
            patient=patient,
            actor=nurse,
            date=dt.date(2026, 1, 10),
            method="verbal",
            informed_cost_sharing=False,
            informed_may_stop=False,
        )
    assert set(fields_of(raised)) == {"informed_cost_sharing", "informed_may_stop"}
    assert not Consent.objects.exists()


def test_consent_revoke_sets_the_date_and_reason(
    patient: Patient, nurse: User, audit_events: Events
) -> None:
    consent = ConsentFactory(patient=patient, date=dt.date(2026, 1, 10))
    services.consent_revoke(
        consent=consent, actor=nurse, date=dt.date(2026, 2, 1), reason="Moved away"
    )
    consent.refresh_from_db()
    assert consent.revoked == dt.date(2026, 2, 1)
    [event] = audit_events("consent.revoke")
    assert event.reason == "Moved away"
    assert event.before["revoked"] is None
    assert event.after["revoked"] == "2026-02-01"


def test_consent_revoke_before_its_date_twice_or_without_reason_is_refused(
    patient: Patient, nurse: User
) -> None:
    consent = ConsentFactory(patient=patient, date=dt.date(2026, 1, 10))
    with pytest.raises(ValidationError) as raised:
        services.consent_revoke(consent=consent, actor=nurse, date=dt.date(2026, 1, 9), reason="x")
    assert "before the consent" in fields_of(raised)["date"][0]
    with pytest.raises(ValidationError) as raised:
        services.consent_revoke(consent=consent, actor=nurse, date=dt.date(2026, 2, 1), reason="  ")
    assert "reason" in fields_of(raised)
    services.consent_revoke(consent=consent, actor=nurse, date=dt.date(2026, 2, 1), reason="x")
    with pytest.raises(ValidationError) as raised:
        services.consent_revoke(consent=consent, actor=nurse, date=dt.date(2026, 3, 1), reason="y")
    assert "already revoked" in fields_of(raised)["date"][0]


# -- care plan -------------------------------------------------------------------------


def _plan(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "established": dt.date(2026, 1, 10),
        "problems": "DM2",
        "goals": "A1c < 7.5",
        "interventions": "Calls",
    }
    return {**base, **fields}


def test_care_plan_versions_are_kept(patient: Patient, nurse: User, audit_events: Events) -> None:
    first = services.care_plan_save(patient=patient, actor=nurse, **_plan())
    second = services.care_plan_save(patient=patient, actor=nurse, **_plan(goals="A1c < 7"))
    assert (first.version, second.version) == (1, 2)
    first.refresh_from_db()
    assert first.goals == "A1c < 7.5"
    assert second.created_by == nurse
    events = audit_events("care_plan.save")
    assert [e.after["version"] for e in events] == [1, 2]
    assert events[0].before is None
    assert events[1].before["goals"] == "A1c < 7.5"


def test_care_plan_text_edit_is_allowed_after_its_established_month_closed(
    patient: Patient, nurse: User, close_month: Close
) -> None:
    services.care_plan_save(patient=patient, actor=nurse, **_plan())
    close_month(dt.date(2026, 1, 1))
    plan = services.care_plan_save(patient=patient, actor=nurse, **_plan(goals="new goals"))
    assert plan.version == 2
    with pytest.raises(PeriodClosed):
        services.care_plan_save(
            patient=patient, actor=nurse, **_plan(established=dt.date(2026, 3, 1))
        )
    assert CarePlan.objects.filter(patient=patient).count() == 2


def test_care_plan_sign_only_by_a_practitioner_once_per_version(
    patient: Patient, nurse: User, practitioner: User, audit_events: Events
) -> None:
    CarePlanFactory(patient=patient)
    with pytest.raises(PermissionDenied):
        services.care_plan_sign(patient=patient, actor=nurse)
    plan = services.care_plan_sign(patient=patient, actor=practitioner)
    assert plan.signed_by == practitioner
    assert plan.signed_at is not None
    [event] = audit_events("care_plan.sign")
    assert event.before["signed_by_id"] is None
    assert event.after["signed_by_id"] == practitioner.pk
    with pytest.raises(ValidationError):
        services.care_plan_sign(patient=patient, actor=practitioner)


def test_a_practitioner_of_another_practice_cannot_sign(
    patient: Patient, other_practitioner: User
) -> None:
    CarePlanFactory(patient=patient)
    with pytest.raises(PermissionDenied):
        services.care_plan_sign(patient=patient, actor=other_practitioner)
    assert CarePlan.objects.get().signed_at is None


# -- other services and stays ----------------------------------------------------------


@pytest.mark.parametrize(
    ("npi", "message"), [("12345", "10 digits"), ("1234567890", "check digit")]
)
def test_other_service_npi_is_validated(
    patient: Patient, billing_user: User, npi: str, message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        services.other_service_create(
            patient=patient,
            actor=billing_user,
            code="g0182",
            date=dt.date(2026, 3, 2),
            practitioner_npi=npi,
        )
    assert message in fields_of(raised)["practitioner_npi"][0]


def test_other_service_delete_is_audited(
    patient: Patient, billing_user: User, audit_events: Events
) -> None:
    service = OtherServiceFactory(patient=patient)
    services.other_service_delete(service=service, actor=billing_user)
    [event] = audit_events("other_service.delete")
    assert event.before["code"] == "G0182"


def test_a_stay_that_spans_a_closed_month_is_refused(
    patient: Patient, nurse: User, close_month: Close
) -> None:
    close_month(dt.date(2025, 2, 1))
    with pytest.raises(PeriodClosed):
        services.inpatient_stay_create(
            patient=patient,
            actor=nurse,
            admitted=dt.date(2025, 1, 30),
            discharged=dt.date(2025, 3, 2),
        )
    stay = InpatientStayFactory(
        patient=patient, admitted=dt.date(2025, 1, 28), discharged=dt.date(2025, 3, 1)
    )
    with pytest.raises(PeriodClosed):
        services.inpatient_stay_delete(stay=stay, actor=nurse)
    assert InpatientStay.objects.count() == 1


def test_stay_discharged_before_admitted_is_refused(patient: Patient, nurse: User) -> None:
    with pytest.raises(ValidationError) as raised:
        services.inpatient_stay_create(
            patient=patient,
            actor=nurse,
            admitted=dt.date(2026, 3, 5),
            discharged=dt.date(2026, 3, 4),
        )
    assert "discharged" in fields_of(raised)
