# A frozen copy of billing/claims/claims.py as it was before the narrow-row, text-template
# writers (branch perf2-claims): the reference test_writers_identical.py compares the new
# writers' files with, byte for byte. Not used by the app.
"""The claims of an export, as both writers read them: which worklist rows go out
(billable, of the month's current close, not yet submitted, lacking no claim data), and
the claims of a stored interchange read back in chunks, so memory stays flat however
many claims the month has."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from django.db import connection
from django.db.models import Q, QuerySet

from billing.claims.models import InterchangeClaim
from billing.claims.readiness import ready_filter
from billing.models import ClaimLine, WorklistRow, WorklistStatus
from billing.worklist import current_version
from ccm.models import Practice, User

#: A claim not yet sent: billing staff mark it submitted once it has gone out.
NOT_YET_SUBMITTED = (WorklistStatus.READY, WorklistStatus.NEEDS_REVIEW)
#: A re-close changed a submitted claim (CONTRACTS.md, "Re-close never bills twice"):
#: it goes out as a correction of that claim, never as a new one.
NEEDS_CORRECTION = "needs_correction"
CHUNK_SIZE = 2000
#: What the writers read of a claim's row (its patient whole): the rest, the findings
#: above all, is left unread.
CLAIM_ROW_FIELDS = (
    "patient",
    "billing_practitioner",
    "month",
    "service_date",
    "diagnoses",
    "supersedes",
    "previous_lines",
)
MAX_CHAIN = 50


CLAIM_ID_PREFIX = "CCM"


def claim_id_of(row_id: int) -> str:
    """The claim's id (837P CLM01, the FHIR Claim's identifier): one per worklist row."""
    return f"{CLAIM_ID_PREFIX}{row_id}"


def exportable_rows(
    *, practice: Practice, month: dt.date, practitioner_id: int | None = None
) -> QuerySet[WorklistRow]:
    """The rows whose claims an export sends (billing rule: one claim per billable
    patient-month): the month's current close version, billable and not yet submitted,
    or correcting a submitted claim (a replacement, or a void when the month no longer
    bills), with every piece of claim data (readiness.ROW_REQUIREMENTS); by name."""
    rows = WorklistRow.objects.filter(
        practice=practice,
        month=month,
        version=current_version(practice, month),
    ).filter(
        Q(billable=True, status__in=NOT_YET_SUBMITTED) | Q(status=NEEDS_CORRECTION),
        ready_filter(),
    )
    if practitioner_id is not None:
        rows = rows.filter(billing_practitioner_id=practitioner_id)
    return rows.order_by("patient__last_name", "patient__first_name", "id")


@dataclass(frozen=True)
class ClaimLineData:
    code: str
    units: int
    unit_amount: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Claim:
    """One claim of an interchange: the worklist row (patient and billing practitioner
    loaded), what it bills and how (frequency 1, 7 or 8; the claim it corrects)."""

    row: WorklistRow
    claim_id: str
    frequency: str
    original_claim_id: str
    lines: tuple[ClaimLineData, ...]
    diagnoses: tuple[str, ...]
    service_date: dt.date

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


def interchange_claims(interchange_id: int, chunk_size: int = CHUNK_SIZE) -> Iterator[list[Claim]]:
    """The interchange's claims in the order they were stored, a chunk at a time: the
    items read by one query (a server-side cursor, `chunk_size` a fetch), then per chunk
    its rows with their patients (CLAIM_ROW_FIELDS) and its lines, each query
    bounded by the chunk, and the billing practitioners once each; so a chunk costs the
    same however many claims the interchange holds, and memory stays flat."""
    practitioners: dict[int, User] = {}
    stored = (
        InterchangeClaim.objects.filter(interchange_id=interchange_id)
        .order_by("id")
        .iterator(chunk_size=chunk_size)
    )
    while items := list(islice(stored, chunk_size)):
        chunk_rows = InterchangeClaim.objects.filter(
            interchange_id=interchange_id, id__gte=items[0].pk, id__lte=items[-1].pk
        ).values("row_id")
        rows = {
            row.pk: row
            for row in WorklistRow.objects.filter(pk__in=chunk_rows)
            .select_related("patient")
            .only(*CLAIM_ROW_FIELDS)
        }
        missing = {row.billing_practitioner_id for row in rows.values()} - practitioners.keys()
        if missing:
            practitioners.update(User.objects.in_bulk(missing))
        lines: dict[int, list[ClaimLineData]] = defaultdict(list)
        for row_id, code, units, unit_amount, amount in _lines_of(list(rows)):
            lines[row_id].append(ClaimLineData(code, units, unit_amount, amount))
        for item in items:
            row = rows[item.row_id]
            row.billing_practitioner = practitioners[row.billing_practitioner_id]
            item.row = row
        yield [_claim(item, lines[item.row_id]) for item in items]


def _lines_of(row_ids: list[int]) -> list[tuple[int, str, int, Decimal, Decimal]]:
    """The rows' claim lines in order, by the (row, code) index: the ids go as one array
    (a list of thousands of placeholders costs the ORM more than the query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_id, code, units, unit_amount, amount"  # noqa: S608 (our table)
            f" FROM {ClaimLine._meta.db_table} WHERE row_id = ANY(%s) ORDER BY row_id, id",
            [row_ids],
        )
        found: list[tuple[int, str, int, Decimal, Decimal]] = cursor.fetchall()
    return found


def claim_frequency(status: str, billable: bool) -> str:
    """The claim frequency code (837P CLM05-3) of a row: 1 an original claim, 7 the
    replacement of a submitted claim whose lines changed, 8 its void when the corrected
    month bills nothing."""
    if status != NEEDS_CORRECTION:
        return InterchangeClaim.Frequency.ORIGINAL
    return InterchangeClaim.Frequency.REPLACEMENT if billable else InterchangeClaim.Frequency.VOID


def original_claim_id(row_id: int) -> str:
    """The id of the claim a correcting row corrects (837P REF*F8): the last claim sent
    in an 837P for a row it continues (its `supersedes` chain: a row carried unchanged
    through re-closes bills the claim first sent), else that chain's first row's id."""
    chain: list[int] = []
    current = _superseded(row_id)
    while current is not None and current not in chain and len(chain) < MAX_CHAIN:
        chain.append(current)
        current = _superseded(current)
    if not chain:
        return ""
    sent = (
        InterchangeClaim.objects.filter(row_id__in=chain, interchange__kind="837p")
        .order_by("-id")
        .values_list("claim_id", flat=True)
        .first()
    )
    return sent or claim_id_of(chain[-1])


def _superseded(row_id: int) -> int | None:
    found: int | None = (
        WorklistRow.objects.filter(pk=row_id).values_list("supersedes_id", flat=True).first()
    )
    return found


def _claim(item: InterchangeClaim, lines: list[ClaimLineData]) -> Claim:
    row = item.row
    if item.frequency == InterchangeClaim.Frequency.VOID:
        return _void(item)
    return Claim(
        row=row,
        claim_id=item.claim_id,
        frequency=item.frequency,
        original_claim_id=item.original_claim_id,
        lines=tuple(lines),
        diagnoses=tuple(row.diagnoses),
        service_date=row.service_date or row.month,
    )


def _void(item: InterchangeClaim) -> Claim:
    """A void repeats the claim it cancels: its lines (the row's previous_lines), the
    diagnoses and service date of the row it supersedes."""
    row = item.row
    voided = row.supersedes
    if voided is None:  # a void always corrects a row (original_claim_id said so)
        raise ValueError(f"row {row.pk} voids no claim")
    previous = row.previous_lines or []
    return Claim(
        row=row,
        claim_id=item.claim_id,
        frequency=item.frequency,
        original_claim_id=item.original_claim_id,
        lines=tuple(
            ClaimLineData(
                line["code"],
                int(line["units"]),
                Decimal(line["unit_amount"]),
                Decimal(line["amount"]),
            )
            for line in previous
        ),
        diagnoses=tuple(voided.diagnoses),
        service_date=voided.service_date or voided.month,
    )
