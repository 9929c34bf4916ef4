"""The month close: every patient-month of a practice through the engine, into worklist
rows of a new version, exactly once.

How "exactly once" holds (style.md, Jobs):
- Claim: `close_request` moves the BillingMonth open → closing and bumps its version under
  a row lock, in one transaction with the CloseRun and its chunks. A second request finds
  the month closing (or closed) and returns the same run: nothing is claimed twice.
- Chunks: the month's patients, cut by their time entries (the close's work grows with
  them) so that the workers finish together. Each chunk is written in one transaction
  that first locks its CloseChunk row; a chunk already done is skipped, so a redelivered
  or duplicated task writes nothing twice, and the unique constraint (patient, month,
  version) stands behind that.
- A worker killed mid-chunk rolls its transaction back, its chunk lock goes with it, and
  the sweep (`close_chunks_to_resend`, run by beat every CCM_CLOSE_SWEEP_SECONDS and by
  `manage.py close_resume`) sends any pending chunk no worker holds again; a worker that
  hangs or whose machine vanished stops pinging (`_Heartbeat`), and PostgreSQL ends its
  session after CCM_CLOSE_STALL_SECONDS, releasing the chunk the same way.
- Finish: the run is finalised under its row lock once no chunk is pending, with a
  conditional UPDATE closing → closed of the same version.

How a re-close never bills twice (CONTRACTS.md; billing.reclose decides each row):
- Each chunk reads, in its own transaction, the latest billed row (submitted, paid,
  denied) of each of its patients in the earlier versions, with its lines: one query for
  the rows, one for the lines. A row whose new lines are the same carries that status
  into the new version; one whose lines changed (or that no longer bills) is
  needs_correction, with the lines that went out and why. Either way it `supersedes` the
  billed row.
- In the same transaction, the chunk's patients' earlier rows that were never billed
  become superseded (one UPDATE): a patient-month is "ready" in at most one version.
  The finish supersedes what is left of the month's earlier versions (patients no
  longer closed).
- The statuses the chunk reads cannot move under it: a status change locks the billing
  month first and is refused for a row of an older version, and the claim bumps the
  version under the month's row lock before any chunk runs.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from billing.models import (
    BILLED_STATUSES,
    ClaimLine,
    CloseChunk,
    CloseRun,
    WorklistRow,
    WorklistStatus,
)
from billing.reclose import BilledClaim, RowOutcome, billed_claims, row_outcome
from billing.rules import Decision, Facts, Finding, Rulebook, evaluate
from billing.selectors import (
    PatientKey,
    patient_keys,
    patients_month_engine_facts,
    practice_rulebook,
)
from ccm.audit import audit_record
from ccm.exceptions import PeriodClosed
from ccm.gc_pause import gc_paused
from ccm.limits import REASON_MAX_LENGTH, text_problem
from ccm.locks import lock_for_change
from ccm.lookups import AnyOf
from ccm.models import BillingMonth, Practice, User
from ccm.periods import month_end, month_start
from patients.models import Patient
from timelog.models import TimeShare

#: At most this many patients in a chunk (CCM_CLOSE_CHUNK_SIZE).
DEFAULT_CHUNK_SIZE = 25000
#: A chunk is cut once its patients' time entries of the month (their shares) reach this
#: many (CCM_CLOSE_CHUNK_ENTRIES): the close's work grows with the entries, so chunks
#: of about as many entries take about as long, and the workers finish together. Each
#: chunk reads its patients' activities, scattered over the month's whole table, so
#: fewer chunks read less; more chunks share out better. At 100,000 patients and 2.25M
#: shares, 400,000 gives 7 chunks: measured fastest with 2 workers against 200,000 (14)
#: and 600,000 (5) (bench/close.py; docs/benchmarks.md).
DEFAULT_CHUNK_ENTRIES = 400_000
#: What a patient costs the close besides their entries (their other rows, the engine's
#: fixed work, their worklist row), counted as this many entries.
PATIENT_WEIGHT = 5


@dataclass(frozen=True)
class CloseSummary:
    month: str
    patients: int
    billable: int
    total_amount: Decimal


def _seconds(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _chunk_size() -> int:
    return int(getattr(settings, "CCM_CLOSE_CHUNK_SIZE", DEFAULT_CHUNK_SIZE))


def _chunk_entries() -> int:
    return int(getattr(settings, "CCM_CLOSE_CHUNK_ENTRIES", DEFAULT_CHUNK_ENTRIES))


def _entries_by_patient(patient_ids: Sequence[int], month: dt.date) -> dict[int, int]:
    """How many time entries (shares) each patient has in the month: one GROUP BY, read
    from the (patient, date) index alone."""
    return dict(
        TimeShare.objects.filter(
            AnyOf(F("patient_id"), patient_ids), date__range=(month, month_end(month))
        )
        .values_list("patient_id")
        .annotate(entries=Count("id"))
        .order_by()
    )


def _split(
    ids: Sequence[int], entries: dict[int, int], *, max_patients: int, max_entries: int
) -> Iterable[list[int]]:
    """The patients (in id order) cut into chunks of about `max_entries` entries, a
    patient counting PATIENT_WEIGHT besides their own, and at most `max_patients`."""
    chunk: list[int] = []
    weight = 0
    for patient_id in ids:
        chunk.append(patient_id)
        weight += entries.get(patient_id, 0) + PATIENT_WEIGHT
        if weight >= max_entries or len(chunk) >= max_patients:
            yield chunk
            chunk, weight = [], 0
    if chunk:
        yield chunk


@transaction.atomic
def close_request(
    *, practice: Practice, month: dt.date, actor: User | None
) -> tuple[CloseRun | None, bool]:
    """Claim the month for a close: open → closing with version + 1, a CloseRun and its
    chunks (patients in id order, cut at about CCM_CLOSE_CHUNK_ENTRIES time entries or
    CCM_CLOSE_CHUNK_SIZE patients, whichever comes first). Returns (run, claimed). When
    the month is already closing, returns its running run (claimed False); when closed,
    (its last run, False): the request is idempotent."""
    first = month_start(month)
    billing_month, _ = BillingMonth.objects.get_or_create(practice=practice, month=first)
    billing_month = BillingMonth.objects.select_for_update(no_key=True).get(pk=billing_month.pk)
    if billing_month.status != BillingMonth.Status.OPEN:
        run = CloseRun.objects.filter(
            practice=practice, month=first, version=billing_month.version
        ).first()
        return run, False
    billing_month.status = BillingMonth.Status.CLOSING
    billing_month.version += 1
    billing_month.save(update_fields=["status", "version", "updated_at"])
    # An inactive patient whose claim of this month went out is closed again too: a
    # change to that claim must come out as a correction, not be lost.
    active = Patient.objects.filter(practice=practice, is_active=True).values_list("pk", flat=True)
    billed = WorklistRow.objects.filter(
        practice=practice, month=first, status__in=BILLED_STATUSES
    ).values_list("patient_id", flat=True)
    patient_ids = sorted({*active, *billed})
    chunks = list(
        _split(
            patient_ids,
            _entries_by_patient(patient_ids, first),
            max_patients=_chunk_size(),
            max_entries=_chunk_entries(),
        )
    )
    run = CloseRun.objects.create(
        practice=practice,
        month=first,
        version=billing_month.version,
        task_id=uuid.uuid4(),
        requested_by=actor,
        patients=len(patient_ids),
        chunks_total=len(chunks),
    )
    CloseChunk.objects.bulk_create(
        CloseChunk(run=run, index=index, patient_ids=ids) for index, ids in enumerate(chunks)
    )
    audit_record(
        actor=actor,
        action="billing_month.close",
        instance=billing_month,
        practice=practice,
        before={"status": "open"},
        after={
            "status": "closing",
            "version": billing_month.version,
            "run": run.pk,
            "patients": len(patient_ids),
        },
    )
    return run, True


def _row_status(decision: Decision) -> str:
    """Billing rule findings decide the row's first status: a blocked month is not
    billable; a billable month with any warning needs review; otherwise ready."""
    if not decision.billable:
        return WorklistStatus.NOT_BILLABLE
    if any(finding.severity == "warn" for finding in decision.findings):
        return WorklistStatus.NEEDS_REVIEW
    return WorklistStatus.READY


def _findings_json(decision: Decision) -> list[dict[str, object]]:
    return [
        {"rule": f.rule, "severity": f.severity, "message": f.message, "entries": list(f.entries)}
        for f in decision.findings
    ]


#: A JSON string as json.dumps writes it (ASCII, escaped by the json module's C code).
_json_string = json.encoder.encode_basestring_ascii


def _strings_text(values: Iterable[str]) -> str:
    """json.dumps(list(values)) of strings, byte for byte."""
    return "[" + ", ".join(map(_json_string, values)) + "]"


def _findings_text(findings: Iterable[Finding]) -> str:
    """json.dumps(_findings_json(...)), byte for byte (tests compare the two), written
    straight from the findings: the close stores one per patient, and json.dumps'
    general encoder cost 2.2 s of a 50,000-patient close for what is always the same
    shape (four keys, strings and a list of strings)."""
    return (
        "["
        + ", ".join(
            [
                f'{{"rule": {_json_string(f.rule)}, "severity": {_json_string(f.severity)},'
                f' "message": {_json_string(f.message)}, "entries": {_strings_text(f.entries)}}}'
                for f in findings
            ]
        )
        + "]"
    )


Decided = tuple[PatientKey, Decision]
#: A patient's decision with what the re-close makes of it (billing.reclose).
Written = tuple[PatientKey, Decision, RowOutcome]


class _Heartbeat:
    """Pings PostgreSQL from the chunk's transaction at least every
    CCM_CLOSE_HEARTBEAT_SECONDS while the engine works, so the session is never idle in
    its transaction for longer; one that stays silent for CCM_CLOSE_STALL_SECONDS has lost
    its worker, and PostgreSQL ends it (`_tune_chunk_transaction`)."""

    def __init__(self) -> None:
        self.every = _seconds("CCM_CLOSE_HEARTBEAT_SECONDS", 5)
        self.last = time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self.last >= self.every and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            self.last = now


@dataclass(frozen=True)
class _ChunkFacts:
    """A chunk's patients (their keys, in id order) and the engine's facts of their month."""

    patient_ids: list[int]
    keys: list[PatientKey]
    facts: dict[int, Facts]


def _chunk_facts(patient_ids: list[int], month: dt.date) -> _ChunkFacts:
    """The facts of the chunk's patients, read in a fixed number of queries."""
    keys = patient_keys(patient_ids)
    return _ChunkFacts(patient_ids, keys, patients_month_engine_facts(keys, month))


def _decide(run: CloseRun, read: Callable[[], _ChunkFacts]) -> tuple[Rulebook, list[Decided]]:
    """The engine's decision for each patient of the chunk: facts built straight from the
    rows in a fixed number of queries (`read`), one rulebook with the practice's fees.
    The facts are dropped on return, before the rows are written: with the collector
    paused, millions of live objects when it resumes cost it a pass over each of them."""
    rulebook = practice_rulebook(run.practice, run.month)
    heartbeat = _Heartbeat()
    chunk = read()
    heartbeat()
    keys, facts = chunk.keys, chunk.facts
    del chunk
    decided: list[Decided] = []
    for key in keys:
        decided.append((key, evaluate(facts[key[0]], rulebook)))
        heartbeat()
    return rulebook, decided


def _reserve_ids(table: str, count: int) -> list[int]:
    """`count` ids from the table's sequence (PostgreSQL), safe beside concurrent writers."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy_rows(run: CloseRun, rulebook: Rulebook, written: list[Written]) -> None:
    """Write the rows and their lines with COPY (PostgreSQL): the same rows bulk_create
    writes, several times faster. The unique constraint (patient, month, version) still
    stands behind the chunk lock."""
    row_table, line_table = WorklistRow._meta.db_table, ClaimLine._meta.db_table
    ids = _reserve_ids(row_table, len(written))
    dumps = json.dumps
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {row_table} ({', '.join(_ROW_COLUMNS)}) FROM STDIN") as copy:
            for row_id, ((patient_id, practitioner_id, _), decision, outcome) in zip(
                ids, written, strict=True
            ):
                counted = decision.counted_seconds
                copy.write_row(
                    (
                        row_id,
                        run.practice_id,
                        patient_id,
                        run.month,
                        run.version,
                        run.pk,
                        practitioner_id,
                        decision.tier or "",
                        decision.billable,
                        decision.total_amount,
                        counted.clinical_staff,
                        counted.practitioner,
                        decision.service_date if decision.billable else None,
                        _strings_text(decision.diagnoses),
                        _findings_text(decision.findings),
                        rulebook.name,
                        outcome.status,
                        outcome.denial_reason,
                        outcome.status_changed_at,
                        outcome.supersedes_id,
                        None if outcome.previous_lines is None else dumps(outcome.previous_lines),
                        outcome.correction_reason,
                    )
                )
        with cursor.copy(f"COPY {line_table} ({', '.join(_LINE_COLUMNS)}) FROM STDIN") as copy:
            for row_id, (_, decision, _) in zip(ids, written, strict=True):
                for line in decision.lines:
                    copy.write_row((row_id, line.code, line.units, line.unit_amount, line.amount))


_ROW_COLUMNS = (
    "id",
    "practice_id",
    "patient_id",
    "month",
    "version",
    "run_id",
    "billing_practitioner_id",
    "tier",
    "billable",
    "total_amount",
    "clinical_staff_seconds",
    "practitioner_seconds",
    "service_date",
    "diagnoses",
    "findings",
    "rulebook",
    "status",
    "denial_reason",
    "status_changed_at",
    "supersedes_id",
    "previous_lines",
    "correction_reason",
)
_LINE_COLUMNS = ("row_id", "code", "units", "unit_amount", "amount")


def _create_rows(run: CloseRun, rulebook: Rulebook, written: list[Written]) -> None:
    """The same rows through the ORM (databases without COPY: SQLite in development)."""
    rows = [
        WorklistRow(
            practice_id=run.practice_id,
            patient_id=patient_id,
            month=run.month,
            version=run.version,
            run=run,
            billing_practitioner_id=practitioner_id,
            tier=decision.tier or "",
            billable=decision.billable,
            total_amount=decision.total_amount,
            clinical_staff_seconds=decision.counted_seconds.clinical_staff,
            practitioner_seconds=decision.counted_seconds.practitioner,
            service_date=decision.service_date if decision.billable else None,
            diagnoses=list(decision.diagnoses),
            findings=_findings_json(decision),
            rulebook=rulebook.name,
            status=outcome.status,
            denial_reason=outcome.denial_reason,
            status_changed_at=outcome.status_changed_at,
            supersedes_id=outcome.supersedes_id,
            previous_lines=outcome.previous_lines,
            correction_reason=outcome.correction_reason,
        )
        for (patient_id, practitioner_id, _), decision, outcome in written
    ]
    WorklistRow.objects.bulk_create(rows)
    ClaimLine.objects.bulk_create(
        ClaimLine(
            row=row,
            code=line.code,
            units=line.units,
            unit_amount=line.unit_amount,
            amount=line.amount,
        )
        for row, (_, decision, _) in zip(rows, written, strict=True)
        for line in decision.lines
    )


def _write_rows(run: CloseRun, read: Callable[[], _ChunkFacts]) -> None:
    """One worklist row per patient (billing rule: one row per patient, month and version)
    with its claim lines; a patient-month whose claim went out in an earlier version
    carries it or corrects it (billing.reclose), and the patients' earlier rows that were
    never billed are superseded."""
    with gc_paused():
        rulebook, decided = _decide(run, read)
        patient_ids = [key[0] for key, _ in decided]
        billed: dict[int, BilledClaim] = {}
        if run.version > 1:
            billed = billed_claims(run.practice_id, run.month, run.version, patient_ids)
            _supersede_unbilled(run, patient_ids)
        written = [
            (key, decision, row_outcome(decision, billed.get(key[0]), _row_status(decision)))
            for key, decision in decided
        ]
        del decided
        if connection.vendor == "postgresql":
            _copy_rows(run, rulebook, written)
        else:
            _create_rows(run, rulebook, written)
        del written


def _supersede_unbilled(run: CloseRun, patient_ids: Sequence[int] | None = None) -> int:
    """The month's rows of earlier versions that were never billed become superseded (of
    these patients, or of every patient): one UPDATE."""
    rows = WorklistRow.objects.filter(
        practice_id=run.practice_id, month=run.month, version__lt=run.version
    ).exclude(status__in=[*BILLED_STATUSES, WorklistStatus.SUPERSEDED])
    if patient_ids is not None:
        rows = rows.filter(AnyOf(F("patient_id"), patient_ids))
    return rows.update(status=WorklistStatus.SUPERSEDED, status_changed_at=timezone.now())


def close_chunk(*, chunk_id: int, read_ahead: Future[_ChunkFacts] | None = None) -> bool:
    """Close one chunk of patients in one transaction; True when this call wrote it.

    A chunk already done (a redelivered task, a duplicate dispatch) is skipped. The claim
    (`claimed_at`) is committed first, on its own: should this worker die, the sweep sees
    a chunk started after its dispatch that nobody holds.

    `read_ahead`: the chunk's facts read before its transaction (`close_run_inline`),
    finished; used only once the chunk is locked and pending, and only for the same
    patients (an error of that read is raised here, as the chunk's own read would)."""
    CloseChunk.objects.filter(pk=chunk_id, done=False).update(claimed_at=timezone.now())
    with transaction.atomic():
        # Lock the chunk row only (`of`): locking the joined run row too would make every
        # chunk of a run wait for the one before it, and no worker could work in parallel.
        chunk = (
            CloseChunk.objects.select_for_update(of=("self",), no_key=True)
            .select_related("run")
            .get(pk=chunk_id)
        )
        if chunk.done or chunk.run.status != CloseRun.Status.RUNNING:
            return False
        chunk.attempts += 1
        _tune_chunk_transaction()
        _write_rows(chunk.run, lambda: _facts_of(chunk, read_ahead))
        _fault_injection_pause()
        chunk.done = True
        chunk.finished_at = timezone.now()
        chunk.save(update_fields=["done", "attempts", "finished_at"])
    return True


def _facts_of(chunk: CloseChunk, read_ahead: Future[_ChunkFacts] | None) -> _ChunkFacts:
    """The chunk's facts: those read ahead when they are of its patients, else read now."""
    facts = None if read_ahead is None else read_ahead.result()
    if facts is not None and facts.patient_ids == chunk.patient_ids:
        return facts
    return _chunk_facts(chunk.patient_ids, chunk.run.month)


def _tune_chunk_transaction() -> None:
    """For this chunk's transaction only (PostgreSQL): room to hash and sort the chunk's
    time entries in memory, and no JIT compilation (it costs more than it saves on these
    short queries). And the worker's liveness: a session idle in the transaction for
    CCM_CLOSE_STALL_SECONDS (the heartbeat pings far more often) or whose machine no
    longer answers TCP keepalives (about 25 s) is ended by PostgreSQL, which rolls the
    chunk back and frees it for the sweep."""
    if connection.vendor == "postgresql":
        _tune_reads()
        stall_ms = int(_seconds("CCM_CLOSE_STALL_SECONDS", 60) * 1000)
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL idle_in_transaction_session_timeout = {stall_ms}")
            cursor.execute("SET LOCAL tcp_keepalives_idle = 10")
            cursor.execute("SET LOCAL tcp_keepalives_interval = 5")
            cursor.execute("SET LOCAL tcp_keepalives_count = 3")


def _tune_reads() -> None:
    """For this transaction only (PostgreSQL): room to hash and sort the chunk's time
    entries in memory, and no JIT compilation (it costs more than it saves here)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")


def _fault_injection_pause() -> None:
    """Tests that kill a worker mid-close set CCM_CLOSE_CHUNK_PAUSE_SECONDS so the kill
    lands inside the chunk's open transaction; zero (no pause) everywhere else. The
    pause is work, as far as liveness goes: it keeps the heartbeat."""
    pause = _seconds("CCM_CLOSE_CHUNK_PAUSE_SECONDS", 0)
    heartbeat = _Heartbeat()
    deadline = time.monotonic() + pause
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))
        heartbeat()


@transaction.atomic
def close_finalize(*, run_id: int) -> bool:
    """Mark the run succeeded and the month closed once no chunk is pending; True when
    this call closed it (billing-months: closing → closed, same version). Locks in the
    order of ccm.locks: the month, then the run."""
    practice_id, month = CloseRun.objects.values_list("practice_id", "month").get(pk=run_id)
    lock_for_change(BillingMonth.objects.filter(practice_id=practice_id, month=month))
    run = CloseRun.objects.select_for_update(no_key=True).get(pk=run_id)
    if run.status != CloseRun.Status.RUNNING or run.chunks.filter(done=False).exists():
        return False
    closed = BillingMonth.objects.filter(
        practice_id=run.practice_id,
        month=run.month,
        version=run.version,
        status=BillingMonth.Status.CLOSING,
    ).update(status=BillingMonth.Status.CLOSED, updated_at=timezone.now())
    superseded = _supersede_unbilled(run) if closed else 0
    run.status = CloseRun.Status.SUCCEEDED if closed else CloseRun.Status.FAILED
    run.error = "" if closed else "the month was no longer closing at this version"
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    audit_record(
        actor=None,
        action="billing_month.closed",
        instance=run,
        practice=run.practice,
        after={"status": run.status, "version": run.version, "superseded_left": superseded},
    )
    return bool(closed)


def pending_chunk_ids(run: CloseRun) -> list[int]:
    return list(run.chunks.filter(done=False).order_by("index").values_list("pk", flat=True))


def close_chunks_dispatched(chunk_ids: Iterable[int], *, at: dt.datetime | None) -> None:
    """Note when the chunks were sent to the workers (None: the send failed)."""
    CloseChunk.objects.filter(pk__in=list(chunk_ids)).update(dispatched_at=at)


@dataclass(frozen=True)
class Stalled:
    """What a sweep found: pending chunks to send again, as (chunk id, run id), and the
    running closes with no chunk pending, to finalise."""

    chunks: list[tuple[int, int]]
    runs_to_finalize: list[int]


def close_chunks_to_resend(
    *,
    practice: Practice | None = None,
    month: dt.date | None = None,
    at_once: bool = False,
) -> Stalled:
    """The sweep of the month close (billing rule: every patient-month closed exactly
    once, and no close left half done). Among the running closes (of `practice`, of
    `month`), the pending chunks that no worker holds (their row lock is a worker's
    liveness: it dies with the worker's session) and that are stalled:
    - never sent, CCM_CLOSE_DISPATCH_GRACE_SECONDS after the close was requested (the
      broker was down when it was, or the request's process died before sending);
    - started by a worker after their last dispatch (or by a process closing the month
      itself, `close_month`): that worker is gone;
    - sent CCM_CLOSE_REDISPATCH_SECONDS ago and still not started: the message is lost.
    `at_once` (an operator's `close_resume`) takes every pending chunk no worker holds.
    The chosen chunks are marked sent now; a resent chunk already done is skipped by its
    worker, so a duplicate costs a lock and a check, never a row twice."""
    now = timezone.now()
    runs = CloseRun.objects.filter(status=CloseRun.Status.RUNNING)
    if practice is not None:
        runs = runs.filter(practice=practice)
    if month is not None:
        runs = runs.filter(month=month_start(month))
    with transaction.atomic():
        chunks = CloseChunk.objects.select_for_update(
            of=("self",), no_key=True, skip_locked=True
        ).filter(run__in=runs, done=False)
        if not at_once:
            grace = dt.timedelta(seconds=_seconds("CCM_CLOSE_DISPATCH_GRACE_SECONDS", 10))
            lost = dt.timedelta(seconds=_seconds("CCM_CLOSE_REDISPATCH_SECONDS", 120))
            chunks = chunks.filter(
                Q(dispatched_at__isnull=True, run__started_at__lte=now - grace)
                | Q(claimed_at__gte=F("dispatched_at"))
                | Q(claimed_at__isnull=False, dispatched_at__isnull=True)
                | Q(dispatched_at__lte=now - lost)
            )
        picked = list(chunks.order_by("run_id", "index").values_list("pk", "run_id"))
        close_chunks_dispatched((pk for pk, _ in picked), at=now)
    finished = runs.exclude(chunks__done=False).order_by("pk").values_list("pk", flat=True)
    return Stalled(chunks=picked, runs_to_finalize=list(finished))


def _read_ahead(patient_ids: list[int], month: dt.date) -> _ChunkFacts:
    """A chunk's facts, read on this thread's own connection (closed after), in a
    read-only transaction tuned as the chunk's own."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
            _tune_reads()
            return _chunk_facts(patient_ids, month)
    finally:
        connection.close()


def close_run_inline(run: CloseRun) -> None:
    """Run every pending chunk of the run in this process, then finalise it (the
    `close_month` command; the Celery tasks do the same work spread over workers).

    On PostgreSQL, outside any transaction (another connection sees what this one does),
    the facts of the next chunk are read by a second thread on its own connection while
    this one decides and writes the current chunk: PostgreSQL reads while Python works
    and the other way round, where they took turns before. Safe, because a fact dated in
    a closing month cannot change (ccm.periods); the chunk's lock, its done check and
    its writes are the same (`close_chunk`), and the facts of a chunk found done are
    dropped. One chunk ahead at most. Measured at 100,000 patients and 2M activities
    (bench/close.py's data, old and new in alternation on a busy 2-core machine): 35.1 s
    against 41.5 s and 40.8 s against 57.0 s (medians), faster in each of 7 pairs."""
    chunks = list(run.chunks.filter(done=False).order_by("index").values_list("pk", "patient_ids"))
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        for chunk_id, _ in chunks:
            close_chunk(chunk_id=chunk_id)
    else:
        # The collector's state is the process's, not a thread's: paused for the whole
        # close here, since the reader builds its facts while this thread enters and
        # leaves each chunk's own pause (which would turn it back on under the reader).
        with gc_paused(), ThreadPoolExecutor(1, thread_name_prefix="close-read-ahead") as pool:
            reads: list[Future[_ChunkFacts]] = []
            try:
                for index, (chunk_id, patient_ids) in enumerate(chunks):
                    if not reads:
                        reads.append(pool.submit(_read_ahead, patient_ids, run.month))
                    if index + 1 < len(chunks):
                        reads.append(pool.submit(_read_ahead, chunks[index + 1][1], run.month))
                    current = reads.pop(0)
                    wait([current])  # before the chunk's transaction, which never idles on it
                    close_chunk(chunk_id=chunk_id, read_ahead=current)
                    del current  # its facts: not alive when the collector resumes
            finally:
                for future in reads:  # a failed chunk: no read of the next one is started
                    future.cancel()
    close_finalize(run_id=run.pk)


def close_summary(practice: Practice, month: dt.date) -> CloseSummary:
    """Counts of the month's current version: patients, billable, total amount."""
    billing_month = BillingMonth.objects.get(practice=practice, month=month_start(month))
    totals = WorklistRow.objects.filter(
        practice=practice, month=billing_month.month, version=billing_month.version
    ).aggregate(
        patients=Count("id"),
        billable=Count("id", filter=Q(billable=True)),
        total=Sum("total_amount"),
    )
    return CloseSummary(
        month=f"{billing_month.month:%Y-%m}",
        patients=totals["patients"],
        billable=totals["billable"],
        total_amount=totals["total"] or Decimal("0.00"),
    )


@transaction.atomic
def reopen_month(*, practice: Practice, month: dt.date, actor: User, reason: str) -> BillingMonth:
    """Reopen a closed month (billing or admin, with a reason, audited). The closed
    version's rows stay readable; the next close writes version + 1."""
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the month is reopened: it is audited."]})
    if problem := text_problem(reason, REASON_MAX_LENGTH):
        raise ValidationError({"reason": [problem]})
    billing_month = (
        BillingMonth.objects.select_for_update(no_key=True)
        .filter(practice=practice, month=month_start(month))
        .first()
    )
    if billing_month is None or billing_month.status == BillingMonth.Status.OPEN:
        raise ValidationError({"month": [f"{month:%Y-%m} is not closed."]})
    if billing_month.status == BillingMonth.Status.CLOSING:
        raise PeriodClosed("The month is closing; wait for the close to finish, then reopen it.")
    billing_month.status = BillingMonth.Status.OPEN
    billing_month.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="billing_month.reopen",
        instance=billing_month,
        practice=practice,
        before={"status": "closed", "version": billing_month.version},
        after={"status": "open"},
        reason=reason.strip(),
    )
    return billing_month
