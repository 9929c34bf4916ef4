"""The month close survives faults (issues: security and reliability I and II): a worker
killed in the middle of a chunk, Redis down when a close is requested, PostgreSQL
restarted in the middle of a close, beat firing twice. Workers and beat run as in
production and nobody steps in: each close finishes by itself within a minute or so,
every counted second in the worklist once, no row twice."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from pytest_django import Settings
from rest_framework.test import APIClient

from billing.models import CloseRun, WorklistRow
from billing.selectors import patient_month_decision
from billing.tasks import close_due_months
from ccm.models import AuditEvent, BillingMonth, Practice, User
from patients.models import Patient
from tests.billing.conftest import MonthScenario
from tests.faults.conftest import PrivateRedis
from tests.workers import (
    start_beat,
    start_worker,
    stop_worker,
    wait_for,
    wait_for_other_sessions_to_end,
)

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


#: Production's visibility timeout for every Celery process these tests start: a killed
#: worker's task does not come back from Redis within the test, so only the sweep can
#: have resumed the close.
PRODUCTION_VISIBILITY = {"CELERY_VISIBILITY_TIMEOUT": "300"}


@pytest.fixture
def beat(tmp_path: Path, workers: list[subprocess.Popen[bytes]]) -> None:
    """`celery beat` with the production schedule: the sweep every CCM_CLOSE_SWEEP_SECONDS."""
    workers.append(start_beat(tmp_path / "celerybeat-schedule", **PRODUCTION_VISIBILITY))


def test_a_worker_killed_mid_chunk_the_month_closes_within_a_minute_by_itself(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    private_redis: PrivateRedis,
    workers: list[subprocess.Popen[bytes]],
    beat: None,
    settings: Settings,
) -> None:
    """Issue 15: a close whose chunk died with its worker sat in "closing" for 5 to 10
    minutes. Here a worker is SIGKILLed inside a chunk's transaction; the other worker and
    beat are running, as in production, and nobody does anything else."""
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    doomed = start_worker(
        "faults-doomed", CCM_CLOSE_CHUNK_PAUSE_SECONDS="30", **PRODUCTION_VISIBILITY
    )
    workers.append(doomed)
    url = f"/api/billing-months/{month_scenario.month:%Y-%m}/close/"
    assert api_client_for(billing_user).post(url).status_code == 202
    run = CloseRun.objects.get(practice=practice, month=month_scenario.month)
    wait_for(lambda: _chunk_locked(run.pk), timeout=60)
    workers.append(start_worker("faults-survivor", **PRODUCTION_VISIBILITY))

    stop_worker(doomed, kill=True)
    assert month_status(practice, month_scenario) == "closing"
    wait_for(lambda: month_status(practice, month_scenario) == "closed", timeout=60)
    assert_every_second_once(practice, month_scenario)
    assert AuditEvent.objects.filter(action="billing_month.close").count() == 1


def test_redis_down_when_a_close_is_requested_then_back(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    private_redis: PrivateRedis,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
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

    private_redis.start()  # the broker is back, and with it the worker and beat
    workers.append(start_worker("faults-redis", **PRODUCTION_VISIBILITY))
    workers.append(start_beat(tmp_path / "celerybeat-schedule", **PRODUCTION_VISIBILITY))
    wait_for(lambda: month_status(practice, month_scenario) == "closed", timeout=60)
    assert_every_second_once(practice, month_scenario)
    assert AuditEvent.objects.filter(action="billing_month.close").count() == 1


def test_postgresql_restarted_during_a_close_resumes_by_itself(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    private_redis: PrivateRedis,
    workers: list[subprocess.Popen[bytes]],
    beat: None,
    settings: Settings,
) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    workers.append(start_worker("faults-pg-slow", CCM_CLOSE_CHUNK_PAUSE_SECONDS="20"))
    client = api_client_for(billing_user)
    url = f"/api/billing-months/{month_scenario.month:%Y-%m}/close/"
    assert client.post(url).status_code == 202
    run = CloseRun.objects.get(practice=practice, month=month_scenario.month)
    wait_for(lambda: _chunk_locked(run.pk), timeout=60)

    restart_postgresql()
    connection.close()  # this process's session died with the server
    assert month_status(practice, month_scenario) == "closing"
    assert not WorklistRow.objects.exists()  # the chunk's transaction rolled back whole
    wait_for(lambda: month_status(practice, month_scenario) == "closed", timeout=90)
    assert_every_second_once(practice, month_scenario)
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("billing_month.close") == 1


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
