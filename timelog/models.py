"""Care-management time: one activity by one performer, split evenly between the patients
it served (billing-rules.md section 2: each patient is credited floor(seconds / n))."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ccm.models import Practice
from patients.models import Patient

MAX_ACTIVITY_SECONDS = 12 * 3600


class Program(models.TextChoices):
    CCM = "ccm", "Chronic care management"
    RPM = "rpm", "Remote patient monitoring"
    TCM = "tcm", "Transitional care management"
    PCM = "pcm", "Principal care management"
    BHI = "bhi", "Behavioral health integration"
    G0506 = "g0506", "G0506 care planning"


class ActivityType(models.TextChoices):
    CARE_PLAN_REVIEW = "care_plan_review", "Care plan review"
    MEDICATION_RECONCILIATION = "medication_reconciliation", "Medication reconciliation"
    PATIENT_CALL = "patient_call", "Patient or caregiver call"
    CARE_COORDINATION = "care_coordination", "Specialist or pharmacy coordination"
    LAB_REVIEW = "lab_review", "Lab review"
    EDUCATION = "education", "Education"
    REFERRAL = "referral", "Referral"
    COMMUNITY_RESOURCES = "community_resources", "Community resources"
    OTHER = "other", "Other"


#: The valid values, as sets: checked on every entry (`ActivityType.values` builds a list
#: each time it is read).
ACTIVITY_TYPES = frozenset(ActivityType.values)
PROGRAMS = frozenset(Program.values)


class PerformerKind(models.TextChoices):
    """How the engine counts the performer's time (billing-rules.md `performer`)."""

    CLINICAL_STAFF = "clinical_staff", "Clinical staff"
    PRACTITIONER = "practitioner", "Practitioner"
    NON_CLINICAL = "non_clinical", "Non-clinical"


class TimeActivity(models.Model):
    # No single-column indexes on practice and performer: the (practice, date) and
    # (performer, date) indexes lead with them, and every POST writes each index.
    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="time_activities", db_index=False
    )
    performer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="time_activities",
        db_index=False,
    )
    performer_kind = models.CharField(max_length=20, choices=PerformerKind.choices)
    performer_credential = models.CharField(max_length=20, blank=True)
    date = models.DateField()
    started_at = models.TimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField()
    activity = models.CharField(max_length=40, choices=ActivityType.choices)
    note = models.TextField("what was done")
    outcome = models.TextField("what changed", blank=True)
    program = models.CharField(max_length=10, choices=Program.choices, default=Program.CCM)
    patient_count = models.PositiveSmallIntegerField(
        help_text="How many patients the activity served (its shares)."
    )
    request_id = models.UUIDField(
        null=True,
        blank=True,
        help_text="The client's id for this submission: a retried POST returns the first entry.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    #: The day the entry was entered, in the practice's time zone (billing rule
    #: ENTRY_LATE): set once by the service that creates it, never edited.
    logged_on = models.DateField(default=timezone.localdate, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-date", "-started_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(duration_seconds__gt=0) & Q(duration_seconds__lte=MAX_ACTIVITY_SECONDS),
                name="activity_duration_in_range",
            ),
            models.UniqueConstraint(
                fields=["performer", "request_id"], name="activity_request_id_unique_per_performer"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # With the id, "Mine" on the call list (the patients of a nurse's activities
            # of three months) reads the index alone: about 3,000 activities a month each
            # at MSO scale, 8 ms instead of 20-35.
            models.Index(
                fields=["performer", "date"], include=["id"], name="activity_performer_date_id"
            ),
            models.Index(fields=["practice", "date"]),
        ]

    def __str__(self) -> str:
        return f"{self.activity} {self.date} {self.duration_seconds}s"


class TimeShare(models.Model):
    """One patient's even share of an activity. `date` is the activity's, copied so that a
    patient-month's time is one index range scan."""

    # No single-column indexes: the (activity, patient) unique constraint and the
    # (patient, date) index lead with them.
    activity = models.ForeignKey(
        TimeActivity, on_delete=models.CASCADE, related_name="shares", db_index=False
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="time_shares", db_index=False
    )
    date = models.DateField()
    seconds = models.PositiveIntegerField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["activity", "patient"], name="share_unique_per_patient"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["patient", "date"])]

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.seconds}s"


class Timer(models.Model):
    """A person's session timer, kept by the server so it survives reloads, tabs and a
    second device: at most one per user (running, paused or idle).

    The time worked is the closed `worked` segments plus the open one from `running_since`
    (null while paused). A running timer whose `last_active_at` is older than the
    practice's `timer_idle_minutes` is idle from then on: that time counts only when the
    person keeps it (timelog.timer.services). Instants are whole seconds, in UTC.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_timer"
    )
    patients = models.ManyToManyField(Patient, related_name="+")
    # What the entry will say, kept while the timer runs (typed on the Log time form).
    activity = models.CharField(max_length=40, choices=ActivityType.choices, blank=True)
    note = models.TextField(blank=True)
    outcome = models.TextField(blank=True)
    program = models.CharField(max_length=10, choices=Program.choices, default=Program.CCM)
    started_at = models.DateTimeField()
    worked = models.JSONField(
        default=list, help_text="Closed segments of work: [[start, end], ...] (ISO, UTC)."
    )
    running_since = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"timer of {self.user_id} since {self.started_at:%Y-%m-%d %H:%M}"
