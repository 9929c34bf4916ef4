"""Writes of the billing app: starting the month close and MDM attestations."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from billing.close import close_request
from billing.models import CloseRun, MdmAttestation, MdmLevel, WorklistRow, WorklistStatus
from ccm.audit import audit_record, snapshot
from ccm.exceptions import PeriodClosed
from ccm.limits import NOTE_MAX_LENGTH, REASON_MAX_LENGTH, text_problem
from ccm.models import BillingMonth, Practice, User
from ccm.periods import ensure_month_open, month_start
from patients.models import Patient

log = logging.getLogger(__name__)


@transaction.atomic
def billing_month_close_start(
    *, practice: Practice, month: dt.date, actor: User | None
) -> tuple[CloseRun | None, bool]:
    """Claim the month and dispatch its close to the workers once the claim commits.
    Asking again while it runs re-dispatches its pending chunks (idempotent); asking for
    a closed month does nothing."""
    run, claimed = close_request(practice=practice, month=month, actor=actor)
    if run is not None and run.status == CloseRun.Status.RUNNING:
        if not claimed:
            audit_record(
                actor=actor,
                action="billing_month.close_redispatch",
                instance=run,
                practice=practice,
                after={"run": run.pk, "version": run.version},
            )
        transaction.on_commit(
            partial(_dispatch_close, run.pk, str(run.task_id) if claimed else None)
        )
    return run, claimed


def _dispatch_close(run_id: int, task_id: str | None) -> None:
    """Send the close to the workers. When the broker cannot be reached the claim stays
    in the database (the CloseRun is the outbox): the close_resume task re-sends every
    running close once the broker is back, so the request still answers 202."""
    from billing.tasks import close_month_run

    try:
        close_month_run.apply_async(args=[run_id], task_id=task_id)
    except (KombuOperationalError, OSError) as error:
        log.warning("close run %s queued in the database; broker unreachable: %s", run_id, error)
        run = CloseRun.objects.get(pk=run_id)
        audit_record(
            actor=None,
            action="billing_month.close_dispatch_failed",
            instance=run,
            practice=run.practice,
            after={"run": run_id, "error": str(error)[:200]},
        )


MDM_AUDIT_FIELDS = ("patient_id", "month", "level", "note", "practitioner_id", "signed_at")


@transaction.atomic
def mdm_attest(
    *, practitioner: User, patient: Patient, month: dt.date, level: str, note: str
) -> MdmAttestation:
    """The billing practitioner attests moderate or high MDM for a patient-month (billing
    rule: complex CCM 99487 needs it, and it cannot be delegated). Signing again replaces
    the attestation; both are audited. Refused in a closed month (409)."""
    if patient.billing_practitioner_id != practitioner.pk:
        raise PermissionDenied("Only the patient's billing practitioner can attest MDM.")
    errors: dict[str, list[str]] = {}
    if level not in MdmLevel.values:
        errors["level"] = [f"{level!r} is not an MDM level; choose moderate or high."]
    if not note.strip():
        errors["note"] = ["Say what made the decision-making moderate or high."]
    elif problem := text_problem(note, NOTE_MAX_LENGTH):
        errors["note"] = [problem]
    first = month_start(month)
    if first > timezone.localdate():
        errors["month"] = [f"{first:%Y-%m} has not begun."]
    if errors:
        raise ValidationError(errors)
    ensure_month_open(patient.practice, first)
    existing = (
        MdmAttestation.objects.select_for_update(no_key=True)
        .filter(patient=patient, month=first)
        .first()
    )
    before = snapshot(existing, MDM_AUDIT_FIELDS) if existing else None
    attestation = existing or MdmAttestation(patient=patient, month=first)
    attestation.level = level
    attestation.note = note.strip()
    attestation.practitioner = practitioner
    attestation.signed_at = timezone.now()
    attestation.save()
    audit_record(
        actor=practitioner,
        action="mdm.attest",
        instance=attestation,
        practice=patient.practice,
        before=before,
        after=snapshot(attestation, MDM_AUDIT_FIELDS),
    )
    return attestation


ROW_TRANSITIONS: dict[str, frozenset[str]] = {
    WorklistStatus.NEEDS_REVIEW: frozenset({WorklistStatus.READY}),
    WorklistStatus.READY: frozenset({WorklistStatus.SUBMITTED, WorklistStatus.NEEDS_REVIEW}),
    WorklistStatus.SUBMITTED: frozenset({WorklistStatus.PAID, WorklistStatus.DENIED}),
    WorklistStatus.DENIED: frozenset({WorklistStatus.SUBMITTED}),
    WorklistStatus.PAID: frozenset(),
    WorklistStatus.NOT_BILLABLE: frozenset(),
    # The correction (or void) of a claim that went out is sent like a claim.
    WorklistStatus.NEEDS_CORRECTION: frozenset({WorklistStatus.SUBMITTED}),
    WorklistStatus.SUPERSEDED: frozenset(),
}


@transaction.atomic
def worklist_row_set_status(
    *, row: WorklistRow, actor: User, status: str, denial_reason: str = ""
) -> WorklistRow:
    """Billing staff move a claim through review → submitted → paid or denied (with a
    reason), and a correction of a claim that went out (needs_correction, after a
    re-close) to submitted once it is sent; only rows of the month's current close
    version; audited.

    The billing month is locked first, then the row (ccm.locks: months before the rows
    changed): a re-close claims the month under the same lock before reading which claims
    went out, so a status change either commits before that read or finds its row's
    version superseded (409)."""
    current_version = (
        BillingMonth.objects.select_for_update(no_key=True)
        .values_list("version", flat=True)
        .get(practice_id=row.practice_id, month=row.month)
    )
    row = WorklistRow.objects.select_for_update(no_key=True).get(pk=row.pk)
    if row.version != current_version:
        raise PeriodClosed(
            f"This row belongs to version {row.version}; the month is now at "
            f"version {current_version}."
        )
    if status not in ROW_TRANSITIONS.get(row.status, frozenset()):
        allowed = ", ".join(sorted(ROW_TRANSITIONS.get(row.status, frozenset()))) or "none"
        raise ValidationError(
            {"status": [f"A {row.status} row cannot become {status} (allowed: {allowed})."]}
        )
    if status == WorklistStatus.DENIED and not denial_reason.strip():
        raise ValidationError({"denial_reason": ["Give the payer's reason for the denial."]})
    if problem := text_problem(denial_reason, REASON_MAX_LENGTH):
        raise ValidationError({"denial_reason": [problem]})
    before = {"status": row.status, "denial_reason": row.denial_reason}
    row.status = status
    row.denial_reason = denial_reason.strip() if status == WorklistStatus.DENIED else ""
    row.status_changed_at = timezone.now()
    row.save(update_fields=["status", "denial_reason", "status_changed_at"])
    audit_record(
        actor=actor,
        action="worklist.status",
        instance=row,
        practice=row.practice,
        before=before,
        after={"status": row.status, "denial_reason": row.denial_reason},
    )
    return row
