"""Input and output shapes of the time-entry API (interface.md: POST /api/time-entries/)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField, get_error_detail
from rest_framework.serializers import as_serializer_error
from rest_framework.utils.serializer_helpers import BindingDict

from ccm.limits import LINE_MAX_LENGTH, NOTE_MAX_LENGTH
from ccm.models import Practice
from patients.models import Patient
from patients.selectors import practice_patients_by_id
from timelog.models import (
    ACTIVITY_TYPES,
    PROGRAMS,
    ActivityType,
    PerformerKind,
    Program,
    TimeActivity,
)
from timelog.services import NO_PATIENT, PATIENT_TWICE, TimeActivityInput


@extend_schema_field({"type": "string", "maxLength": 40, "example": "09:30"})
class ClockField(serializers.Field):  # type: ignore[type-arg]
    """A wall-clock moment: "HH:MM[:SS]" on the entry's date, or an ISO date-time (as a
    browser timer sends), taken in the practice's time zone."""

    default_error_messages = {"invalid": "Give a time as HH:MM or HH:MM:SS, or an ISO date-time."}

    def to_internal_value(self, data: Any) -> dt.time | dt.datetime:
        if not isinstance(data, str) or len(data) > 40:
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
        text: str = value.isoformat()
        return text


# The input's checks beyond its fields' own, shared by TimeEntryInputSerializer (as its
# validate_<field> methods and validate()) and by the POST's fast path below.


def check_activity(value: str) -> str:
    """A known activity type."""
    if value not in ACTIVITY_TYPES:
        raise serializers.ValidationError(
            f"{value!r} is not a known activity; choose one of {', '.join(ActivityType.values)}."
        )
    return value


def check_program(value: str) -> str:
    """A known program."""
    if value not in PROGRAMS:
        raise serializers.ValidationError(
            f"{value!r} is not a known program; choose one of {', '.join(Program.values)}."
        )
    return value


def check_patients(ids: list[int], *, practice: Practice | None) -> list[Patient]:
    """At least one patient, none twice, all of the caller's practice (another practice's
    patient is as unknown as one that does not exist); the patients in the order given."""
    if not ids:
        raise serializers.ValidationError(NO_PATIENT)
    if len(set(ids)) != len(ids):
        raise serializers.ValidationError(PATIENT_TWICE)
    if practice is None:
        raise TypeError("Patient ids are checked against the caller's practice: give it.")
    found = practice_patients_by_id(practice=practice, ids=ids)
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise serializers.ValidationError(f"Unknown patient id(s): {', '.join(missing)}.")
    return [found[pk] for pk in ids]


def entry_from(attrs: dict[str, Any]) -> dict[str, Any]:
    """The duration given one way, minutes or started_at and ended_at (a timer's instants
    may carry the date), turned into one TimeActivityInput under attrs["entry"]."""
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
    start_time: dt.time | None = started.time() if isinstance(started, dt.datetime) else started
    if ended is not None:
        end_moment = ended if isinstance(ended, dt.datetime) else dt.datetime.combine(day, ended)
        # Not None: ended_at without started_at was refused above.
        start_moment = dt.datetime.combine(day, cast(dt.time, start_time))
        seconds = int((end_moment - start_moment).total_seconds())
        if seconds <= 0:
            raise serializers.ValidationError({"ended_at": "ended_at must be after started_at."})
    else:
        seconds = cast(int, minutes) * 60  # neither minutes nor ended_at was refused above
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


class TimeEntryInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    patients = serializers.ListField(child=serializers.IntegerField(), allow_empty=True)
    date = serializers.DateField(required=False, allow_null=True)
    minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=-(10**6), max_value=10**6
    )
    started_at = ClockField(required=False, allow_null=True)
    ended_at = ClockField(required=False, allow_null=True)
    activity = serializers.CharField(max_length=LINE_MAX_LENGTH)
    note = serializers.CharField(allow_blank=True, max_length=NOTE_MAX_LENGTH)
    outcome = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX_LENGTH
    )
    program = serializers.CharField(required=False, default=Program.CCM, max_length=LINE_MAX_LENGTH)
    request_id = serializers.UUIDField(required=False, allow_null=True)

    def __init__(self, *args: Any, practice: Practice | None = None, **kwargs: Any) -> None:
        """`practice`: the caller's, which every patient id must belong to."""
        super().__init__(*args, **kwargs)
        self.practice = practice

    def validate_activity(self, value: str) -> str:
        return check_activity(value)

    def validate_program(self, value: str) -> str:
        return check_program(value)

    def validate_patients(self, ids: list[int]) -> list[Patient]:
        return check_patients(ids, practice=self.practice)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return entry_from(attrs)


@functools.cache
def _input_fields() -> BindingDict:
    """TimeEntryInputSerializer's fields, copied and bound once per process (DRF does it
    for every instance: most of the cost of validating a small body). They keep nothing
    of one validation for the next, so every request, in any thread, can use them."""
    fields: BindingDict = TimeEntryInputSerializer().fields
    return fields


def validated_new_entry(data: Any, *, practice: Practice | None) -> dict[str, Any]:
    """The validated data of TimeEntryInputSerializer(data=data, practice=practice), for
    the body of a POST; else the ValidationError its is_valid(raise_exception=True) raises.

    A JSON object (what the API is sent) is validated as DRF's Serializer.run_validation
    does, written out over the fields bound once; anything else (form data, a list, null)
    is left to the serializer itself. Tests hold the two to the same answers."""
    if type(data) is not dict:
        serializer = TimeEntryInputSerializer(data=data, practice=practice)
        serializer.is_valid(raise_exception=True)
        validated: dict[str, Any] = serializer.validated_data
        return validated
    serializer = TimeEntryInputSerializer(practice=practice)  # cheap: no fields bound
    values = _field_values(data, serializer)
    try:
        return serializer.validate(values)
    except (serializers.ValidationError, DjangoValidationError) as error:
        raise serializers.ValidationError(detail=as_serializer_error(error)) from None


def _field_values(data: dict[str, Any], serializer: TimeEntryInputSerializer) -> dict[str, Any]:
    """DRF's Serializer.to_internal_value: each field's value validated by the field, then
    by the serializer's validate_<field> method; the errors of every field collected, in
    the fields' order, and raised together. (Every field's source is its name; the
    serializer declares no validators of its own and no read-only field, which DRF would
    also apply.)"""
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name, field in _input_fields().items():
        check = getattr(serializer, f"validate_{name}", None)
        try:
            value = field.run_validation(field.get_value(data))
            if check is not None:
                value = check(value)
        except serializers.ValidationError as error:
            errors[name] = error.detail
        except DjangoValidationError as error:
            errors[name] = get_error_detail(error)
        except SkipField:
            pass
        else:
            values[name] = value
    if errors:
        raise serializers.ValidationError(errors)
    return values


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
    # Read-only like created_at: set by the service, ignored when a request sends it.
    logged_on = serializers.DateField(
        read_only=True, help_text="The day the entry was entered (practice time zone)."
    )
    updated_at = serializers.DateTimeField(read_only=True)

    def get_minutes(self, activity: TimeActivity) -> float:
        return entry_minutes(activity)

    def to_representation(self, activity: TimeActivity) -> dict[str, Any]:
        return time_entry_data(activity)


def entry_minutes(activity: TimeActivity) -> float:
    """The duration in minutes, to the hundredth."""
    return round(activity.duration_seconds / 60, 2)


def time_entry_data(activity: TimeActivity) -> dict[str, Any]:
    """TimeEntryOutputSerializer's answer for one entry, its declared fields' values written
    out: DRF's own walk first deep-copies and binds all seventeen fields for each entry, most
    of the cost of answering a POST, which calls this without making a serializer. The
    dates and times go through the declared fields (their formats and time zone); a test
    holds this to DRF's walk."""
    declared = TimeEntryOutputSerializer._declared_fields  # unbound: no parent needed
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
        "minutes": entry_minutes(activity),
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
        "logged_on": declared["logged_on"].to_representation(activity.logged_on),
        "updated_at": declared["updated_at"].to_representation(activity.updated_at),
    }
