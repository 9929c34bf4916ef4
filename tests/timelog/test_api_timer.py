"""The session timer's API (GET/PATCH /api/timer/, POST start, pause, resume, keep-idle,
heartbeat, stop, discard), with the three-user check, and a stop sent from two tabs at
the same moment saving its entries once."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from ccm.models import AuditEvent, Role, User
from patients.models import Patient
from timelog.models import TimeActivity, Timer
from timelog.timer.span import segments_from_json, segments_to_json

pytestmark = pytest.mark.django_db

URL = "/api/timer/"


@pytest.fixture
def as_nurse(nurse: User, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(nurse)


def started(client: APIClient, patients: list[Patient], **fields: Any) -> dict[str, Any]:
    body = {"patients": [p.pk for p in patients], "activity": "patient_call", **fields}
    response = client.post(f"{URL}start/", body, format="json")
    assert response.status_code == 201, response.json()
    timer: dict[str, Any] = response.json()["timer"]
    return timer


def backdate(user: User, minutes: int) -> None:
    """Move the user's timer `minutes` into the past, as if started then and active
    until now (the server's clock is not ours to move)."""
    timer = Timer.objects.get(user=user)
    shift = dt.timedelta(minutes=minutes)
    timer.started_at -= shift
    if timer.running_since is not None:
        timer.running_since -= shift
    timer.worked = segments_to_json(
        type(segment)(segment.start - shift, segment.end - shift)
        for segment in segments_from_json(timer.worked)
    )
    timer.last_active_at = timezone.now().replace(microsecond=0)
    timer.save()


def test_start_shows_the_timer_with_its_patients(as_nurse: APIClient, patient: Patient) -> None:
    timer = started(as_nurse, [patient], note="Calling about refills")
    assert timer["status"] == "running"
    assert timer["patients"] == [
        {"id": patient.pk, "name": f"{patient.last_name}, {patient.first_name}"}
    ]
    assert (timer["activity"], timer["note"], timer["idle_minutes"]) == (
        "patient_call",
        "Calling about refills",
        10,
    )
    again = as_nurse.get(URL).json()
    assert again["timer"]["id"] == timer["id"]
    # Instants carry the practice's offset, not UTC's or the browser's.
    offset = timezone.localtime().strftime("%z")
    assert again["server_time"].endswith(f"{offset[:3]}:{offset[3:]}")


def test_no_timer_is_null(as_nurse: APIClient) -> None:
    response = as_nurse.get(URL)
    assert response.status_code == 200
    assert response.json()["timer"] is None
    assert as_nurse.post(f"{URL}pause/", {}, format="json").status_code == 404


def test_a_second_start_is_a_409_with_the_running_timer(
    as_nurse: APIClient, make_patient: Callable[..., Patient]
) -> None:
    first_patient, other = make_patient(), make_patient()
    first = started(as_nurse, [first_patient])
    response = as_nurse.post(f"{URL}start/", {"patients": [other.pk]}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["timer"]["id"] == first["id"]
    assert first_patient.last_name in body["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"patients": []}, "patients"),
        ({}, "patients"),
        ({"patients": [999999]}, "patients"),
        ({"patients": "x"}, "patients"),
        ({"patients": [1], "activity": "nap"}, "activity"),
        ({"patients": [1], "program": "xyz"}, "program"),
        ({"patients": [1], "note": "x" * 4001}, "note"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    as_nurse: APIClient, patient: Patient, body: dict[str, Any], field: str
) -> None:
    if body.get("patients") == [1]:
        body = {**body, "patients": [patient.pk]}
    response = as_nurse.post(f"{URL}start/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Timer.objects.exists()


def test_what_is_typed_is_kept_with_the_timer(
    as_nurse: APIClient, make_patient: Callable[..., Patient]
) -> None:
    one, two = make_patient(), make_patient()
    timer = started(as_nurse, [one])
    response = as_nurse.patch(
        URL,
        {"timer": timer["id"], "patients": [one.pk, two.pk], "note": "Med list", "outcome": "OK"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    kept = as_nurse.get(URL).json()["timer"]
    assert {p["id"] for p in kept["patients"]} == {one.pk, two.pk}
    assert (kept["note"], kept["outcome"]) == ("Med list", "OK")
    stale = as_nurse.patch(URL, {"timer": str(uuid.uuid4()), "note": "x"}, format="json")
    assert stale.status_code == 409


def test_pause_resume_and_idle_steps(as_nurse: APIClient, nurse: User, patient: Patient) -> None:
    started(as_nurse, [patient])
    assert as_nurse.post(f"{URL}pause/", {}, format="json").json()["timer"]["status"] == "paused"
    assert as_nurse.post(f"{URL}resume/", {}, format="json").json()["timer"]["status"] == "running"
    # Nothing for 11 minutes: idle, from the last activity.
    eleven_ago = timezone.now() - dt.timedelta(minutes=11)
    Timer.objects.filter(user=nurse).update(last_active_at=eleven_ago, running_since=eleven_ago)
    beat = as_nurse.post(f"{URL}heartbeat/", {"inactive_seconds": 0}, format="json").json()
    assert beat["timer"]["status"] == "idle"
    assert beat["timer"]["idle_seconds"] >= 660
    kept = as_nurse.post(f"{URL}keep-idle/", {}, format="json")
    assert kept.status_code == 200
    assert kept.json()["timer"]["status"] == "running"
    assert kept.json()["timer"]["worked_seconds"] >= 660
    assert AuditEvent.objects.filter(action="timer.keep_idle", actor=nurse).count() == 1
    assert as_nurse.post(f"{URL}keep-idle/", {}, format="json").status_code == 409
    bad = as_nurse.post(f"{URL}heartbeat/", {"inactive_seconds": -5}, format="json")
    assert bad.status_code == 400 and "inactive_seconds" in bad.json()


def test_stop_saves_the_entries_and_a_retry_returns_them(
    as_nurse: APIClient, nurse: User, patient: Patient
) -> None:
    timer = started(as_nurse, [patient], note="Reviewed labs")
    backdate(nurse, 12)
    response = as_nurse.post(f"{URL}stop/", {"timer": timer["id"]}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    [entry] = body["entries"]
    assert entry["duration_seconds"] >= 720
    assert entry["shares"] == [{"patient": patient.pk, "seconds": entry["duration_seconds"]}]
    assert body["timer"] is None and body["created"] is True
    retry = as_nurse.post(f"{URL}stop/", {"timer": timer["id"]}, format="json")
    assert retry.status_code == 200
    assert [e["id"] for e in retry.json()["entries"]] == [entry["id"]]
    assert TimeActivity.objects.filter(performer=nurse).count() == 1
    assert AuditEvent.objects.filter(action="time_activity.create", actor=nurse).count() == 1


def test_stop_names_what_is_missing(as_nurse: APIClient, nurse: User, patient: Patient) -> None:
    started(as_nurse, [patient])
    backdate(nurse, 5)
    response = as_nurse.post(f"{URL}stop/", {}, format="json")
    assert response.status_code == 400
    assert "note" in response.json()
    assert Timer.objects.filter(user=nurse).exists()


def test_discard(as_nurse: APIClient, nurse: User, patient: Patient) -> None:
    timer = started(as_nurse, [patient])
    response = as_nurse.post(f"{URL}discard/", {"timer": timer["id"]}, format="json")
    assert response.status_code == 200 and response.json()["timer"] is None
    assert not Timer.objects.exists()
    assert AuditEvent.objects.filter(action="timer.discard", actor=nurse).count() == 1


# -- the three-user check --------------------------------------------------------------


def test_three_users(
    as_nurse: APIClient,
    nurse: User,
    patient: Patient,
    make_user: Callable[..., User],
    outsider: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    """The owner works their timer; a colleague of another role cannot reach it (billing
    staff: 403; a practitioner sees only their own); an outsider from another practice
    who names it, or our patient, gets 404 and changes nothing."""
    timer = started(as_nurse, [patient], note="Owner's call")
    assert as_nurse.get(URL).json()["timer"]["id"] == timer["id"]

    billing = api_client_for(make_user(Role.BILLING, credential=""))
    assert billing.get(URL).status_code == 403
    assert billing.post(f"{URL}stop/", {"timer": timer["id"]}, format="json").status_code == 403

    doctor = api_client_for(make_user(Role.PRACTITIONER, credential="MD"))
    assert doctor.get(URL).json()["timer"] is None
    assert doctor.post(f"{URL}stop/", {"timer": timer["id"]}, format="json").status_code == 404

    outsider.role = Role.RN
    outsider.save()
    foreign = api_client_for(outsider)
    assert foreign.get(URL).json()["timer"] is None
    for step in ("stop", "discard", "pause", "keep-idle"):
        response = foreign.post(f"{URL}{step}/", {"timer": timer["id"]}, format="json")
        assert response.status_code == 404, step
    named = foreign.post(f"{URL}start/", {"patients": [patient.pk]}, format="json")
    assert named.status_code == 400
    assert "Unknown patient" in str(named.json()["patients"])

    still = Timer.objects.get(user=nurse)
    assert (str(still.pk), still.note, still.running_since is not None) == (
        timer["id"],
        "Owner's call",
        True,
    )
    assert Timer.objects.count() == 1


# -- two tabs stopping at the same moment ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_tabs_stopping_at_once_save_the_time_once(
    nurse: User, patient: Patient, api_client_for: Callable[..., APIClient]
) -> None:
    timer = started(api_client_for(nurse), [patient], note="Care coordination call")
    backdate(nurse, 15)
    ready = threading.Barrier(3)
    answers: list[tuple[int, dict[str, Any]]] = []

    def stop() -> None:
        client = api_client_for(nurse)
        try:
            ready.wait()
            response = client.post(f"{URL}stop/", {"timer": timer["id"]}, format="json")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()  # this thread's own connection

    tabs = [threading.Thread(target=stop) for _ in range(3)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()
    assert sorted(status for status, _ in answers) == [200, 200, 201]
    saved = TimeActivity.objects.filter(performer=nurse)
    assert saved.count() == 1
    entry_ids = {tuple(e["id"] for e in body["entries"]) for _, body in answers}
    assert entry_ids == {(saved.get().pk,)}
    assert AuditEvent.objects.filter(action="time_activity.create").count() == 1
    assert AuditEvent.objects.filter(action="timer.stop").count() == 1
    assert not Timer.objects.exists()


def test_a_leaving_page_reports_its_activity_as_a_form_post(nurse: User, patient: Patient) -> None:
    """The page's last activity goes out with navigator.sendBeacon: a multipart POST with
    the session cookie and the CSRF token as a form field."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(nurse)
    html = client.get("/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token is not None
    response = client.post(
        f"{URL}start/", {"patients": [patient.pk], "csrfmiddlewaretoken": token.group(1)}
    )
    assert response.status_code == 201
    refused = client.post(f"{URL}heartbeat/", {"inactive_seconds": "5"})
    assert refused.status_code == 403  # no token: refused
    beacon = client.post(
        f"{URL}heartbeat/", {"inactive_seconds": "5", "csrfmiddlewaretoken": token.group(1)}
    )
    assert beacon.status_code == 200
    assert beacon.json()["timer"]["status"] == "running"
