"""The arithmetic of a session timer (timelog.models.Timer): the segments worked, when
it went idle, and the split of its work into one entry per day.

Pure: instants in, seconds out; no database and no clock (callers pass `now` and the
practice's time zone). Instants are aware datetimes in whole seconds. Durations are
taken in UTC, so a day of 23 or 25 hours (daylight saving) counts the time that really
passed; days are the practice's calendar days.

Billing rules served: an entry has one date (billing-rules.md section 2), so work that
runs past midnight is two entries, each on the day its seconds were spent; idle time is
not work, so it counts only when the person says they kept working.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Segment:
    """One stretch of work, [start, end)."""

    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


@dataclass(frozen=True)
class DayPart:
    """The work of one calendar day: what the timer saves as that day's entry.

    `started_at` is the wall-clock time (practice zone) of the day's first worked second;
    `ended_at` that of the end of its last one, None when midnight ended it."""

    date: dt.date
    started_at: dt.time
    ended_at: dt.time | None
    seconds: int

    @property
    def span_text(self) -> str:
        end = "24:00" if self.ended_at is None else f"{self.ended_at:%H:%M}"
        return f"{self.started_at:%H:%M}–{end}"


def whole_second(moment: dt.datetime) -> dt.datetime:
    """The instant as the timer keeps it: whole seconds, in UTC."""
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def idle_since(
    *,
    running_since: dt.datetime | None,
    last_active_at: dt.datetime,
    idle_after: dt.timedelta,
    now: dt.datetime,
) -> dt.datetime | None:
    """When a running timer went idle: the last activity, once `idle_after` has passed
    without another; None while there was activity (or the timer is paused)."""
    if running_since is None:
        return None
    quiet_from = max(last_active_at, running_since)
    return quiet_from if now - quiet_from >= idle_after else None


def worked_segments(
    closed: Iterable[Segment], *, running_since: dt.datetime | None, until: dt.datetime
) -> list[Segment]:
    """The closed segments and the open one, [running_since, until), when there is one."""
    segments = [segment for segment in closed if segment.end > segment.start]
    if running_since is not None and until > running_since:
        segments.append(Segment(running_since, until))
    return segments


def split_by_day(segments: Iterable[Segment], zone: dt.tzinfo) -> list[DayPart]:
    """The worked seconds of each calendar day in `zone`, in date order: a segment that
    crosses midnight gives its seconds before midnight to one day, the rest to the next.
    The parts' seconds add up to the segments' exactly."""
    days: dict[dt.date, tuple[dt.datetime, dt.datetime, int]] = {}
    for segment in segments:
        start = segment.start.astimezone(dt.UTC)
        end = segment.end.astimezone(dt.UTC)
        while start < end:
            local = start.astimezone(zone)
            midnight = dt.datetime.combine(
                local.date() + dt.timedelta(days=1), dt.time(), tzinfo=zone
            ).astimezone(dt.UTC)
            piece_end = min(end, midnight)
            seconds = int((piece_end - start).total_seconds())
            first, last, total = days.get(local.date(), (start, piece_end, 0))
            days[local.date()] = (min(first, start), max(last, piece_end), total + seconds)
            start = piece_end
    parts = []
    for day in sorted(days):
        first, last, total = days[day]
        last_local = last.astimezone(zone)
        parts.append(
            DayPart(
                date=day,
                started_at=first.astimezone(zone).time().replace(tzinfo=None),
                ended_at=None
                if last_local.date() != day
                else last_local.time().replace(tzinfo=None),
                seconds=total,
            )
        )
    return parts


def total_seconds(segments: Sequence[Segment]) -> int:
    return sum(segment.seconds for segment in segments)


def segments_from_json(raw: Any) -> list[Segment]:
    """The `worked` field of a Timer: [[start, end], ...] as ISO instants."""
    return [
        Segment(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end))
        for start, end in raw or []
    ]


def segments_to_json(segments: Iterable[Segment]) -> list[list[str]]:
    return [
        [whole_second(segment.start).isoformat(), whole_second(segment.end).isoformat()]
        for segment in segments
    ]
