"""POST/GET/PATCH/DELETE /api/time-entries/ (interface.md), with the three-user check."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from ccm.models import AuditEvent, BillingMonth, Practice, Role, User
from patients.models import Patient
from tests.factories import PatientFactory, log_minutes
from timelog.models import TimeActivity, TimeShare
from timelog.selectors import time_activities_for_practice
from timelog.serializers import TimeEntryOutputSerializer

pytestmark = pytest.mark.django_db

URL = "/api/time-entries/"
TODAY = timezone.localdate()


def body(for_patients: list[Patient], /, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patients": [p.pk for p in for_patients],
        "date": TODAY.isoformat(),
        "minutes": 12,
        "activity": "medication_reconciliation",
        "note": "Reconciled meds after cardiology visit",
        "outcome": "Stopped duplicate statin",
    }
    data.update(overrides)
    return data


@pytest.fixture
def as_nurse(nurse: User, api_client_for: Callable[..., APIClient]) -> APIClient:
    return api_client_for(nurse)


def test_logs_minutes_for_one_patient(as_nurse: APIClient, patient: Patient, nurse: User) -> None:
    response = as_nurse.post(URL, body([patient]), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["shares"] == [{"patient": patient.pk, "seconds": 720}]
    activity = TimeActivity.objects.get(pk=data["id"])
    assert (activity.performer, activity.performer_kind, activity.duration_seconds) == (
        nurse,
        "clinical_staff",
        720,
    )
    assert AuditEvent.objects.filter(
        action="time_activity.create", object_id=str(activity.pk), actor=nurse
    ).exists()


def test_a_shared_activity_is_split_evenly_dropping_the_remainder(
    as_nurse: APIClient, make_patient: Callable[..., Patient]
) -> None:
    patients = [make_patient() for _ in range(3)]
    response = as_nurse.post(
        URL, body(patients, minutes=None, started_at="09:00:00", ended_at="09:10:01"), format="json"
    )
    assert response.status_code == 201, response.json()
    assert [s["seconds"] for s in response.json()["shares"]] == [200, 200, 200]
    assert response.json()["duration_seconds"] == 601


def test_timer_instants_in_iso_form_are_accepted(as_nurse: APIClient, patient: Patient) -> None:
    start = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0)
    start = start - dt.timedelta(days=1)
    response = as_nurse.post(
        URL,
        body(
            [patient],
            minutes=None,
            date=None,
            started_at=start.isoformat(),
            ended_at=(start + dt.timedelta(seconds=754)).isoformat(),
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["duration_seconds"] == 754
    assert response.json()["date"] == start.date().isoformat()
    assert response.json()["started_at"] == "08:00:00"


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"patients": []}, "patients", "at least one"),
        ({"minutes": 0}, "duration", "more than zero"),
        ({"minutes": -5}, "duration", "more than zero"),
        ({"minutes": 12 * 60 + 1}, "duration", "12 hours"),
        ({"date": (TODAY + dt.timedelta(days=1)).isoformat()}, "date", "future"),
        ({"activity": "gardening"}, "activity", "not a known activity"),
        ({"program": "xyz"}, "program", "not a known program"),
        ({"minutes": None, "started_at": "10:00", "ended_at": "09:30"}, "ended_at", "after"),
        ({"minutes": 10, "started_at": "10:00", "ended_at": "10:30"}, "minutes", "not both"),
        ({"minutes": None}, "minutes", "Give the minutes"),
        ({"note": "  "}, "note", "what was done"),
        ({"started_at": "25:00"}, "started_at", "HH:MM"),
        ({"date": "yesterday"}, "date", "format"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    as_nurse: APIClient, patient: Patient, overrides: dict[str, Any], field: str, text: str
) -> None:
    data = {k: v for k, v in body([patient], **overrides).items() if v is not None}
    response = as_nurse.post(URL, data, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert text.lower() in " ".join(errors[field]).lower()
    assert not TimeActivity.objects.exists()


def test_an_unknown_or_foreign_patient_is_400_and_not_confirmed(
    as_nurse: APIClient, other_practice: Practice
) -> None:
    foreign = PatientFactory(practice=other_practice)
    response = as_nurse.post(URL, body([foreign]), format="json")
    assert response.status_code == 400
    assert f"Unknown patient id(s): {foreign.pk}" in response.json()["patients"][0]
    assert not TimeActivity.objects.exists()


def test_overlap_with_own_earlier_entry_is_400_naming_it(
    as_nurse: APIClient, make_patient: Callable[..., Patient]
) -> None:
    first, second = make_patient(), make_patient()
    earlier = as_nurse.post(URL, body([first], started_at="09:00", minutes=30), format="json")
    assert earlier.status_code == 201
    response = as_nurse.post(URL, body([second], started_at="09:20", minutes=15), format="json")
    assert response.status_code == 400
    message = response.json()["started_at"][0]
    assert f"#{earlier.json()['id']}" in message and "shared activity" in message
    touching = as_nurse.post(URL, body([second], started_at="09:30", minutes=15), format="json")
    assert touching.status_code == 201


def test_a_closed_month_is_409(as_nurse: APIClient, patient: Patient, practice: Practice) -> None:
    BillingMonth.objects.update_or_create(
        practice=practice, month=TODAY.replace(day=1), defaults={"status": "closed", "version": 1}
    )
    response = as_nurse.post(URL, body([patient]), format="json")
    assert response.status_code == 409
    assert not TimeActivity.objects.exists()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.ADMIN])
def test_non_clinical_roles_cannot_log_time(
    role: str,
    make_user: Callable[..., User],
    patient: Patient,
    api_client_for: Callable[..., APIClient],
) -> None:
    response = api_client_for(make_user(role)).post(URL, body([patient]), format="json")
    assert response.status_code == 403
    assert not TimeActivity.objects.exists()


def test_practitioner_time_is_counted_as_practitioner(
    practitioner: User, patient: Patient, api_client_for: Callable[..., APIClient]
) -> None:
    response = api_client_for(practitioner).post(URL, body([patient]), format="json")
    assert response.status_code == 201
    assert response.json()["performer_kind"] == "practitioner"


def test_a_retried_request_id_logs_once(as_nurse: APIClient, patient: Patient) -> None:
    request_id = str(uuid.uuid4())
    first = as_nurse.post(URL, body([patient], request_id=request_id), format="json")
    again = as_nurse.post(URL, body([patient], request_id=request_id), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert TimeShare.objects.filter(patient=patient).count() == 1


def test_unauthenticated_is_401(patient: Patient) -> None:
    assert APIClient().post(URL, body([patient]), format="json").status_code == 401


def test_three_user_check_on_one_entry(
    as_nurse: APIClient,
    patient: Patient,
    make_user: Callable[..., User],
    other_practice: Practice,
    api_client_for: Callable[..., APIClient],
) -> None:
    entry_id = as_nurse.post(URL, body([patient]), format="json").json()["id"]
    url = f"{URL}{entry_id}/"
    colleague = api_client_for(make_user(Role.MA, credential="CMA"))
    stranger = api_client_for(make_user(Role.RN, practice=other_practice))

    assert as_nurse.get(url).status_code == 200
    assert colleague.get(url).status_code == 200
    assert colleague.patch(url, {"minutes": 50}, format="json").status_code == 403
    assert colleague.delete(url).status_code == 403
    assert stranger.get(url).status_code == 404
    assert stranger.patch(url, {"minutes": 50}, format="json").status_code == 404
    assert stranger.delete(url).status_code == 404
    assert TimeActivity.objects.get(pk=entry_id).duration_seconds == 720
    assert stranger.get(URL).json()["count"] == 0


def test_owner_edits_and_deletes_with_audit(
    as_nurse: APIClient, patient: Patient, make_patient: Callable[..., Patient]
) -> None:
    entry_id = as_nurse.post(URL, body([patient]), format="json").json()["id"]
    url = f"{URL}{entry_id}/"
    other = make_patient()
    response = as_nurse.patch(
        url, {"minutes": 20, "patients": [patient.pk, other.pk]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert sorted((s["patient"], s["seconds"]) for s in response.json()["shares"]) == sorted(
        [(patient.pk, 600), (other.pk, 600)]
    )
    update = AuditEvent.objects.get(action="time_activity.update", object_id=str(entry_id))
    assert update.before["duration_seconds"] == 720 and update.after["duration_seconds"] == 1200

    assert as_nurse.delete(url).status_code == 204
    assert not TimeActivity.objects.filter(pk=entry_id).exists()
    deleted = AuditEvent.objects.get(action="time_activity.delete", object_id=str(entry_id))
    assert deleted.before["shares"] == sorted(
        [{"patient": patient.pk, "seconds": 600}, {"patient": other.pk, "seconds": 600}],
        key=lambda s: s["patient"],
    )


def test_edit_or_delete_in_a_closed_month_is_409(
    as_nurse: APIClient, patient: Patient, practice: Practice
) -> None:
    entry_id = as_nurse.post(URL, body([patient]), format="json").json()["id"]
    BillingMonth.objects.update_or_create(
        practice=practice, month=TODAY.replace(day=1), defaults={"status": "closed", "version": 1}
    )
    assert as_nurse.patch(f"{URL}{entry_id}/", {"minutes": 30}, format="json").status_code == 409
    assert as_nurse.delete(f"{URL}{entry_id}/").status_code == 409
    assert TimeActivity.objects.get(pk=entry_id).duration_seconds == 720


def test_moving_an_entry_into_a_closed_month_is_409(
    as_nurse: APIClient, patient: Patient, practice: Practice
) -> None:
    entry_id = as_nurse.post(URL, body([patient]), format="json").json()["id"]
    last_month = TODAY.replace(day=1) - dt.timedelta(days=1)
    BillingMonth.objects.update_or_create(
        practice=practice,
        month=last_month.replace(day=1),
        defaults={"status": "closed", "version": 1},
    )
    response = as_nurse.patch(f"{URL}{entry_id}/", {"date": last_month.isoformat()}, format="json")
    assert response.status_code == 409


def test_list_holds_only_own_entries_with_month_and_patient_filters(
    as_nurse: APIClient,
    patient: Patient,
    make_patient: Callable[..., Patient],
    make_user: Callable[..., User],
    api_client_for: Callable[..., APIClient],
) -> None:
    other = make_patient()
    mine = as_nurse.post(URL, body([patient]), format="json").json()["id"]
    as_nurse.post(URL, body([other], started_at="07:00"), format="json")
    api_client_for(make_user(Role.LPN)).post(URL, body([patient]), format="json")
    rows = as_nurse.get(URL, {"month": f"{TODAY:%Y-%m}", "patient": patient.pk}).json()
    assert rows["count"] == 1 and rows["results"][0]["id"] == mine
    assert as_nurse.get(URL).json()["count"] == 2
    assert as_nurse.get(URL, {"month": "2026-13"}).status_code == 400


def test_list_query_count_does_not_grow(
    as_nurse: APIClient, make_patient: Callable[..., Patient]
) -> None:
    patients = [make_patient() for _ in range(3)]
    as_nurse.post(URL, body(patients[:1], started_at="06:00"), format="json")
    with CaptureQueriesContext(connection) as one_entry:
        assert as_nurse.get(URL).json()["count"] == 1
    for hour in range(7, 17):
        as_nurse.post(URL, body(patients, started_at=f"{hour:02d}:00"), format="json")
    with CaptureQueriesContext(connection) as eleven_entries:
        assert as_nurse.get(URL).json()["count"] == 11
    assert len(eleven_entries.captured_queries) == len(one_entry.captured_queries)


def _statements(captured: CaptureQueriesContext) -> list[str]:
    """The SQL one request ran; the test's own transaction turns the request's BEGIN and
    COMMIT into SAVEPOINT and RELEASE, which are left out."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # The token with its user and practice, the patients, and one call that locks
        # the month and writes the activity, its shares and the audit event (timelog
        # migration 0006; issue 16: as many as the bare insert, which runs 3).
        ({}, 3),
        # A timed entry adds the performer's lock, the month's lock (the overlap check
        # reads under it) and the overlap check.
        ({"minutes": None, "started_at": "13:00", "ended_at": "13:10"}, 6),
        # A request id adds the performer's lock and the look-up of an earlier attempt.
        ({"request_id": "5f0b9b8e-3f5d-4f55-9a43-5d1f0e3c2a11"}, 5),
    ],
)
def test_one_post_runs_a_fixed_number_of_statements(
    as_nurse: APIClient,
    make_patient: Callable[..., Patient],
    overrides: dict[str, Any],
    expected: int,
) -> None:
    patients = [make_patient() for _ in range(3)]
    as_nurse.post(URL, body(patients[:1], minutes=5), format="json")  # the month's row exists
    data = {k: v for k, v in body(patients, **overrides).items() if v is not None}
    with CaptureQueriesContext(connection) as captured:
        response = as_nurse.post(URL, data, format="json")
    assert response.status_code == 201, response.json()
    statements = _statements(captured)
    assert len(statements) == expected, "\n".join(statements)


def test_the_answer_to_a_post_is_the_entry_as_stored(
    as_nurse: APIClient, make_patient: Callable[..., Patient], nurse: User
) -> None:
    patients = sorted((make_patient() for _ in range(3)), key=lambda p: -p.pk)  # not by id
    response = as_nurse.post(URL, body(patients, minutes=10, note="  Called  "), format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created == as_nurse.get(f"{URL}{created['id']}/").json()
    assert [share["patient"] for share in created["shares"]] == sorted(p.pk for p in patients)
    event = AuditEvent.objects.get(action="time_activity.create", object_id=str(created["id"]))
    assert event.actor == nurse
    assert event.after["shares"] == [
        {"patient": share.patient_id, "seconds": share.seconds}
        for share in TimeShare.objects.filter(activity_id=created["id"]).order_by("patient_id")
    ]
    assert event.after["note"] == "Called" == created["note"]


def test_the_answer_written_out_is_drfs_walk_of_the_declared_fields(
    as_nurse: APIClient, make_patient: Callable[..., Patient], practice: Practice
) -> None:
    patients = [make_patient() for _ in range(3)]
    as_nurse.post(URL, body(patients[:1], minutes=7), format="json")
    as_nurse.post(
        URL, body(patients, minutes=None, started_at="10:00:05", ended_at="10:20"), format="json"
    )
    activities = list(time_activities_for_practice(practice))
    assert {activity.started_at is None for activity in activities} == {True, False}
    for activity in activities:
        serializer = TimeEntryOutputSerializer(activity)
        walked = serializers.Serializer.to_representation(serializer, activity)
        written = serializer.to_representation(activity)
        assert list(written) == list(walked)
        assert json.loads(json.dumps(written)) == json.loads(json.dumps(walked))


def test_logged_on_is_the_day_of_entry_and_never_changes(
    as_nurse: APIClient, patient: Patient
) -> None:
    """Billing rule ENTRY_LATE: the day an entry was entered. The API ignores a
    logged_on it is sent (like created_at), on create and on update."""
    created = as_nurse.post(URL, body([patient], logged_on="2020-01-01"), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["logged_on"] == TODAY.isoformat()
    entry_id = created.json()["id"]
    updated = as_nurse.patch(
        f"{URL}{entry_id}/", {"minutes": 30, "logged_on": "2020-01-01"}, format="json"
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["logged_on"] == TODAY.isoformat()
    assert TimeActivity.objects.get(pk=entry_id).logged_on == TODAY
    event = AuditEvent.objects.get(action="time_activity.create", object_id=str(entry_id))
    assert event.after["logged_on"] == TODAY.isoformat()


def test_the_migration_fills_logged_on_from_the_creation_time_in_the_practice_zone(
    patient: Patient, nurse: User
) -> None:
    """timelog migration 0004: existing entries take the local day of created_at
    (settings.TIME_ZONE, America/New_York by default: 03:30 UTC is the evening before).
    Its UPDATE is run here as the application; the migration also switches the period
    guard off around it, which only the tables' owner may."""
    from importlib import import_module

    from django.conf import settings
    from django.db import connection as db

    activity = log_minutes(nurse, [patient], 10)
    created = dt.datetime(2026, 3, 5, 3, 30, tzinfo=dt.UTC)
    TimeActivity.objects.filter(pk=activity.pk).update(
        created_at=created, logged_on=dt.date(2000, 1, 1)
    )
    fill = import_module("timelog.migrations.0004_timeactivity_logged_on").FILL_SQL
    with db.cursor() as cursor:
        cursor.execute(fill + " WHERE id = %s", [settings.TIME_ZONE, activity.pk])
    assert TimeActivity.objects.get(pk=activity.pk).logged_on == timezone.localdate(created)
