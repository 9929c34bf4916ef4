"""The Celery app `ccm` talks to a real Redis broker and a real worker process."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from ccm.celery import app
from ccm.tasks import ping
from tests.workers import start_worker, stop_worker, wait_for_other_sessions_to_end


@pytest.fixture
def celery_worker_process(db: None) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker("pingtest")
    yield process
    stop_worker(process)
    wait_for_other_sessions_to_end()


def test_settings_point_at_redis() -> None:
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert redis.Redis.from_url(settings.CELERY_BROKER_URL).ping()
    assert app.main == "ccm"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1


@pytest.mark.slow
def test_a_task_round_trips_through_redis_and_a_worker(
    celery_worker_process: subprocess.Popen[bytes],
) -> None:
    result = ping.delay()
    assert result.get(timeout=60) == "pong"
