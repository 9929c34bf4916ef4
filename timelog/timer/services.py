"""Writes of the session timer: start it for one patient or several, keep what the entry
will say while it runs, pause and resume it, keep or drop its idle time, note the page's
activity, stop it into time entries, or discard it.

One timer per user: a second start while one exists is refused (409), naming the
running one. A stop saves one entry per calendar day worked, through the time-entry
service (timelog.services.time_activity_create: validated, refused in a closed month,
audited), each with a request id made from the timer's id: a stop sent twice, from two
tabs at once, or retried after a lost answer saves the entries once and returns them.

Locks, in the order of ccm.locks: every write of a timer first locks its user's row (step
1, as the time-entry service does for the performer), which serialises all of one
person's timer writes, so the timer row needs no lock of its own; a stop then locks the
months of its days (2), deletes the timer (3) and saves the entries, whose audit comes
last (5). The page's activity report is one conditional UPDATE, holding nothing else.

Billing rules applied: an entry has one date (billing-rules.md section 2), so a timer
crossing midnight (practice time zone) saves two entries; idle time is not counted
unless the person keeps it, and keeping it is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound

from ccm.audit import audit_record
from ccm.locks import lock_for_change
from ccm.models import Practice, User
from ccm.periods import ensure_month_open
from patients.models import Patient
from timelog.models import ACTIVITY_TYPES, PROGRAMS, PerformerKind, Program, TimeActivity, Timer
from timelog.selectors import default_activity
from timelog.services import (
    NO_PATIENT,
    PATIENT_TWICE,
    TimeActivityInput,
    performer_kind_for,
    time_activity_create,
)
from timelog.timer.selectors import (
    IDLE,
    MAX_TIMER_DAYS,
    PAUSED,
    RUNNING,
    TimerState,
    timer_for_user,
    timer_part_request_id,
    timer_saved_entries,
    timer_state,
)
from timelog.timer.span import Segment, segments_from_json, segments_to_json, whole_second

#: The longest a page may say it has been without activity (a day).
MAX_INACTIVE_SECONDS = 24 * 3600


class NoTimer(NotFound):
    default_detail = "You have no timer running."
    default_code = "no_timer"


class TimerConflict(APIException):
    """409: a second start while a timer exists, or an action on a timer that has since
    been stopped or replaced (another tab or device moved first)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Your timer changed in another tab or device: reload to see it."
    default_code = "timer_conflict"


@dataclass(frozen=True)
class TimerDraft:
    """What the entry will say, as typed while the timer runs; None leaves a value as it
    is. `patients` are already scoped to the user's practice by the caller."""

    patients: Sequence[Patient] | None = None
    activity: str | None = None
    note: str | None = None
    outcome: str | None = None
    program: str | None = None


@dataclass(frozen=True)
class TimerStopped:
    """The entries a stop saved (one per day), and whether this call saved them (False:
    an earlier stop of the same timer did, and they are returned as they are)."""

    entries: list[TimeActivity]
    created: bool


def _now(now: dt.datetime | None) -> dt.datetime:
    return whole_second(now or timezone.now())


def _practice_of_logger(user: User) -> Practice:
    """The user's practice, when the user logs care-management time (else 403)."""
    if user.practice is None or performer_kind_for(user) == PerformerKind.NON_CLINICAL:
        raise PermissionDenied("Only clinical staff and practitioners time their work.")
    return user.practice


def _check_draft(practice: Practice, draft: TimerDraft) -> None:
    errors: dict[str, list[str]] = {}
    if draft.patients is not None:
        ids = [patient.pk for patient in draft.patients]
        if not ids:
            errors["patients"] = [NO_PATIENT]
        elif len(set(ids)) != len(ids):
            errors["patients"] = [PATIENT_TWICE]
        elif Patient.objects.filter(pk__in=ids).exclude(practice=practice).exists():
            errors["patients"] = ["Unknown patient id(s)."]
    if draft.activity and draft.activity not in ACTIVITY_TYPES:
        errors["activity"] = [f"{draft.activity!r} is not a known activity."]
    if draft.program is not None and draft.program not in PROGRAMS:
        errors["program"] = [f"{draft.program!r} is not a known program."]
    if errors:
        raise ValidationError(errors)


def _apply_draft(timer: Timer, draft: TimerDraft) -> None:
    """Set the draft's values on the timer (saved by the caller; patients at once)."""
    if draft.activity is not None:
        timer.activity = draft.activity
    if draft.note is not None:
        timer.note = draft.note
    if draft.outcome is not None:
        timer.outcome = draft.outcome
    if draft.program is not None:
        timer.program = draft.program
    if draft.patients is not None:
        timer.patients.set(draft.patients)


def _locked(user: User, timer_id: uuid.UUID | None) -> Timer:
    """The user's timer, once the user's row is locked for this transaction (ccm.locks,
    step 1: every timer write takes it first). `timer_id`, when given, is the timer the
    caller saw: another one (or none) means a tab or device moved first."""
    _lock_person(user)
    timer = timer_for_user(user)
    if timer is None:
        raise NoTimer()
    if timer_id is not None and timer.pk != timer_id:
        raise TimerConflict("That timer was stopped or discarded; another one is running now.")
    return timer


def _lock_person(user: User) -> None:
    lock_for_change(User.objects.filter(pk=user.pk))


def _reloaded(user: User) -> Timer:
    timer = timer_for_user(user)
    if timer is None:
        raise NoTimer()
    return timer


def _close_open_segment(timer: Timer, end: dt.datetime) -> None:
    """Pause: the open segment [running_since, end) joins the closed ones."""
    if timer.running_since is None:
        return
    segments = segments_from_json(timer.worked)
    if end > timer.running_since:
        segments.append(Segment(timer.running_since, end))
    timer.worked = segments_to_json(segments)
    timer.running_since = None


def _audit_state(state: TimerState) -> dict[str, object]:
    return {
        "timer": str(state.timer.pk),
        "patients": [patient.pk for patient in state.patients],
        "started_at": state.timer.started_at,
        "worked_seconds": state.worked_seconds,
        "idle_seconds": state.idle_seconds,
        "segments": segments_to_json(state.segments),
    }


@transaction.atomic
def timer_start(
    *,
    user: User,
    patients: Sequence[Patient],
    activity: str = "",
    note: str = "",
    outcome: str = "",
    program: str = Program.CCM,
    now: dt.datetime | None = None,
) -> Timer:
    """Start the user's timer for `patients` (one or several: a shared activity, split
    evenly when saved); the activity defaults to the user's last one. Refused with 409
    while the user has a timer, running or not."""
    practice = _practice_of_logger(user)
    activity = activity or default_activity(user)
    draft = TimerDraft(
        patients=patients, activity=activity, note=note, outcome=outcome, program=program
    )
    _check_draft(practice, draft)
    moment = _now(now)
    _lock_person(user)  # a start racing this one (another tab) waits, then sees this timer
    current = timer_for_user(user)
    if current is not None:
        raise _already_running(current)
    timer = Timer.objects.create(
        practice=practice,
        user=user,
        activity=activity,
        note=note,
        outcome=outcome,
        program=program,
        started_at=moment,
        running_since=moment,
        last_active_at=moment,
    )
    timer.patients.set(patients)
    audit_record(
        actor=user,
        action="timer.start",
        instance=timer,
        after={
            "patients": sorted(patient.pk for patient in patients),
            "started_at": moment,
            "program": program,
        },
    )
    return _reloaded(user)


def _already_running(current: Timer) -> TimerConflict:
    names = "; ".join(f"{p.last_name}, {p.first_name}" for p in current.patients.all())
    since = timezone.localtime(current.started_at)
    return TimerConflict(
        f"A timer is already running for {names or 'no patient'} since {since:%H:%M}: "
        "stop or discard it before starting another (one timer at a time)."
    )


@transaction.atomic
def timer_update(*, user: User, draft: TimerDraft, timer_id: uuid.UUID | None = None) -> Timer:
    """Keep what was typed while the timer runs (patients, activity, note, outcome,
    program), so a reload, another tab or another device shows it."""
    _check_draft(_practice_of_logger(user), draft)
    timer = _locked(user, timer_id)
    _apply_draft(timer, draft)
    timer.save()
    return _reloaded(user)


@transaction.atomic
def timer_pause(
    *, user: User, timer_id: uuid.UUID | None = None, now: dt.datetime | None = None
) -> Timer:
    """Pause: the time from now (or, when idle, from the last activity) is not counted."""
    timer = _locked(user, timer_id)
    state = timer_state(timer, now=_now(now))
    if state.status != PAUSED:
        _close_open_segment(timer, state.idle_since or state.now)
        timer.save()
    return timer


@transaction.atomic
def timer_resume(
    *, user: User, timer_id: uuid.UUID | None = None, now: dt.datetime | None = None
) -> Timer:
    """Count again from now. An idle timer's idle time is dropped: its work ends at the
    last activity and starts again now."""
    timer = _locked(user, timer_id)
    state = timer_state(timer, now=_now(now))
    if state.status == RUNNING:
        return timer
    if state.status == IDLE and state.idle_since is not None:
        _close_open_segment(timer, state.idle_since)
    timer.running_since = state.now
    timer.last_active_at = state.now
    timer.save()
    return timer


@transaction.atomic
def timer_keep_idle(
    *, user: User, timer_id: uuid.UUID | None = None, now: dt.datetime | None = None
) -> Timer:
    """The person was working all along (a long call, reading a chart): the idle time
    counts, and the timer runs on. Audited, since it adds minutes no page saw worked."""
    timer = _locked(user, timer_id)
    state = timer_state(timer, now=_now(now))
    if state.status != IDLE:
        raise TimerConflict("The timer is not idle: there is no idle time to keep.")
    timer.last_active_at = state.now
    timer.save()
    audit_record(
        actor=user,
        action="timer.keep_idle",
        instance=timer,
        before={"idle_since": state.idle_since, "worked_seconds": state.worked_seconds},
        after={"kept_seconds": state.idle_seconds},
    )
    return timer


def timer_touch(
    *, user: User, inactive_seconds: int = 0, now: dt.datetime | None = None
) -> Timer | None:
    """A page saw activity `inactive_seconds` ago: a running timer that is not idle moves
    its last activity there. One conditional UPDATE: an idle timer stays idle (the person
    answers "still working?"), and a later activity reported first is never moved back."""
    if not 0 <= inactive_seconds <= MAX_INACTIVE_SECONDS:
        raise ValidationError(
            {"inactive_seconds": [f"Give whole seconds from 0 to {MAX_INACTIVE_SECONDS}."]}
        )
    moment = _now(now)
    active_at = moment - dt.timedelta(seconds=inactive_seconds)
    timer = timer_for_user(user)
    if timer is None:
        return None
    idle_after = dt.timedelta(minutes=timer.practice.timer_idle_minutes)
    Timer.objects.filter(
        pk=timer.pk,
        running_since__isnull=False,
        last_active_at__gt=moment - idle_after,
        last_active_at__lt=active_at,
    ).update(last_active_at=active_at)
    return timer_for_user(user)


@transaction.atomic
def timer_stop(
    *,
    user: User,
    timer_id: uuid.UUID | None = None,
    draft: TimerDraft | None = None,
    now: dt.datetime | None = None,
) -> TimerStopped:
    """Save the timer's work as time entries, one per calendar day worked (billing rule:
    an entry has one date), and end the timer. The work ends now, or at the last
    activity when the timer is idle (idle time is kept only by timer_keep_idle).

    With `timer_id`, a timer already stopped returns the entries it saved (created
    False): a double stop, two tabs or a retry save nothing twice. Refused as a whole when
    an entry is (400 naming the field, 409 for a closed month): the timer stays."""
    practice = _practice_of_logger(user)
    if draft is not None:
        _check_draft(practice, draft)
    try:
        timer = _locked(user, timer_id)
    except (NoTimer, TimerConflict):
        saved = timer_saved_entries(user, timer_id) if timer_id is not None else []
        if saved:
            return TimerStopped(entries=saved, created=False)
        raise
    if draft is not None:
        _apply_draft(timer, draft)
    state = timer_state(timer, now=_now(now))
    _check_days(state)
    ensure_month_open(practice, *(day.date for day in state.days))  # step 2: 409 if closed
    timer_id, patients, before = timer.pk, state.patients, _audit_state(state)
    timer.delete()  # step 3; were an entry refused below, the transaction brings it back
    entries = _save_days(user, state, timer_id, patients)
    audit_record(
        actor=user,
        action="timer.stop",
        object_type=Timer._meta.label_lower,
        object_id=timer_id,
        practice=practice,
        before=before,
        after={"entries": [entry.pk for entry in entries]},
    )
    return TimerStopped(entries=entries, created=True)


def _check_days(state: TimerState) -> None:
    """What the entries need besides what the time-entry service checks: an activity, a
    note, some time, and not too many days."""
    timer = state.timer
    errors: dict[str, list[str]] = {}
    if not timer.activity:
        errors["activity"] = ["Choose the activity."]
    if not timer.note.strip():
        errors["note"] = ["Say what was done: an audit needs it."]
    days = state.days
    if not days:
        errors["duration"] = ["The timer has counted no time yet: resume it, or discard it."]
    elif len(days) > MAX_TIMER_DAYS:
        errors["duration"] = [
            f"The timer ran over {len(days)} days: discard it and log the time by day."
        ]
    if errors:
        raise ValidationError(errors)


def _save_days(
    user: User, state: TimerState, timer_id: uuid.UUID, patients: Sequence[Patient]
) -> list[TimeActivity]:
    """One entry per day through the time-entry service (validated, audited), each with a
    request id made from the timer's id; `patients` as read before the timer was deleted."""
    timer = state.timer
    today = state.now.astimezone(state.zone).date()
    entries = []
    for index, day in enumerate(state.days):
        activity, _ = time_activity_create(
            performer=user,
            entry=TimeActivityInput(
                patients=patients,
                date=day.date,
                duration_seconds=day.seconds,
                activity=timer.activity,
                note=timer.note,
                outcome=timer.outcome,
                program=timer.program,
                started_at=day.started_at,
            ),
            request_id=timer_part_request_id(timer_id, index),
            today=today,
        )
        entries.append(activity)
    return entries


@transaction.atomic
def timer_discard(
    *, user: User, timer_id: uuid.UUID | None = None, now: dt.datetime | None = None
) -> None:
    """Throw the timer away, its time unsaved (audited, after the delete: minutes were
    dropped on purpose)."""
    timer = _locked(user, timer_id)
    state = timer_state(timer, now=_now(now))
    deleted_id, practice, before = timer.pk, timer.practice, _audit_state(state)
    timer.delete()
    audit_record(
        actor=user,
        action="timer.discard",
        object_type=Timer._meta.label_lower,
        object_id=deleted_id,
        practice=practice,
        before=before,
    )
