"""A nurse's day in the browser: the call list, logging minutes with the form, the timer
across a reload and a second tab, one activity shared by three patients, and the progress
toward the next code changing on My patients."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect

from ccm.models import BillingMonth, User
from ccm.periods import month_start
from demo.seed import DEMO_PASSWORD, seed_demo_users
from patients.models import Patient
from tests.conftest import make_eligible
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import PatientFactory
from timelog.models import TimeActivity, Timer
from timelog.services import TimeActivityInput, time_activity_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 820, "height": 1180}


def demo_patients() -> tuple[User, dict[str, Patient]]:
    """The demo nurse, and four eligible patients billed by the demo doctor; Alvarez
    already has 19 minutes this month (one short of 99490)."""
    _, users = seed_demo_users()
    by_name = {user.username: user for user in users}
    nurse, doctor = by_name["nurse"], by_name["doctor"]
    patients = {
        last: make_eligible(
            PatientFactory(
                practice=nurse.practice,
                billing_practitioner=doctor,
                first_name=first,
                last_name=last,
            )
        )
        for first, last in (
            ("Avery", "Alvarez"),
            ("Blake", "Brooks"),
            ("Casey", "Castillo"),
            ("Devon", "Dubois"),
        )
    }
    time_activity_create(
        performer=nurse,
        entry=TimeActivityInput(
            patients=[patients["Alvarez"]],
            date=timezone.localdate(),
            duration_seconds=19 * 60,
            activity="patient_call",
            note="Monthly check-in call",
        ),
    )
    return nurse, patients


def backdate_timer(patient: Patient, *, minutes: int) -> None:
    """Move the timer running for `patient` `minutes` into the past (the server's clock is
    not ours to move), active until now."""
    timer = Timer.objects.get(patients=patient)
    shift = dt.timedelta(minutes=minutes)
    timer.started_at -= shift
    timer.running_since = (timer.running_since or timezone.now()) - shift
    timer.last_active_at = timezone.now()
    timer.save()


def row(page: Page, patient: Patient) -> Locator:
    return page.locator(f'[data-testid="patient-row"][data-patient="{patient.pk}"]')


def fill_entry(page: Page, *, note: str, outcome: str = "") -> None:
    page.get_by_label("Activity").select_option(label="Patient or caregiver call")
    page.get_by_label("What was done").fill(note)
    if outcome:
        page.get_by_label("What changed").fill(outcome)


def test_nurse_logs_time_and_sees_progress(page: Page, live_server: object) -> None:
    _, patients = demo_patients()
    alvarez = patients["Alvarez"]
    base = str(live_server)
    sign_in(page, base, "nurse", DEMO_PASSWORD)

    # The call list: 19 min, one minute short of 99490.
    page.get_by_role("link", name="My patients").first.click()
    expect(page.get_by_role("heading", name=re.compile("My patients"))).to_be_visible()
    expect(row(page, alvarez).get_by_test_id("next")).to_have_text("1 min to 99490")
    expect(row(page, alvarez).get_by_test_id("progress")).to_have_attribute("data-percent", "95")
    screenshot(page, "my-patients-before")

    # Log 12 minutes with the form, from the row's "Log time".
    row(page, alvarez).get_by_role("link", name=re.compile("Log time")).click()
    expect(page.get_by_role("checkbox", name=re.compile("Alvarez, Avery"))).to_be_checked()
    expect(page.get_by_label("Date")).to_have_value(f"{timezone.localdate():%Y-%m-%d}")
    page.get_by_label("Minutes").fill("12")
    fill_entry(page, note="Reviewed glucose log with patient", outcome="Adjusted insulin timing")
    screenshot(page, "log-time")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Logged 12 min for Avery Alvarez")
    expect(page.get_by_test_id("next")).to_contain_text("9 min to 99439")
    expect(page.get_by_test_id("lines")).to_contain_text("99490")
    screenshot(page, "patient-month")

    # The timer: started from the form for Brooks, kept by the server, stopped, saved.
    page.goto(f"{base}/time/log/?patient={patients['Brooks'].pk}")
    page.get_by_role("button", name="Start timer").click()
    expect(page.get_by_test_id("timer-panel")).to_be_visible()
    fill_entry(page, note="Called pharmacy about refill")
    backdate_timer(patients["Brooks"], minutes=3)
    page.get_by_test_id("session-timer").get_by_test_id("timer-stop").click()
    expect(page.get_by_test_id("timer-panel")).to_have_attribute("data-timer-status", "paused")
    screenshot(page, "log-time-timer-stopped")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("from the timer")
    timed = TimeActivity.objects.get(shares__patient=patients["Brooks"])
    assert timed.started_at is not None
    assert timed.duration_seconds >= 180

    # One activity for three patients: filter + Enter ticks, the split is announced.
    page.goto(f"{base}/time/log/")
    picker = page.get_by_label("Find a patient")
    for name in ("Alvarez", "Castillo", "Dubois"):
        picker.fill(name.lower()[:4])
        picker.press("Enter")
    for name in ("Alvarez, Avery", "Castillo, Casey", "Dubois, Devon"):
        expect(page.get_by_role("checkbox", name=re.compile(name))).to_be_checked()
    page.get_by_label("Minutes").fill("30")
    expect(page.get_by_test_id("selection")).to_contain_text(
        "3 patients: Alvarez, Avery; Castillo, Casey; Dubois, Devon. One shared activity: "
        "each is credited 10 min of 30 min."
    )
    fill_entry(page, note="Diabetes group education call")
    screenshot(page, "log-time-shared")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(
        "Logged 30 min for 3 patients as one shared activity: each is credited 10 min."
    )

    # The call list moved: Alvarez 19 + 12 + 10 = 41 min, 99490 and a first 99439.
    page.get_by_role("link", name="My patients").first.click()
    alvarez_row = row(page, alvarez)
    expect(alvarez_row.get_by_test_id("minutes")).to_have_text("41")
    expect(alvarez_row.get_by_test_id("next")).to_have_text("19 min to 99439")
    expect(alvarez_row.get_by_test_id("codes")).to_contain_text("99490")
    expect(alvarez_row.get_by_test_id("codes")).to_contain_text("99439")
    expect(alvarez_row.get_by_test_id("progress")).to_have_attribute("data-percent", "5")
    expect(row(page, patients["Castillo"]).get_by_test_id("next")).to_have_text("10 min to 99490")
    screenshot(page, "my-patients-after")

    page.get_by_role("link", name="My entries").first.click()
    expect(page.get_by_test_id("my-entries").locator("tbody tr")).to_have_count(4)
    screenshot(page, "my-entries")
    page.get_by_role("link", name=f"Edit entry #{timed.pk}").click()
    expect(page.get_by_label("Started at")).to_have_value(re.compile(r"^\d\d:\d\d:\d\d$"))
    expect(page.get_by_role("checkbox", name=re.compile("Brooks, Blake"))).to_be_checked()
    screenshot(page, "edit-entry")
    page.get_by_role("link", name="Cancel").click()

    page.set_viewport_size(TABLET)
    page.get_by_role("link", name="My patients").first.click()
    expect(alvarez_row).to_be_visible()
    screenshot(page, "my-patients-tablet")
    page.goto(f"{base}/time/log/?patient={alvarez.pk}")
    screenshot(page, "log-time-tablet")
    page.goto(f"{base}/patients/{alvarez.pk}/months/{timezone.localdate():%Y-%m}/")
    screenshot(page, "patient-month-tablet")


def test_form_errors_show_next_to_the_fields_in_the_browser(
    page: Page, live_server: object
) -> None:
    """What only the server can tell (no patient ticked, a closed month) comes back next to
    the field, with everything typed kept."""
    nurse, patients = demo_patients()
    last_month = month_start(month_start(timezone.localdate()) - dt.timedelta(days=1))
    BillingMonth.objects.update_or_create(
        practice=nurse.practice,
        month=last_month,
        defaults={"status": BillingMonth.Status.CLOSED, "version": 1},
    )
    base = str(live_server)
    sign_in(page, base, "nurse", DEMO_PASSWORD)
    page.goto(f"{base}/time/log/")
    page.get_by_label("Minutes").fill("5")
    fill_entry(page, note="Tried to reach patient")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#err-patients")).to_have_text("Choose at least one patient.")
    expect(page.get_by_label("What was done")).to_have_value("Tried to reach patient")
    expect(page.get_by_label("Minutes")).to_have_value("5")

    page.get_by_role("checkbox", name=re.compile("Brooks, Blake")).check()
    page.get_by_label("Date").fill(f"{last_month:%Y-%m-%d}")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#err-date")).to_contain_text(
        f"The billing month {last_month:%Y-%m} is closed"
    )
    expect(page.get_by_role("checkbox", name=re.compile("Brooks, Blake"))).to_be_checked()
    screenshot(page, "log-time-error")

    page.get_by_label("Date").fill(f"{timezone.localdate():%Y-%m-%d}")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Logged 5 min for Blake Brooks")
    assert TimeActivity.objects.filter(shares__patient=patients["Brooks"]).count() == 1


def test_minutes_are_logged_without_javascript(browser: Browser, live_server: object) -> None:
    """The minutes path is a plain form post: no script needed (the timer and the filter,
    which need one, stay hidden)."""
    _, patients = demo_patients()
    base = str(live_server)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    try:
        sign_in(page, base, "nurse", DEMO_PASSWORD)
        expect(page.get_by_role("link", name=re.compile("My patients this month"))).to_be_visible()
        screenshot(page, "home-nurse-links")
        page.goto(f"{base}/time/log/?patient={patients['Dubois'].pk}")
        expect(page.get_by_label("Find a patient")).to_be_hidden()
        page.get_by_label("Minutes").fill("21")
        fill_entry(page, note="Coordinated cardiology referral")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Logged 21 min for Devon Dubois")
        expect(page.get_by_test_id("lines")).to_contain_text("99490")

        # The timer works as plain form posts too: start, then save from its form.
        page.goto(f"{base}/time/log/?patient={patients['Castillo'].pk}")
        page.get_by_role("button", name="Start timer").click()
        expect(page.get_by_test_id("session-timer")).to_contain_text("Castillo, Casey")
        expect(page.get_by_test_id("timer-panel")).to_be_visible()
        backdate_timer(patients["Castillo"], minutes=4)
        page.get_by_label("What was done").fill("Reviewed the discharge summary")
        page.get_by_role("button", name="Stop and save").click()
        expect(page.get_by_role("status").first).to_contain_text("from the timer")
        saved = TimeActivity.objects.get(shares__patient=patients["Castillo"])
        assert saved.duration_seconds >= 240
    finally:
        context.close()


def test_the_timer_can_be_discarded_with_the_keyboard(page: Page, live_server: object) -> None:
    nurse, _ = demo_patients()
    base = str(live_server)
    sign_in(page, base, "nurse", DEMO_PASSWORD)
    page.goto(f"{base}/time/log/")
    expect(page.get_by_label("Find a patient")).to_be_focused()
    page.keyboard.type("brooks")
    page.keyboard.press("Enter")
    start = page.get_by_role("button", name="Start timer")
    start.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("timer-panel")).to_be_visible()
    discard = page.get_by_role("button", name="Discard the timer")
    discard.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Start timer")).to_be_visible()
    expect(page.get_by_test_id("session-timer")).to_be_hidden()
    assert not Timer.objects.filter(user=nurse).exists()


def test_the_patient_list_is_one_tab_stop_before_the_date(page: Page, live_server: object) -> None:
    """Tab from the patient filter reaches Date in two stops, however many patients;
    the arrow keys move within the list and Space ticks."""
    nurse, _ = demo_patients()
    for number in range(40):
        PatientFactory(practice=nurse.practice, last_name=f"Zed{number:02d}", first_name="Pat")
    base = str(live_server)
    sign_in(page, base, "nurse", DEMO_PASSWORD)
    page.goto(f"{base}/time/log/")
    expect(page.get_by_label("Find a patient")).to_be_focused()
    page.keyboard.press("Tab")
    first = page.get_by_role("checkbox", name=re.compile("Alvarez, Avery"))
    expect(first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("checkbox", name=re.compile("Brooks, Blake"))).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_role("checkbox", name=re.compile("Brooks, Blake"))).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Date")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("checkbox", name=re.compile("Brooks, Blake"))).to_be_focused()
