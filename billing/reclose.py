"""A re-close never bills twice (CONTRACTS.md, "Re-close never bills twice"): what the
next version of a worklist row becomes when the patient-month's claim already went out.

- The latest billed row (submitted, paid or denied) of the patient-month in the earlier
  versions is the claim the payer has.
- Same lines (code, units, unit amount): the new row keeps that status, its denial
  reason and the time it was set, and `supersedes` the billed row: it is not a new claim.
- Other lines, or no longer billable: the new row is needs_correction, `supersedes` the
  billed row, and carries the lines that went out (`previous_lines`) and why
  (`correction_reason`): it goes out as a correction of that claim (a void when it bills
  nothing), never as a new one.
- A billed row without lines is a void that went out: the claim no longer exists, so
  the new row is decided afresh.

billing.close reads the billed rows of a chunk's patients in two queries and writes the
outcomes with the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F

from billing.models import BILLED_STATUSES, ClaimLine, WorklistRow, WorklistStatus
from billing.rules import Decision
from ccm.lookups import AnyOf

#: A claim line as the re-close compares it: code, units, unit amount, amount.
LineTuple = tuple[str, int, Decimal, Decimal]


@dataclass(frozen=True)
class BilledClaim:
    """The latest row of a patient-month whose claim went out, with its lines."""

    row_id: int
    version: int
    status: str
    denial_reason: str
    status_changed_at: dt.datetime | None
    lines: tuple[LineTuple, ...]


@dataclass(frozen=True)
class RowOutcome:
    """What a new row of the re-close carries besides the engine's decision."""

    status: str
    denial_reason: str = ""
    status_changed_at: dt.datetime | None = None
    supersedes_id: int | None = None
    previous_lines: list[dict[str, object]] | None = None
    correction_reason: str = ""


def billed_claims(
    practice_id: int, month: dt.date, version: int, patient_ids: Sequence[int]
) -> dict[int, BilledClaim]:
    """The latest billed row of each patient's month in the versions before `version`,
    by patient id: two queries (the rows, then their lines), whatever the number of
    patients."""
    latest: dict[int, tuple[int, int, str, str, dt.datetime | None]] = {}
    rows = (
        WorklistRow.objects.filter(
            AnyOf(F("patient_id"), patient_ids),
            practice_id=practice_id,
            month=month,
            version__lt=version,
            status__in=BILLED_STATUSES,
        )
        .order_by("patient_id", "-version")
        .values_list("patient_id", "id", "version", "status", "denial_reason", "status_changed_at")
    )
    for patient_id, *row in rows:
        latest.setdefault(patient_id, tuple(row))  # type: ignore[arg-type]
    lines: dict[int, list[LineTuple]] = {row[0]: [] for row in latest.values()}
    if lines:
        for row_id, *line in (
            ClaimLine.objects.filter(AnyOf(F("row_id"), list(lines)))
            .order_by("row_id", "id")
            .values_list("row_id", "code", "units", "unit_amount", "amount")
        ):
            lines[row_id].append(tuple(line))  # type: ignore[arg-type]
    return {
        patient_id: BilledClaim(
            row_id, row_version, status, denial, changed_at, tuple(lines[row_id])
        )
        for patient_id, (row_id, row_version, status, denial, changed_at) in latest.items()
    }


def row_outcome(decision: Decision, billed: BilledClaim | None, fresh_status: str) -> RowOutcome:
    """The new row's status and links, given the claim that went out (if any);
    `fresh_status` is what the close would set with no claim out (ready, needs_review or
    not_billable)."""
    if billed is None or not billed.lines:
        return RowOutcome(status=fresh_status)
    new = sorted((line.code, line.units, line.unit_amount) for line in decision.lines)
    old = sorted((code, units, unit_amount) for code, units, unit_amount, _ in billed.lines)
    if decision.billable and new == old:
        return RowOutcome(
            status=billed.status,
            denial_reason=billed.denial_reason,
            status_changed_at=billed.status_changed_at,
            supersedes_id=billed.row_id,
        )
    return RowOutcome(
        status=WorklistStatus.NEEDS_CORRECTION,
        supersedes_id=billed.row_id,
        previous_lines=lines_json(billed.lines),
        correction_reason=correction_reason(decision, billed),
    )


def lines_json(lines: Sequence[LineTuple]) -> list[dict[str, object]]:
    """Claim lines as `previous_lines` keeps them: money as strings with two decimals."""
    return [
        {"code": code, "units": units, "unit_amount": f"{unit:.2f}", "amount": f"{amount:.2f}"}
        for code, units, unit, amount in lines
    ]


def _codes_text(lines: Sequence[tuple[str, int]]) -> str:
    return " + ".join(code if units == 1 else f"{code} ×{units}" for code, units in lines)


def correction_reason(decision: Decision, billed: BilledClaim) -> str:
    """Why the claim that went out must be corrected, in words a biller reads."""
    sent = f"The claim {billed.status} in version {billed.version}"
    old_codes = _codes_text([(code, units) for code, units, _, _ in billed.lines])
    if not decision.billable:
        blocks = "; ".join(f.message for f in decision.findings if f.blocks)
        return f"No longer billable ({blocks}). {sent} ({old_codes}) is to be voided."
    new_codes = _codes_text([(line.code, line.units) for line in decision.lines])
    if new_codes != old_codes:
        return f"{sent} billed {old_codes}; the month now bills {new_codes}."
    old_fees = {code: unit for code, _, unit, _ in billed.lines}
    changed = ", ".join(
        f"{line.code} {old_fees[line.code]:.2f} → {line.unit_amount:.2f}"
        for line in decision.lines
        if old_fees.get(line.code) != line.unit_amount
    )
    return f"{sent} billed the same codes at other fees ({changed})."
