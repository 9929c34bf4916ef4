"""The session timer's services on the real database, with the clock passed in: one timer
per person, pause and resume, idle time dropped or kept, the stop saved as entries (one
per practice day) through the time-entry service, exactly once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ccm.exceptions import PeriodClosed
from ccm.models import AuditEvent, BillingMonth, Role, User
from patients.models import Patient
from timelog.models import TimeActivity, Timer
from timelog.services import TimeActivityInput, time_activity_create
from timelog.timer.selectors import IDLE, PAUSED, RUNNING, timer_for_user, timer_state
from timelog.timer.services import (
    NoTimer,
    TimerConflict,
    TimerDraft,
    timer_discard,
    timer_keep_idle,
    timer_pause,
    timer_resume,
    timer_start,
    timer_stop,
    timer_touch,
    timer_update,
)

pytestmark = pytest.mark.django_db

ZONE = timezone.get_default_timezone()
TODAY = timezone.localdate()
YESTERDAY = TODAY - dt.timedelta(days=1)


def at(day: dt.date, clock: str) -> dt.datetime:
    """A wall-clock moment of the practice's time zone."""
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=ZONE)


def start(nurse: User, patients: list[Patient], when: dt.datetime) -> Timer:
    return timer_start(
        user=nurse, patients=patients, activity="patient_call", note="Monthly call", now=when
    )


def active(nurse: User, when: dt.datetime) -> None:
    """The page saw the nurse at work at `when` (without it, 10 minutes make the timer idle)."""
    timer_touch(user=nurse, now=when)


def active_until(nurse: User, begin: dt.datetime, end: dt.datetime) -> None:
    """Activity in the page every five minutes from `begin` up to `end`."""
    moment = begin
    while moment <= end:
        active(nurse, moment)
        moment += dt.timedelta(minutes=5)


def test_a_timer_is_started_for_its_patients_and_audited(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    patients = [make_patient(), make_patient()]
    timer = start(nurse, patients, at(TODAY, "09:00"))
    state = timer_state(timer, now=at(TODAY, "09:04:30"))
    assert (state.status, state.worked_seconds) == (RUNNING, 270)
    assert {p.pk for p in state.patients} == {p.pk for p in patients}
    assert AuditEvent.objects.filter(action="timer.start", object_id=str(timer.pk)).exists()


def test_a_second_start_is_refused_naming_the_running_timer(
    nurse: User, patient: Patient, make_patient: Callable[..., Patient]
) -> None:
    start(nurse, [patient], at(TODAY, "09:00"))
    with pytest.raises(TimerConflict) as refused:
        start(nurse, [make_patient()], at(TODAY, "09:05"))
    assert f"{patient.last_name}, {patient.first_name}" in str(refused.value.detail)
    assert "one timer at a time" in str(refused.value.detail)
    assert Timer.objects.count() == 1


def test_only_the_care_team_times_work(make_user: Callable[..., User], patient: Patient) -> None:
    with pytest.raises(PermissionDenied):
        start(make_user(Role.FRONT_DESK, credential=""), [patient], at(TODAY, "09:00"))


def test_another_practices_patient_is_unknown(nurse: User, outsider: User) -> None:
    foreign = Patient.objects.create(
        practice=outsider.practice,
        mrn="X1",
        first_name="Far",
        last_name="Away",
        birth_date=dt.date(1950, 1, 1),
        billing_practitioner=outsider,
    )
    with pytest.raises(ValidationError) as refused:
        start(nurse, [foreign], at(TODAY, "09:00"))
    assert "patients" in refused.value.message_dict


def test_paused_time_does_not_count(nurse: User, patient: Patient) -> None:
    start(nurse, [patient], at(TODAY, "09:00"))
    active(nurse, at(TODAY, "09:08"))
    timer_pause(user=nurse, now=at(TODAY, "09:10"))
    paused = timer_state(timer_for_user(nurse), now=at(TODAY, "09:30"))  # type: ignore[arg-type]
    assert (paused.status, paused.worked_seconds) == (PAUSED, 600)
    timer_resume(user=nurse, now=at(TODAY, "09:30"))
    state = timer_state(timer_for_user(nurse), now=at(TODAY, "09:35"))  # type: ignore[arg-type]
    assert (state.status, state.worked_seconds) == (RUNNING, 900)
    stopped = timer_stop(user=nurse, now=at(TODAY, "09:35"))
    # One entry from the first start: 15 min worked between 09:00 and 09:35.
    assert [(e.started_at, e.duration_seconds) for e in stopped.entries] == [(dt.time(9), 900)]


def test_idle_time_is_dropped_on_resume(nurse: User, patient: Patient) -> None:
    start(nurse, [patient], at(TODAY, "09:00"))
    timer_touch(user=nurse, inactive_seconds=0, now=at(TODAY, "09:04"))
    idle = timer_state(timer_for_user(nurse), now=at(TODAY, "09:20"))  # type: ignore[arg-type]
    assert (idle.status, idle.idle_since, idle.worked_seconds) == (IDLE, at(TODAY, "09:04"), 240)
    assert idle.idle_seconds == 16 * 60
    timer_resume(user=nurse, now=at(TODAY, "09:20"))
    state = timer_state(timer_for_user(nurse), now=at(TODAY, "09:21"))  # type: ignore[arg-type]
    assert (state.status, state.worked_seconds) == (RUNNING, 240 + 60)


def test_idle_time_kept_counts_and_is_audited(nurse: User, patient: Patient) -> None:
    timer = start(nurse, [patient], at(TODAY, "09:00"))
    timer_keep_idle(user=nurse, now=at(TODAY, "09:12"))
    state = timer_state(timer_for_user(nurse), now=at(TODAY, "09:13"))  # type: ignore[arg-type]
    assert (state.status, state.worked_seconds) == (RUNNING, 13 * 60)
    kept = AuditEvent.objects.get(action="timer.keep_idle", object_id=str(timer.pk))
    assert kept.after == {"kept_seconds": 12 * 60}
    with pytest.raises(TimerConflict):  # running again: nothing idle to keep
        timer_keep_idle(user=nurse, now=at(TODAY, "09:14"))


def test_the_practice_sets_the_idle_minutes(nurse: User, patient: Patient) -> None:
    practice = nurse.practice
    assert practice is not None and practice.timer_idle_minutes == 10
    practice.timer_idle_minutes = 3
    practice.save()
    timer = start(nurse, [patient], at(TODAY, "09:00"))
    assert timer_state(timer, now=at(TODAY, "09:02:59")).status == RUNNING
    assert timer_state(timer, now=at(TODAY, "09:03")).status == IDLE


def test_activity_moves_the_idle_clock_forward_only_while_not_idle(
    nurse: User, patient: Patient
) -> None:
    start(nurse, [patient], at(TODAY, "09:00"))
    timer_touch(user=nurse, inactive_seconds=30, now=at(TODAY, "09:08"))
    assert timer_for_user(nurse).last_active_at == at(TODAY, "09:07:30")  # type: ignore[union-attr]
    # An older report (another tab's) never moves it back.
    timer_touch(user=nurse, inactive_seconds=300, now=at(TODAY, "09:08:10"))
    assert timer_for_user(nurse).last_active_at == at(TODAY, "09:07:30")  # type: ignore[union-attr]
    # Idle since 09:07:30: activity now does not quietly keep the idle time.
    timer_touch(user=nurse, inactive_seconds=0, now=at(TODAY, "09:30"))
    state = timer_state(timer_for_user(nurse), now=at(TODAY, "09:30"))  # type: ignore[arg-type]
    assert (state.status, state.idle_since) == (IDLE, at(TODAY, "09:07:30"))
    with pytest.raises(ValidationError):
        timer_touch(user=nurse, inactive_seconds=-1)


def test_the_stop_saves_one_entry_with_the_exact_seconds(nurse: User, patient: Patient) -> None:
    timer = start(nurse, [patient], at(TODAY, "09:00"))
    timer_update(user=nurse, draft=TimerDraft(note="Reviewed glucose log", outcome="Insulin"))
    active(nurse, at(TODAY, "09:08"))
    stopped = timer_stop(user=nurse, timer_id=timer.pk, now=at(TODAY, "09:12:07"))
    assert stopped.created
    [entry] = stopped.entries
    assert (entry.date, entry.started_at, entry.duration_seconds) == (
        TODAY,
        dt.time(9, 0),
        727,
    )
    assert (entry.activity, entry.note, entry.outcome) == (
        "patient_call",
        "Reviewed glucose log",
        "Insulin",
    )
    assert [(s.patient_id, s.seconds) for s in entry.shares.all()] == [(patient.pk, 727)]
    assert not Timer.objects.exists()
    assert AuditEvent.objects.filter(
        action="time_activity.create", object_id=str(entry.pk)
    ).exists()
    stop_event = AuditEvent.objects.get(action="timer.stop", object_id=str(timer.pk))
    assert stop_event.after == {"entries": [entry.pk]}


def test_a_stop_sent_again_returns_the_entries_saved_once(nurse: User, patient: Patient) -> None:
    timer = start(nurse, [patient], at(TODAY, "09:00"))
    active(nurse, at(TODAY, "09:05"))
    first = timer_stop(user=nurse, timer_id=timer.pk, now=at(TODAY, "09:10"))
    again = timer_stop(user=nurse, timer_id=timer.pk, now=at(TODAY, "09:11"))
    assert not again.created
    assert [e.pk for e in again.entries] == [e.pk for e in first.entries]
    assert TimeActivity.objects.count() == 1
    with pytest.raises(NoTimer):  # without the id there is nothing to find
        timer_stop(user=nurse, now=at(TODAY, "09:12"))


def test_a_timer_across_midnight_saves_one_entry_per_day(nurse: User, patient: Patient) -> None:
    start(nurse, [patient], at(YESTERDAY, "23:50"))
    active_until(nurse, at(YESTERDAY, "23:55"), at(TODAY, "00:20"))
    stopped = timer_stop(user=nurse, now=at(TODAY, "00:20:05"))
    assert [(e.date, e.started_at, e.duration_seconds) for e in stopped.entries] == [
        (YESTERDAY, dt.time(23, 50), 600),
        (TODAY, dt.time(0, 0), 1205),
    ]
    assert TimeActivity.objects.filter(performer=nurse).count() == 2


def test_an_idle_timer_stops_at_its_last_activity(nurse: User, patient: Patient) -> None:
    start(nurse, [patient], at(TODAY, "09:00"))
    active(nurse, at(TODAY, "09:06"))
    stopped = timer_stop(user=nurse, now=at(TODAY, "11:45"))  # back from lunch
    assert [e.duration_seconds for e in stopped.entries] == [360]


def test_a_stop_without_what_was_done_is_refused_and_the_timer_stays(
    nurse: User, patient: Patient
) -> None:
    timer_start(user=nurse, patients=[patient], now=at(TODAY, "09:00"))
    active(nurse, at(TODAY, "09:05"))
    with pytest.raises(ValidationError) as refused:
        timer_stop(user=nurse, now=at(TODAY, "09:10"))
    assert set(refused.value.message_dict) == {"note"}
    assert Timer.objects.count() == 1
    assert not TimeActivity.objects.exists()
    stopped = timer_stop(
        user=nurse,
        draft=TimerDraft(activity="lab_review", note="Read the A1c"),
        now=at(TODAY, "09:10"),
    )
    assert stopped.entries[0].activity == "lab_review"


def test_a_stop_into_a_closed_month_is_refused_whole(nurse: User, patient: Patient) -> None:
    first_of_month = TODAY.replace(day=1)
    last_month_end = first_of_month - dt.timedelta(days=1)
    BillingMonth.objects.create(
        practice=nurse.practice, month=last_month_end.replace(day=1), status="closed", version=1
    )
    start(nurse, [patient], at(last_month_end, "23:30"))
    active_until(nurse, at(last_month_end, "23:35"), at(first_of_month, "00:05"))
    with pytest.raises(PeriodClosed):
        timer_stop(user=nurse, now=at(first_of_month, "00:10"))
    assert Timer.objects.count() == 1
    assert not TimeActivity.objects.exists()


def test_the_draft_changes_the_patients_of_the_shared_activity(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    one, two, three = make_patient(), make_patient(), make_patient()
    start(nurse, [one], at(TODAY, "09:00"))
    timer_update(user=nurse, draft=TimerDraft(patients=[two, three]))
    active(nurse, at(TODAY, "09:09"))
    stopped = timer_stop(user=nurse, now=at(TODAY, "09:10:01"))
    shares = sorted((s.patient_id, s.seconds) for s in stopped.entries[0].shares.all())
    assert shares == sorted([(two.pk, 300), (three.pk, 300)])


def test_discard_drops_the_time_and_is_audited(nurse: User, patient: Patient) -> None:
    timer = start(nurse, [patient], at(TODAY, "09:00"))
    with pytest.raises(TimerConflict):  # the id of a timer the page no longer shows
        timer_discard(user=nurse, timer_id=Timer._meta.pk.default(), now=at(TODAY, "09:05"))  # type: ignore[union-attr]
    timer_discard(user=nurse, timer_id=timer.pk, now=at(TODAY, "09:05"))
    assert not Timer.objects.exists() and not TimeActivity.objects.exists()
    event = AuditEvent.objects.get(action="timer.discard", object_id=str(timer.pk))
    assert event.before is not None and event.before["worked_seconds"] == 300
    with pytest.raises(NoTimer):
        timer_pause(user=nurse)


def test_the_activity_defaults_to_the_persons_last_one(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    first = timer_start(user=nurse, patients=[make_patient()], now=at(TODAY, "08:00"))
    assert first.activity == "patient_call"  # nothing logged yet: a patient call
    timer_discard(user=nurse, now=at(TODAY, "08:01"))
    time_activity_create(
        performer=nurse,
        entry=TimeActivityInput(
            patients=[make_patient()],
            date=TODAY,
            duration_seconds=300,
            activity="lab_review",
            note="Read the labs",
        ),
    )
    assert timer_start(user=nurse, patients=[make_patient()]).activity == "lab_review"
