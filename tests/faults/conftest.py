"""Fault tests (`make faults`): real processes stopped and restarted under a month close.

They stop Redis and restart PostgreSQL, so they run apart from the main suite. Redis is a
private server on FAULTS_REDIS_PORT that these tests own; `make faults` points the
broker there (TEST_CELERY_BROKER_URL). PostgreSQL is the machine's: restarting it drops
every session, which is why the target runs alone."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from tests.billing.conftest import month_scenario

__all__ = ["FAULTS_REDIS_PORT", "PrivateRedis", "month_scenario", "private_redis"]

FAULTS_REDIS_PORT = 6391


class PrivateRedis:
    """A redis-server process on its own port, stopped and started by the test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if f":{FAULTS_REDIS_PORT}/" not in settings.CELERY_BROKER_URL:
        pytest.skip(
            f"run through `make faults` (the broker must be the private Redis on "
            f"port {FAULTS_REDIS_PORT}, not {settings.CELERY_BROKER_URL})"
        )
    server = PrivateRedis(FAULTS_REDIS_PORT)
    server.start()
    yield server
    server.stop()
