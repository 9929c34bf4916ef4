"""Reads of the worklist: the rows of a month's close version, filtered, and the CSV
export of interface.md (one row per claim line), streamed so memory stays flat."""

from __future__ import annotations

import csv
import datetime as dt
import struct
import sys
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.db import connections, transaction
from django.db.models import Prefetch, QuerySet
from django.db.models.expressions import RawSQL

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
EXPORT_TEXT_FIELDS = ("findings_csv", "diagnoses_csv")


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


# The CSV by COPY, written ready: every cell is text worked out in SQL as _csv_row works
# it out and quoted as the csv module quotes it (QUOTE_MINIMAL: a cell holding a comma, a
# quote, CR or LF in quotes, its quotes doubled), and the lines are joined with CRLF.
# The wide cells (findings, diagnoses) are stored on the row ready (findings_csv,
# diagnoses_csv: migration 0011), so nothing scans them per export. The lines are
# joined into blocks of EXPORT_BLOCK_LINES (string_agg) and sent by COPY (FORMAT binary):
# PostgreSQL neither scans nor escapes them, and Python reads a few thousand messages
# instead of one per line (psycopg's per-message cost was 0.56 s at 161,723 lines).

EXPORT_CHUNK_BYTES = 64 * 1024
#: Lines per block of the COPY (about 110 KB at the bench's 1.7 KB a line).
EXPORT_BLOCK_LINES = 64
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


def _csv_sql(expression: str, *, neutralised: bool = True) -> str:
    """The cell as the csv module writes it (QUOTE_MINIMAL), neutralised first unless
    _csv_row writes it as it is (codes, NPIs, statuses)."""
    cell = _neutralised_sql(expression) if neutralised else expression
    return (
        f"CASE WHEN {expression} ~ E'[\",\\r\\n]'"
        f" THEN '\"' || replace({cell}, '\"', '\"\"') || '\"' ELSE {cell} END"
    )


_NAME_SQL = (  # User.display_name without the credential
    "coalesce(nullif(u.full_name, ''),"
    f" nullif(btrim(u.first_name || ' ' || u.last_name, '{PYTHON_WHITESPACE}'), ''),"
    " u.username)"
)
_DISPLAY_NAME_SQL = (
    f"CASE WHEN u.credential <> '' THEN {_NAME_SQL} || ', ' || u.credential ELSE {_NAME_SQL} END"
)

#: The claim lines of the billable rows by patient name, then the voids (a correction
#: that bills nothing: one line, no code), as export_csv_lines orders them, joined into
#: blocks. Measured at 161,723 lines (the bench month):
#: - w: the chosen rows' narrow columns, read once by the ORM's own filter ({rows}, by
#:   its index); chosen: their ids as an array, so the claim lines are read by index
#:   whatever the planner settings (with nested loops off, a join on the lines' row_id
#:   was a hash join over every month's lines the practice ever closed).
#: - patient: each patient of the rows with its cells ready (MRN, name, birth date) and
#:   its place in the name order. Sorting the lines by name (strcoll) cost 0.9 s CPU;
#:   by this rank, next to nothing. Equal names share a rank (dense_rank) and go by row
#:   id, as export_csv_lines orders them. The patients and practitioners are those of
#:   the rows, whatever practice: ranking the practice's patients from its name index
#:   measured the same (1.86 s against 1.94 s) but lost any other practice's lines.
#: - practitioner: each billing practitioner's cells ready.
#: - The sort carries the ints it orders by and each line's narrow cells, written
#:   ready: those before the diagnoses (head) and between the diagnoses and the
#:   findings (middle).
#: - c: the wide cells, read after the sort for each line from its row by its ctid (a
#:   nested loop of TID scans keeps the order, so PostgreSQL never sorts the wide text;
#:   0.4 s CPU less than by primary key). The statement's one snapshot keeps the row
#:   version it saw in place until the statement ends.
#: - The lines are joined in that order by block (a GroupAggregate over input sorted by
#:   block, line number).
#: A row's tier and status (TextChoices) and a line's code (the rulebooks' CPT codes)
#: hold no character the csv module quotes and are written as they are.
_EXPORT_SQL = f"""COPY (
WITH w AS MATERIALIZED ({{rows}}),
chosen AS MATERIALIZED (SELECT array_agg(w.id) AS ids FROM w),
patient AS (
    SELECT
        p.id, dense_rank() OVER (ORDER BY p.last_name, p.first_name) AS name_rank,
        {_csv_sql("p.mrn")} || ',"'
        || CASE WHEN left(p.last_name, 1) IN ({_FORMULA_PREFIXES_SQL}) THEN '''' ELSE '' END
        || replace(p.last_name, '"', '""') || ', ' || replace(p.first_name, '"', '""')
        || '",' || p.birth_date::text || ',' AS cells
    FROM patients_patient p
    WHERE p.id IN (SELECT patient_id FROM w)
),
practitioner AS (
    SELECT u.id, {_csv_sql(_DISPLAY_NAME_SQL)} || ','
           || {_csv_sql("u.npi", neutralised=False)} || ',' AS cells
    FROM ccm_user u
    WHERE u.id IN (SELECT billing_practitioner_id FROM w)
    OFFSET 0
)
SELECT string_agg(k.head || c.diagnoses || k.middle || c.findings, E'\\r\\n')
FROM (
    SELECT n.head, n.middle, n.tid, (n.rn - 1) / {EXPORT_BLOCK_LINES} AS block, n.rn
    FROM (
        SELECT
            pa.cells || pr.cells || left(w.month::text, 7) || ','
            || coalesce(w.service_date::text, '') || ',' || w.tier || ','
            || coalesce(l.code, '') || ',' || coalesce(l.units, 0)::text || ','
            || coalesce(l.amount, 0)::numeric(10, 2)::text || ',' AS head,
            ',' || ((w.clinical_staff_seconds::bigint + w.practitioner_seconds) / 60)::text
            || ',' || w.status || ',' AS middle,
            w.tid,
            row_number() OVER (ORDER BY NOT w.billable, pa.name_rank, w.id, l.id) AS rn
        FROM w
        JOIN patient pa ON pa.id = w.patient_id
        JOIN practitioner pr ON pr.id = w.billing_practitioner_id
        LEFT JOIN billing_claimline l ON l.row_id = w.id AND w.billable
             AND l.row_id = ANY((SELECT ids FROM chosen)::bigint[])
        WHERE (w.billable AND l.id IS NOT NULL)
           OR (NOT w.billable AND w.status = '{WorklistStatus.NEEDS_CORRECTION}')
    ) n
    ORDER BY block, n.rn
) k
LEFT JOIN LATERAL (
    SELECT coalesce(r.diagnoses_csv, '') AS diagnoses, coalesce(r.findings_csv, '') AS findings
    FROM billing_worklistrow r WHERE r.ctid = k.tid
    OFFSET 0
) c ON true
GROUP BY k.block
ORDER BY k.block
) TO STDOUT (FORMAT binary)"""  # noqa: S608 (constants; {rows} is the ORM's, bound)
#: The columns of the chosen rows the export reads (w).
_EXPORT_ROW_COLUMNS = (
    "id",
    "practice_id",
    "patient_id",
    "billing_practitioner_id",
    "month",
    "service_date",
    "tier",
    "billable",
    "status",
    "clinical_staff_seconds",
    "practitioner_seconds",
)


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
    chosen = rows.order_by().values(
        # the row version's place, for the wide cells' TID scan (a constant: no input)
        *_EXPORT_ROW_COLUMNS,
        tid=RawSQL(f'"{WorklistRow._meta.db_table}".ctid', ()),  # noqa: S611
    )
    chosen_sql, params = chosen.query.get_compiler(rows.db).as_sql()
    # Only the row filter has parameters (%s, bound by psycopg: COPY takes none itself);
    # the SQL around it holds no other %.
    sql = _EXPORT_SQL.replace("{rows}", chosen_sql)
    yield header  # at once: the lines come once PostgreSQL has sorted them
    with transaction.atomic(using=rows.db), connection.cursor() as cursor:
        cursor.execute(_EXPORT_SETTINGS)
        with cursor.cursor.copy(sql, params) as copy:
            # Each block with the CRLF of its last line (string_agg writes it between
            # lines: the line's last cell is not copied again to append it).
            pieces: list[bytes] = []
            size = 0
            for block in _binary_copy_values(copy):
                pieces += (block, b"\r\n")
                size += len(block) + 2
                if size >= EXPORT_CHUNK_BYTES:
                    yield b"".join(pieces)
                    pieces, size = [], 0
            if pieces:
                yield b"".join(pieces)


#: COPY (FORMAT binary)'s header: signature, flags, header extension length.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)


def _binary_copy_values(blocks: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """The one column of each tuple of a COPY ... TO STDOUT (FORMAT binary), read from
    its blocks however they split it: the header, then per tuple an int16 field count
    (1) and the value (int32 length, the bytes); a count of -1 ends it. PostgreSQL
    sends a tuple per block (the header with the first), so each value is copied once."""
    pending = b""  # the start of a tuple (or of the header) the next block completes
    header = True
    for block in blocks:
        data = memoryview(pending + bytes(block) if pending else block)
        start = 0
        if header:
            if len(data) < len(_BINARY_HEADER):
                pending = bytes(data)
                continue
            if data[: len(_BINARY_HEADER)] != _BINARY_HEADER:
                raise ValueError("not a COPY (FORMAT binary) stream")
            start, header = len(_BINARY_HEADER), False
        while len(data) - start >= 6:
            (count, length) = _TUPLE.unpack_from(data, start)
            if count != 1:
                break  # the trailer (-1), checked below
            end = start + 6 + max(length, 0)  # a length of -1 is NULL: never written
            if len(data) < end:
                break
            yield bytes(data[start + 6 : end])
            start = end
        if len(data) - start >= 2 and _INT16.unpack_from(data, start)[0] == -1:
            start = len(data)  # the end; PostgreSQL sends nothing after it
        elif len(data) - start >= 2 and _INT16.unpack_from(data, start)[0] != 1:
            raise ValueError("a COPY tuple of more than one column")
        pending = bytes(data[start:])


_INT16, _TUPLE = struct.Struct("!h"), struct.Struct("!hi")


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
