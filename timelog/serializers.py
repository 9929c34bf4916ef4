"""Input and output shapes of the time-entry API (interface.md: POST /api/time-entries/)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from patients.models import Patient
from timelog.models import ActivityType, PerformerKind, Program, TimeActivity
from timelog.services import TimeActivityInput


@extend_schema_field(OpenApiTypes.STR)
class ClockField(serializers.Field):  # type: ignore[type-arg]
    """A wall-clock moment: "HH:MM[:SS]" on the entry's date, or an ISO date-time (as a
    browser timer sends), taken in the practice's time zone."""

    default_error_messages = {"invalid": "Give a time as HH:MM or HH:MM:SS, or an ISO date-time."}

    def to_internal_value(self, data: Any) -> dt.time | dt.datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        for parse in (dt.time.fromisoformat, dt.datetime.fromisoformat):
            try:
                value = parse(data.replace("Z", "+00:00"))
            except ValueError:
                continue
            if isinstance(value, dt.datetime) and timezone.is_aware(value):
                value = timezone.localtime(value).replace(tzinfo=None)
            return value
        self.fail("invalid")

    def to_representation(self, value: Any) -> str:
        return value.isoformat()


class TimeEntryInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    patients = serializers.ListField(child=serializers.IntegerField(), allow_empty=True)
    date = serializers.DateField(required=False, allow_null=True)
    minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=-(10**6), max_value=10**6
    )
    started_at = ClockField(required=False, allow_null=True)
    ended_at = ClockField(required=False, allow_null=True)
    activity = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    outcome = serializers.CharField(required=False, allow_blank=True, default="")
    program = serializers.CharField(required=False, default=Program.CCM)
    request_id = serializers.UUIDField(required=False, allow_null=True)

    def __init__(self, *args: Any, practice_patients: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.practice_patients = practice_patients

    def validate_activity(self, value: str) -> str:
        if value not in ActivityType.values:
            raise serializers.ValidationError(
                f"{value!r} is not a known activity; "
                f"choose one of {', '.join(ActivityType.values)}."
            )
        return value

    def validate_program(self, value: str) -> str:
        if value not in Program.values:
            raise serializers.ValidationError(
                f"{value!r} is not a known program; choose one of {', '.join(Program.values)}."
            )
        return value

    def validate_patients(self, ids: list[int]) -> list[Patient]:
        if not ids:
            raise serializers.ValidationError("Choose at least one patient.")
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError("A patient is listed twice.")
        found = {p.pk: p for p in self.practice_patients.filter(pk__in=ids)}
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(f"Unknown patient id(s): {', '.join(missing)}.")
        return [found[pk] for pk in ids]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        started, ended, minutes = (
            attrs.get("started_at"),
            attrs.get("ended_at"),
            attrs.get("minutes"),
        )
        day = attrs.get("date")
        if minutes is not None and ended is not None:
            raise serializers.ValidationError(
                {"minutes": "Give minutes or started_at and ended_at, not both."}
            )
        if minutes is None and ended is None:
            raise serializers.ValidationError(
                {"minutes": "Give the minutes spent, or started_at and ended_at."}
            )
        if ended is not None and started is None:
            raise serializers.ValidationError({"started_at": "ended_at needs started_at."})
        start_day = started.date() if isinstance(started, dt.datetime) else None
        if day is None:
            day = start_day or timezone.localdate()
        elif start_day is not None and start_day != day:
            raise serializers.ValidationError(
                {"started_at": f"started_at is on {start_day}, not on the entry's date {day}."}
            )
        start_time = started.time() if isinstance(started, dt.datetime) else started
        if ended is not None:
            end_moment = (
                ended if isinstance(ended, dt.datetime) else dt.datetime.combine(day, ended)
            )
            start_moment = dt.datetime.combine(day, start_time)
            seconds = int((end_moment - start_moment).total_seconds())
            if seconds <= 0:
                raise serializers.ValidationError(
                    {"ended_at": "ended_at must be after started_at."}
                )
        else:
            seconds = minutes * 60
        attrs["entry"] = TimeActivityInput(
            patients=attrs["patients"],
            date=day,
            duration_seconds=seconds,
            activity=attrs["activity"],
            note=attrs["note"],
            outcome=attrs["outcome"],
            program=attrs["program"],
            started_at=start_time.replace(microsecond=0) if start_time else None,
        )
        return attrs


class ShareOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    patient = serializers.IntegerField(source="patient_id")
    seconds = serializers.IntegerField()


# An entry as the API answers it. The fields are declared rather than derived from the
# model (a ModelSerializer rebuilds them from the model on every use, a cost each time-entry
# POST paid); they carry what the model would give them, so the schema is the same (and a
# docstring here would become the schema's description).
class TimeEntryOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(read_only=True, label="ID")
    performer = serializers.IntegerField(source="performer_id")
    performer_name = serializers.CharField(source="performer.display_name")
    performer_kind = serializers.ChoiceField(choices=PerformerKind.choices, read_only=True)
    date = serializers.DateField(read_only=True)
    started_at = serializers.TimeField(read_only=True, allow_null=True)
    duration_seconds = serializers.IntegerField(read_only=True)
    minutes = serializers.SerializerMethodField()
    activity = serializers.ChoiceField(choices=ActivityType.choices, read_only=True)
    note = serializers.CharField(read_only=True, label="What was done")
    outcome = serializers.CharField(read_only=True, label="What changed")
    program = serializers.ChoiceField(choices=Program.choices, read_only=True)
    patient_count = serializers.IntegerField(
        read_only=True, help_text=TimeActivity._meta.get_field("patient_count").help_text
    )
    shares = ShareOutputSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_minutes(self, activity: TimeActivity) -> float:
        return round(activity.duration_seconds / 60, 2)

    def to_representation(self, activity: TimeActivity) -> dict[str, Any]:
        """The declared fields' values, written out: DRF's own walk first deep-copies and
        binds all sixteen fields for each entry, most of the cost of answering a POST. The
        dates and times go through the declared fields (their formats and time zone);
        a test holds this to DRF's walk."""
        declared = self._declared_fields  # unbound: their to_representation needs no parent
        started_at = activity.started_at
        return {
            "id": activity.pk,
            "performer": activity.performer_id,
            "performer_name": activity.performer.display_name,
            "performer_kind": activity.performer_kind,
            "date": declared["date"].to_representation(activity.date),
            "started_at": None
            if started_at is None
            else declared["started_at"].to_representation(started_at),
            "duration_seconds": activity.duration_seconds,
            "minutes": self.get_minutes(activity),
            "activity": activity.activity,
            "note": activity.note,
            "outcome": activity.outcome,
            "program": activity.program,
            "patient_count": activity.patient_count,
            "shares": [
                {"patient": share.patient_id, "seconds": share.seconds}
                for share in activity.shares.all()
            ],
            "created_at": declared["created_at"].to_representation(activity.created_at),
            "updated_at": declared["updated_at"].to_representation(activity.updated_at),
        }
