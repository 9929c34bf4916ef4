"""Reads of the session timer: the user's timer, and its state at an instant (running,
paused or idle; the time worked so far and each day's part of it)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from ccm.models import Practice, User
from patients.models import Patient
from timelog.models import TimeActivity, Timer
from timelog.selectors import time_activities_for_practice
from timelog.timer.span import (
    DayPart,
    Segment,
    idle_since,
    segments_from_json,
    split_by_day,
    total_seconds,
    worked_segments,
)

RUNNING, PAUSED, IDLE = "running", "paused", "idle"
#: A timer's work is saved as one entry per day it ran, at most this many.
MAX_TIMER_DAYS = 7


def practice_time_zone(practice: Practice | None) -> dt.tzinfo:
    """The practice's time zone, in which its days begin and its clocks are read: the
    site's TIME_ZONE, which every practice of a deployment shares (the one place to
    change should practices get zones of their own)."""
    return timezone.get_default_timezone()


def timers_with_patients() -> QuerySet[Timer]:
    """Timers with their practice (one join) and their patients by name (one query)."""
    return Timer.objects.select_related("practice").prefetch_related(
        Prefetch("patients", queryset=Patient.objects.order_by("last_name", "first_name", "pk"))
    )


def timer_for_user(user: User) -> Timer | None:
    """The user's timer with its practice and patients, or None: two queries when there
    is one."""
    return timers_with_patients().filter(user=user).first()


@dataclass(frozen=True)
class TimerState:
    """A timer as it stands at `now`. While idle, the work ends where the activity
    stopped (`idle_since`): the time after it is not counted unless kept."""

    timer: Timer
    status: str
    now: dt.datetime
    idle_since: dt.datetime | None
    idle_minutes: int
    segments: tuple[Segment, ...]
    zone: dt.tzinfo

    @property
    def worked_seconds(self) -> int:
        return total_seconds(self.segments)

    @property
    def idle_seconds(self) -> int:
        """The idle time not counted (yet): from the last activity until now."""
        if self.idle_since is None:
            return 0
        return int((self.now - self.idle_since).total_seconds())

    @property
    def days(self) -> list[DayPart]:
        """The entries a stop would save now: one per calendar day worked."""
        return split_by_day(self.segments, self.zone)

    @property
    def patients(self) -> list[Patient]:
        return list(self.timer.patients.all())


def timer_state(timer: Timer, *, now: dt.datetime | None = None) -> TimerState:
    """The timer at `now` (default: the present): idle when it runs and nothing happened
    in the practice's `timer_idle_minutes`."""
    moment = now or timezone.now()
    practice = timer.practice
    idle_minutes = practice.timer_idle_minutes
    idle_from = idle_since(
        running_since=timer.running_since,
        last_active_at=timer.last_active_at,
        idle_after=dt.timedelta(minutes=idle_minutes),
        now=moment,
    )
    status = RUNNING
    if timer.running_since is None:
        status = PAUSED
    elif idle_from is not None:
        status = IDLE
    segments = worked_segments(
        segments_from_json(timer.worked),
        running_since=timer.running_since,
        until=idle_from or moment,
    )
    return TimerState(
        timer=timer,
        status=status,
        now=moment,
        idle_since=idle_from,
        idle_minutes=idle_minutes,
        segments=tuple(segments),
        zone=practice_time_zone(practice),
    )


def timer_part_request_id(timer_id: uuid.UUID, index: int) -> uuid.UUID:
    """The request id of the entry a timer saves for its `index`-th day: a stop retried,
    or sent from two tabs, finds the entries already saved instead of saving them again
    (the (performer, request_id) unique constraint holds it in the database too)."""
    return uuid.uuid5(timer_id, f"day-{index}")


def timer_saved_entries(user: User, timer_id: uuid.UUID) -> list[TimeActivity]:
    """The entries a stopped timer saved (empty when it saved none), oldest first."""
    if user.practice is None:
        return []
    ids = [timer_part_request_id(timer_id, index) for index in range(MAX_TIMER_DAYS)]
    return list(
        time_activities_for_practice(user.practice)
        .filter(performer=user, request_id__in=ids)
        .order_by("date", "id")
    )
