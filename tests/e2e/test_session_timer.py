"""The session timer in a real browser: started from a patient's row, it survives a
reload, follows the nurse to other pages and a second tab, keeps what was typed, asks
"still working?" when the page's clock says ten minutes passed without activity, keeps or
drops the idle time as answered, and saves work across midnight as one entry per day.
The saved entries' seconds are checked in the database against the timer's own record.

The server's clock is not ours to move: a test moves the timer's stored instants into
the past instead (as if started then), and Playwright's page.clock moves the page's."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Locator, Page, expect

from ccm.models import User
from demo.seed import DEMO_PASSWORD
from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_clinical_pages import demo_patients, fill_entry, row
from tests.workers import wait_for
from timelog.models import TimeActivity, Timer
from timelog.timer.span import Segment, segments_from_json, segments_to_json

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ZONE = timezone.get_default_timezone()


def local(day: dt.date, clock: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=ZONE)


def backdate(user: User, *, minutes: int, quiet_for: int = 0) -> Timer:
    """Move the user's timer `minutes` into the past, with its last activity `quiet_for`
    minutes ago (the page's clock is moved by as much, where it matters)."""
    timer = Timer.objects.get(user=user)
    shift = dt.timedelta(minutes=minutes)
    now = timezone.now().replace(microsecond=0)
    timer.started_at -= shift
    if timer.running_since is not None:
        timer.running_since -= shift
    timer.worked = segments_to_json(
        Segment(s.start - shift, s.end - shift) for s in segments_from_json(timer.worked)
    )
    timer.last_active_at = now - dt.timedelta(minutes=quiet_for)
    timer.save()
    return timer


def worked_seconds_stored(user: User) -> int:
    """The seconds a paused timer holds, from its stored segments."""
    timer = Timer.objects.get(user=user)
    assert timer.running_since is None, "the timer should be paused (stopped) here"
    return sum(segment.seconds for segment in segments_from_json(timer.worked))


def header(page: Page) -> Locator:
    return page.get_by_test_id("session-timer")


def test_the_timer_follows_the_nurse_and_stops_into_the_form(
    page: Page, live_server: object
) -> None:
    nurse, patients = demo_patients()
    brooks = patients["Brooks"]
    base = str(live_server)
    page.clock.install()
    sign_in(page, base, "nurse", DEMO_PASSWORD)

    # Start from the patient's row on My patients: the header shows it at once.
    page.get_by_role("link", name="My patients").first.click()
    page.get_by_role("link", name="All").click()
    row(page, brooks).get_by_role("button", name=re.compile("Start timer")).click()
    expect(header(page)).to_be_visible()
    expect(header(page).get_by_test_id("timer-patients")).to_have_text("Brooks, Blake")
    expect(header(page)).to_have_attribute("data-timer-status", "running")
    timer = Timer.objects.get(user=nurse)
    assert list(timer.patients.all()) == [brooks]
    page.clock.run_for(5000)
    expect(header(page).get_by_test_id("header-timer-clock")).not_to_have_text("0:00")
    # One timer at a time: a second start says which one runs, and starts nothing.
    row(page, patients["Castillo"]).get_by_role("button", name=re.compile("Start timer")).click()
    expect(header(page).get_by_test_id("timer-message")).to_contain_text(
        "A timer is already running for Brooks, Blake"
    )
    expect(header(page).get_by_test_id("timer-patients")).to_have_text("Brooks, Blake")
    assert Timer.objects.filter(user=nurse).count() == 1
    screenshot(page, "timer-my-patients-row")

    # Reload, then another page through the menu: still there, still the same timer.
    page.reload()
    expect(header(page).get_by_test_id("timer-patients")).to_have_text("Brooks, Blake")
    page.get_by_role("link", name="Patients", exact=True).click()
    expect(header(page)).to_have_attribute("data-timer-status", "running")
    page.locator("main").get_by_role("link", name=re.compile("Brooks")).first.click()
    expect(page.get_by_test_id("this-month")).to_be_visible()
    expect(header(page).get_by_test_id("timer-patients")).to_have_text("Brooks, Blake")
    screenshot(page, "timer-patient-page")

    # A second tab sees it; a pause there reaches this tab without a reload.
    second = page.context.new_page()
    second.goto(f"{base}/time/mine/")
    expect(header(second).get_by_test_id("timer-patients")).to_have_text("Brooks, Blake")
    header(second).get_by_role("button", name="Pause").click()
    expect(header(second)).to_have_attribute("data-timer-status", "paused")
    expect(header(page)).to_have_attribute("data-timer-status", "paused")
    header(page).get_by_role("button", name="Resume").click()
    expect(header(second)).to_have_attribute("data-timer-status", "running")
    second.close()

    # What is typed on the timer's form is kept with the timer: a reload shows it.
    page.get_by_test_id("session-timer").get_by_test_id("timer-patients").click()
    expect(page.get_by_test_id("timer-panel")).to_be_visible()
    expect(page.get_by_role("checkbox", name=re.compile("Brooks, Blake"))).to_be_checked()
    fill_entry(page, note="Called pharmacy about the refill")
    wait_for(lambda: Timer.objects.get(user=nurse).note == "Called pharmacy about the refill")
    page.reload()
    expect(page.get_by_label("What was done")).to_have_value("Called pharmacy about the refill")
    expect(page.get_by_label("Activity")).to_have_value("patient_call")

    # Stop in the header: paused, and the form shows the day, start and end to confirm.
    backdate(nurse, minutes=7)
    header(page).get_by_test_id("timer-stop").click()
    page.wait_for_url(re.compile(r"/time/log/$"))
    expect(page.get_by_test_id("timer-panel")).to_have_attribute("data-timer-status", "paused")
    expect(page.get_by_test_id("timer-panel").get_by_text("Paused.")).to_be_visible()
    expect(page.get_by_test_id("timer-days").locator("tbody tr")).to_have_count(1)
    seconds = worked_seconds_stored(nurse)
    assert seconds >= 7 * 60
    screenshot(page, "timer-stopped-form")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("from the timer")
    entry = TimeActivity.objects.get(performer=nurse, shares__patient=brooks)
    assert entry.duration_seconds == seconds
    assert entry.note == "Called pharmacy about the refill"
    assert not Timer.objects.filter(user=nurse).exists()
    expect(header(page)).to_be_hidden()


def test_idle_time_is_asked_about_then_kept_or_dropped(page: Page, live_server: object) -> None:
    nurse, patients = demo_patients()
    castillo = patients["Castillo"]
    base = str(live_server)
    page.clock.install()
    sign_in(page, base, "nurse", DEMO_PASSWORD)

    # Start from the patient's own page.
    page.goto(f"{base}/patients/{castillo.pk}/")
    page.get_by_test_id("patient-start-timer").click()
    expect(header(page)).to_have_attribute("data-timer-status", "running")
    page.clock.run_for(31_000)  # the page reports its activity (at most every 30 s)
    wait_for(lambda: Timer.objects.get(user=nurse).last_active_at is not None)

    # Started 40 minutes ago, nothing on the server since 36 minutes ago, and nothing in
    # this page for the 11 minutes its clock now jumps.
    moved = backdate(nurse, minutes=40, quiet_for=36)
    assert moved.running_since is not None
    before_idle = int((moved.last_active_at - moved.running_since).total_seconds())
    assert before_idle >= 4 * 60  # four minutes and the second or so since the start
    page.clock.fast_forward("11:00")
    dialog = page.get_by_test_id("idle-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Still working?")
    expect(header(page)).to_have_attribute("data-timer-status", "idle")
    screenshot(page, "timer-idle-dialog")

    # "Resume without it": the 11 idle minutes are dropped.
    dialog.get_by_role("button", name="Resume without it").click()
    expect(dialog).to_be_hidden()
    expect(header(page)).to_have_attribute("data-timer-status", "running")
    header(page).get_by_test_id("timer-stop").click()
    page.wait_for_url(re.compile(r"/time/log/$"))
    expect(page.get_by_test_id("timer-panel")).to_have_attribute("data-timer-status", "paused")
    # The work before the idle time: from 40 minutes ago to the last activity, 36 ago; the
    # work after "resume" (a second or so here) is a segment of its own.
    segments = segments_from_json(Timer.objects.get(user=nurse).worked)
    assert segments[0].seconds == before_idle
    gaps = [(b.start - a.end).total_seconds() for a, b in itertools.pairwise(segments)]
    assert all(gap >= 36 * 60 for gap in gaps)
    stored = worked_seconds_stored(nurse)
    page.get_by_label("What was done").fill("Reviewed home BP readings")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("from the timer")
    dropped = TimeActivity.objects.get(performer=nurse, shares__patient=castillo)
    assert dropped.duration_seconds == stored
    assert dropped.duration_seconds < 5 * 60  # the idle minutes are not in it

    # Again (after that entry), and this time "Yes, I was working": the idle minutes count.
    page.goto(f"{base}/patients/{castillo.pk}/")
    page.get_by_test_id("patient-start-timer").click()
    expect(header(page)).to_have_attribute("data-timer-status", "running")
    page.clock.run_for(31_000)
    backdate(nurse, minutes=15, quiet_for=11)
    page.clock.fast_forward("11:00")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=re.compile("keep that time")).click()
    expect(dialog).to_be_hidden()
    expect(header(page)).to_have_attribute("data-timer-status", "running")
    header(page).get_by_test_id("timer-stop").click()
    page.wait_for_url(re.compile(r"/time/log/$"))
    expect(page.get_by_test_id("timer-panel")).to_have_attribute("data-timer-status", "paused")
    stored = worked_seconds_stored(nurse)
    assert stored >= 15 * 60  # the idle minutes kept
    page.get_by_label("What was done").fill("Long call with the daughter about meals")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("from the timer")
    kept = TimeActivity.objects.filter(performer=nurse).latest("id")
    assert kept.duration_seconds == stored


def test_a_timer_left_running_overnight_saves_one_entry_per_day(
    browser: Browser, live_server: object
) -> None:
    """Started at 23:50 (practice time), last activity 00:20, then nobody: the page asks
    on sight, "stop and save the rest" saves 23:50-24:00 and 00:00-00:20. The browser
    runs in Tokyo: the page still shows the practice's clock."""
    nurse, patients = demo_patients()
    dubois = patients["Dubois"]
    base = str(live_server)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        sign_in(page, base, "nurse", DEMO_PASSWORD)
        two_days_ago = timezone.localdate() - dt.timedelta(days=2)
        yesterday = two_days_ago + dt.timedelta(days=1)
        page.goto(f"{base}/patients/{dubois.pk}/")
        page.get_by_test_id("patient-start-timer").click()
        expect(header(page)).to_have_attribute("data-timer-status", "running")
        timer = Timer.objects.get(user=nurse)
        start = local(two_days_ago, "23:50")
        timer.started_at = timer.running_since = start
        timer.last_active_at = local(yesterday, "00:20")
        timer.save()

        page.reload()
        dialog = page.get_by_test_id("idle-dialog")
        expect(dialog).to_be_visible()
        expect(dialog.locator("[data-idle-since]")).to_have_text("00:20")
        expect(header(page).get_by_test_id("timer-status-text")).to_have_text("idle since 00:20")
        dialog.get_by_role("button", name="Stop and save the rest").click()
        page.wait_for_url(re.compile(r"/time/log/$"))
        days = page.get_by_test_id("timer-days").locator("tbody tr")
        expect(days).to_have_count(2)
        expect(days.nth(0)).to_contain_text("23:50–24:00")
        expect(days.nth(1)).to_contain_text("00:00–00:20")
        expect(page.get_by_test_id("timer-split")).to_contain_text("2 entries, one per day")
        screenshot(page, "timer-across-midnight")
        page.get_by_label("What was done").fill("Evening call after the ER visit")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("status").first).to_contain_text("as 2 entries, one per day")
        entries = TimeActivity.objects.filter(shares__patient=dubois).order_by("date")
        assert [(e.date, e.started_at, e.duration_seconds) for e in entries] == [
            (two_days_ago, dt.time(23, 50), 600),
            (yesterday, dt.time(0, 0), 1200),
        ]
        assert [s.seconds for e in entries for s in e.shares.all()] == [600, 1200]

        page.goto(f"{base}/time/mine/?month={two_days_ago:%Y-%m}")
        expect(page.get_by_test_id("my-entries")).to_contain_text("23:50–00:00")
    finally:
        context.close()
