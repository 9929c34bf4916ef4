"""The patient page leads with this month (billing.patient_page): minutes, the bar to the
next code, the findings that block or warn, Log time and Start timer, and last month's
result (the worklist row once closed, else the live decision). Front desk sees none of
it; dollar amounts only billing staff, admins and the patient's billing practitioner."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from billing.close import close_request, close_run_inline
from ccm.models import Role, User
from patients.models import ChronicCondition, Patient
from tests.billing.conftest import last_month, log_minutes
from tests.factories import log_minutes as log_today

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def section(client: Client, patient: Patient) -> str:
    html = client.get(f"/patients/{patient.pk}/").content.decode()
    found = re.search(r'<section class="card this-month".*?</section>', html, re.S)
    assert found is not None, "the patient page has no month section"
    return found.group(0)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_page_leads_with_the_month_for_the_nurse(nurse: User, patient: Patient) -> None:
    log_today(nurse, [patient], 12)
    html = signed_in(nurse).get(f"/patients/{patient.pk}/").content.decode()
    # Right after the patient's identity, before the conditions.
    assert html.index('id="patient-heading"') < html.index('data-testid="this-month"')
    assert html.index('data-testid="this-month"') < html.index('id="conditions"')
    month = section(signed_in(nurse), patient)
    assert 'data-testid="month-minutes">12<' in month
    assert 'data-percent="60"' in month  # 12 of 20 min toward 99490
    assert "8 min to 99490" in text(month)
    assert f'href="/time/log/?patient={patient.pk}"' in month
    assert 'data-testid="patient-start-timer"' in month
    assert "Nothing blocks or weakens" in text(month)
    # Last month: no time, not closed: the live decision, and no money for a nurse.
    assert "Not closed yet (live): Not billable" in text(month)
    assert "$" not in month


def test_blocks_and_warnings_are_shown(nurse: User, make_patient: Callable[..., Patient]) -> None:
    patient = make_patient()
    patient.consents.all().delete()
    log_today(nurse, [patient], 70)  # one lumped entry of 70 min: ENTRY_LUMPED warns
    shown = text(section(signed_in(nurse), patient))
    assert "Blocks billing No consent" in shown
    assert "Warning" in shown


def test_last_month_closed_shows_its_worklist_row_and_money_to_billing(
    nurse: User, billing_user: User, patient: Patient, practitioner: User
) -> None:
    log_minutes(nurse, [patient], 3, 25)
    run, _ = close_request(practice=patient.practice, month=last_month(), actor=billing_user)
    assert run is not None
    close_run_inline(run)
    for_billing = text(section(signed_in(billing_user), patient))
    assert "Closed: Non-complex CCM 99490" in for_billing
    assert "$66.30" in for_billing or "$60.49" in for_billing  # the month's own year's fee
    assert "Log time" not in for_billing  # billing staff log no time
    for_doctor = text(section(signed_in(practitioner), patient))  # the billing practitioner
    assert "$" in for_doctor
    for_nurse = text(section(signed_in(nurse), patient))
    assert "Closed: Non-complex CCM 99490" in for_nurse and "$" not in for_nurse


def test_another_practitioner_sees_no_money(
    make_user: Callable[..., User], nurse: User, patient: Patient, billing_user: User
) -> None:
    log_minutes(nurse, [patient], 3, 25)
    run, _ = close_request(practice=patient.practice, month=last_month(), actor=billing_user)
    assert run is not None
    close_run_inline(run)
    other = make_user(Role.PRACTITIONER, credential="DO")
    shown = text(section(signed_in(other), patient))
    assert "99490" in shown and "$" not in shown


def test_front_desk_sees_no_minutes_findings_or_money(
    front_desk: User, nurse: User, patient: Patient
) -> None:
    log_today(nurse, [patient], 12)
    html = signed_in(front_desk).get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="this-month"' not in html
    assert "min counted" not in html and "99490" not in html


def test_the_icd10_description_comes_from_the_code_set_when_none_was_recorded(
    nurse: User, patient: Patient
) -> None:
    ChronicCondition.objects.filter(patient=patient, icd10="E11.9").update(description="")
    html = signed_in(nurse).get(f"/patients/{patient.pk}/").content.decode()
    descriptions = re.findall(r'data-testid="condition-description">([^<]*)<', html)
    assert "Type 2 diabetes mellitus without complications" in descriptions
    assert all(descriptions), descriptions
    assert ChronicCondition.objects.get(patient=patient, icd10="E11.9").description == ""


def test_the_month_is_the_practices_current_one(nurse: User, patient: Patient) -> None:
    shown = text(section(signed_in(nurse), patient))
    assert f"This month {timezone.localdate():%B %Y}" in shown
