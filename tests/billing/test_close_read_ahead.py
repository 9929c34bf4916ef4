"""The month close in one process reads the next chunk's facts on a second thread and
connection while it writes the current one (billing.close.close_run_inline): the rows
are those of a close chunk by chunk, each patient-month is written exactly once, an
error of the read fails the close with nothing of its chunk written, and a chunk found
done is skipped. The thread reads on its own connection: committed data only, hence
transactional tests."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pytest_django import Settings

from billing import close as billing_close
from billing.close import close_chunk, close_request, close_run_inline, reopen_month
from billing.models import CloseChunk, CloseRun, WorklistRow
from ccm.models import BillingMonth, Practice, User
from tests.billing.conftest import MonthScenario

pytestmark = pytest.mark.django_db(transaction=True)


def rows_of(practice: Practice, scenario: MonthScenario, version: int) -> list[tuple[Any, ...]]:
    """Every column the close decides, with the lines, by patient."""
    rows = WorklistRow.objects.filter(practice=practice, month=scenario.month, version=version)
    return [
        (
            row.patient_id,
            row.billing_practitioner_id,
            row.tier,
            row.billable,
            row.total_amount,
            row.clinical_staff_seconds,
            row.practitioner_seconds,
            row.service_date,
            row.diagnoses,
            row.findings,
            row.rulebook,
            row.status,
            [(line.code, line.units, line.unit_amount, line.amount) for line in row.lines.all()],
        )
        for row in rows.order_by("patient_id").prefetch_related("lines")
    ]


@pytest.fixture
def read_ahead_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads the chunks' facts were read ahead on (the real read)."""
    names: list[str] = []
    read = billing_close._read_ahead

    def spy(patient_ids: list[int], month: Any) -> Any:
        names.append(threading.current_thread().name)
        return read(patient_ids, month)

    monkeypatch.setattr(billing_close, "_read_ahead", spy)
    return names


def test_a_close_read_ahead_writes_the_rows_of_a_close_chunk_by_chunk(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    settings: Settings,
    read_ahead_threads: list[str],
) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 1
    run, _ = close_request(practice=practice, month=month_scenario.month, actor=None)
    assert run is not None and run.chunks_total == 4
    close_run_inline(run)
    assert len(read_ahead_threads) == 4
    assert all(name.startswith("close-read-ahead") for name in read_ahead_threads)
    read_ahead = rows_of(practice, month_scenario, 1)

    reopen_month(practice=practice, month=month_scenario.month, actor=billing_user, reason="x")
    again, _ = close_request(practice=practice, month=month_scenario.month, actor=None)
    assert again is not None and again.version == 2
    for chunk in again.chunks.order_by("index"):
        assert close_chunk(chunk_id=chunk.pk) is True
    billing_close.close_finalize(run_id=again.pk)
    assert len(read_ahead_threads) == 4  # chunk by chunk: no read ahead

    assert len(read_ahead) == 4 and [row[2] for row in read_ahead].count("") == 1
    assert read_ahead == rows_of(practice, month_scenario, 2)
    assert not [t for t in threading.enumerate() if t.name.startswith("close-read-ahead")]


def test_an_error_reading_ahead_fails_the_close_and_writes_nothing_of_its_chunk(
    practice: Practice,
    month_scenario: MonthScenario,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    run, _ = close_request(practice=practice, month=month_scenario.month, actor=None)
    assert run is not None and run.chunks_total == 2
    first, second = run.chunks.order_by("index")
    read = billing_close._read_ahead

    def failing(patient_ids: list[int], month: Any) -> Any:
        if patient_ids == second.patient_ids:
            raise RuntimeError("the read of the second chunk failed")
        return read(patient_ids, month)

    monkeypatch.setattr(billing_close, "_read_ahead", failing)
    with pytest.raises(RuntimeError, match="second chunk"):
        close_run_inline(run)

    month = BillingMonth.objects.get(practice=practice, month=month_scenario.month)
    assert month.status == "closing"
    written = WorklistRow.objects.filter(run=run).values_list("patient_id", flat=True)
    assert sorted(written) == sorted(first.patient_ids)
    second.refresh_from_db()
    # Claimed (committed first), then its transaction rolled back: pending, for a resume.
    assert not second.done and second.claimed_at is not None and second.attempts == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("close-read-ahead")]

    monkeypatch.setattr(billing_close, "_read_ahead", read)
    close_run_inline(run)  # the resume finishes the close, each patient once
    month.refresh_from_db()
    assert month.status == "closed"
    patients = list(WorklistRow.objects.filter(run=run).values_list("patient_id", flat=True))
    assert sorted(patients) == sorted([*first.patient_ids, *second.patient_ids])


def test_a_chunk_done_after_it_was_read_ahead_is_skipped(
    practice: Practice,
    month_scenario: MonthScenario,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process (a worker sent the chunk by the sweep) closes the second chunk
    after its facts were read ahead: this close skips it and writes nothing twice."""
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    run, _ = close_request(practice=practice, month=month_scenario.month, actor=None)
    assert run is not None
    first, second = run.chunks.order_by("index")
    read = billing_close._read_ahead
    wrote: list[bool] = []

    def then_closed_elsewhere(patient_ids: list[int], month: Any) -> Any:
        facts = read(patient_ids, month)
        if patient_ids == second.patient_ids:
            try:
                wrote.append(close_chunk(chunk_id=second.pk))
            finally:
                billing_close.connection.close()
        return facts

    monkeypatch.setattr(billing_close, "_read_ahead", then_closed_elsewhere)
    close_run_inline(run)

    assert wrote == [True]
    second.refresh_from_db()
    assert second.done and second.attempts == 1
    assert CloseRun.objects.get(pk=run.pk).status == "succeeded"
    patients = list(WorklistRow.objects.filter(run=run).values_list("patient_id", flat=True))
    assert sorted(patients) == sorted([*first.patient_ids, *second.patient_ids])
    assert CloseChunk.objects.filter(run=run, done=True).count() == 2
