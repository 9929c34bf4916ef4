"""The claims of an export, as both writers read them: which worklist rows go out
(billable, of the month's current close, not yet submitted, lacking no claim data), and
the claims of a stored interchange read back in chunks, so memory stays flat however
many claims the month has."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Q, QuerySet

from billing.claims.models import InterchangeClaim
from billing.claims.readiness import ready_filter
from billing.models import ClaimLine, WorklistRow, WorklistStatus
from billing.worklist import current_version
from ccm.lookups import bigint_array
from ccm.models import Practice, User
from ccm.read_ahead import read_ahead
from patients.models import MEDICARE_PART_B, Patient

#: A claim not yet sent: billing staff mark it submitted once it has gone out.
NOT_YET_SUBMITTED = (WorklistStatus.READY, WorklistStatus.NEEDS_REVIEW)
#: A re-close changed a submitted claim (CONTRACTS.md, "Re-close never bills twice"):
#: it goes out as a correction of that claim, never as a new one.
NEEDS_CORRECTION = "needs_correction"
CHUNK_SIZE = 2000
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


class ClaimLineData(NamedTuple):
    code: str
    units: int
    unit_amount: Decimal
    amount: Decimal


class ClaimPatient(NamedTuple):
    """What the writers read of a claim's patient (837P 2010BA/2010BB, FHIR Patient and
    Coverage): a plain tuple, one per claim, read in the chunk's one query."""

    id: int
    practice_id: int
    mrn: str
    first_name: str
    last_name: str
    birth_date: dt.date
    billing_practitioner_id: int
    is_active: bool
    sex: str
    mbi: str
    address_line: str
    city: str
    state: str
    zip: str
    payer_name: str
    payer_id: str
    member_id: str

    @property
    def subscriber_id(self) -> str:
        """The id the payer knows the patient by: the member id, else the MBI."""
        return self.member_id or self.mbi

    @property
    def is_medicare_part_b(self) -> bool:
        return self.payer_name.strip().casefold() == MEDICARE_PART_B.casefold()


class Claim(NamedTuple):
    """One claim of an interchange: its worklist row's id, month and billing
    practitioner, the patient, what it bills and how (frequency 1, 7 or 8; the claim it
    corrects). A void carries the lines, diagnoses and service date of the claim it
    cancels."""

    row_id: int
    month: dt.date
    practitioner: User
    patient: ClaimPatient
    claim_id: str
    frequency: str
    original_claim_id: str
    lines: tuple[ClaimLineData, ...]
    diagnoses: tuple[str, ...]
    service_date: dt.date

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


_PATIENT_COLUMNS = ", ".join(f"p.{name}" for name in ClaimPatient._fields)
#: A chunk of an interchange's items: those whose ids lie in one window of the
#: (interchange, id) index, with their rows and patients: narrow tuples, one query. The
#: window is bounded on both sides, not "after the last, LIMIT n": the new items have no
#: statistics yet, so for "after the last" the planner chose a bitmap scan of every item
#: left plus a top-N sort, each chunk (91,014 claims: 46 chunks, ~1.1 s of the read).
#: A void reads the row it supersedes (the claim it cancels) and its previous lines. The
#: diagnoses come as a text[] (psycopg builds the list), not JSON text for json.loads
#: per claim (0.9 s of 91,014 claims under the profiler).
_CHUNK_SQL = f"""
SELECT i.id, i.claim_id, i.frequency, i.original_claim_id,
       r.id, r.month, r.billing_practitioner_id, r.supersedes_id,
       ARRAY(SELECT jsonb_array_elements_text(
           CASE WHEN i.frequency = %(void)s THEN v.diagnoses ELSE r.diagnoses END)),
       CASE WHEN i.frequency = %(void)s THEN coalesce(v.service_date, v.month)
            ELSE coalesce(r.service_date, r.month) END,
       CASE WHEN i.frequency = %(void)s THEN r.previous_lines::text END,
       {_PATIENT_COLUMNS}
FROM (
    SELECT id, row_id, claim_id, frequency, original_claim_id
    FROM {InterchangeClaim._meta.db_table}
    WHERE interchange_id = %(interchange)s AND id > %(after)s AND id <= %(until)s
) i
JOIN {WorklistRow._meta.db_table} r ON r.id = i.row_id
JOIN {Patient._meta.db_table} p ON p.id = r.patient_id
LEFT JOIN {WorklistRow._meta.db_table} v ON v.id = r.supersedes_id AND i.frequency = %(void)s
ORDER BY i.id
"""  # noqa: S608 (our tables)
_PATIENT_AT = 11
_ID_RANGE_SQL = (
    f"SELECT min(id), max(id) FROM {InterchangeClaim._meta.db_table}"  # noqa: S608
    " WHERE interchange_id = %s"
)


def interchange_claims(interchange_id: int, chunk_size: int = CHUNK_SIZE) -> Iterator[list[Claim]]:
    """The interchange's claims in the order they were stored, a chunk at a time (see
    `_claim_chunks`), each chunk read on a second connection while the writer writes the
    one before (ccm.read_ahead: the database's reads and Python's writing overlap; at
    91,014 claims over HTTP, FHIR 13.4 s to 10.7 s and 837P 8.6 s to 8.5 s, medians of 12
    downloads alternated on a shared machine)."""
    return read_ahead(_claim_chunks(interchange_id, chunk_size), name="claims-read-ahead")


def _claim_chunks(interchange_id: int, chunk_size: int) -> Iterator[list[Claim]]:
    """The interchange's claims in the order they were stored, a chunk at a time: each
    chunk its items with their rows and patients as plain tuples (one query, by the
    items' index: the items whose ids lie in the next window of chunk_size ids), their
    lines (one query), and the billing practitioners once each; so a chunk costs the
    same however many claims the interchange holds, and memory stays flat. An
    interchange's ids are consecutive unless another export stored items at the same
    time: then a window holds fewer items (or none), never another's."""
    practitioners: dict[int, User] = {}
    with connection.cursor() as cursor:
        cursor.execute(_ID_RANGE_SQL, [interchange_id])
        first, last = cursor.fetchone()
    if first is None:
        return
    after = first - 1
    while after < last:
        until = after + chunk_size
        with connection.cursor() as cursor:
            cursor.execute(
                _CHUNK_SQL,
                {
                    "void": InterchangeClaim.Frequency.VOID,
                    "interchange": interchange_id,
                    "after": after,
                    "until": until,
                },
            )
            found: list[tuple[Any, ...]] = cursor.fetchall()
        after = until
        if not found:
            continue
        missing = {item[6] for item in found} - practitioners.keys()
        if missing:
            practitioners.update(User.objects.in_bulk(missing))
        lines: dict[int, list[ClaimLineData]] = defaultdict(list)
        for row_id, code, units, unit_amount, amount in _lines_of([item[4] for item in found]):
            lines[row_id].append(ClaimLineData(code, units, unit_amount, amount))
        yield [_claim(item, lines, practitioners) for item in found]


def _claim(
    item: tuple[Any, ...], lines: dict[int, list[ClaimLineData]], practitioners: dict[int, User]
) -> Claim:
    (
        _,
        claim_id,
        frequency,
        original,
        row_id,
        month,
        practitioner_id,
        supersedes_id,
        diagnoses,
        service_date,
        previous_lines,
    ) = item[:_PATIENT_AT]
    if frequency == InterchangeClaim.Frequency.VOID:
        if supersedes_id is None:  # a void always corrects a row (original_claim_id said so)
            raise ValueError(f"row {row_id} voids no claim")
        claim_lines = _void_lines(previous_lines)
    else:
        claim_lines = tuple(lines.get(row_id, ()))
    return Claim(
        row_id,
        month,
        practitioners[practitioner_id],
        ClaimPatient._make(item[_PATIENT_AT:]),
        claim_id,
        frequency,
        original,
        claim_lines,
        tuple(diagnoses),
        service_date,
    )


def _void_lines(previous_lines: str | None) -> tuple[ClaimLineData, ...]:
    """A void repeats the lines of the claim it cancels (the row's previous_lines)."""
    previous = json.loads(previous_lines) if previous_lines is not None else None
    return tuple(
        ClaimLineData(
            line["code"],
            int(line["units"]),
            Decimal(line["unit_amount"]),
            Decimal(line["amount"]),
        )
        for line in previous or []
    )


def _lines_of(row_ids: list[int]) -> list[tuple[int, str, int, Decimal, Decimal]]:
    """The rows' claim lines in order, by the (row, code) index: the ids go as one array
    literal (ccm.lookups.bigint_array: a list of thousands of placeholders costs the ORM
    more than the query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_id, code, units, unit_amount, amount"  # noqa: S608 (our table)
            f" FROM {ClaimLine._meta.db_table} WHERE row_id = ANY(%s::bigint[])"
            " ORDER BY row_id, id",
            [bigint_array(row_ids)],
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
