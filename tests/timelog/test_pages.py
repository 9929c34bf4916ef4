"""The time pages: Log time (minutes, timer span, shared activity, errors next to their
field) and My entries (list, edit, delete while the month is open)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ccm.models import AuditEvent, BillingMonth, Role, User
from ccm.periods import month_start
from patients.models import Patient
from tests.factories import PatientFactory
from tests.factories import log_minutes as log
from timelog.models import TimeActivity, TimeShare

pytestmark = pytest.mark.django_db

URL = "/time/log/"
TODAY = timezone.localdate()


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(patients: list[Patient], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patients": [p.pk for p in patients],
        "date": TODAY.isoformat(),
        "minutes": "12",
        "started_at": "",
        "ended_at": "",
        "activity": "medication_reconciliation",
        "note": "Reconciled meds after cardiology visit",
        "outcome": "Stopped duplicate statin",
        "program": "ccm",
        "request_id": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def close_month(user: User, first: dt.date) -> None:
    """Mark the month closed, as a finished close leaves it (the row may exist already: the
    period lock creates it open on the first write)."""
    BillingMonth.objects.update_or_create(
        practice=user.practice,
        month=first,
        defaults={"status": BillingMonth.Status.CLOSED, "version": 1},
    )


def field_errors(html: str, error_id: str) -> str:
    """The text of the error list with this id: errors sit next to their field."""
    found = re.search(rf'<ul class="errorlist" id="{error_id}"[^>]*>(.*?)</ul>', html, re.S)
    assert found is not None, f"no error list #{error_id}"
    return re.sub(r"<[^>]+>", " ", found.group(1))


# --- Log time: rendering and roles -------------------------------------------------------


def test_form_renders_with_today_ccm_and_a_fresh_request_id(nurse: User, patient: Patient) -> None:
    response = signed_in(nurse).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{TODAY:%Y-%m-%d}"' in html
    assert '<option value="ccm" selected>' in html
    assert "one shared activity" in html
    assert f'value="{patient.pk}"' in html and patient.mrn in html
    request_id = response.context["form"].initial["request_id"]
    assert isinstance(request_id, uuid.UUID) and str(request_id) in html
    # The timer starts from the form; the header's session timer is on every page.
    assert 'data-testid="start-timer"' in html and "js/session_timer.js" in html


def test_patient_parameter_preselects_that_patient(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    first, chosen = make_patient(last_name="Aaron"), make_patient(last_name="Zed")
    html = signed_in(nurse).get(f"{URL}?patient={chosen.pk}").content.decode()
    assert f'value="{chosen.pk}" checked' in html
    assert f'value="{first.pk}" checked' not in html
    # The ticked patient is listed first, in view above the others.
    assert html.index(f'value="{chosen.pk}"') < html.index(f'value="{first.pk}"')


def test_another_practices_patient_is_not_offered_or_preselected(
    nurse: User, other_practice: Any
) -> None:
    stranger = PatientFactory(practice=other_practice)
    html = signed_in(nurse).get(f"{URL}?patient={stranger.pk}").content.decode()
    assert f'value="{stranger.pk}"' not in html


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.ADMIN])
def test_non_clinical_roles_get_403(make_user: Callable[..., User], role: str) -> None:
    client = signed_in(make_user(role, credential=""))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {}).status_code == 403
    assert client.get("/time/mine/").status_code == 403


@pytest.mark.parametrize("role", [Role.LPN, Role.MA, Role.CARE_MANAGER, Role.PRACTITIONER])
def test_care_team_roles_may_log(make_user: Callable[..., User], role: str) -> None:
    assert signed_in(make_user(role)).get(URL).status_code == 200


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- Log time: saving ---------------------------------------------------------------------


def test_minutes_for_one_patient_redirect_to_the_patients_month(
    nurse: User, patient: Patient
) -> None:
    client = signed_in(nurse)
    response = client.post(URL, form([patient]))
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{patient.pk}/months/{TODAY:%Y-%m}/"
    activity = TimeActivity.objects.get()
    assert (activity.performer, activity.duration_seconds, activity.started_at) == (
        nurse,
        720,
        None,
    )
    assert activity.outcome == "Stopped duplicate statin"
    assert list(activity.shares.values_list("patient_id", "seconds")) == [(patient.pk, 720)]
    page = client.get(response["Location"])
    assert f"Logged 12 min for {patient.full_name}" in page.content.decode()


def test_saving_names_the_patient_from_the_picker_without_reading_it_again(
    nurse: User, patient: Patient
) -> None:
    """The form's patients are the picker's, loaded whole: the message naming the patient
    reads none of its fields back one by one (the serializer's patients have only an id)."""
    client = signed_in(nurse)
    with CaptureQueriesContext(connection) as captured:
        assert client.post(URL, form([patient])).status_code == 302
    patient_reads = [q["sql"] for q in captured.captured_queries if "patients_patient" in q["sql"]]
    assert not [sql for sql in patient_reads if '"first_name" FROM' in sql], patient_reads


def test_several_patients_are_one_shared_activity_and_back_to_the_form(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    patients = [make_patient() for _ in range(3)]
    client = signed_in(nurse)
    response = client.post(URL, form(patients, minutes="10"))
    assert response.status_code == 302 and response["Location"] == URL
    assert TimeActivity.objects.get().patient_count == 3
    # 600 s over three patients: 200 s each, shown in whole minutes.
    assert sorted(TimeShare.objects.values_list("seconds", flat=True)) == [200, 200, 200]
    html = client.get(URL).content.decode()
    assert "Logged 10 min for 3 patients as one shared activity: each is credited 3 min." in html


def test_a_double_submit_logs_once(nurse: User, patient: Patient) -> None:
    client = signed_in(nurse)
    data = form([patient])
    assert client.post(data=data, path=URL).status_code == 302
    again = client.post(URL, data, follow=True)
    assert TimeActivity.objects.count() == 1
    assert "already logged" in again.content.decode()


def test_the_timer_span_in_iso_instants_sets_start_and_duration(
    nurse: User, patient: Patient
) -> None:
    begin = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(8, 0, 0)))
    end = begin + dt.timedelta(minutes=7, seconds=5)
    response = signed_in(nurse).post(
        URL,
        form(
            [patient],
            minutes="",
            started_at=begin.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            ended_at=end.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    activity = TimeActivity.objects.get()
    assert (activity.started_at, activity.duration_seconds) == (dt.time(8, 0), 425)


# --- Log time: errors next to their field ---------------------------------------------------


def test_future_date_is_refused_next_to_the_date(nurse: User, patient: Patient) -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    response = signed_in(nurse).post(URL, form([patient], date=tomorrow.isoformat()))
    assert response.status_code == 400
    assert "in the future" in field_errors(response.content.decode(), "err-date")
    assert not TimeActivity.objects.exists()


@pytest.mark.parametrize(
    ("minutes", "message"),
    [
        ("0", "more than zero"),
        ("-5", "more than zero"),
        ("800", "more than 12 hours"),
        ("", "Enter the minutes spent, or start and stop the timer."),
    ],
)
def test_bad_duration_is_refused_next_to_the_minutes(
    nurse: User, patient: Patient, minutes: str, message: str
) -> None:
    response = signed_in(nurse).post(URL, form([patient], minutes=minutes))
    assert response.status_code == 400
    assert message in field_errors(response.content.decode(), "err-duration")
    assert not TimeActivity.objects.exists()


def test_minutes_and_a_timer_span_together_are_refused(nurse: User, patient: Patient) -> None:
    response = signed_in(nurse).post(
        URL, form([patient], started_at="08:00:00", ended_at="08:10:00")
    )
    assert response.status_code == 400
    assert "not both" in field_errors(response.content.decode(), "err-duration")


def test_missing_patient_and_note_are_shown_at_their_fields(nurse: User) -> None:
    response = signed_in(nurse).post(URL, form([], note=""))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose at least one patient." in field_errors(html, "err-patients")
    assert "Say what was done" in field_errors(html, "err-note")


def test_another_practices_patient_is_refused(nurse: User, other_practice: Any) -> None:
    stranger = PatientFactory(practice=other_practice)
    response = signed_in(nurse).post(URL, form([stranger]))
    assert response.status_code == 400
    assert "not one of the available choices" in field_errors(
        response.content.decode(), "err-patients"
    )
    assert not TimeActivity.objects.exists()


def test_overlap_with_an_own_entry_names_that_entry(nurse: User, patient: Patient) -> None:
    earlier = log(nurse, [patient], 30, started=dt.time(9, 0))
    response = signed_in(nurse).post(
        URL, form([patient], minutes="", started_at="09:15:00", ended_at="09:45:00")
    )
    assert response.status_code == 400
    errors = field_errors(response.content.decode(), "err-duration")
    assert f"overlaps your entry #{earlier.pk}" in errors
    assert TimeActivity.objects.count() == 1


def test_a_closed_month_is_refused_with_a_clear_message(nurse: User, patient: Patient) -> None:
    last_month = month_start(month_start(TODAY) - dt.timedelta(days=1))
    close_month(nurse, last_month)
    response = signed_in(nurse).post(URL, form([patient], date=last_month.isoformat()))
    assert response.status_code == 409
    errors = field_errors(response.content.decode(), "err-date")
    assert f"The billing month {last_month:%Y-%m} is closed" in errors
    assert "ask billing staff to reopen it" in errors
    assert not TimeActivity.objects.exists()


# --- My entries -----------------------------------------------------------------------------


def test_my_entries_lists_only_my_entries_of_the_month(
    nurse: User, make_user: Callable[..., User], make_patient: Callable[..., Patient]
) -> None:
    alice, bob = make_patient(last_name="Alpha"), make_patient(last_name="Beta")
    mine = log(nurse, [alice, bob], 30)
    colleague = make_user(Role.LPN, credential="LPN")
    theirs = log(colleague, [alice], 15)
    response = signed_in(nurse).get("/time/mine/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"/time/mine/{mine.pk}/edit/" in html and f"/time/mine/{mine.pk}/delete/" in html
    assert f"/time/mine/{theirs.pk}/" not in html
    assert "shared by 2: 15 min each" in html
    assert "1 entry, 30 min in all." in html


def test_editing_an_entry_changes_it_and_resplits(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    alice, bob = make_patient(), make_patient()
    activity = log(nurse, [alice], 12)
    client = signed_in(nurse)
    page = client.get(f"/time/mine/{activity.pk}/edit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{alice.pk}" checked' in html and 'value="12"' in html
    response = client.post(
        f"/time/mine/{activity.pk}/edit/", form([alice, bob], minutes="20", note="Called both")
    )
    assert response.status_code == 302
    assert response["Location"] == f"/time/mine/?month={TODAY:%Y-%m}"
    activity.refresh_from_db()
    assert (activity.duration_seconds, activity.patient_count, activity.note) == (
        1200,
        2,
        "Called both",
    )
    assert sorted(activity.shares.values_list("seconds", flat=True)) == [600, 600]
    assert AuditEvent.objects.filter(
        action="time_activity.update", object_id=str(activity.pk)
    ).exists()


def test_editing_a_timed_entry_shows_its_clock_times(nurse: User, patient: Patient) -> None:
    activity = log(nurse, [patient], 15, started=dt.time(10, 0))
    html = signed_in(nurse).get(f"/time/mine/{activity.pk}/edit/").content.decode()
    assert 'name="started_at" id="id_started_at" value="10:00:00"' in html
    assert 'name="ended_at" id="id_ended_at" value="10:15:00"' in html


def test_edit_errors_are_shown_next_to_the_field(nurse: User, patient: Patient) -> None:
    activity = log(nurse, [patient], 12)
    response = signed_in(nurse).post(
        f"/time/mine/{activity.pk}/edit/", form([patient], minutes="0")
    )
    assert response.status_code == 400
    assert "more than zero" in field_errors(response.content.decode(), "err-duration")


def test_someone_elses_entry_is_not_found(
    nurse: User, make_user: Callable[..., User], patient: Patient
) -> None:
    theirs = log(make_user(Role.LPN), [patient], 10)
    client = signed_in(nurse)
    assert client.get(f"/time/mine/{theirs.pk}/edit/").status_code == 404
    assert client.post(f"/time/mine/{theirs.pk}/delete/").status_code == 404
    assert TimeActivity.objects.filter(pk=theirs.pk).exists()


def test_delete_asks_first_then_deletes(nurse: User, patient: Patient) -> None:
    activity = log(nurse, [patient], 10)
    client = signed_in(nurse)
    confirm = client.get(f"/time/mine/{activity.pk}/delete/")
    assert confirm.status_code == 200
    assert "Delete entry #" in confirm.content.decode()
    assert TimeActivity.objects.filter(pk=activity.pk).exists()
    response = client.post(f"/time/mine/{activity.pk}/delete/", follow=True)
    assert not TimeActivity.objects.filter(pk=activity.pk).exists()
    assert f"Entry #{activity.pk}" in response.content.decode()
    assert AuditEvent.objects.filter(action="time_activity.delete").exists()


def test_a_closed_month_entry_cannot_be_edited_or_deleted(nurse: User, patient: Patient) -> None:
    activity = log(nurse, [patient], 10)
    close_month(nurse, month_start(TODAY))
    client = signed_in(nurse)
    listing = client.get("/time/mine/").content.decode()
    assert "can no longer be changed" in listing
    assert f"/time/mine/{activity.pk}/edit/" not in listing
    edit = client.post(f"/time/mine/{activity.pk}/edit/", form([patient], minutes="20"))
    assert edit.status_code == 409
    assert "is closed" in edit.content.decode()
    deleted = client.post(f"/time/mine/{activity.pk}/delete/", follow=True)
    assert "The entry was not deleted." in deleted.content.decode()
    activity.refresh_from_db()
    assert activity.duration_seconds == 600


def test_a_malformed_month_is_not_found(nurse: User) -> None:
    assert signed_in(nurse).get("/time/mine/?month=2026-13").status_code == 404
