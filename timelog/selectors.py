"""Reads of care-management time."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet

from ccm.models import Practice, User
from ccm.periods import month_end, month_start
from timelog.models import ActivityType, TimeActivity, TimeShare


def time_activities_for_practice(practice: Practice) -> QuerySet[TimeActivity]:
    """The practice's activities with performer and shares loaded in two more queries."""
    return (
        TimeActivity.objects.filter(practice=practice)
        .select_related("performer")
        .prefetch_related(Prefetch("shares", queryset=TimeShare.objects.order_by("patient_id")))
    )


def time_activity_list_own(
    *, performer: User, month: dt.date | None = None, patient_id: int | None = None
) -> QuerySet[TimeActivity]:
    """One performer's entries, newest first, optionally of one month and one patient;
    a fixed number of queries however many entries."""
    if performer.practice is None:
        return TimeActivity.objects.none()
    activities = time_activities_for_practice(performer.practice).filter(performer=performer)
    if month is not None:
        activities = activities.filter(date__range=(month_start(month), month_end(month)))
    if patient_id is not None:
        activities = activities.filter(shares__patient_id=patient_id)
    return activities


def default_activity(performer: User) -> str:
    """The activity a new entry starts with: the performer's most recent one (people
    mostly repeat their kind of work), else a patient call, the commonest CCM activity."""
    last = (
        TimeActivity.objects.filter(performer=performer)
        .order_by("-date", "-id")
        .values_list("activity", flat=True)
        .first()
    )
    return last or ActivityType.PATIENT_CALL
