"""The billing pages in the browser: a practitioner attests MDM from the queue; a billing
user closes a month from the dashboard with a real Celery worker, watches the progress
reach closed, works the worklist (filter, a status change), and downloads the CSV; the
entry of a service billed elsewhere with the searchable patient list."""

from __future__ import annotations

import csv
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django import Settings

from billing.models import CloseChunk, CloseRun, MdmAttestation, WorklistRow
from billing.services import mdm_attest
from billing.worklist import EXPORT_HEADER
from ccm.models import BillingMonth, User
from demo.seed import DEMO_PASSWORD, seed_demo_users
from patients.models import OtherService, Patient
from tests.billing.conftest import last_month, log_minutes
from tests.conftest import make_eligible
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import PatientFactory
from tests.workers import start_worker, stop_worker, wait_for_other_sessions_to_end

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 820, "height": 1180}
INTERFACE_HEADER = (
    "mrn,patient_name,birth_date,billing_practitioner,npi,service_month,service_date,tier,"
    "code,units,amount,diagnoses,counted_minutes,status,findings"
)


def demo_team() -> dict[str, User]:
    _, users = seed_demo_users()
    return {user.username: user for user in users}


def new_patient(doctor: User, first: str, last: str, *, eligible: bool = True) -> Patient:
    patient = PatientFactory(
        practice=doctor.practice, billing_practitioner=doctor, first_name=first, last_name=last
    )
    return make_eligible(patient) if eligible else patient


@pytest.fixture
def close_worker() -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker on the test database; each chunk pauses 0.7 s so the
    progress is visible."""
    process = start_worker("e2e-close", CCM_CLOSE_CHUNK_PAUSE_SECONDS="0.7")
    yield process
    stop_worker(process, kill=True)
    wait_for_other_sessions_to_end()


def test_practitioner_attests_mdm_from_the_queue(page: Page, live_server: object) -> None:
    team = demo_team()
    doctor, nurse = team["doctor"], team["nurse"]
    dale = new_patient(doctor, "Dmitri", "Dale")
    evans = new_patient(doctor, "Esther", "Evans")
    today = timezone.localdate()
    month = today.replace(day=1)
    log_minutes(nurse, [dale], today.day, 64, month=month)
    log_minutes(nurse, [evans], today.day, 92, month=month)
    base = str(live_server)

    sign_in(page, base, "doctor", DEMO_PASSWORD)
    page.goto(f"{base}/billing/mdm-queue/")
    row = page.locator(f'[data-testid="queue-row"][data-patient="{dale.pk}"]')
    expect(row).to_be_visible()
    expect(row.get_by_test_id("minutes")).to_have_text("64")
    expect(row.get_by_test_id("conditions")).to_contain_text("E11.9")
    expect(row).not_to_contain_text("$")
    expect(page.locator('[data-testid="queue-row"]')).to_have_count(2)
    screenshot(page, "billing-mdm-queue")

    row.get_by_label("Level").select_option("high")
    row.get_by_label("Note").fill("Worsening CHF and CKD: diuretic and ACE inhibitor changed")
    row.get_by_role("button", name=re.compile("Attest")).click()

    expect(page.locator(".messages")).to_contain_text("High MDM attested for Dale, Dmitri")
    expect(row).to_have_count(0)
    expect(page.locator('[data-testid="queue-row"]')).to_have_count(1)
    signed = page.get_by_test_id("signed-row").filter(has_text="Dale")
    expect(signed).to_contain_text("Worsening CHF")
    expect(signed).to_contain_text("64")
    screenshot(page, "billing-mdm-queue-attested")
    attestation = MdmAttestation.objects.get(patient=dale, month=month)
    assert (attestation.level, attestation.practitioner_id) == ("high", doctor.pk)


def test_billing_closes_a_month_with_a_worker_and_works_the_worklist(
    page: Page,
    live_server: object,
    settings: Settings,
    close_worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    team = demo_team()
    doctor, nurse = team["doctor"], team["nurse"]
    month = last_month()
    anders = new_patient(doctor, "Alice", "Anders")  # 45 min: 99490 + 99439
    baker = new_patient(doctor, "Bruno", "Baker")  # 95 min + MDM: 99487 + 99489
    cruz = new_patient(doctor, "Carmen", "Cruz")  # no consent: not billable
    cruz.consents.all().delete()
    dale = new_patient(doctor, "Dmitri", "Dale")  # 10 min: not billable
    gomez = new_patient(doctor, "Grace", "Gomez")  # practitioner alone 35 min: 99491
    log_minutes(nurse, [anders], 3, 45)
    for day in (4, 11, 18):
        log_minutes(nurse, [baker], day, 30)
    log_minutes(nurse, [baker], 19, 5)
    log_minutes(nurse, [cruz], 5, 30)
    log_minutes(nurse, [dale], 6, 10)
    log_minutes(doctor, [gomez], 7, 35)
    mdm_attest(practitioner=doctor, patient=baker, month=month, level="moderate", note="Two")
    base = str(live_server)

    sign_in(page, base, "billing", DEMO_PASSWORD)
    page.goto(f"{base}/billing/")
    expect(page.get_by_test_id("month-status")).to_have_text("open")
    expect(page.get_by_test_id("projection-ready")).to_have_text("3")
    expect(page.get_by_test_id("projection-not_billable")).to_have_text("2")
    screenshot(page, "billing-dashboard-projection")

    page.get_by_role("button", name=f"Close {month:%B %Y}").click()
    expect(page.get_by_test_id("close-progress-text")).to_contain_text("of 3 chunks done")
    screenshot(page, "billing-dashboard-closing")
    expect(page.get_by_test_id("month-status")).to_have_text("closed", timeout=90_000)
    expect(page.get_by_test_id("count-ready")).to_have_text("3")
    expect(page.get_by_test_id("count-not_billable")).to_have_text("2")
    expect(page.get_by_test_id("revenue")).to_contain_text("99487")
    screenshot(page, "billing-dashboard-closed")
    billing_month = BillingMonth.objects.get(practice=doctor.practice, month=month)
    assert (billing_month.status, billing_month.version) == ("closed", 1)
    run = CloseRun.objects.get(practice=doctor.practice, month=month)
    assert run.chunks_total == 3 and CloseChunk.objects.filter(run=run, done=True).count() == 3
    assert WorklistRow.objects.filter(month=month, version=1).count() == 5

    page.get_by_role("link", name="Open the worklist").click()
    rows = page.get_by_test_id("worklist-row")
    expect(rows).to_have_count(5)
    page.set_viewport_size(TABLET)
    screenshot(page, "billing-worklist-tablet")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_label("Status").select_option(label="Not billable")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    expect(page.locator(f'[data-testid="worklist-row"][data-patient="{cruz.pk}"]')).to_contain_text(
        "No consent"
    )
    expect(page.locator(f'[data-testid="worklist-row"][data-patient="{dale.pk}"]')).to_contain_text(
        "Not enough time yet"
    )
    expect(page.get_by_test_id("export-csv")).to_have_attribute(
        "href", re.compile(r"status=not_billable")
    )
    screenshot(page, "billing-worklist-not-billable")

    page.get_by_role("link", name="Clear").click()
    anders_row = page.locator(f'[data-testid="worklist-row"][data-patient="{anders.pk}"]')
    anders_row.get_by_role("button", name=re.compile("Mark submitted")).click()
    expect(page.locator(".messages")).to_contain_text("Anders, Alice: Ready → Submitted.")
    expect(anders_row.get_by_test_id("status")).to_have_text("Submitted")

    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    target = tmp_path / "worklist.csv"
    download_info.value.save_as(target)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == INTERFACE_HEADER == ",".join(EXPORT_HEADER)
    # One line per claim line of the billable rows: 2 + 2 + 1.
    assert len(lines) == 1 + 5
    records = list(csv.DictReader(lines))
    assert sorted(r["code"] for r in records) == ["99439", "99487", "99489", "99490", "99491"]
    submitted = [r for r in records if r["patient_name"] == "Anders, Alice"]
    assert {r["status"] for r in submitted} == {"submitted"}


def test_billing_records_a_service_billed_elsewhere(page: Page, live_server: object) -> None:
    team = demo_team()
    doctor = team["doctor"]
    new_patient(doctor, "Alice", "Anders")
    hayes = new_patient(doctor, "Henry", "Hayes")
    new_patient(doctor, "Ines", "Ibarra")
    base = str(live_server)

    sign_in(page, base, "billing", DEMO_PASSWORD)
    page.goto(f"{base}/billing/other-services/new/")
    page.get_by_label("Find a patient").fill("hay")
    page.get_by_label("Find a patient").press("Enter")
    expect(page.get_by_label("Patient", exact=True)).to_have_value(str(hayes.pk))
    page.get_by_label("Code", exact=True).fill("G0182")
    page.get_by_label("Practitioner NPI (optional)").fill("1234567890")
    page.get_by_role("button", name="Record the service").click()
    expect(page.locator(".errorlist")).to_contain_text("check digit is wrong")
    page.get_by_label("Practitioner NPI (optional)").fill("")
    page.get_by_label("Note", exact=True).fill("Hospice election notice from the agency")
    screenshot(page, "billing-other-service-form")
    page.get_by_role("button", name="Record the service").click()

    expect(page.locator(".messages")).to_contain_text("G0182 on")
    expect(page.locator("tr.just-recorded")).to_contain_text("Hayes, Henry")
    screenshot(page, "billing-other-service-recorded")
    service = OtherService.objects.get(patient=hayes)
    assert (service.code, service.date) == ("G0182", timezone.localdate())
