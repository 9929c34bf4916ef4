"""The timer's arithmetic, without a database: segments, idle, and the split at midnight
in the practice's time zone (daylight saving included)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from timelog.timer.span import (
    DayPart,
    Segment,
    idle_since,
    segments_from_json,
    segments_to_json,
    split_by_day,
    worked_segments,
)

NEW_YORK = ZoneInfo("America/New_York")


def at(day: str, clock: str) -> dt.datetime:
    """A wall-clock moment in New York."""
    return dt.datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=NEW_YORK)


def test_a_day_of_work_is_one_part() -> None:
    parts = split_by_day(
        [Segment(at("2026-03-04", "09:00"), at("2026-03-04", "09:12:30"))], NEW_YORK
    )
    assert parts == [DayPart(dt.date(2026, 3, 4), dt.time(9, 0), dt.time(9, 12, 30), 750)]
    assert parts[0].span_text == "09:00–09:12"


def test_work_across_midnight_is_split_between_the_two_days() -> None:
    segment = Segment(at("2026-03-04", "23:50"), at("2026-03-05", "00:20"))
    assert split_by_day([segment], NEW_YORK) == [
        DayPart(dt.date(2026, 3, 4), dt.time(23, 50), None, 600),
        DayPart(dt.date(2026, 3, 5), dt.time(0, 0), dt.time(0, 20), 1200),
    ]
    assert split_by_day([segment], NEW_YORK)[0].span_text == "23:50–24:00"


def test_midnight_is_the_practices_not_utcs() -> None:
    # 19:30-20:30 in New York (EST) crosses UTC midnight, not New York's.
    segment = Segment(at("2026-01-10", "19:30"), at("2026-01-10", "20:30"))
    assert [part.date for part in split_by_day([segment], NEW_YORK)] == [dt.date(2026, 1, 10)]
    # In UTC the same hour is 00:30-01:30 on the 11th.
    utc_parts = split_by_day([segment], dt.UTC)
    assert [(p.date, p.seconds) for p in utc_parts] == [(dt.date(2026, 1, 11), 3600)]


def test_several_segments_of_a_day_are_summed_from_the_first_start() -> None:
    segments = [
        Segment(at("2026-03-04", "09:00"), at("2026-03-04", "09:10")),
        Segment(at("2026-03-04", "09:25"), at("2026-03-04", "09:40")),
    ]
    assert split_by_day(segments, NEW_YORK) == [
        DayPart(dt.date(2026, 3, 4), dt.time(9, 0), dt.time(9, 40), 1500)
    ]


def test_the_night_clocks_go_forward_counts_the_time_that_passed() -> None:
    # 2026-03-08: 02:00 EST becomes 03:00 EDT; 01:30 to 03:30 on the wall is one hour.
    segment = Segment(at("2026-03-08", "01:30"), at("2026-03-08", "03:30"))
    assert [part.seconds for part in split_by_day([segment], NEW_YORK)] == [3600]


@pytest.mark.parametrize(
    ("running_since", "last_active", "now", "expected"),
    [
        (None, "09:00", "10:00", None),  # paused: never idle
        ("09:00", "09:05", "09:14:59", None),  # under 10 minutes without activity
        ("09:00", "09:05", "09:15", "09:05"),  # 10 minutes: idle from the last activity
        ("09:20", "09:05", "09:31", "09:20"),  # resumed after the activity: from the resume
    ],
)
def test_idle_from_the_last_activity_after_the_idle_minutes(
    running_since: str | None, last_active: str, now: str, expected: str | None
) -> None:
    day = "2026-03-04"
    found = idle_since(
        running_since=at(day, running_since) if running_since else None,
        last_active_at=at(day, last_active),
        idle_after=dt.timedelta(minutes=10),
        now=at(day, now),
    )
    assert found == (at(day, expected) if expected else None)


def test_the_open_segment_ends_where_asked_and_empty_ones_are_dropped() -> None:
    closed = [Segment(at("2026-03-04", "08:00"), at("2026-03-04", "08:00"))]
    assert worked_segments(
        closed, running_since=at("2026-03-04", "09:00"), until=at("2026-03-04", "09:05")
    ) == [Segment(at("2026-03-04", "09:00"), at("2026-03-04", "09:05"))]
    assert worked_segments([], running_since=None, until=at("2026-03-04", "09:05")) == []


def test_segments_keep_their_instants_through_json() -> None:
    segments = [Segment(at("2026-03-04", "09:00"), at("2026-03-04", "09:10:07"))]
    again = segments_from_json(segments_to_json(segments))
    assert again == segments
    assert again[0].seconds == 607
