"""Celery tasks of the month close: thin, carrying ids and months only (never patient
data: broker payloads sit in Redis)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import astuple, dataclass

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from billing import close
from billing.call_progress import refresh_call_list_progress
from billing.models import CallListProgress, CloseRun
from billing.selectors import active_patient_keys, practice_rulebook
from ccm.models import BillingMonth, Practice
from ccm.periods import month_start, parse_month
from timelog.views import shift_month

log = logging.getLogger(__name__)


@shared_task(name="billing.close_month_run", ignore_result=True)
def close_month_run(run_id: int) -> int:
    """Fan a close run out: one task per pending chunk, for any worker to take."""
    run = CloseRun.objects.get(pk=run_id)
    chunk_ids = close.pending_chunk_ids(run)
    send_chunks([(chunk_id, run_id) for chunk_id in chunk_ids])
    if not chunk_ids:
        close.close_finalize(run_id=run_id)
    return len(chunk_ids)


def send_chunks(chunks: Sequence[tuple[int, int]]) -> None:
    """Send each (chunk id, run id) to the workers, noted as sent first (a worker that
    starts it at once then claims it after its dispatch, as the sweep expects); the ones
    the broker did not take are noted unsent, and the error goes on."""
    close.close_chunks_dispatched((chunk_id for chunk_id, _ in chunks), at=timezone.now())
    sent = 0
    try:
        for chunk_id, run_id in chunks:
            close_month_chunk.delay(chunk_id, run_id)
            sent += 1
    finally:
        if sent < len(chunks):
            close.close_chunks_dispatched((chunk_id for chunk_id, _ in chunks[sent:]), at=None)


@shared_task(name="billing.close_month_chunk", ignore_result=True)
def close_month_chunk(chunk_id: int, run_id: int) -> bool:
    """Close one chunk of patients (billing rule: one worklist row per patient, month and
    version), then finish the run if it was the last pending chunk."""
    try:
        wrote = close.close_chunk(chunk_id=chunk_id)
    except Exception as error:
        close_record_error(run_id=run_id, error=error)
        raise
    close.close_finalize(run_id=run_id)
    return wrote


def close_record_error(*, run_id: int, error: BaseException) -> None:
    """Note a chunk's failure on its run (best effort: the database may be what failed).
    The chunk stays pending, so a re-run or close_resume finishes the close."""
    close_old_connections()
    try:
        CloseRun.objects.filter(pk=run_id).update(error=f"{type(error).__name__}: {error}"[:500])
    except DatabaseError:
        log.exception("could not record the failure of close run %s", run_id)


@dataclass(frozen=True)
class Resumed:
    chunks: int  # sent to the workers again (or, inline, closed here)
    finalized: int  # closes whose chunks were all done, now closed


@shared_task(name="billing.close_resume", ignore_result=True)
def close_resume() -> int:
    """Beat, every CCM_CLOSE_SWEEP_SECONDS (billing rule: every patient-month closed once,
    no close left half done): send again the chunks of running closes whose worker is
    gone, or whose message never reached one, and close the runs with nothing pending
    (billing.close.close_chunks_to_resend says which). The number of chunks sent."""
    resumed = close_resume_now(at_once=False)
    if resumed.chunks or resumed.finalized:
        log.warning("close_resume: %s chunks sent again, %s closes finalised", *astuple(resumed))
    return resumed.chunks


def close_resume_now(
    *,
    practice: Practice | None = None,
    month: dt.date | None = None,
    at_once: bool,
    inline: bool = False,
) -> Resumed:
    """One sweep (`at_once`: every pending chunk no worker holds, the operator's
    `close_resume` command). `inline` closes the chunks in this process instead of
    sending them (the broker is down)."""
    stalled = close.close_chunks_to_resend(practice=practice, month=month, at_once=at_once)
    if inline:
        for chunk_id, _ in stalled.chunks:
            close.close_chunk(chunk_id=chunk_id)
    else:
        send_chunks(stalled.chunks)
    runs = set(stalled.runs_to_finalize)
    if inline:
        runs |= {run_id for _, run_id in stalled.chunks}
    finalized = sum(close.close_finalize(run_id=run_id) for run_id in sorted(runs))
    return Resumed(chunks=len(stalled.chunks), finalized=finalized)


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


@shared_task(name="billing.close_due_months", ignore_result=True)
def close_due_months() -> int:
    """Beat, daily: from the configured day of the month (CCM_CLOSE_DAY, default the 3rd,
    so late entries of the month's last days still come in), close the previous month of
    every practice that has never closed it. A month reopened by billing staff is theirs
    to re-close."""
    from billing.services import billing_month_close_start

    today = timezone.localdate()
    if today.day < int(getattr(settings, "CCM_CLOSE_DAY", 3)):
        return 0
    month = previous_month(today)
    started = 0
    for practice in Practice.objects.order_by("pk"):
        never_closed = not BillingMonth.objects.filter(
            practice=practice, month=month, version__gt=0
        ).exists()
        if never_closed:
            _, claimed = billing_month_close_start(practice=practice, month=month, actor=None)
            started += int(claimed)
    log.info("close_due_months: %s practices claimed for %s", started, month)
    return started


#: Stored call-list progress is kept for the current month and the one before it.
CALL_LIST_MONTHS_KEPT = 2


@shared_task(name="billing.refresh_call_lists", ignore_result=True)
def refresh_call_lists(month: str | None = None) -> int:
    """Beat, nightly (product.md: recompute the "close to threshold" list that drives the
    call list): store the month's progress toward the next code (billing rule
    `next_threshold`) of every active patient of every practice whose stored progress is
    not current, so the morning's call lists read it instead of working it out; then drop
    the stored progress of months before the one preceding it. `month` is "YYYY-MM", the
    current month by default. The number of patients looked at."""
    first = parse_month(month) if month else month_start(timezone.localdate())
    looked_at = 0
    for practice in Practice.objects.order_by("pk"):
        rulebook = practice_rulebook(practice, first)
        looked_at += refresh_call_list_progress(active_patient_keys(practice), first, rulebook)
    oldest_kept = shift_month(first, 1 - CALL_LIST_MONTHS_KEPT)
    dropped, _ = CallListProgress.objects.filter(month__lt=oldest_kept).delete()
    log.info("refresh_call_lists: %s patients looked at, %s old rows dropped", looked_at, dropped)
    return looked_at
