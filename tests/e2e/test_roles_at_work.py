"""Each role's main job in the browser, at 1366 px and at 390 px (a phone), with
screenshots under artifacts/screenshots/ (issue 14, parts 4-8):

- the practice admin adds a nurse (who signs in with the one-time password and chooses
  her own) and deactivates a user, who is signed out at once;
- the biller closes the demo's previous month with a real Celery worker, searches the
  worklist, marks two claims submitted in one action, exports it and opens the reports;
- the front desk registers a patient and records a consent, and cannot reach the
  patient's month (notes, minutes, money) nor the billing pages.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from billing.models import WorklistRow
from ccm.models import AuditEvent, User
from demo.previous_month import previous_month
from demo.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo_users
from patients.models import Consent, Patient
from tests.e2e.conftest import screenshot, sign_in
from tests.workers import start_worker, stop_worker, wait_for_other_sessions_to_end

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(VIEWPORTS))
def sized(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[Page, str]]:
    """A page at 1366 px or at 390 px, and the size's name for the screenshots."""
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(15_000)
    yield context.new_page(), request.param
    context.close()


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


@pytest.fixture
def close_worker() -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker("e2e-roles")
    yield process
    stop_worker(process, kill=True)
    wait_for_other_sessions_to_end()


def test_the_admin_adds_a_nurse_and_deactivates_a_user(
    sized: tuple[Page, str], live_server: object, browser: Browser
) -> None:
    page, size = sized
    seed_demo_users()
    base = str(live_server)
    sign_in(page, base, "admin", DEMO_PASSWORD)
    page.get_by_role("link", name="Users").first.click()
    expect(page.get_by_test_id("user-row")).to_have_count(len(DEMO_USERS))
    no_sideways_scroll(page)
    screenshot(page, f"admin-users-{size}")

    page.get_by_test_id("add-user").click()
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Full name").fill("Nina Newhire")
    page.get_by_label("Role").select_option("rn")
    page.get_by_label("Credential").fill("RN")
    page.get_by_label("NPI").fill("1234567890")  # a nurse needs none; a bad one is refused
    page.get_by_role("button", name="Add user").click()
    expect(page.locator(".errorlist")).to_contain_text("check digit is wrong")
    page.get_by_label("NPI").fill("")
    screenshot(page, f"admin-add-nurse-form-{size}")
    page.get_by_role("button", name="Add user").click()
    password = page.get_by_test_id("one-time-password").inner_text()
    assert re.fullmatch(r"(\w{4}-){3}\w{4}", password)
    no_sideways_scroll(page)
    screenshot(page, f"admin-one-time-password-{size}")
    assert User.objects.get(username="nina").must_change_password

    # Nina signs in with it and must choose her own password first.
    nina = browser.new_context(viewport=page.viewport_size).new_page()
    sign_in(nina, base, "nina", password)
    expect(nina.get_by_test_id("password-required")).to_be_visible()
    nina.goto(f"{base}/my-patients/")
    expect(nina).to_have_url(f"{base}/account/password/")
    nina.get_by_label("Old password").fill(password)
    nina.get_by_label(re.compile(r"^New password:?$")).fill("Nina-chooses-her-own-42")
    nina.get_by_label("New password confirmation").fill("Nina-chooses-her-own-42")
    screenshot(nina, f"nurse-chooses-password-{size}")
    nina.get_by_role("button", name="Save password").click()
    expect(nina.locator(".messages")).to_contain_text("Your password is changed")
    nina.goto(f"{base}/my-patients/")
    expect(nina).to_have_url(f"{base}/my-patients/")

    # The admin deactivates the medical assistant, who is signed in elsewhere.
    maya = browser.new_context().new_page()
    sign_in(maya, base, "ma", DEMO_PASSWORD)
    expect(maya.get_by_test_id("signed-in-as")).to_contain_text("Maya")
    page.get_by_role("link", name="Users").first.click()
    page.get_by_role("link", name=re.compile("Maya Assistant")).click()
    page.get_by_text("Deactivate Maya Assistant").click()
    screenshot(page, f"admin-deactivate-{size}")
    page.get_by_test_id("deactivate").click()
    expect(page.locator(".messages")).to_contain_text("signed out everywhere")
    expect(page.get_by_test_id("user-status")).to_have_text("inactive")
    screenshot(page, f"admin-deactivated-{size}")
    maya.goto(f"{base}/my-patients/")
    expect(maya).to_have_url(re.compile(r"/login/"))
    assert AuditEvent.objects.filter(action="user.deactivate").count() == 1
    nina.context.close()
    maya.context.close()


def test_the_biller_closes_the_previous_month_and_works_the_worklist(
    sized: tuple[Page, str],
    live_server: object,
    close_worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    page, size = sized
    call_command("seed_demo", stdout=io.StringIO())
    month = previous_month(timezone.localdate())
    base = str(live_server)
    sign_in(page, base, "billing", DEMO_PASSWORD)
    page.get_by_role("link", name="Billing", exact=True).first.click()
    expect(page.get_by_test_id("month-status")).to_have_text("open")
    screenshot(page, f"biller-dashboard-before-close-{size}")
    page.get_by_role("button", name=f"Close {month:%B %Y}").click()
    expect(page.get_by_test_id("month-status")).to_have_text("closed", timeout=90_000)
    expect(page.get_by_test_id("closed-total")).to_be_visible()  # the page reloaded closed
    expect(page.get_by_test_id("count-ready")).not_to_have_text("0")
    no_sideways_scroll(page)
    screenshot(page, f"biller-dashboard-closed-{size}")

    page.get_by_role("link", name="Open the worklist").click()
    rows = page.get_by_test_id("worklist-row")
    closed = WorklistRow.objects.filter(month=month).count()
    expect(page.get_by_test_id("worklist-summary")).to_contain_text(f"{closed} rows")
    expect(rows).to_have_count(min(closed, 50))  # 50 a page
    # One line per row: the findings are folded until opened.
    capped = rows.filter(has_text="Cole, Cyrus")
    expect(capped.get_by_test_id("findings")).to_contain_text("2 advice")
    expect(capped.get_by_text("beyond the last billed unit")).to_be_hidden()
    capped.locator("summary").click()
    expect(capped.get_by_text("beyond the last billed unit")).to_be_visible()
    no_sideways_scroll(page)
    screenshot(page, f"biller-worklist-{size}")

    page.get_by_test_id("worklist-search").fill("walsh")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    for row in rows.all():
        row.get_by_test_id("select-row").check()
    expect(page.get_by_text("2 selected")).to_be_visible()
    screenshot(page, f"biller-worklist-selected-{size}")
    page.get_by_test_id("bulk-submit").click()
    expect(page.locator(".messages")).to_contain_text("2 claims marked submitted.")
    expect(rows.get_by_test_id("status")).to_have_text(["Submitted", "Submitted"])
    expect(page.get_by_test_id("worklist-search")).to_have_value("walsh")
    screenshot(page, f"biller-worklist-submitted-{size}")
    walsh = WorklistRow.objects.filter(month=month, patient__last_name="Walsh")
    assert {row.status for row in walsh} == {"submitted"}

    page.get_by_role("link", name="Clear").click()
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    target = tmp_path / "worklist.csv"
    download.value.save_as(target)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("mrn,patient_name,") and len(lines) > 25

    page.get_by_role("link", name="Reports").first.click()
    expect(page.get_by_test_id("revenue-chart").locator("rect")).not_to_have_count(0)
    expect(page.get_by_test_id("minutes-chart").locator("rect")).not_to_have_count(0)
    expect(page.get_by_test_id("missed-row")).not_to_have_count(0)
    no_sideways_scroll(page)
    screenshot(page, f"biller-reports-{size}")


def test_the_front_desk_registers_a_patient_and_reaches_no_notes_or_money(
    sized: tuple[Page, str], live_server: object
) -> None:
    page, size = sized
    call_command("seed_demo", stdout=io.StringIO())
    base = str(live_server)
    sign_in(page, base, "frontdesk", DEMO_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    for hidden in ("My patients", "Billing", "Worklist", "Reports", "Users"):
        expect(nav.get_by_role("link", name=hidden, exact=True)).to_have_count(0)
    page.get_by_role("link", name="Patients", exact=True).first.click()
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("MRN").fill("FD-0001")
    page.get_by_label("First name").fill("Frida")
    page.get_by_label("Last name").fill("Front")
    page.get_by_label("Birth date").fill("1950-04-04")
    page.get_by_label("Billing practitioner").select_option(label="Dr. Diane Doctor, MD")
    screenshot(page, f"frontdesk-register-{size}")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".messages")).to_contain_text("Front was registered")
    expect(page.get_by_role("heading", name="Consents")).to_be_visible()
    expect(page.get_by_role("heading", name="Visits")).to_be_visible()
    for clinical in ("Chronic conditions", "Care plan", "Inpatient stays"):
        expect(page.get_by_role("heading", name=clinical)).to_have_count(0)

    page.get_by_text("Record a consent").click()
    consent = page.get_by_test_id("consent-form")
    consent.get_by_label("Date").fill(f"{timezone.localdate():%Y-%m-%d}")
    consent.get_by_label("Verbal").check()
    for box in consent.locator("input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Record consent").click()
    expect(page.locator(".messages")).to_contain_text("Consent recorded")
    no_sideways_scroll(page)
    screenshot(page, f"frontdesk-patient-{size}")
    frida = Patient.objects.get(mrn="FD-0001")
    assert Consent.objects.filter(patient=frida).count() == 1

    # A patient with notes and money this month: the front desk cannot open it by URL.
    busy = Patient.objects.get(mrn="P-2004")
    page.goto(f"{base}/patients/{busy.pk}/months/{previous_month(timezone.localdate()):%Y-%m}/")
    expect(page.get_by_test_id("error-page")).to_contain_text("not part of your work")
    body = page.content()
    assert "$" not in body and "Two unstable conditions" not in body
    no_sideways_scroll(page)
    screenshot(page, f"frontdesk-403-{size}")
    page.get_by_test_id("error-home").click()
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/billing/worklist/")
    expect(page.get_by_test_id("error-page")).to_be_visible()
