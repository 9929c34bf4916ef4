"""Writes of care-management time. Every write is audited, refused in a closed month
(409), and, when it could clash with the performer's other entries (a timed entry, a
request id, an edit), serialised per performer so two requests can never log the same
minutes twice.

Billing rules applied here (billing-rules.md section 2 and 4): an activity serving several
patients is split evenly in whole seconds, the remainder dropped; a performer's own
entries may not overlap (the engine would count only their union).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from ccm.audit import audit_record, snapshot
from ccm.exceptions import PeriodClosed
from ccm.limits import NOTE_MAX_LENGTH, text_problem
from ccm.locks import lock_for_change
from ccm.models import CARE_TEAM_ROLES, BillingMonth, Role, User
from ccm.periods import ensure_month_open, month_start
from patients.models import Patient
from timelog.models import (
    ACTIVITY_TYPES,
    MAX_ACTIVITY_SECONDS,
    PROGRAMS,
    PerformerKind,
    Program,
    TimeActivity,
    TimeShare,
)

NO_PATIENT = "Choose at least one patient."
PATIENT_TWICE = "A patient is listed twice."

ACTIVITY_AUDIT_FIELDS = (
    "performer_id",
    "date",
    "started_at",
    "duration_seconds",
    "activity",
    "note",
    "outcome",
    "program",
    "patient_count",
    "logged_on",
)


@dataclass(frozen=True)
class TimeActivityInput:
    """What a person enters for one activity; `patients` are already scoped to the
    performer's practice by the caller."""

    patients: Sequence[Patient]
    date: dt.date
    duration_seconds: int
    activity: str
    note: str
    outcome: str = ""
    program: str = Program.CCM
    started_at: dt.time | None = None


def performer_kind_for(user: User) -> str:
    """How the engine counts this person's time: practitioners personally, RN/LPN/MA/care
    managers as clinical staff under general supervision."""
    if user.role == Role.PRACTITIONER:
        return PerformerKind.PRACTITIONER
    if user.role in CARE_TEAM_ROLES:
        return PerformerKind.CLINICAL_STAFF
    return PerformerKind.NON_CLINICAL


def even_share_seconds(total_seconds: int, patient_count: int) -> int:
    """Billing rule (shared activity): each patient is credited floor(total / n) seconds;
    the remainder is dropped, so no second is ever credited twice."""
    return total_seconds // patient_count


def _validate(entry: TimeActivityInput, *, today: dt.date) -> None:
    errors: dict[str, list[str]] = {}
    if not entry.patients:
        errors["patients"] = [NO_PATIENT]
    elif len({patient.pk for patient in entry.patients}) != len(entry.patients):
        errors["patients"] = [PATIENT_TWICE]
    if entry.duration_seconds <= 0:
        errors["duration"] = ["The duration must be more than zero."]
    elif entry.duration_seconds > MAX_ACTIVITY_SECONDS:
        errors["duration"] = ["The duration cannot be more than 12 hours; split longer work."]
    if entry.date > today:
        errors["date"] = [f"{entry.date:%Y-%m-%d} is in the future; log time once it is spent."]
    if entry.activity not in ACTIVITY_TYPES:
        errors["activity"] = [f"{entry.activity!r} is not a known activity."]
    if entry.program not in PROGRAMS:
        errors["program"] = [f"{entry.program!r} is not a known program."]
    if not entry.note.strip():
        errors["note"] = ["Say what was done: an audit needs it."]
    for field, text in (("note", entry.note), ("outcome", entry.outcome)):
        problem = text_problem(text, NOTE_MAX_LENGTH)
        if problem:
            errors[field] = [problem]
    if entry.started_at is not None and entry.duration_seconds > 0:
        start = dt.datetime.combine(entry.date, entry.started_at)
        midnight = dt.datetime.combine(entry.date + dt.timedelta(days=1), dt.time())
        # An activity may end at midnight exactly (a timer's first day does).
        if start + dt.timedelta(seconds=entry.duration_seconds) > midnight:
            errors["duration"] = ["The activity runs past midnight; log each day separately."]
    if errors:
        raise ValidationError(errors)


def _interval(day: dt.date, start: dt.time, seconds: int) -> tuple[dt.datetime, dt.datetime]:
    begin = dt.datetime.combine(day, start)
    return begin, begin + dt.timedelta(seconds=seconds)


def _reject_overlap(performer: User, entry: TimeActivityInput, *, exclude_id: int | None) -> None:
    """Billing rule ENTRY_OVERLAP, prevented at the source: a performer's own timed entries
    on one date may not overlap; several patients at once is one shared activity."""
    if entry.started_at is None:
        return
    begin, end = _interval(entry.date, entry.started_at, entry.duration_seconds)
    same_day = TimeActivity.objects.filter(
        performer=performer, date=entry.date, started_at__isnull=False
    )
    if exclude_id is not None:
        same_day = same_day.exclude(pk=exclude_id)
    for other in same_day.only("id", "date", "started_at", "duration_seconds"):
        other_start = other.started_at or dt.time()  # never None: filtered above
        other_begin, other_end = _interval(other.date, other_start, other.duration_seconds)
        if begin < other_end and other_begin < end:
            raise ValidationError(
                {
                    "started_at": [
                        f"This overlaps your entry #{other.pk} "
                        f"({other_begin:%H:%M}–{other_end:%H:%M}). Time spent on several "
                        "patients at once is one shared activity: log it once with all its "
                        "patients."
                    ]
                }
            )


def _lock_performer(performer: User) -> None:
    """Serialise one performer's writes so the overlap check and the request-id check
    cannot race with a second tab or a retried request.

    The first lock of the transaction (ccm.locks, step 1), FOR NO KEY UPDATE: another
    POST of the same performer that holds the practice's audit chain checks its
    foreign key to this user row at commit (FOR KEY SHARE), and must not wait for us
    while we wait for the chain."""
    lock_for_change(User.objects.filter(pk=performer.pk))


def _write_shares(activity: TimeActivity, patients: Sequence[Patient]) -> list[TimeShare]:
    """Write the activity's even shares and keep them on the activity (_keep_shares)."""
    shares = TimeShare.objects.bulk_create(_new_shares(activity, patients))
    _keep_shares(activity, shares)
    return shares


def _keep_shares(activity: TimeActivity, shares: Sequence[TimeShare]) -> None:
    """Keep the shares just written on the activity, ordered by patient as the selectors
    prefetch them: `activity.shares.all()` (the API's answer) then gives them without
    querying them again."""
    # What prefetch_related("shares") leaves on an instance (Django has no public way to
    # hand it objects already in memory): a queryset whose results are these rows.
    written = activity.shares.all()  # lazy: no query
    written._result_cache = sorted(shares, key=lambda share: share.patient_id)
    written._prefetch_done = True  # type: ignore[attr-defined]
    activity._prefetched_objects_cache = {"shares": written}  # type: ignore[attr-defined]


def _activity_snapshot(
    activity: TimeActivity, shares: Sequence[TimeShare] | None = None
) -> dict[str, Any]:
    """The audit's picture of an activity with its shares: `shares` as just written, or
    read from the database when not given."""
    data = snapshot(activity, ACTIVITY_AUDIT_FIELDS)
    if shares is None:
        shares = list(activity.shares.all())
    data["shares"] = [
        {"patient": share.patient_id, "seconds": share.seconds}
        for share in sorted(shares, key=lambda share: share.patient_id)
    ]
    return data


@transaction.atomic
def time_activity_create(
    *,
    performer: User,
    entry: TimeActivityInput,
    request_id: uuid.UUID | None = None,
    today: dt.date | None = None,
) -> tuple[TimeActivity, bool]:
    """Log one activity for its patients, split evenly (billing rule: shared activity).

    Returns (activity, created); a created activity comes with its shares loaded. A
    `request_id` already used by this performer returns the first activity unchanged
    (created False): a retried submission is never counted twice. `logged_on` is the
    day it is entered, in the practice's time zone (billing rule ENTRY_LATE); nothing
    changes it afterwards (`today` stands for the day only in tests and the demo).
    Refused (409) in a closing or closed month (the period lock); audited as
    time_activity.create with the entry and its shares.
    """
    practice = performer.practice
    if practice is None or performer_kind_for(performer) == PerformerKind.NON_CLINICAL:
        raise PermissionDenied("Only clinical staff and practitioners log care-management time.")
    if entry.started_at is not None or request_id is not None:
        # The lock serialises the two checks that read the performer's other entries: the
        # overlap check (timed entries only) and the request-id lookup. An entry with
        # neither cannot overlap anything nor be a retry, so it needs no lock; the month
        # is still locked (FOR SHARE) before its rows are written, and its own rows are new.
        _lock_performer(performer)
    if request_id is not None:
        existing = TimeActivity.objects.filter(performer=performer, request_id=request_id).first()
        if existing is not None:
            return existing, False
    today = today or timezone.localdate()
    _validate(entry, today=today)
    if entry.started_at is not None:
        # The overlap check reads under the month's lock: a closed month answers 409
        # before an overlap answers 400. (The insert below locks the month again: a no-op.)
        ensure_month_open(practice, entry.date)
        _reject_overlap(performer, entry, exclude_id=None)
    now = timezone.now()
    activity = TimeActivity(
        practice=practice,
        performer=performer,
        performer_kind=performer_kind_for(performer),
        performer_credential=performer.credential,
        date=entry.date,
        started_at=entry.started_at,
        duration_seconds=entry.duration_seconds,
        activity=entry.activity,
        note=entry.note.strip(),
        outcome=entry.outcome.strip(),
        program=entry.program,
        patient_count=len(entry.patients),
        request_id=request_id,
        created_at=now,
        logged_on=today,
        updated_at=now,
    )
    if connection.vendor == "postgresql":
        _insert_audited(activity, entry.patients)
    else:
        _insert_audited_by_the_orm(activity, entry.patients)
    return activity, True


# The one call that writes a new activity, its shares and its audit event, the month
# locked first (timelog migration 0006, where its lock order is explained). The casts
# choose the function's signature whatever types the driver gives the parameters.
CREATE_CALL = (
    "SELECT month_status, activity_id, share_ids, event_id FROM timelog_time_activity_create("
    "%s::date, %s::bigint, %s::bigint, %s::text, %s::text, %s::date, %s::time, %s::integer, "
    "%s::text, %s::text, %s::text, %s::text, %s::smallint, %s::uuid, %s::date, "
    "%s::timestamptz, %s::bigint[], %s::integer, %s::text, %s::text, %s::jsonb)"
)
CREATE_ACTION = "time_activity.create"


def _new_shares(activity: TimeActivity, patients: Sequence[Patient]) -> list[TimeShare]:
    """The activity's even shares (billing rule: shared activity), in the patients' order."""
    seconds = even_share_seconds(activity.duration_seconds, len(patients))
    return [
        TimeShare(activity=activity, patient=patient, date=activity.date, seconds=seconds)
        for patient in patients
    ]


def _insert_audited(activity: TimeActivity, patients: Sequence[Patient]) -> None:
    """Write `activity` (its fields all set, its id not yet), its even shares and its
    audit event (time_activity.create, the snapshot every change of an activity records)
    in one round trip, after locking the month FOR SHARE; 409 when the month is not open.
    The activity and its shares get their ids and are kept as written (_keep_shares)."""
    shares = _new_shares(activity, patients)
    after = _activity_snapshot(activity, shares)
    params: list[Any] = [
        month_start(activity.date),
        activity.practice_id,
        activity.performer_id,
        activity.performer_kind,
        activity.performer_credential,
        activity.date,
        activity.started_at,
        activity.duration_seconds,
        activity.activity,
        activity.note,
        activity.outcome,
        activity.program,
        activity.patient_count,
        activity.request_id,
        activity.logged_on,
        activity.created_at,
        [patient.pk for patient in patients],
        shares[0].seconds,
        CREATE_ACTION,
        TimeActivity._meta.label_lower,
        json.dumps(after),
    ]
    with connection.cursor() as cursor:
        cursor.execute(CREATE_CALL, params)
        status, activity_id, share_ids, _event_id = cursor.fetchone()
    if status != BillingMonth.Status.OPEN:
        # ccm.periods.ensure_month_open's answer, for the month this call found not open.
        raise PeriodClosed(
            f"The billing month {activity.date:%Y-%m} is {status}; "
            "reopen it before changing its data."
        )
    _mark_saved(activity, activity_id)
    by_patient = sorted(shares, key=lambda share: share.patient_id)
    for share, share_id in zip(by_patient, share_ids, strict=True):
        _mark_saved(share, share_id)
    _keep_shares(activity, shares)


def _mark_saved(instance: TimeActivity | TimeShare, pk: int) -> None:
    """What Model.save() leaves on an instance it inserted."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias


def _insert_audited_by_the_orm(activity: TimeActivity, patients: Sequence[Patient]) -> None:
    """_insert_audited statement by statement, for databases without its function
    (development on SQLite, which has neither row locks nor the audit chain)."""
    ensure_month_open(activity.practice, activity.date)
    activity.save(force_insert=True)
    shares = _write_shares(activity, patients)
    audit_record(
        actor=activity.performer,
        action=CREATE_ACTION,
        instance=activity,
        after=_activity_snapshot(activity, shares),
    )


def _ensure_own(activity: TimeActivity, actor: User) -> None:
    if activity.performer_id != actor.pk:
        raise PermissionDenied("Only the person who logged an entry can change it.")


@transaction.atomic
def time_activity_update(
    *, activity: TimeActivity, actor: User, entry: TimeActivityInput, today: dt.date | None = None
) -> TimeActivity:
    """Change one's own entry while its month (old and new) is open; shares are
    re-split evenly; the before and after are audited. Locks in the order of ccm.locks:
    the performer, the months, the entry, and the audit chain last."""
    _ensure_own(activity, actor)
    _lock_performer(actor)
    _validate(entry, today=today or timezone.localdate())
    # The entry's date as stored: only its performer changes it, and we hold their lock.
    stored_date = TimeActivity.objects.values_list("date", flat=True).get(pk=activity.pk)
    ensure_month_open(activity.practice, stored_date, entry.date)
    lock_for_change(TimeActivity.objects.filter(pk=activity.pk))
    activity = TimeActivity.objects.get(pk=activity.pk)
    _reject_overlap(actor, entry, exclude_id=activity.pk)
    before = _activity_snapshot(activity)
    activity.date = entry.date
    activity.started_at = entry.started_at
    activity.duration_seconds = entry.duration_seconds
    activity.activity = entry.activity
    activity.note = entry.note.strip()
    activity.outcome = entry.outcome.strip()
    activity.program = entry.program
    activity.patient_count = len(entry.patients)
    activity.save()
    activity.shares.all().delete()
    shares = _write_shares(activity, entry.patients)
    audit_record(
        actor=actor,
        action="time_activity.update",
        instance=activity,
        before=before,
        after=_activity_snapshot(activity, shares),
    )
    return activity


@transaction.atomic
def time_activity_delete(*, activity: TimeActivity, actor: User) -> None:
    """Delete one's own entry while its month is open; the audit keeps the whole entry.
    Locks in the order of ccm.locks: the performer, the month, the entry (FOR UPDATE: it
    is deleted), and the audit chain last, after the delete."""
    _ensure_own(activity, actor)
    _lock_performer(actor)
    stored_date = TimeActivity.objects.values_list("date", flat=True).get(pk=activity.pk)
    ensure_month_open(activity.practice, stored_date)
    activity = TimeActivity.objects.select_for_update().get(pk=activity.pk)
    before = _activity_snapshot(activity)
    activity_id, practice = activity.pk, activity.practice
    activity.delete()
    audit_record(
        actor=actor,
        action="time_activity.delete",
        object_type=TimeActivity._meta.label_lower,
        object_id=activity_id,
        practice=practice,
        before=before,
    )
