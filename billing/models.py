"""Billing data: MDM attestations and the practice's fee schedule (the engine itself is
billing/rules, pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Func, Q

from ccm.models import Practice
from patients.models import Patient

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler


class MdmLevel(models.TextChoices):
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class MdmAttestation(models.Model):
    """The billing practitioner's attestation of moderate or high medical decision-making
    for a patient-month: with 60+ staff minutes it makes the month complex CCM (99487)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="mdm_attestations")
    month = models.DateField(help_text="The first day of the month attested.")
    level = models.CharField(max_length=10, choices=MdmLevel.choices)
    note = models.TextField()
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mdm_attestations"
    )
    signed_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patient", "month"], name="mdm_one_per_patient_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="mdm_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"MDM {self.level} {self.month:%Y-%m}"


class FeeScheduleEntry(models.Model):
    """A practice's expected payment for one code in one year and locality; it replaces
    the rulebook's shipped national default (billing-rules.md section 1: fees are data)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="fees")
    code = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    locality = models.CharField(max_length=20, blank=True)
    amount = models.DecimalField(max_digits=9, decimal_places=2)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["year", "locality", "code"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["practice", "code", "year", "locality"],
                name="fee_unique_per_code_year_locality",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.year} {self.locality or 'national'}: {self.amount}"


class CloseRun(models.Model):
    """One run of the month close for a practice (a Job row, NetBox-style): which version
    it writes, how far it got, and why it failed if it did."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="close_runs")
    month = models.DateField()
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    task_id = models.UUIDField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    patients = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-started_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["practice", "month", "version"], name="close_run_one_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"close {self.month:%Y-%m} v{self.version} {self.status}"


class CloseChunk(models.Model):
    """A slice of the practice's patients that one worker closes in one transaction.

    `dispatched_at` is when it was last sent to the workers, `claimed_at` when a worker
    last started it: a pending chunk claimed after its dispatch that no worker holds lost
    its worker, and the sweep (billing.close.close_chunks_to_resend) sends it again."""

    run = models.ForeignKey(CloseRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    patient_ids = models.JSONField()
    done = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["index"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["run", "index"], name="close_chunk_unique_index"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of run {self.run_id}"


class WorklistStatus(models.TextChoices):
    """A worklist row's life: the close sets needs_review / ready / not_billable; billing
    staff move billable rows on to submitted, then paid or denied.

    A re-close never bills twice: a row whose claim went out (submitted, paid, denied)
    carries its status into the next version when its lines are unchanged, and is
    needs_correction there when they changed (billing staff move it to submitted once the
    correction is sent); the rows of the older version that were never billed become
    superseded, so a patient-month is "ready" in at most one version."""

    NEEDS_REVIEW = "needs_review", "Needs review"
    READY = "ready", "Ready"
    NOT_BILLABLE = "not_billable", "Not billable"
    SUBMITTED = "submitted", "Submitted"
    PAID = "paid", "Paid"
    DENIED = "denied", "Denied"
    NEEDS_CORRECTION = "needs_correction", "Needs correction"
    SUPERSEDED = "superseded", "Superseded"


#: The statuses of a row whose claim went out to the payer.
BILLED_STATUSES = frozenset({WorklistStatus.SUBMITTED, WorklistStatus.PAID, WorklistStatus.DENIED})


class ExportText(Func):
    """A cell of the worklist CSV, worked out from the row's columns by one of the
    IMMUTABLE functions of migration 0011 (PostgreSQL). SQLite (development) has no such
    function: the column is NULL there, and the export works the cell out in Python
    (export_csv_lines)."""

    output_field = models.TextField()

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, tuple[()]]:
        return "NULL", ()


class WorklistRow(models.Model):
    """One patient-month of one close version: the engine's decision, frozen."""

    # No single-column indexes on practice and patient: the (practice, month, version,
    # status) index and the (patient, month, version) unique constraint lead with them,
    # and the close writes 100,000 rows at a time.
    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="worklist_rows", db_index=False
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="worklist_rows", db_index=False
    )
    month = models.DateField()
    version = models.PositiveIntegerField()
    run = models.ForeignKey(CloseRun, on_delete=models.PROTECT, related_name="rows")
    billing_practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    tier = models.CharField(max_length=20, blank=True)
    billable = models.BooleanField()
    total_amount = models.DecimalField(max_digits=10, decimal_places=2)
    clinical_staff_seconds = models.PositiveIntegerField()
    practitioner_seconds = models.PositiveIntegerField()
    service_date = models.DateField(null=True)
    diagnoses = models.JSONField(default=list)
    findings = models.JSONField(default=list)
    rulebook = models.CharField(max_length=20)
    status = models.CharField(max_length=20, choices=WorklistStatus.choices)
    denial_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    #: For a row of a later version: the row of an earlier version whose claim went out
    #: (submitted, paid, denied) and which this row continues, unchanged or correcting it.
    #: Indexed only where set (the partial index below): most rows continue nothing.
    supersedes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        db_index=False,
    )
    #: The lines of that claim, [{"code", "units", "unit_amount", "amount"}] with money as
    #: strings of two decimals, when this row's lines differ (status needs_correction).
    previous_lines = models.JSONField(null=True, blank=True)
    #: Why the lines changed, in words (status needs_correction).
    correction_reason = models.TextField(blank=True, default="")
    #: The CSV's findings and diagnoses cells ready to write (export_csv_chunks): as
    #: export_csv_lines works them out (a correction's reason first among the findings,
    #: neutralise()) and quoted as the csv module quotes them. Written by PostgreSQL from
    #: the row's own columns whenever a row is written (stored generated columns:
    #: migration 0011), so a status or reason changed later changes them too.
    findings_csv = models.GeneratedField(
        expression=ExportText(
            "findings", "status", "correction_reason", function="billing_findings_csv"
        ),
        output_field=models.TextField(),
        db_persist=True,
        null=True,
    )
    diagnoses_csv = models.GeneratedField(
        expression=ExportText("diagnoses", function="billing_diagnoses_csv"),
        output_field=models.TextField(),
        db_persist=True,
        null=True,
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["patient__last_name", "patient__first_name", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["patient", "month", "version"],
                name="worklist_one_row_per_patient_month_version",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["practice", "month", "version", "status"]),
            models.Index(
                fields=["supersedes"],
                condition=Q(supersedes__isnull=False),
                name="worklist_row_supersedes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.month:%Y-%m} v{self.version} {self.status}"

    @property
    def counted_minutes(self) -> int:
        return (self.clinical_staff_seconds + self.practitioner_seconds) // 60


class ClaimLine(models.Model):
    """One claim line of a worklist row: a CPT code, its units and amount."""

    # Indexed by the (row, code) unique constraint, which leads with it.
    row = models.ForeignKey(
        WorklistRow, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    code = models.CharField(max_length=10)
    units = models.PositiveSmallIntegerField()
    unit_amount = models.DecimalField(max_digits=9, decimal_places=2)
    amount = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["row", "code"], name="claim_line_one_per_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} x{self.units}"


class FactsRevision(models.Model):
    """How often a patient's billing facts have changed: bumped by database triggers
    (migration 0006) whenever a row the engine's facts are read from is inserted, updated
    or deleted (the patient, conditions, consents, visits, care plans, other services,
    inpatient stays, time entries, MDM attestations, a billing practitioner's NPI). A
    patient with no row is at revision 0.

    No foreign key: a trigger may bump a patient that is being deleted in the same
    transaction, and a stale row of a deleted patient is harmless."""

    patient_id = models.BigIntegerField(primary_key=True)
    revision = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"patient {self.patient_id} r{self.revision}"


class CallListProgress(models.Model):
    """A patient-month's progress as the call list shows it (billing rule
    `next_threshold`), stored with the facts revision and the rulebook it was worked out
    from: the nightly job (billing.refresh_call_lists) fills them, and the call list
    works out again only the patients whose revision or rulebook has moved since.

    Derived data, not a record: it is rebuilt from the facts at will, so its changes leave
    no audit events (the changes to the facts themselves do). Only the blocking findings
    are kept, without the entries they name: the call list shows no more."""

    # Indexed by the (patient, month) unique constraint, which leads with it.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()
    revision = models.BigIntegerField()
    rulebook = models.CharField(max_length=64)
    computed_at = models.DateTimeField()
    #: The engine's error on the patient's facts; the progress fields are then empty.
    error = models.TextField(blank=True)
    counted_seconds = models.PositiveIntegerField(default=0)
    billable = models.BooleanField(default=False)
    tier = models.CharField(max_length=20, blank=True)
    codes = models.JSONField(default=list)
    next_code = models.CharField(max_length=10, blank=True)
    minutes_needed = models.PositiveIntegerField(null=True)
    step_start_minutes = models.PositiveIntegerField(default=0)
    target_minutes = models.PositiveIntegerField(null=True)
    percent = models.PositiveSmallIntegerField(default=0)
    blocks = models.JSONField(default=list)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["patient", "month"], name="call_list_progress_one_per_patient_month"
            ),
            models.CheckConstraint(
                condition=Q(month__day=1), name="call_list_progress_month_first_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.month:%Y-%m} r{self.revision}"
