"""Input and output shapes of the session timer's API (GET/PATCH /api/timer/, and POST
start, pause, resume, keep-idle, heartbeat, stop, discard).

Every answer is an envelope {timer, server_time}: the timer as it stands (null when the
user has none) and the server's clock, from which a page counts on with its own (the
browser's clock may be off; its time zone does not matter: instants carry the
practice's offset)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from ccm.limits import NOTE_MAX_LENGTH
from ccm.models import Practice
from timelog.models import ActivityType, Program, TimeActivity
from timelog.serializers import (
    TimeEntryOutputSerializer,
    check_activity,
    check_patients,
    check_program,
    time_entry_data,
)
from timelog.timer.selectors import TimerState
from timelog.timer.services import MAX_INACTIVE_SECONDS, TimerDraft

#: Longest note or outcome a timer keeps: an entry's (ccm.limits).
TEXT_MAX = NOTE_MAX_LENGTH


def _patient_ids(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        max_length=500,
        **kwargs,
    )


class TimerDraftInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What the entry will say; every field optional (absent: unchanged). `timer` is the
    id of the timer the page shows: another one running now is a 409."""

    timer = serializers.UUIDField(required=False, allow_null=True)
    patients = _patient_ids(required=False)
    activity = serializers.CharField(required=False, allow_blank=True, max_length=40)
    note = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
    outcome = serializers.CharField(required=False, allow_blank=True, max_length=TEXT_MAX)
    program = serializers.CharField(required=False, max_length=10)

    def __init__(self, *args: Any, practice: Practice | None = None, **kwargs: Any) -> None:
        """`practice`: the caller's, which every patient id must belong to."""
        super().__init__(*args, **kwargs)
        self.practice = practice

    def validate_activity(self, value: str) -> str:
        return check_activity(value) if value else value

    def validate_program(self, value: str) -> str:
        return check_program(value)

    def validate_patients(self, ids: list[int]) -> list[Any]:
        return check_patients(ids, practice=self.practice)

    def draft(self) -> TimerDraft:
        data = self.validated_data
        return TimerDraft(
            patients=data.get("patients"),
            activity=data.get("activity"),
            note=data.get("note"),
            outcome=data.get("outcome"),
            program=data.get("program"),
        )


class TimerStartInputSerializer(TimerDraftInputSerializer):
    """The patients the work is for (one, or several sharing it), and what is known of
    the entry so far."""

    timer = None  # type: ignore[assignment]
    patients = _patient_ids()


class TimerActionInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    timer = serializers.UUIDField(required=False, allow_null=True)


class TimerHeartbeatInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A page saw activity `inactive_seconds` ago (0: just now)."""

    inactive_seconds = serializers.IntegerField(
        min_value=0, max_value=MAX_INACTIVE_SECONDS, required=False, default=0
    )


class TimerPatientSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="Last, First")


class TimerDaySerializer(serializers.Serializer):  # type: ignore[type-arg]
    date = serializers.DateField()
    started_at = serializers.TimeField(help_text="Practice time zone.")
    ended_at = serializers.TimeField(allow_null=True, help_text="Null: midnight ended it.")
    seconds = serializers.IntegerField()


class TimerSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["running", "paused", "idle"])
    patients = TimerPatientSerializer(many=True)
    activity = serializers.ChoiceField(choices=[("", "Not chosen"), *ActivityType.choices])
    note = serializers.CharField()
    outcome = serializers.CharField()
    program = serializers.ChoiceField(choices=Program.choices)
    started_at = serializers.DateTimeField()
    running_since = serializers.DateTimeField(allow_null=True)
    idle_since = serializers.DateTimeField(
        allow_null=True, help_text="Idle: the last activity, from which nothing counts."
    )
    last_active_at = serializers.DateTimeField()
    worked_seconds = serializers.IntegerField(help_text="Counted so far, idle time excluded.")
    idle_seconds = serializers.IntegerField()
    idle_minutes = serializers.IntegerField(help_text="The practice's idle setting.")
    days = TimerDaySerializer(many=True, help_text="The entries a stop would save now.")


@extend_schema_serializer(component_name="TimerEnvelope")
class TimerEnvelopeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    timer = TimerSerializer(allow_null=True)
    server_time = serializers.DateTimeField()


class TimerStoppedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    entries = TimeEntryOutputSerializer(many=True)
    created = serializers.BooleanField(help_text="False: an earlier stop saved them.")
    timer = TimerSerializer(allow_null=True)
    server_time = serializers.DateTimeField()


def _instant(moment: dt.datetime | None, zone: dt.tzinfo) -> str | None:
    return None if moment is None else timezone.localtime(moment, zone).isoformat()


def timer_data(state: TimerState | None, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The envelope every timer answer carries (TimerEnvelopeSerializer's shape)."""
    if state is None:
        moment = now or timezone.now()
        return {"timer": None, "server_time": timezone.localtime(moment).isoformat()}
    timer, zone = state.timer, state.zone
    return {
        "timer": {
            "id": str(timer.pk),
            "status": state.status,
            "patients": [
                {"id": patient.pk, "name": f"{patient.last_name}, {patient.first_name}"}
                for patient in state.patients
            ],
            "activity": timer.activity,
            "note": timer.note,
            "outcome": timer.outcome,
            "program": timer.program,
            "started_at": _instant(timer.started_at, zone),
            "running_since": _instant(timer.running_since, zone),
            "idle_since": _instant(state.idle_since, zone),
            "last_active_at": _instant(timer.last_active_at, zone),
            "worked_seconds": state.worked_seconds,
            "idle_seconds": state.idle_seconds,
            "idle_minutes": state.idle_minutes,
            "days": [
                {
                    "date": day.date.isoformat(),
                    "started_at": day.started_at.isoformat(),
                    "ended_at": None if day.ended_at is None else day.ended_at.isoformat(),
                    "seconds": day.seconds,
                }
                for day in state.days
            ],
        },
        "server_time": _instant(state.now, zone),
    }


def timer_stopped_data(entries: list[TimeActivity], *, created: bool) -> dict[str, Any]:
    return {
        "entries": [time_entry_data(entry) for entry in entries],
        "created": created,
        **timer_data(None),
    }
