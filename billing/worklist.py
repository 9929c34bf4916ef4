"""Reads of the worklist: the rows of a month's close version, filtered, and the CSV
export of interface.md (one row per claim line), streamed so memory stays flat."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import connections, transaction
from django.db.models import Prefetch, QuerySet

from billing.models import ClaimLine, WorklistRow, WorklistStatus
from ccm.models import BillingMonth, Practice
from patients.selectors import name_or_mrn_matches

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
#: The CSV's cells stored on each row for the export's COPY alone (WorklistRow): nothing
#: else reads them, so the ORM's reads leave them in the database.
EXPORT_TEXT_FIELDS = ("findings_text", "diagnoses_text")


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
    search: str = "",
) -> QuerySet[WorklistRow]:
    """A close version's rows (the latest by default) with patient, practitioner and
    lines loaded in a fixed number of queries; `search`: words of the patient's name or
    MRN, each of which must match."""
    rows = (
        WorklistRow.objects.filter(
            practice=practice,
            month=month,
            version=version if version is not None else current_version(practice, month),
        )
        .select_related("patient", "billing_practitioner")
        .prefetch_related(Prefetch("lines", queryset=ClaimLine.objects.order_by("id")))
        .defer(*EXPORT_TEXT_FIELDS)
    )
    if status:
        rows = rows.filter(status=status)
    if tier:
        rows = rows.filter(tier="" if tier == "none" else tier)
    if practitioner_id is not None:
        rows = rows.filter(billing_practitioner_id=practitioner_id)
    for words in name_or_mrn_matches(search, via="patient__"):
        rows = rows.filter(words)
    return rows


def worklist_rows_any_version(practice: Practice) -> QuerySet[WorklistRow]:
    """Every row of the practice, any month and version (for lookups by id)."""
    return (
        WorklistRow.objects.filter(practice=practice)
        .select_related("patient", "billing_practitioner", "practice")
        .prefetch_related(Prefetch("lines", queryset=ClaimLine.objects.order_by("id")))
        .defer(*EXPORT_TEXT_FIELDS)
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
        .defer(*(f"row__{field}" for field in EXPORT_TEXT_FIELDS))
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


# The CSV by COPY. Every cell is text worked out in SQL as _csv_row works it out. An empty
# cell is NULL, which COPY writes as nothing (an empty string it would quote); COPY quotes
# a cell holding a comma, a quote, CR or LF, as the csv module does (QUOTE_MINIMAL). COPY
# ends a row with LF where the csv module writes CRLF: PostgreSQL sends each row as one
# CopyData message ("always one per row", its protocol), so a block's last byte is the
# row's end, and only that one becomes CRLF (a LF inside a quoted cell stays).

EXPORT_CHUNK_BYTES = 64 * 1024
#: What str.strip() removes (User.get_full_name strips the joined names); no quote in it.
PYTHON_WHITESPACE = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
#: neutralise()'s FORMULA_PREFIXES as SQL literals.
_FORMULA_PREFIXES_SQL = "'=', '+', '-', '@', E'\\t', E'\\r'"


def _neutralised_sql(expression: str) -> str:
    """neutralise() in SQL: a cell a spreadsheet would run gets a leading quote."""
    return (
        f"CASE WHEN left({expression}, 1) IN ({_FORMULA_PREFIXES_SQL})"
        f" THEN '''' || {expression} ELSE {expression} END"
    )


_NAME_SQL = (  # User.display_name without the credential
    "coalesce(nullif(u.full_name, ''),"
    f" nullif(btrim(u.first_name || ' ' || u.last_name, '{PYTHON_WHITESPACE}'), ''),"
    " u.username)"
)
_DISPLAY_NAME_SQL = (
    f"CASE WHEN u.credential <> '' THEN {_NAME_SQL} || ', ' || u.credential ELSE {_NAME_SQL} END"
)
#: _findings_cell before neutralise: the row's stored findings text (findings_text,
#: written by PostgreSQL from `findings`: migration 0010) after a correction's reason.
_FINDINGS_SQL = (
    "concat_ws(';',"
    f" CASE WHEN w.status = '{WorklistStatus.NEEDS_CORRECTION}' AND w.correction_reason <> ''"
    " THEN 'NEEDS_CORRECTION: ' || w.correction_reason END,"
    " nullif(w.findings_text, ''))"
)

#: The claim lines of the billable rows by patient name, then the voids (a correction
#: that bills nothing: one line, no code), as export_csv_lines orders them. The sort (k)
#: carries its keys and the narrow cells only. The wide cells (findings, diagnoses) are
#: read after it, for each line, from its row (c: by primary key, a nested loop that
#: keeps k's order, so the final ORDER BY costs nothing and PostgreSQL never sorts the
#: wide text). Reading them once per row and carrying them to the row's other lines by a
#: window cost 0.3 s more CPU at 161,723 lines (copying the wide text through the
#: window). {rows}: the chosen rows' ids, made an array once (chosen) so both the rows
#: and their claim lines are read by index whatever the planner settings: with nested
#: loops off (_EXPORT_SETTINGS), `w.id IN ({rows})` and a join on the lines' row_id were
#: hash joins over every month's rows and lines the practice ever closed, a cost that
#: grew with each month kept.
_EXPORT_SQL = f"""COPY (
WITH chosen AS MATERIALIZED (SELECT ARRAY({{rows}}) AS ids)
SELECT
    nullif(k.mrn, ''), nullif(k.patient_name, ''), k.birth_date::text,
    nullif(k.practitioner, ''), nullif(k.npi, ''), left(k.month::text, 7),
    k.service_date::text, nullif(k.tier, ''), nullif(k.code, ''),
    k.units::text, k.amount::text,
    c.diagnoses, k.counted_minutes::text, nullif(k.status, ''), c.findings
FROM (
    SELECT
        NOT w.billable AS void, p.last_name, p.first_name, w.id AS row_id, l.id AS line_id,
        {_neutralised_sql("p.mrn")} AS mrn,
        {_neutralised_sql("p.last_name || ', ' || p.first_name")} AS patient_name,
        p.birth_date, {_neutralised_sql(_DISPLAY_NAME_SQL)} AS practitioner, u.npi,
        w.month, w.service_date, w.tier, w.status,
        (w.clinical_staff_seconds::bigint + w.practitioner_seconds) / 60 AS counted_minutes,
        coalesce(l.code, '') AS code, coalesce(l.units, 0) AS units,
        coalesce(l.amount, 0)::numeric(10, 2) AS amount
    FROM billing_worklistrow w
    JOIN patients_patient p ON p.id = w.patient_id
    JOIN ccm_user u ON u.id = w.billing_practitioner_id
    LEFT JOIN billing_claimline l ON l.row_id = w.id AND w.billable
         AND l.row_id = ANY((SELECT ids FROM chosen)::bigint[])
    WHERE w.id = ANY((SELECT ids FROM chosen)::bigint[])
      AND ((w.billable AND l.id IS NOT NULL)
           OR (NOT w.billable AND w.status = '{WorklistStatus.NEEDS_CORRECTION}'))
    ORDER BY 1, 2, 3, 4, 5
) k
LEFT JOIN LATERAL (
    SELECT nullif({_neutralised_sql("r.diagnoses")}, '') AS diagnoses,
           nullif({_neutralised_sql("r.findings")}, '') AS findings
    FROM (
        SELECT w.diagnoses_text AS diagnoses, {_FINDINGS_SQL} AS findings
        FROM billing_worklistrow w WHERE w.id = k.row_id
        OFFSET 0
    ) r
) c ON true
ORDER BY k.void, k.last_name, k.first_name, k.row_id, k.line_id
) TO STDOUT (FORMAT csv)"""  # noqa: S608 (constants; {rows} is the ORM's, bound)


#: For the export's one statement. Hash joins under the sort whatever the statistics
#: say (right after a close the worklist tables' statistics can still count no rows,
#: and nested loops over 100,000 rows cost seconds); the lookup after the sort is a
#: nested loop all the same (LATERAL). The sort of the narrow cells in memory (about
#: 40 MB at 160,000 lines), no JIT compilation (a fixed cost of a few hundred ms), and
#: dates written as isoformat() writes them without to_char's cost.
#: One statement (set_config(..., true) is SET LOCAL).
_EXPORT_SETTINGS = (
    "SELECT set_config('enable_nestloop', 'off', true), set_config('work_mem', '64MB', true),"
    " set_config('jit', 'off', true),"
    " set_config('DateStyle', 'ISO', true)"  # date::text is then isoformat()'s YYYY-MM-DD
)


def export_csv_chunks(rows: QuerySet[WorklistRow]) -> Iterator[bytes]:
    """The file of export_csv_lines, byte for byte: the header, then chunks of about
    64 KB written by PostgreSQL (COPY, one statement) and relayed; on another database,
    export_csv_lines encoded. Billing rule: one line per claim line of the billable
    rows, then one per void of a submitted claim (export_csv_lines says how each status
    reads)."""
    connection = connections[rows.db]
    header = str(csv.writer(_Echo()).writerow(EXPORT_HEADER)).encode()
    if connection.vendor != "postgresql":
        yield from _in_chunks(line.encode() for line in export_csv_lines(rows))
        return
    chosen = rows.order_by().values("pk")
    chosen_sql, params = chosen.query.get_compiler(rows.db).as_sql()
    # Only the row filter has parameters (%s, bound by psycopg: COPY takes none itself);
    # the SQL around it holds no other %.
    sql = _EXPORT_SQL.replace("{rows}", chosen_sql)
    yield header  # at once: the lines come once PostgreSQL has sorted them
    with transaction.atomic(using=rows.db), connection.cursor() as cursor:
        cursor.execute(_EXPORT_SETTINGS)
        with cursor.cursor.copy(sql, params) as copy:
            pieces: list[bytes | memoryview] = []
            size = 0
            for block in copy:
                pieces += (block[:-1], b"\r\n")
                size += len(block) + 1
                if size >= EXPORT_CHUNK_BYTES:
                    yield b"".join(pieces)
                    pieces, size = [], 0
            if pieces:
                yield b"".join(pieces)


def _in_chunks(pieces: Iterator[bytes]) -> Iterator[bytes]:
    buffer: list[bytes] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= EXPORT_CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)
