"""The month close survives faults (issue: security and reliability): Redis down when a
close is requested, PostgreSQL restarted in the middle of a close, beat firing twice.
After each, every counted second is in the worklist once, no row twice, and the audit
log shows every attempt."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from pytest_django import Settings
from rest_framework.test import APIClient

from billing.models import CloseRun, WorklistRow
from billing.selectors import patient_month_decision
from billing.tasks import close_due_months, close_resume
from ccm.models import AuditEvent, BillingMonth, Practice, User
from patients.models import Patient
from tests.billing.conftest import MonthScenario
from tests.faults.conftest import PrivateRedis
from tests.workers import start_worker, stop_worker, wait_for, wait_for_other_sessions_to_end

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop_worker(process, kill=True)
    wait_for_other_sessions_to_end()


def month_status(practice: Practice, scenario: MonthScenario) -> str:
    return BillingMonth.objects.get(practice=practice, month=scenario.month).status


def assert_every_second_once(practice: Practice, scenario: MonthScenario) -> None:
    month = BillingMonth.objects.get(practice=practice, month=scenario.month)
    assert month.status == "closed"
    rows = WorklistRow.objects.filter(
        practice=practice, month=scenario.month, version=month.version
    )
    patients = Patient.objects.filter(practice=practice).select_related(
        "billing_practitioner", "practice"
    )
    assert sorted(rows.values_list("patient_id", flat=True)) == sorted(p.pk for p in patients)
    for patient in patients:
        _, decision = patient_month_decision(patient=patient, month=scenario.month)
        row = rows.get(patient=patient)
        assert (row.clinical_staff_seconds, row.practitioner_seconds) == (
            decision.counted_seconds.clinical_staff,
            decision.counted_seconds.practitioner,
        )


def test_redis_down_when_a_close_is_requested_then_back(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    private_redis: PrivateRedis,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    private_redis.stop()
    response = api_client_for(billing_user).post(
        f"/api/billing-months/{month_scenario.month:%Y-%m}/close/"
    )
    assert response.status_code == 202 and response.json()["status"] == "closing"
    run = CloseRun.objects.get(practice=practice, month=month_scenario.month)
    assert AuditEvent.objects.filter(
        action="billing_month.close_dispatch_failed", object_id=str(run.pk)
    ).exists()

    private_redis.start()
    workers.append(start_worker("faults-redis"))
    assert close_resume(older_than_seconds=0) == 1  # what beat runs every five minutes
    wait_for(lambda: month_status(practice, month_scenario) == "closed", timeout=90)
    assert_every_second_once(practice, month_scenario)
    assert AuditEvent.objects.filter(action="billing_month.close").count() == 1


def test_postgresql_restarted_during_a_close_then_a_rerun(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    private_redis: PrivateRedis,
    workers: list[subprocess.Popen[bytes]],
    settings: Settings,
) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    slow = start_worker("faults-pg-slow", CCM_CLOSE_CHUNK_PAUSE_SECONDS="20")
    workers.append(slow)
    client = api_client_for(billing_user)
    url = f"/api/billing-months/{month_scenario.month:%Y-%m}/close/"
    assert client.post(url).status_code == 202
    run = CloseRun.objects.get(practice=practice, month=month_scenario.month)
    wait_for(lambda: _chunk_locked(run.pk), timeout=60)

    restart_postgresql()
    connection.close()  # this process's session died with the server
    assert month_status(practice, month_scenario) == "closing"
    assert not WorklistRow.objects.exists()  # the chunk's transaction rolled back whole
    stop_worker(slow, kill=True)

    workers.append(start_worker("faults-pg-fresh"))
    assert client.post(url).status_code == 202  # the re-run re-dispatches pending chunks
    wait_for(lambda: month_status(practice, month_scenario) == "closed", timeout=90)
    assert_every_second_once(practice, month_scenario)
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("billing_month.close") == 1
    assert actions.count("billing_month.close_redispatch") == 1


def test_beat_firing_the_same_close_twice(
    practice: Practice,
    month_scenario: MonthScenario,
    private_redis: PrivateRedis,
    workers: list[subprocess.Popen[bytes]],
    settings: Settings,
) -> None:
    settings.CCM_CLOSE_DAY = 1
    workers.append(start_worker("faults-beat"))
    claimed: list[int] = []

    def fire() -> None:
        try:
            claimed.append(close_due_months())
        finally:
            connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == [0, 1]
    wait_for(lambda: month_status(practice, month_scenario) == "closed", timeout=90)
    assert close_due_months() == 0
    assert_every_second_once(practice, month_scenario)
    assert CloseRun.objects.filter(practice=practice).count() == 1


def restart_postgresql() -> None:
    """Restart the machine's PostgreSQL cluster (fast shutdown: sessions are dropped)."""
    import pathlib

    version = sorted(pathlib.Path("/etc/postgresql").iterdir())[-1].name
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        timeout=120,
    )
    wait_for(
        lambda: (
            subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0
        ),
        timeout=60,
    )


def _chunk_locked(run_id: int) -> bool:
    from tests.billing.test_close_worker import _chunk_locked as locked

    return locked(run_id)
