"""The session timer on the pages, without a browser: the header of every page, the Log
time form that saves it, and the steps as plain form posts (no JavaScript)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from ccm.models import Role, User
from patients.models import Patient
from timelog.models import TimeActivity, Timer
from timelog.timer.services import timer_start
from timelog.timer.span import Segment, segments_to_json

pytestmark = pytest.mark.django_db

ZONE = timezone.get_default_timezone()
TODAY = timezone.localdate()


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def header(html: str) -> str:
    found = re.search(r'<div class="session-timer".*?</div>', html, re.S)
    assert found is not None, "no session timer in the header"
    return found.group(0)


def paused_timer(
    nurse: User, patients: list[Patient], *segments: tuple[dt.datetime, dt.datetime]
) -> Timer:
    """A paused timer with these segments of work (the server's clock is not ours)."""
    timer = timer_start(user=nurse, patients=patients, note="Called about refills")
    timer.started_at = segments[0][0]
    timer.running_since = None
    timer.worked = segments_to_json(Segment(start, end) for start, end in segments)
    timer.save()
    return timer


def at(day: dt.date, clock: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=ZONE)


def test_the_header_of_every_page_shows_the_running_timer(nurse: User, patient: Patient) -> None:
    timer_start(user=nurse, patients=[patient])
    client = signed_in(nurse)
    for url in ("/", "/patients/", f"/patients/{patient.pk}/", "/time/mine/"):
        shown = header(client.get(url).content.decode())
        assert f"{patient.last_name}, {patient.first_name}" in shown, url
        assert 'data-timer-status="running"' in shown and " hidden" not in shown.split(">")[0]


def test_no_timer_leaves_the_header_ready_but_hidden(nurse: User, patient: Patient) -> None:
    html = signed_in(nurse).get("/").content.decode()
    assert 'data-timer-status="none"' in html and "session-timer-state" in html


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.ADMIN])
def test_roles_that_log_no_time_have_no_timer(make_user: Callable[..., User], role: str) -> None:
    html = signed_in(make_user(role, credential="")).get("/").content.decode()
    assert "session-timer" not in html


def test_the_log_form_is_prefilled_from_the_timer(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    one, two = make_patient(), make_patient()
    yesterday = TODAY - dt.timedelta(days=1)
    paused_timer(nurse, [one, two], (at(yesterday, "23:50"), at(TODAY, "00:20")))
    response = signed_in(nurse).get("/time/log/")
    html = response.content.decode()
    assert f'value="{one.pk}" checked' in html and f'value="{two.pk}" checked' in html
    assert "Called about refills</textarea>" in html
    assert '<option value="patient_call" selected>' in html
    days = re.search(r'data-testid="timer-days".*?</table>', html, re.S)
    assert days is not None
    assert re.findall(r'data-label="Start–end">([^<]+)<', days.group(0)) == [
        "23:50–24:00",
        "00:00–00:20",
    ]
    assert "saving makes 2 entries, one per day" in html
    assert 'name="date"' not in html  # the timer's days, not a typed date


def test_saving_the_form_stops_the_timer_into_one_entry_per_day(
    nurse: User, patient: Patient
) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    timer = paused_timer(nurse, [patient], (at(yesterday, "23:50"), at(TODAY, "00:20:05")))
    client = signed_in(nurse)
    data = {
        "timer": str(timer.pk),
        "patients": [patient.pk],
        "activity": "care_coordination",
        "note": "Arranged the cardiology follow-up",
        "outcome": "",
        "program": "ccm",
    }
    response = client.post("/time/log/", data)
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{patient.pk}/months/{TODAY:%Y-%m}/"
    entries = TimeActivity.objects.filter(performer=nurse).order_by("date")
    assert [(e.date, e.started_at, e.duration_seconds, e.activity) for e in entries] == [
        (yesterday, dt.time(23, 50), 600, "care_coordination"),
        (TODAY, dt.time(0, 0), 1205, "care_coordination"),
    ]
    assert not Timer.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "as 2 entries, one per day" in page
    # The form sent again (a double click, the back button): nothing saved twice.
    again = client.post("/time/log/", data)
    assert again.status_code == 302
    assert TimeActivity.objects.filter(performer=nurse).count() == 2
    assert "already saved" in client.get(again["Location"]).content.decode()


def test_a_form_error_keeps_the_timer_and_what_was_typed(nurse: User, patient: Patient) -> None:
    timer = paused_timer(nurse, [patient], (at(TODAY, "00:01"), at(TODAY, "00:11")))
    response = signed_in(nurse).post(
        "/time/log/",
        {"timer": str(timer.pk), "patients": [], "activity": "lab_review", "note": "A1c"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="err-patients"' in html and "A1c</textarea>" in html
    assert Timer.objects.filter(pk=timer.pk).exists()


def test_manual_minutes_while_the_timer_runs(
    nurse: User, patient: Patient, make_patient: Callable[..., Patient]
) -> None:
    timer_start(user=nurse, patients=[patient])
    client = signed_in(nurse)
    html = client.get("/time/log/?manual=1").content.decode()
    assert 'name="minutes"' in html and 'data-testid="timer-panel"' not in html
    # "Log time" on another patient's row: minutes for that patient, the timer runs on.
    other = make_patient()
    html = client.get(f"/time/log/?patient={other.pk}").content.decode()
    assert f'value="{other.pk}" checked' in html and 'data-testid="timer-panel"' not in html
    # The timer's own patient: the timer's form.
    html = client.get(f"/time/log/?patient={patient.pk}").content.decode()
    assert 'data-testid="timer-panel"' in html


# -- the steps as form posts (no JavaScript) --------------------------------------------


def test_start_from_a_row_goes_back_to_the_page(nurse: User, patient: Patient) -> None:
    client = signed_in(nurse)
    response = client.post(
        "/time/timer/start/", {"patients": [patient.pk], "next": "/my-patients/?tab=all"}
    )
    assert response.status_code == 302 and response["Location"] == "/my-patients/?tab=all"
    assert list(Timer.objects.get(user=nurse).patients.all()) == [patient]


def test_a_second_start_says_which_timer_runs(
    nurse: User, patient: Patient, make_patient: Callable[..., Patient]
) -> None:
    client = signed_in(nurse)
    client.post("/time/timer/start/", {"patients": [patient.pk]})
    response = client.post("/time/timer/start/", {"patients": [make_patient().pk]}, follow=True)
    assert "A timer is already running for" in response.content.decode()
    assert Timer.objects.count() == 1


def test_an_outside_next_is_not_followed(nurse: User, patient: Patient) -> None:
    response = signed_in(nurse).post(
        "/time/timer/start/", {"patients": [patient.pk], "next": "https://evil.example/"}
    )
    assert response["Location"] == "/time/log/"


def test_pause_from_the_form_keeps_what_was_typed(nurse: User, patient: Patient) -> None:
    timer = timer_start(user=nurse, patients=[patient])
    client = signed_in(nurse)
    client.post(
        "/time/timer/pause/",
        {
            "timer": str(timer.pk),
            "patients": [patient.pk],
            "activity": "education",
            "note": "Taught inhaler use",
            "program": "ccm",
        },
    )
    kept = Timer.objects.get(pk=timer.pk)
    assert (kept.running_since, kept.activity, kept.note) == (
        None,
        "education",
        "Taught inhaler use",
    )
    client.post("/time/timer/resume/", {"timer": str(timer.pk)})
    assert Timer.objects.get(pk=timer.pk).running_since is not None
    client.post("/time/timer/discard/", {"timer": str(uuid.uuid4())})  # not the timer shown
    assert Timer.objects.filter(pk=timer.pk).exists()
    client.post("/time/timer/discard/", {"timer": str(timer.pk)})
    assert not Timer.objects.exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING])
def test_the_steps_are_for_the_care_team(
    make_user: Callable[..., User], role: str, patient: Patient
) -> None:
    client = signed_in(make_user(role, credential=""))
    assert client.post("/time/timer/start/", {"patients": [patient.pk]}).status_code == 403
    assert not Timer.objects.exists()
