"""The log-time form: patients, date, activity, minutes or a timed span, what was done,
what changed, program, and the submission's request id.

The form parses; TimeEntryInputSerializer (the API's own input) turns minutes or the
timer's instants into one TimeActivityInput, and timelog.services validates the entry
(billing rules: a shared activity is split evenly; no future date, zero or over-long
duration, or overlap with one's own entry; nothing changes in a closed month).
`apply_entry_errors` puts the service's errors next to the fields they concern.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from ccm.limits import NOTE_MAX_LENGTH
from ccm.models import Practice
from patients.models import Patient
from timelog.models import ActivityType, Program, TimeActivity, Timer
from timelog.serializers import TimeEntryInputSerializer
from timelog.services import NO_PATIENT, TimeActivityInput
from timelog.timer.services import TimerDraft

#: Where a service or serializer error is shown: the fields of the page's form.
ERROR_FIELDS = {
    "patients": "patients",
    "date": "date",
    "minutes": "minutes",
    "duration": "minutes",
    "started_at": "started_at",
    "ended_at": "ended_at",
    "activity": "activity",
    "note": "note",
    "outcome": "outcome",
    "program": "program",
}
#: The errors shown together in the "How long" group, whatever way the time was given.
DURATION_FIELDS = ("minutes", "started_at", "ended_at")


@dataclass(frozen=True)
class PatientOption:
    """One checkbox of the patient picker."""

    pk: int
    name: str
    mrn: str
    birth_date: dt.date
    checked: bool

    @property
    def search_text(self) -> str:
        return f"{self.name} {self.mrn} {self.birth_date:%Y-%m-%d}".lower()


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class TimeEntryForm(forms.Form):
    """One activity of the signed-in performer (minutes, or a timed span from the timer or
    the clock times of an entry being edited)."""

    patients = forms.TypedMultipleChoiceField(coerce=int, error_messages={"required": NO_PATIENT})
    date = forms.DateField(widget=DateInput())
    minutes = forms.IntegerField(
        required=False,
        label="Minutes",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": "1", "max": "720"}),
    )
    started_at = forms.CharField(required=False, label="Started at", max_length=40)
    ended_at = forms.CharField(required=False, label="Ended at", max_length=40)
    activity = forms.ChoiceField(choices=[("", "Choose…"), *ActivityType.choices])
    note = forms.CharField(
        label="What was done",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what was done: an audit needs it."},
    )
    outcome = forms.CharField(
        label="What changed",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    program = forms.ChoiceField(choices=Program.choices, initial=Program.CCM)
    request_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        practice: Practice | None,
        extra_patient_ids: Iterable[int] = (),
        **kwargs: Any,
    ) -> None:
        """`practice`: the performer's, whose patients are the only ones accepted; the
        picker lists the active ones plus `extra_patient_ids` (an edited entry's)."""
        super().__init__(*args, **kwargs)
        self.practice = practice
        extra = set(extra_patient_ids)
        self.choosable = list(
            Patient.objects.filter(practice=practice)
            .filter(Q(is_active=True) | Q(pk__in=extra))
            .order_by("last_name", "first_name", "id")
        )
        patients_field = cast(forms.TypedMultipleChoiceField, self.fields["patients"])
        patients_field.choices = [(p.pk, str(p)) for p in self.choosable]
        self.fields["date"].widget.attrs["max"] = f"{timezone.localdate():%Y-%m-%d}"
        self.entry: TimeActivityInput | None = None

    def selected_patient_ids(self) -> set[int]:
        """The ticked patients: what was posted, else the initial selection."""
        raw: Sequence[Any]
        if self.is_bound:
            raw = (
                self.data.getlist("patients")
                if hasattr(self.data, "getlist")
                else self.data.get("patients", [])
            )
        else:
            raw = self.initial.get("patients") or []
        return {int(value) for value in raw if str(value).isdigit()}

    def patient_options(self) -> list[PatientOption]:
        """The picker's checkboxes, ticked ones first so a preselected patient is in view."""
        ticked = self.selected_patient_ids()
        options = [
            PatientOption(
                pk=p.pk,
                name=f"{p.last_name}, {p.first_name}",
                mrn=p.mrn,
                birth_date=p.birth_date,
                checked=p.pk in ticked,
            )
            for p in self.choosable
        ]
        return sorted(options, key=lambda option: not option.checked)

    def duration_errors(self) -> list[str]:
        """Every error about how long the activity took, shown in one place."""
        return [str(message) for name in DURATION_FIELDS for message in self.errors.get(name, [])]

    @property
    def timed(self) -> bool:
        """The form holds a timed span (a stopped timer, or an edited timed entry)."""
        value = self["started_at"].value()
        return bool(value)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        minutes = cleaned.get("minutes")
        started, ended = cleaned.get("started_at") or None, cleaned.get("ended_at") or None
        if minutes is not None and (started or ended):
            self.add_error("minutes", "Enter the minutes or use the timer, not both: clear one.")
            return cleaned
        if minutes is None and not ended:
            self.add_error("minutes", "Enter the minutes spent, or start and stop the timer.")
            return cleaned
        serializer = TimeEntryInputSerializer(
            data={
                "patients": cleaned["patients"],
                "date": cleaned["date"].isoformat(),
                "minutes": minutes,
                "started_at": started,
                "ended_at": ended,
                "activity": cleaned["activity"],
                "note": cleaned["note"],
                "outcome": cleaned.get("outcome", ""),
                "program": cleaned["program"],
            },
            practice=self.practice,
        )
        if not serializer.is_valid():
            for field, messages in serializer.errors.items():
                target = ERROR_FIELDS.get(field)
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(target, str(message))
            return cleaned
        entry: TimeActivityInput = serializer.validated_data["entry"]
        # The page names the patients it logged for: the entry takes the picker's patients,
        # loaded whole (the serializer's come with only their id).
        picked = {patient.pk: patient for patient in self.choosable}
        self.entry = replace(entry, patients=[picked[patient.pk] for patient in entry.patients])
        return cleaned


def apply_entry_errors(form: TimeEntryForm, error: ValidationError) -> None:
    """A service's ValidationError next to the fields it names; a duration error goes to
    the way the time was given (minutes, or the timed span); an error about a field the
    form does not show (a timer's date or span) above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    timed = form.cleaned_data.get("minutes") is None
    for field, messages in error.message_dict.items():
        target = ERROR_FIELDS.get(field)
        if field == "duration" and timed:
            target = "ended_at"
        form.add_error(target if target in form.fields else None, messages)


def initial_for_activity(activity: TimeActivity) -> dict[str, Any]:
    """An existing entry as the form's initial values: minutes when it was logged in
    minutes, the clock times of its span when it was timed."""
    initial: dict[str, Any] = {
        "patients": [share.patient_id for share in activity.shares.all()],
        "date": activity.date,
        "activity": activity.activity,
        "note": activity.note,
        "outcome": activity.outcome,
        "program": activity.program,
    }
    if activity.started_at is not None:
        begin = dt.datetime.combine(activity.date, activity.started_at)
        end = begin + dt.timedelta(seconds=activity.duration_seconds)
        initial["started_at"] = f"{begin:%H:%M:%S}"
        initial["ended_at"] = f"{end:%H:%M:%S}"
    else:
        # Entries logged in minutes are whole minutes (only a timed span has seconds).
        initial["minutes"] = -(-activity.duration_seconds // 60)
    return initial


def new_request_id() -> uuid.UUID:
    """A fresh id for one rendering of the form: a double submit logs once."""
    return uuid.uuid4()


class TimerStopForm(TimeEntryForm):
    """The Log time form of the session timer: who the work was for and what was done.
    The date and the times are the timer's (shown, not typed); saving stops it
    (timelog.timer.services.timer_stop)."""

    timer = forms.UUIDField(widget=forms.HiddenInput)

    #: The timer says when and how long.
    TIMER_KNOWS = ("date", "minutes", "started_at", "ended_at", "request_id")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.TIMER_KNOWS:
            del self.fields[name]

    def clean(self) -> dict[str, Any]:
        # The fields' own checks only: TimeEntryForm.clean turns a duration into an entry.
        return forms.Form.clean(self) or {}

    def draft(self) -> TimerDraft:
        data = self.cleaned_data
        picked = {patient.pk: patient for patient in self.choosable}
        return TimerDraft(
            patients=[picked[pk] for pk in data["patients"]],
            activity=data["activity"],
            note=data["note"],
            outcome=data.get("outcome", ""),
            program=data["program"],
        )


def initial_for_timer(timer: Timer) -> dict[str, Any]:
    """The form prefilled from the timer: its patients and what was typed while it ran."""
    return {
        "timer": timer.pk,
        "patients": [patient.pk for patient in timer.patients.all()],
        "activity": timer.activity,
        "note": timer.note,
        "outcome": timer.outcome,
        "program": timer.program,
    }
