"""A stalled close resumes by itself (issue 15): the sweep finds the pending chunks whose
worker is gone or whose message was lost, never one a worker holds, and
`manage.py close_resume` does it at once. The chunk's heartbeat keeps a working
session alive; a silent one is ended by PostgreSQL, freeing its chunk.
(tests/faults/test_close_faults.py kills real workers under a real beat.)"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from pytest_django import Settings

from billing.close import close_chunk, close_chunks_to_resend, close_request
from billing.models import CloseChunk, CloseRun, WorklistRow
from ccm.models import BillingMonth, Practice, User
from tests.billing.conftest import MonthScenario

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(
    practice: Practice, month_scenario: MonthScenario, billing_user: User, settings: Settings
) -> CloseRun:
    settings.CCM_CLOSE_CHUNK_SIZE = 1  # four chunks, one patient each
    claimed, _ = close_request(practice=practice, month=month_scenario.month, actor=billing_user)
    assert claimed is not None
    return claimed


def ago(seconds: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)


def chunk(run: CloseRun, index: int) -> CloseChunk:
    return run.chunks.get(index=index)


def test_the_sweep_takes_stalled_chunks_only(run: CloseRun) -> None:
    chunks = list(run.chunks.order_by("index"))
    CloseRun.objects.filter(pk=run.pk).update(started_at=ago(60))
    # 0: sent, then started by a worker that no longer holds it: the worker is gone.
    CloseChunk.objects.filter(pk=chunks[0].pk).update(dispatched_at=ago(30), claimed_at=ago(20))
    # 1: sent a moment ago, waiting in the queue: left alone.
    CloseChunk.objects.filter(pk=chunks[1].pk).update(dispatched_at=ago(5))
    # 2: sent long ago and never started: its message is lost.
    CloseChunk.objects.filter(pk=chunks[2].pk).update(dispatched_at=ago(600))
    # 3: never sent (the broker was down when the close was requested).
    stalled = close_chunks_to_resend()
    assert stalled.chunks == [(chunks[i].pk, run.pk) for i in (0, 2, 3)]
    assert stalled.runs_to_finalize == []
    for index in (0, 2, 3):
        assert chunk(run, index).dispatched_at > ago(5)
    # Just sent again: the next sweep leaves them to their workers.
    assert close_chunks_to_resend().chunks == []
    assert close_chunks_to_resend(at_once=True).chunks == [(c.pk, run.pk) for c in chunks]


def test_a_just_requested_close_is_left_to_its_own_dispatch(run: CloseRun) -> None:
    assert close_chunks_to_resend().chunks == []


def test_done_chunks_and_other_practices_and_months_are_left_alone(
    run: CloseRun, other_practice: Practice
) -> None:
    CloseChunk.objects.filter(run=run).exclude(index=0).update(done=True)
    assert close_chunks_to_resend(practice=other_practice, at_once=True).chunks == []
    assert close_chunks_to_resend(month=dt.date(2020, 1, 1), at_once=True).chunks == []
    assert close_chunks_to_resend(practice=run.practice, month=run.month, at_once=True).chunks == [
        (chunk(run, 0).pk, run.pk)
    ]
    CloseChunk.objects.filter(run=run).update(done=True)
    stalled = close_chunks_to_resend(at_once=True)
    assert (stalled.chunks, stalled.runs_to_finalize) == ([], [run.pk])


@pytest.fixture
def held_chunk(run: CloseRun) -> Iterator[CloseChunk]:
    """Chunk 0, started by a worker after its dispatch, locked by that worker's session."""
    held = chunk(run, 0)
    CloseChunk.objects.filter(pk=held.pk).update(dispatched_at=ago(30), claimed_at=ago(20))
    locked, release = threading.Event(), threading.Event()

    def worker() -> None:
        try:
            with transaction.atomic():
                CloseChunk.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    locked.wait(30)
    yield held
    release.set()
    thread.join()


@pytest.mark.django_db(transaction=True)
def test_a_chunk_a_worker_holds_is_never_taken(run: CloseRun, held_chunk: CloseChunk) -> None:
    assert close_chunks_to_resend().chunks == []
    taken = [chunk_id for chunk_id, _ in close_chunks_to_resend(at_once=True).chunks]
    assert held_chunk.pk not in taken and len(taken) == 3


@pytest.mark.django_db(transaction=True)
def test_close_resume_inline_closes_the_month_at_once(
    practice: Practice, month_scenario: MonthScenario, billing_user: User, settings: Settings
) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    run, _ = close_request(practice=practice, month=month_scenario.month, actor=billing_user)
    assert run is not None
    out = io.StringIO()
    month = f"{month_scenario.month:%Y-%m}"
    call_command(
        "close_resume", "--month", month, "--practice", practice.slug, "--inline", stdout=out
    )
    assert json.loads(out.getvalue()) == {"chunks": 2, "finalized": 1}
    assert (
        BillingMonth.objects.get(practice=practice, month=month_scenario.month).status == "closed"
    )
    assert WorklistRow.objects.filter(run=run).count() == 4
    out = io.StringIO()
    call_command("close_resume", "--inline", stdout=out)  # again: nothing left to do
    assert json.loads(out.getvalue()) == {"chunks": 0, "finalized": 0}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["--month", "2026-13"], "month"), (["--practice", "nowhere"], "practice")],
)
def test_close_resume_names_a_bad_argument(arguments: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message) as error:
        call_command("close_resume", *arguments)
    assert error.value.returncode == 2


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_working_chunk_alive_and_a_silent_one_is_ended(
    run: CloseRun, settings: Settings
) -> None:
    """With a one-second stall limit, a chunk whose work (the fault-injection pause, which
    beats like the engine) lasts three seconds closes; with the heartbeat slower than the
    limit, PostgreSQL ends the session and nothing of the chunk is written."""
    settings.CCM_CLOSE_STALL_SECONDS = 1
    settings.CCM_CLOSE_CHUNK_PAUSE_SECONDS = 3
    settings.CCM_CLOSE_HEARTBEAT_SECONDS = 0.2
    first, second = chunk(run, 0), chunk(run, 1)
    assert close_chunk(chunk_id=first.pk) is True
    settings.CCM_CLOSE_HEARTBEAT_SECONDS = 10
    with pytest.raises(DatabaseError):
        close_chunk(chunk_id=second.pk)
    connection.close()
    second.refresh_from_db()
    assert not second.done and second.claimed_at is not None
    assert not WorklistRow.objects.filter(patient_id__in=second.patient_ids).exists()
    assert close_chunks_to_resend().chunks[0] == (second.pk, run.pk)  # claimed, not held
