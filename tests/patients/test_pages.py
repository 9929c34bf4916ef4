"""The patient pages: list and search, register and edit, the patient page with its add
forms (errors next to the field), the care plan with its history; 403 for roles that may
not act, 404 for another practice's patient."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from ccm.models import AuditEvent, BillingMonth, Practice, User
from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)
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


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def field_error(html: str, field_id: str) -> str:
    """The error list rendered next to the field `field_id` ("" when none)."""
    found = re.search(
        rf'<ul class="errorlist" id="{re.escape(field_id)}_error">(.*?)</ul>', html, re.S
    )
    return found.group(1) if found else ""


def detail(patient: Patient) -> str:
    return f"/patients/{patient.pk}/"


# -- list, create, edit ----------------------------------------------------------------


def test_pages_need_sign_in(client: Client, patient: Patient) -> None:
    for url in ("/patients/", detail(patient), "/patients/new/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_list_searches_by_name_and_mrn(
    client: Client, front_desk: User, practice: Practice, practitioner: User, patient: Patient
) -> None:
    PatientFactory(
        practice=practice,
        billing_practitioner=practitioner,
        first_name="Bob",
        last_name="Roe",
        mrn="Z-9",
    )
    signed_in(client, front_desk)
    everyone = client.get("/patients/").content.decode()
    assert "Doe, Jane" in everyone and "Roe, Bob" in everyone
    by_name = client.get("/patients/", {"q": "doe"}).content.decode()
    assert "Doe, Jane" in by_name and "Roe, Bob" not in by_name
    by_mrn = client.get("/patients/", {"q": "z-9"}).content.decode()
    assert "Roe, Bob" in by_mrn and "Doe, Jane" not in by_mrn


def test_list_never_shows_another_practices_patient(
    client: Client, nurse: User, other_practice: Practice, other_practitioner: User
) -> None:
    PatientFactory(
        practice=other_practice,
        billing_practitioner=other_practitioner,
        first_name="Zelda",
        last_name="Stranger",
    )
    html = signed_in(client, nurse).get("/patients/").content.decode()
    assert "Stranger" not in html and "No patients yet." in html


def test_register_a_patient(client: Client, nurse: User, practitioner: User) -> None:
    signed_in(client, nurse)
    assert client.get("/patients/new/").status_code == 200
    response = client.post(
        "/patients/new/",
        {
            "mrn": "N-1",
            "first_name": "Ann",
            "last_name": "Lee",
            "birth_date": "1950-02-03",
            "billing_practitioner": practitioner.pk,
        },
    )
    patient = Patient.objects.get(mrn="N-1")
    assert response.status_code == 302 and response["Location"] == detail(patient)
    assert AuditEvent.objects.filter(action="patient.create", actor=nurse).exists()


def test_register_shows_errors_next_to_the_fields(
    client: Client, nurse: User, practitioner: User, patient: Patient
) -> None:
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = signed_in(client, nurse).post(
        "/patients/new/",
        {
            "mrn": patient.mrn,
            "first_name": "Ann",
            "last_name": "Lee",
            "birth_date": tomorrow,
            "billing_practitioner": practitioner.pk,
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "already exists" in field_error(html, "id_mrn")
    assert "future" in field_error(html, "id_birth_date")
    assert Patient.objects.count() == 1


def test_another_practices_practitioner_is_not_offered_nor_accepted(
    client: Client, nurse: User, other_practitioner: User
) -> None:
    signed_in(client, nurse)
    assert other_practitioner.display_name not in client.get("/patients/new/").content.decode()
    response = client.post(
        "/patients/new/",
        {
            "mrn": "N-1",
            "first_name": "Ann",
            "last_name": "Lee",
            "birth_date": "1950-02-03",
            "billing_practitioner": other_practitioner.pk,
        },
    )
    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_billing_practitioner")
    assert not Patient.objects.exists()


def test_billing_staff_may_not_register_or_edit(
    client: Client, billing_user: User, patient: Patient
) -> None:
    signed_in(client, billing_user)
    assert client.get("/patients/new/").status_code == 403
    assert client.get(f"{detail(patient)}edit/").status_code == 403
    assert client.post(f"{detail(patient)}edit/", {"first_name": "X"}).status_code == 403


def test_edit_a_patient(client: Client, front_desk: User, patient: Patient) -> None:
    signed_in(client, front_desk)
    form = client.get(f"{detail(patient)}edit/").content.decode()
    assert 'value="MRN-001"' in form
    response = client.post(
        f"{detail(patient)}edit/",
        {
            "mrn": "MRN-001",
            "first_name": "Janet",
            "last_name": "Doe",
            "birth_date": "1948-06-01",
            "billing_practitioner": patient.billing_practitioner_id,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.first_name == "Janet"
    assert AuditEvent.objects.get(action="patient.update").after["first_name"] == "Janet"


# -- the patient page ------------------------------------------------------------------


def test_the_patient_page_shows_every_fact(client: Client, nurse: User, patient: Patient) -> None:
    ChronicConditionFactory(patient=patient, icd10="I50.22", description="Chronic systolic HF")
    ConsentFactory(patient=patient, date=dt.date(2026, 1, 10))
    VisitFactory(patient=patient, code="G0438")
    CarePlanFactory(patient=patient, goals="Walk 20 minutes daily")
    OtherServiceFactory(patient=patient, code="G0181")
    InpatientStayFactory(patient=patient, facility="General Hospital")
    response = signed_in(client, nurse).get(detail(patient))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "MRN-001",
        "I50.22",
        "Chronic systolic HF",
        "2026-01-10",
        "G0438",
        "Walk 20 minutes daily",
        "G0181",
        "General Hospital",
    ):
        assert text in html, text
    for form in (
        "condition-form",
        "consent-form",
        "visit-form",
        "other-service-form",
        "inpatient-stay-form",
    ):
        assert f'data-testid="{form}"' in html
    assert 'list="other-service-codes"' in html and 'value="G0182"' in html


def test_billing_staff_see_only_the_forms_they_may_use(
    client: Client, billing_user: User, patient: Patient
) -> None:
    html = signed_in(client, billing_user).get(detail(patient)).content.decode()
    assert 'data-testid="other-service-form"' in html
    assert 'data-testid="condition-form"' not in html
    assert 'data-testid="consent-form"' not in html


def test_add_a_condition(client: Client, nurse: User, patient: Patient) -> None:
    response = signed_in(client, nurse).post(
        f"{detail(patient)}conditions/add/",
        {"condition-icd10": "e119", "condition-onset": "2019-05-01"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{detail(patient)}#conditions"
    assert ChronicCondition.objects.get(patient=patient).icd10 == "E11.9"


@pytest.mark.parametrize(
    ("code", "message"), [("QQQ", "is not an ICD-10-CM code"), ("N18.3", "is a category")]
)
def test_a_bad_code_shows_next_to_the_field(
    code: str, message: str, client: Client, nurse: User, patient: Patient
) -> None:
    response = signed_in(client, nurse).post(
        f"{detail(patient)}conditions/add/",
        {"condition-icd10": code, "condition-onset": "2019-05-01"},
    )
    assert response.status_code == 400
    assert message in field_error(response.content.decode(), "id_condition-icd10")
    assert not ChronicCondition.objects.exists()


def test_a_closed_month_shows_on_the_form_as_a_409(
    client: Client, nurse: User, patient: Patient, close_month: Callable[..., BillingMonth]
) -> None:
    close_month(dt.date(2025, 1, 1))
    response = signed_in(client, nurse).post(
        f"{detail(patient)}visits/add/", {"visit-date": "2025-01-15", "visit-code": "99214"}
    )
    assert response.status_code == 409
    assert "2025-01 is closed" in response.content.decode()
    assert not Visit.objects.exists()


def test_edit_and_delete_a_condition(client: Client, nurse: User, patient: Patient) -> None:
    condition = ChronicConditionFactory(patient=patient)
    signed_in(client, nurse)
    url = f"{detail(patient)}conditions/{condition.pk}/"
    assert 'value="E11.9"' in client.get(f"{url}edit/").content.decode()
    response = client.post(
        f"{url}edit/",
        {"icd10": "E11.9", "description": "DM2", "onset": "2019-05-01", "resolved": "2019-04-01"},
    )
    assert response.status_code == 400
    assert "before the onset" in field_error(response.content.decode(), "id_resolved")
    response = client.post(
        f"{url}edit/",
        {"icd10": "E11.9", "description": "DM2", "onset": "2019-05-01", "resolved": "2026-01-01"},
    )
    assert response.status_code == 302
    condition.refresh_from_db()
    assert condition.resolved == dt.date(2026, 1, 1) and condition.description == "DM2"
    assert client.post(f"{url}delete/").status_code == 302
    assert not ChronicCondition.objects.exists()


def test_consent_needs_the_four_disclosures(client: Client, nurse: User, patient: Patient) -> None:
    signed_in(client, nurse)
    url = f"{detail(patient)}consents/add/"
    partial = {
        "consent-date": "2026-01-10",
        "consent-method": "verbal",
        "consent-informed_service_available": "on",
        "consent-informed_cost_sharing": "on",
        "consent-informed_one_practitioner": "on",
    }
    response = client.post(url, partial)
    assert response.status_code == 400
    html = response.content.decode()
    assert "may stop" in field_error(html, "id_consent-informed_may_stop")
    assert field_error(html, "id_consent-informed_cost_sharing") == ""
    assert not Consent.objects.exists()
    response = client.post(url, {**partial, "consent-informed_may_stop": "on"})
    assert response.status_code == 302
    consent = Consent.objects.get()
    assert consent.billing_practitioner == patient.billing_practitioner
    assert consent.recorded_by == nurse


def test_revoke_a_consent(client: Client, nurse: User, patient: Patient) -> None:
    consent = ConsentFactory(patient=patient, date=dt.date(2026, 1, 10))
    signed_in(client, nurse)
    url = f"{detail(patient)}consents/{consent.pk}/revoke/"
    prefix = f"revoke-{consent.pk}"
    response = client.post(url, {f"{prefix}-date": "2026-01-01", f"{prefix}-reason": "Moved"})
    assert response.status_code == 400
    assert "before the consent" in field_error(response.content.decode(), f"id_{prefix}-date")
    response = client.post(url, {f"{prefix}-date": "2026-02-01", f"{prefix}-reason": "Moved"})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked == dt.date(2026, 2, 1) and consent.revoked_reason == "Moved"


def test_a_practitioner_attests_a_condition_chronic_on_the_patient_page(
    client: Client, nurse: User, practitioner: User, patient: Patient
) -> None:
    condition = ChronicConditionFactory(patient=patient, icd10="M54.50")
    url = f"{detail(patient)}conditions/{condition.pk}/attest-chronic/"
    signed_in(client, nurse)
    assert 'data-testid="attest-chronic-form"' not in client.get(detail(patient)).content.decode()
    assert client.post(url).status_code == 403
    signed_in(client, practitioner)
    assert "Attest chronic" in client.get(detail(patient)).content.decode()
    assert client.post(url).status_code == 302
    condition.refresh_from_db()
    assert condition.attested_chronic_by == practitioner
    html = client.get(detail(patient)).content.decode()
    assert f"By {practitioner.display_name} on" in html and "Withdraw chronic attestation" in html
    assert client.post(url, {"withdraw": "1"}).status_code == 302
    condition.refresh_from_db()
    assert condition.attested_chronic_by is None
    assert AuditEvent.objects.filter(action="condition.withdraw_chronic").count() == 1


def test_a_visit_with_an_unknown_code_shows_next_to_the_field(
    client: Client, practitioner: User, patient: Patient
) -> None:
    signed_in(client, practitioner)
    page = client.get(detail(patient)).content.decode()
    assert f'<option value="{practitioner.pk}" selected>' in page  # seen by: the caller
    response = client.post(
        f"{detail(patient)}visits/add/", {"visit-date": "2026-01-10", "visit-code": "FOO"}
    )
    assert response.status_code == 400
    assert "not a visit code" in field_error(response.content.decode(), "id_visit-code")
    assert not Visit.objects.exists()


def test_front_desk_records_a_visit(client: Client, front_desk: User, patient: Patient) -> None:
    response = signed_in(client, front_desk).post(
        f"{detail(patient)}visits/add/",
        {"visit-date": "2026-01-10", "visit-code": "99214", "visit-ccm_discussed": "on"},
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.ccm_discussed is True and visit.code == "99214"


def test_other_services_add_with_a_bad_npi_and_delete(
    client: Client, billing_user: User, patient: Patient
) -> None:
    signed_in(client, billing_user)
    url = f"{detail(patient)}other-services/add/"
    response = client.post(
        url,
        {
            "service-code": "G0182",
            "service-date": "2026-03-02",
            "service-practitioner_npi": "1234567890",
        },
    )
    assert response.status_code == 400
    assert "check digit" in field_error(response.content.decode(), "id_service-practitioner_npi")
    assert (
        client.post(url, {"service-code": "G0182", "service-date": "2026-03-02"}).status_code == 302
    )
    service = OtherService.objects.get()
    response = client.post(f"{detail(patient)}other-services/{service.pk}/delete/")
    assert response.status_code == 302
    assert not OtherService.objects.exists()


def test_deleting_in_a_closed_month_shows_a_message_and_keeps_the_row(
    client: Client, nurse: User, patient: Patient, close_month: Callable[..., BillingMonth]
) -> None:
    stay = InpatientStayFactory(
        patient=patient, admitted=dt.date(2025, 1, 3), discharged=dt.date(2025, 1, 5)
    )
    close_month(dt.date(2025, 1, 1))
    signed_in(client, nurse)
    response = client.post(f"{detail(patient)}inpatient-stays/{stay.pk}/delete/", follow=True)
    assert "2025-01 is closed" in response.content.decode()
    assert InpatientStay.objects.filter(pk=stay.pk).exists()


def test_stay_discharged_before_admitted_shows_next_to_the_field(
    client: Client, nurse: User, patient: Patient
) -> None:
    response = signed_in(client, nurse).post(
        f"{detail(patient)}inpatient-stays/add/",
        {"stay-admitted": "2026-03-12", "stay-discharged": "2026-03-11", "stay-kind": "hospital"},
    )
    assert response.status_code == 400
    assert "before the admission" in field_error(response.content.decode(), "id_stay-discharged")
    assert not InpatientStay.objects.exists()


def test_roles_that_may_not_act_get_403(
    client: Client, front_desk: User, billing_user: User, patient: Patient
) -> None:
    signed_in(client, front_desk)
    assert (
        client.post(
            f"{detail(patient)}conditions/add/",
            {"condition-icd10": "I10", "condition-onset": "2020-01-01"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"{detail(patient)}other-services/add/",
            {"service-code": "G0182", "service-date": "2026-03-02"},
        ).status_code
        == 403
    )
    signed_in(client, billing_user)
    assert (
        client.post(
            f"{detail(patient)}inpatient-stays/add/",
            {"stay-admitted": "2026-03-12", "stay-discharged": "2026-03-13"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"{detail(patient)}visits/add/", {"visit-date": "2026-01-10", "visit-code": "99214"}
        ).status_code
        == 403
    )
    assert not ChronicCondition.objects.exists()
    assert not OtherService.objects.exists()
    assert not InpatientStay.objects.exists()
    assert not Visit.objects.exists()


def test_another_practices_patient_is_404(client: Client, outsider: User, patient: Patient) -> None:
    ConsentFactory(patient=patient)
    signed_in(client, outsider)
    assert client.get(detail(patient)).status_code == 404
    assert client.get(f"{detail(patient)}edit/").status_code == 404
    assert client.get(f"{detail(patient)}care-plan/").status_code == 404
    assert (
        client.post(
            f"{detail(patient)}conditions/add/",
            {"condition-icd10": "I10", "condition-onset": "2020-01-01"},
        ).status_code
        == 404
    )
    consent = Consent.objects.get()
    assert (
        client.post(
            f"{detail(patient)}consents/{consent.pk}/revoke/",
            {f"revoke-{consent.pk}-date": "2026-02-01", f"revoke-{consent.pk}-reason": "x"},
        ).status_code
        == 404
    )
    assert not ChronicCondition.objects.exists()
    consent.refresh_from_db()
    assert consent.revoked is None


# -- care plan -------------------------------------------------------------------------


def plan_form(**fields: str) -> dict[str, str]:
    return {
        "established": "2026-01-10",
        "problems": "DM2",
        "goals": "A1c < 7.5",
        "interventions": "Monthly calls",
        **fields,
    }


def test_care_plan_versions_and_history(client: Client, nurse: User, patient: Patient) -> None:
    signed_in(client, nurse)
    url = f"{detail(patient)}care-plan/"
    assert client.get(url).status_code == 200
    response = client.post(url, plan_form(goals=""))
    assert response.status_code == 400
    assert field_error(response.content.decode(), "id_goals")
    assert client.post(url, plan_form()).status_code == 302
    assert client.post(url, plan_form(goals="A1c < 7")).status_code == 302
    assert list(CarePlan.objects.order_by("version").values_list("version", "goals")) == [
        (1, "A1c < 7.5"),
        (2, "A1c < 7"),
    ]
    html = client.get(url).content.decode()
    assert "Version 1" in html and "Version 2" in html and "A1c &lt; 7.5" in html
    assert 'value="2026-01-10"' in html  # the form starts from the current version


def test_care_plan_sign_by_the_billing_practitioner_only(
    client: Client,
    nurse: User,
    practitioner: User,
    patient: Patient,
    make_user: Callable[..., User],
) -> None:
    CarePlanFactory(patient=patient)
    url = f"{detail(patient)}care-plan/sign/"
    assert signed_in(client, nurse).post(url).status_code == 403
    colleague = make_user("practitioner", credential="DO")
    signed_in(client, colleague)
    page = client.get(f"{detail(patient)}care-plan/").content.decode()
    assert "Sign version 1" not in page and "Only the billing practitioner" in page
    assert client.post(url).status_code == 403
    signed_in(client, practitioner)
    assert "Sign version 1" in client.get(f"{detail(patient)}care-plan/").content.decode()
    assert client.post(url).status_code == 302
    plan = CarePlan.objects.get()
    assert plan.signed_by == practitioner and plan.signed_at is not None


def test_billing_staff_read_the_care_plan_but_may_not_change_it(
    client: Client, billing_user: User, patient: Patient
) -> None:
    CarePlanFactory(patient=patient)
    signed_in(client, billing_user)
    html = client.get(f"{detail(patient)}care-plan/").content.decode()
    assert "Version 1" in html and 'data-testid="care-plan-form"' not in html
    assert client.post(f"{detail(patient)}care-plan/", plan_form()).status_code == 403
    assert CarePlan.objects.count() == 1


def test_the_patient_page_query_count_does_not_grow_with_facts(
    client: Client, nurse: User, practitioner: User, patient: Patient
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    signed_in(client, nurse)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(detail(patient)).status_code == 200
        return len(captured)

    VisitFactory(patient=patient, practitioner=practitioner)
    ConsentFactory(patient=patient, recorded_by=nurse)
    before = count()
    for _ in range(3):
        VisitFactory(patient=patient, practitioner=practitioner)
        ConsentFactory(patient=patient, recorded_by=nurse)
        ChronicConditionFactory(patient=patient)
        OtherServiceFactory(patient=patient)
        InpatientStayFactory(patient=patient)
    assert count() == before
