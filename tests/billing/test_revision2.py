"""Issue 12 (billing rules revision 2) through the app: each scenario seen on main is a
test here, through the API and the pages, failing on the code before revision 2 (the
engine's rules and this branch's facts, pages and fees).

(The re-close bullet is tests/billing/test_reclose.py; the FOO visit code
tests/patients/test_api_visits.py; the MDM queue's dollars
tests/billing/test_billing_pages.py.)"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from billing.close import close_request, close_run_inline
from billing.models import FeeScheduleEntry
from billing.rules.rulebooks import RULEBOOKS
from billing.selectors import patient_month_decision, patient_month_facts, practice_rulebook
from ccm.models import Practice, Role, User
from patients.models import ChronicCondition, Consent, Patient, Visit
from tests.billing.conftest import last_month
from tests.conftest import make_eligible
from tests.factories import PatientFactory, UserFactory
from timelog.models import TimeActivity, TimeShare

pytestmark = pytest.mark.django_db

NOTES = iter(f"Call {n}: reviewed symptoms and medications" for n in range(10_000))


def log(client: APIClient, patient: Patient, minutes: int, day: dt.date, **extra: object) -> None:
    """Minutes through the API, each entry with its own note (a copied note is a finding
    of its own)."""
    response = client.post(
        "/api/time-entries/",
        {
            "patients": [patient.pk],
            "date": day.isoformat(),
            "minutes": minutes,
            "activity": "patient_call",
            "note": next(NOTES),
            **extra,
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def month_api(client: APIClient, patient: Patient, month: dt.date) -> dict[str, Any]:
    response = client.get(f"/api/patients/{patient.pk}/months/{month:%Y-%m}/")
    assert response.status_code == 200, response.content
    decision: dict[str, Any] = response.json()["decision"]
    return decision


def rules_of(decision: dict[str, Any]) -> set[str]:
    return {finding["rule"] for finding in decision["findings"]}


def close(practice: Practice, month: dt.date) -> None:
    run, claimed = close_request(practice=practice, month=month, actor=None)
    assert claimed and run is not None
    close_run_inline(run)


# -- 99490 billed elsewhere by the same practitioner -----------------------------------


def test_ccm_billed_elsewhere_by_the_same_practitioner_is_not_billed_again(
    patient: Patient,
    nurse: User,
    billing_user: User,
    practitioner: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    month = last_month()
    log(api_client_for(nurse), patient, 25, month.replace(day=3))
    recorded = api_client_for(billing_user).post(
        f"/api/patients/{patient.pk}/other-services/",
        {
            "code": "99490",
            "date": month.replace(day=20).isoformat(),
            "practitioner_npi": practitioner.npi,
        },
        format="json",
    )
    assert recorded.status_code == 201, recorded.content
    decision = month_api(api_client_for(billing_user), patient, month)
    assert decision["billable"] is False and "DUPLICATE_CCM" in rules_of(decision)


# -- a second practitioner's time --------------------------------------------------------


@pytest.fixture
def second_practitioner(practice: Practice) -> User:
    return UserFactory(
        practice=practice,
        role=Role.PRACTITIONER,
        full_name="Dr. Paul Second",
        credential="DO",
        npi="1245319599",
    )


def test_a_second_practitioners_time_is_not_the_billing_practitioners_99491(
    patient: Patient,
    second_practitioner: User,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    month = last_month()
    log(api_client_for(second_practitioner), patient, 35, month.replace(day=4))
    decision = month_api(api_client_for(billing_user), patient, month)
    assert decision["tier"] != "practitioner"
    assert [line["code"] for line in decision["lines"]] == ["99490"]
    (finding,) = [f for f in decision["findings"] if f["rule"] == "ENTRY_OTHER_PRACTITIONER"]
    assert "Dr. Paul Second, DO" in finding["message"]


def test_findings_name_people_in_the_worklist_csv_api_and_pages(
    practice: Practice,
    patient: Patient,
    nurse: User,
    second_practitioner: User,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    """Issue 12: findings said "U5". Everywhere a finding is shown, a person is named."""
    month = last_month()
    log(api_client_for(nurse), patient, 25, month.replace(day=3))
    log(api_client_for(second_practitioner), patient, 15, month.replace(day=4))
    close(practice, month)
    refs = re.compile(r"\bU\d+\b")
    client = api_client_for(billing_user)

    rows = client.get("/api/worklist/", {"month": f"{month:%Y-%m}"}).json()["results"]
    messages = [f["message"] for row in rows for f in row["findings"]]
    assert any("Dr. Paul Second, DO" in message for message in messages), messages
    assert not [message for message in messages if refs.search(message)]
    export = client.get("/api/worklist/export/", {"month": f"{month:%Y-%m}"})
    body = b"".join(export.streaming_content).decode()
    findings = [row["findings"] for row in csv.DictReader(io.StringIO(body))]
    assert any("Dr. Paul Second, DO" in cell for cell in findings)
    assert not [cell for cell in findings if refs.search(cell)]
    assert not refs.search(str(month_api(client, patient, month)["findings"]))

    page = Client()
    page.force_login(billing_user)
    for url in (
        f"/billing/worklist/?month={month:%Y-%m}",
        f"/patients/{patient.pk}/months/{month:%Y-%m}/",
    ):
        html = page.get(url).content.decode()
        assert "Dr. Paul Second, DO" in html, url
        assert not refs.search(html[html.index("<main") :]), url


# -- fees by the month's own year ---------------------------------------------------------


def test_a_practice_schedule_loaded_for_2027_prices_2027_months(
    practice: Practice, billing_user: User, api_client_for: Callable[..., APIClient]
) -> None:
    """Issue 12: the practice fees were looked up by the fallback rulebook's year
    (2026), so a schedule loaded for 2027 was ignored for 2027 months."""
    fees_2027 = {
        code: Decimal("100.00") + n for n, code in enumerate(sorted(RULEBOOKS["2026"].fees))
    }
    for code, amount in fees_2027.items():
        FeeScheduleEntry.objects.create(practice=practice, code=code, year=2027, amount=amount)
    rulebook = practice_rulebook(practice, dt.date(2027, 3, 1))
    assert rulebook.priced_year == 2027 and rulebook.fee("99490") == fees_2027["99490"]
    assert practice_rulebook(practice, dt.date(2026, 3, 1)).fee("99490") == Decimal("66.30")

    facts = {
        "month": "2027-03",
        "billing_practitioner": "P1",
        "patient": {
            "chronic_conditions": [
                {"icd10": "E11.9", "onset": "2019-05-01"},
                {"icd10": "I50.22", "onset": "2021-02-01"},
            ],
            "consents": [{"date": "2027-01-10", "billing_practitioner": "P1"}],
            "prior_visit_date": "2026-11-03",
            "care_plan": {"established": "2027-01-10"},
        },
        "time_entries": [
            {"id": "e1", "date": "2027-03-02", "minutes": 25, "performer": "clinical_staff"}
        ],
    }
    decision = api_client_for(billing_user).post("/api/billing/evaluate/", facts, format="json")
    assert decision.status_code == 200, decision.content
    assert decision.json()["total_amount"] == f"{fees_2027['99490']:.2f}"


def test_a_partial_schedule_keeps_the_rulebooks_year_for_the_other_codes(
    practice: Practice,
) -> None:
    FeeScheduleEntry.objects.create(practice=practice, code="99490", year=2027, amount=70)
    rulebook = practice_rulebook(practice, dt.date(2027, 3, 1))
    assert rulebook.fee("99490") == Decimal("70.00") and rulebook.fee("99439") == Decimal("50.56")
    assert rulebook.priced_year == 2026  # the engine then says FEES_FROM_OTHER_YEAR


def _eligible_in(practitioner: User, practice: Practice, since: dt.date) -> Patient:
    patient = PatientFactory(practice=practice, billing_practitioner=practitioner)
    return make_eligible(patient, since=since)


def test_a_march_2024_month_is_priced_at_the_nearest_shipped_year(
    practice: Practice, practitioner: User, nurse: User, api_client_for: Callable[..., APIClient]
) -> None:
    patient = _eligible_in(practitioner, practice, dt.date(2023, 6, 1))
    log(api_client_for(nurse), patient, 25, dt.date(2024, 3, 4))
    decision = month_api(api_client_for(nurse), patient, dt.date(2024, 3, 1))
    assert decision["total_amount"] == "60.49"  # 2025's fee, not 2026's 66.30


def test_a_march_2024_month_says_its_fees_are_of_another_year(
    practice: Practice, practitioner: User, nurse: User, api_client_for: Callable[..., APIClient]
) -> None:
    patient = _eligible_in(practitioner, practice, dt.date(2023, 6, 1))
    log(api_client_for(nurse), patient, 25, dt.date(2024, 3, 4))
    decision = month_api(api_client_for(nurse), patient, dt.date(2024, 3, 1))
    (finding,) = [f for f in decision["findings"] if f["rule"] == "FEES_FROM_OTHER_YEAR"]
    assert "2025" in finding["message"]


# -- the 12-month rule's facts -----------------------------------------------------------


def test_a_visit_by_nobody_known_is_not_the_prior_visit(patient: Patient) -> None:
    """Issue 12: a visit with no practitioner (and any code) satisfied the 12-month rule.
    Only the billing practitioner's qualifying visits on or before CCM began count."""
    month = dt.date(2026, 3, 1)
    Visit.objects.filter(patient=patient).delete()
    Visit.objects.create(patient=patient, date=dt.date(2024, 12, 1), code="99214")
    Visit.objects.create(
        patient=patient,
        date=dt.date(2024, 12, 2),
        code="99211",
        practitioner=patient.billing_practitioner,
    )
    Visit.objects.create(  # after CCM began (2025-01-10): says nothing of the rule
        patient=patient,
        date=dt.date(2025, 2, 1),
        code="99214",
        practitioner=patient.billing_practitioner,
    )
    facts = patient_month_facts(patient=patient, month=month)
    assert facts["patient"]["prior_visit_date"] is None
    Visit.objects.create(
        patient=patient,
        date=dt.date(2024, 11, 20),
        code="G0439",
        practitioner=patient.billing_practitioner,
    )
    facts = patient_month_facts(patient=patient, month=month)
    assert facts["patient"]["prior_visit_date"] == "2024-11-20"


def test_the_initiating_visit_is_the_billing_practitioners_latest(
    patient: Patient, second_practitioner: User
) -> None:
    """Issue 12: a 2020 initiating visit initiated CCM that began in 2026 (the builder
    took the first visit at which CCM was discussed)."""
    month = dt.date(2026, 3, 1)
    Visit.objects.filter(patient=patient).delete()
    Consent.objects.filter(patient=patient).update(date=dt.date(2026, 1, 12))
    own = patient.billing_practitioner
    Visit.objects.create(
        patient=patient,
        date=dt.date(2020, 5, 1),
        code="99214",
        ccm_discussed=True,
        practitioner=own,
    )
    Visit.objects.create(
        patient=patient,
        date=dt.date(2026, 1, 12),
        code="99215",
        ccm_discussed=True,
        practitioner=own,
    )
    Visit.objects.create(  # another practitioner's, later: not the billing practitioner's
        patient=patient,
        date=dt.date(2026, 2, 1),
        code="99214",
        ccm_discussed=True,
        practitioner=second_practitioner,
    )
    initiating = patient_month_facts(patient=patient, month=month)["patient"]["initiating_visit"]
    assert initiating == {
        "date": "2026-01-12",
        "code": "99215",
        "ccm_discussed": True,
        "practitioner": f"U{own.pk}",
    }


def test_ccm_began_is_the_earliest_consent_that_counts(patient: Patient) -> None:
    """A revoked consent of years ago is not when this CCM began."""
    month = dt.date(2026, 3, 1)
    own = patient.billing_practitioner
    Consent.objects.filter(patient=patient).update(date=dt.date(2025, 6, 1))
    Consent.objects.create(
        patient=patient,
        date=dt.date(2019, 1, 1),
        revoked=dt.date(2019, 6, 1),
        method="verbal",
        billing_practitioner=own,
    )
    Visit.objects.create(patient=patient, date=dt.date(2025, 5, 2), code="99213", practitioner=own)
    assert patient_month_facts(patient=patient, month=month)["patient"]["prior_visit_date"] == (
        "2025-05-02"
    )


# -- an empty credential -------------------------------------------------------------------


def test_a_blank_credential_never_makes_the_month_refused(
    patient: Patient, nurse: User, billing_user: User, api_client_for: Callable[..., APIClient]
) -> None:
    """Issue 12: a front-desk entry with an empty credential made the engine refuse the
    whole patient-month ("credential: must not be empty")."""
    month = last_month()
    front_desk = UserFactory(practice=patient.practice, role=Role.FRONT_DESK, credential="  ")
    log(api_client_for(nurse), patient, 25, month.replace(day=3))
    for credential in ("", "  "):
        activity = TimeActivity.objects.create(
            practice=patient.practice,
            performer=front_desk,
            performer_kind="non_clinical",
            performer_credential=credential,
            date=month.replace(day=5),
            duration_seconds=600,
            activity="other",
            note="Scheduled the visit",
            patient_count=1,
        )
        TimeShare.objects.create(
            activity=activity, patient=patient, date=activity.date, seconds=600
        )
    facts = patient_month_facts(patient=patient, month=month)
    assert [e["credential"] for e in facts["time_entries"]] == ["RN", None, None]
    _, decision = patient_month_decision(patient=patient, month=month)
    assert decision.billable
    answer = month_api(api_client_for(billing_user), patient, month)
    assert answer["billable"] is True


def test_the_engine_api_takes_an_empty_credential(
    billing_user: User, api_client_for: Callable[..., APIClient]
) -> None:
    facts = {
        "month": "2026-03",
        "billing_practitioner": "P1",
        "patient": {
            "chronic_conditions": [
                {"icd10": "E11.9", "onset": "2019-05-01"},
                {"icd10": "I50.22", "onset": "2021-02-01"},
            ],
            "consents": [{"date": "2026-01-10", "billing_practitioner": "P1"}],
            "prior_visit_date": "2025-11-03",
            "care_plan": {"established": "2026-01-10", "signed_by": "P1"},
        },
        "time_entries": [
            {
                "id": "e1",
                "date": "2026-03-02",
                "minutes": 25,
                "performer": "clinical_staff",
                "credential": "RN",
            },
            {
                "id": "e2",
                "date": "2026-03-03",
                "minutes": 5,
                "performer": "non_clinical",
                "credential": "",
            },
        ],
    }
    response = api_client_for(billing_user).post("/api/billing/evaluate/", facts, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["billable"] is True


# -- chronic conditions ---------------------------------------------------------------------


def test_an_acute_code_does_not_count_until_a_practitioner_attests_it(
    patient: Patient,
    nurse: User,
    practitioner: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    month = last_month()
    ChronicCondition.objects.filter(patient=patient, icd10="I50.22").delete()
    back = ChronicCondition.objects.create(
        patient=patient, icd10="M54.50", onset=dt.date(2019, 5, 1)
    )
    log(api_client_for(nurse), patient, 25, month.replace(day=3))
    before = month_api(api_client_for(nurse), patient, month)
    assert before["billable"] is False
    assert {"CONDITION_NOT_CHRONIC", "ELIGIBILITY_CONDITIONS"} <= rules_of(before)
    attested = api_client_for(practitioner).post(
        f"/api/patients/{patient.pk}/conditions/{back.pk}/attest-chronic/"
    )
    assert attested.status_code == 200
    after = month_api(api_client_for(nurse), patient, month)
    assert after["billable"] is True and "M54.50" in after["diagnoses"]
