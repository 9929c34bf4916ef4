"""The month close through the API and real Celery workers on Redis (not eager mode):
polled to closed; two closes at once; a worker SIGKILLed mid-close and restarted."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from pytest_django import Settings
from rest_framework.test import APIClient

from billing.models import CloseChunk, CloseRun, WorklistRow
from ccm.models import AuditEvent, BillingMonth, Practice, User
from tests.billing.conftest import MonthScenario
from tests.workers import start_worker, stop_worker, wait_for, wait_for_other_sessions_to_end

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop_worker(process, kill=True)
    wait_for_other_sessions_to_end()


def month_url(scenario: MonthScenario) -> str:
    return f"/api/billing-months/{scenario.month:%Y-%m}/"


def month_status(practice: Practice, scenario: MonthScenario) -> str:
    return BillingMonth.objects.get(practice=practice, month=scenario.month).status


def assert_closed_once(practice: Practice, scenario: MonthScenario, version: int = 1) -> None:
    month = BillingMonth.objects.get(practice=practice, month=scenario.month)
    assert (month.status, month.version) == ("closed", version)
    rows = WorklistRow.objects.filter(practice=practice, month=scenario.month, version=version)
    assert sorted(rows.values_list("patient_id", flat=True)) == sorted(
        [
            scenario.complex.pk,
            scenario.non_complex.pk,
            scenario.practitioner_only.pk,
            scenario.blocked.pk,
        ]
    )
    assert CloseRun.objects.filter(practice=practice, month=scenario.month).count() == version


def test_close_through_the_api_with_a_worker(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    workers: list[subprocess.Popen[bytes]],
    settings: Settings,
) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    workers.append(start_worker("close-a", concurrency=2))
    client = api_client_for(billing_user)
    response = client.post(f"{month_url(month_scenario)}close/")
    assert response.status_code == 202 and response.json()["task_id"]
    wait_for(lambda: client.get(month_url(month_scenario)).json()["status"] == "closed")
    assert_closed_once(practice, month_scenario)
    progress = client.get(month_url(month_scenario)).json()
    assert progress["run"]["chunks_done"] == progress["run"]["chunks_total"] == 2
    assert progress["counts"] == {"ready": 3, "not_billable": 1}
    export = client.get("/api/worklist/export/", {"month": f"{month_scenario.month:%Y-%m}"})
    assert len(b"".join(export.streaming_content).decode().splitlines()) == 1 + 5


def test_two_closes_at_once_give_one_set_of_rows(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    workers: list[subprocess.Popen[bytes]],
) -> None:
    workers.append(start_worker("close-b1"))
    workers.append(start_worker("close-b2"))
    answers: list[int] = []

    def post_close() -> None:
        try:
            response = api_client_for(billing_user).post(f"{month_url(month_scenario)}close/")
            answers.append(response.status_code)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=post_close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [202] * 4
    wait_for(lambda: month_status(practice, month_scenario) == "closed")
    assert_closed_once(practice, month_scenario)
    assert AuditEvent.objects.filter(action="billing_month.close").count() == 1


def test_a_worker_killed_mid_close_leaves_nothing_half_written(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    workers: list[subprocess.Popen[bytes]],
    settings: Settings,
) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    slow = start_worker("close-slow", CCM_CLOSE_CHUNK_PAUSE_SECONDS="30")
    workers.append(slow)
    client = api_client_for(billing_user)
    client.post(f"{month_url(month_scenario)}close/")
    run = CloseRun.objects.get(practice=practice, month=month_scenario.month)
    # Kill the worker while it holds a chunk's row lock: inside the chunk's transaction,
    # its rows written but not committed (the pause keeps it there).
    wait_for(lambda: _chunk_locked(run.pk), timeout=60)
    stop_worker(slow, kill=True)

    assert month_status(practice, month_scenario) == "closing"
    assert not WorklistRow.objects.exists()
    assert not CloseChunk.objects.filter(run=run, done=True).exists()

    workers.append(start_worker("close-fresh"))
    client.post(f"{month_url(month_scenario)}close/")  # the re-run re-dispatches pending chunks
    wait_for(lambda: month_status(practice, month_scenario) == "closed", timeout=90)
    assert_closed_once(practice, month_scenario)
    assert WorklistRow.objects.count() == 4


def _chunk_locked(run_id: int) -> bool:
    """True while another session holds a chunk row of the run FOR UPDATE."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM billing_closechunk WHERE run_id = %s AND NOT done"
            " FOR UPDATE SKIP LOCKED",
            [run_id],
        )
        free = len(cursor.fetchall())
    total = CloseChunk.objects.filter(run_id=run_id, done=False).count()
    return free < total


def test_two_recloses_at_once_write_each_row_once_and_bill_nothing_twice(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    workers: list[subprocess.Popen[bytes]],
) -> None:
    """A re-close never bills twice, even asked for twice at once on two workers: each
    patient gets one row in version 2, and the claims submitted in version 1 are carried
    as submitted, never ready again."""
    workers.append(start_worker("reclose-1"))
    workers.append(start_worker("reclose-2"))
    client = api_client_for(billing_user)
    client.post(f"{month_url(month_scenario)}close/")
    wait_for(lambda: month_status(practice, month_scenario) == "closed")
    submitted = WorklistRow.objects.filter(version=1, billable=True)
    for row in submitted:
        answer = client.patch(f"/api/worklist/{row.pk}/", {"status": "submitted"}, format="json")
        assert answer.status_code == 200, answer.content
    reopened = client.post(f"{month_url(month_scenario)}reopen/", {"reason": "late call"})
    assert reopened.status_code == 200

    answers: list[int] = []

    def post_close() -> None:
        try:
            answers.append(
                api_client_for(billing_user).post(f"{month_url(month_scenario)}close/").status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post_close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [202] * 4
    wait_for(lambda: month_status(practice, month_scenario) == "closed")
    assert_closed_once(practice, month_scenario, version=2)
    v2 = WorklistRow.objects.filter(version=2)
    assert v2.count() == 4
    assert sorted(v2.values_list("status", flat=True)) == sorted(
        ["submitted", "submitted", "submitted", "not_billable"]
    )
    assert not WorklistRow.objects.filter(status="ready").exists()
    assert set(v2.exclude(supersedes=None).values_list("supersedes_id", flat=True)) == set(
        submitted.values_list("pk", flat=True)
    )
