"""Reads of the worklist: the rows of a month's close version, filtered, and the CSV
export of interface.md (one row per claim line), streamed so memory stays flat."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet

from billing.models import ClaimLine, WorklistRow, WorklistStatus
from ccm.models import BillingMonth, Practice

EXPORT_HEADER = (
    "mrn",
    "patient_name",
    "birth_date",
    "billing_practitioner",
    "npi",
    "service_month",
    "service_date",
    "tier",
    "code",
    "units",
    "amount",
    "diagnoses",
    "counted_minutes",
    "status",
    "findings",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def current_version(practice: Practice, month: dt.date) -> int:
    """The month's latest close version (0 when never closed)."""
    billing_month = BillingMonth.objects.filter(practice=practice, month=month).first()
    return billing_month.version if billing_month else 0


def worklist_rows(
    *,
    practice: Practice,
    month: dt.date,
    version: int | None = None,
    status: str | None = None,
    tier: str | None = None,
    practitioner_id: int | None = None,
) -> QuerySet[WorklistRow]:
    """A close version's rows (the latest by default) with patient, practitioner and
    lines loaded in a fixed number of queries."""
    rows = (
        WorklistRow.objects.filter(
            practice=practice,
            month=month,
            version=version if version is not None else current_version(practice, month),
        )
        .select_related("patient", "billing_practitioner")
        .prefetch_related(Prefetch("lines", queryset=ClaimLine.objects.order_by("id")))
    )
    if status:
        rows = rows.filter(status=status)
    if tier:
        rows = rows.filter(tier="" if tier == "none" else tier)
    if practitioner_id is not None:
        rows = rows.filter(billing_practitioner_id=practitioner_id)
    return rows


def worklist_rows_any_version(practice: Practice) -> QuerySet[WorklistRow]:
    """Every row of the practice, any month and version (for lookups by id)."""
    return (
        WorklistRow.objects.filter(practice=practice)
        .select_related("patient", "billing_practitioner", "practice")
        .prefetch_related(Prefetch("lines", queryset=ClaimLine.objects.order_by("id")))
    )


def neutralise(cell: Any) -> str:
    """Spreadsheet-safe text: a cell that a spreadsheet would run as a formula (=, +, -,
    @ ...) is prefixed with a single quote (OWASP CSV injection)."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _findings_cell(row: WorklistRow) -> str:
    """The row's findings, `RULE: message` joined with `;`; a correction's reason first."""
    findings = [f"{f['rule']}: {f['message']}" for f in row.findings]
    if row.status == WorklistStatus.NEEDS_CORRECTION and row.correction_reason:
        findings.insert(0, f"NEEDS_CORRECTION: {row.correction_reason}")
    return neutralise(";".join(findings))


def _csv_row(row: WorklistRow, code: str, units: int, amount: Decimal) -> list[object]:
    patient, practitioner = row.patient, row.billing_practitioner
    return [
        neutralise(patient.mrn),
        neutralise(f"{patient.last_name}, {patient.first_name}"),
        patient.birth_date.isoformat(),
        neutralise(practitioner.display_name),
        practitioner.npi,
        f"{row.month:%Y-%m}",
        row.service_date.isoformat() if row.service_date else "",
        row.tier,
        code,
        units,
        f"{amount:.2f}",
        neutralise(";".join(row.diagnoses)),
        row.counted_minutes,
        row.status,
        _findings_cell(row),
    ]


def export_csv_lines(rows: QuerySet[WorklistRow]) -> Iterator[str]:
    """The CSV text of interface.md, line by line: one line per claim line of the
    billable rows, read in batches so memory does not grow with the number of rows.

    After a re-close the status column tells a new claim (ready, needs_review) from one
    that already went out (submitted, paid, denied: carried unchanged, never to be sent
    again) and from a correction of one (needs_correction, its reason first among the
    findings). A correction that bills nothing (a void of the claim that went out) has
    no line: it is listed once, with no code and a zero amount, after the lines."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_HEADER)
    lines = (
        ClaimLine.objects.filter(row__in=rows.filter(billable=True).values("pk"))
        .select_related("row__patient", "row__billing_practitioner")
        .order_by("row__patient__last_name", "row__patient__first_name", "row_id", "id")
    )
    for line in lines.iterator(chunk_size=2000):
        yield writer.writerow(_csv_row(line.row, line.code, line.units, line.amount))
    voids = (
        rows.filter(billable=False, status=WorklistStatus.NEEDS_CORRECTION)
        .prefetch_related(None)
        .select_related("patient", "billing_practitioner")
        .order_by("patient__last_name", "patient__first_name", "id")
    )
    for row in voids.iterator(chunk_size=2000):
        yield writer.writerow(_csv_row(row, "", 0, Decimal("0.00")))
