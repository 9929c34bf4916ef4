"""Real Celery worker processes for tests: the same test database and the same Redis
queue as the test process, started and stopped by the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def celery_env(**env: str) -> dict[str, str]:
    """The environment of a Celery process of this test run: the test database (as
    pytest-django named it; the process connects as the application role, like the
    suite) and this run's queue."""
    database = connection.settings_dict
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="ccm.settings.test",
        TEST_DATABASE_URL=(
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        CCM_CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        **env,
    )


def start_beat(schedule: Path, **env: str) -> subprocess.Popen[bytes]:
    """A `celery -A ccm beat` (its schedule file in `schedule`) sending to this run's
    queue; its own process group."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "ccm",
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            str(schedule),
        ],
        cwd=ROOT,
        env=celery_env(**env),
        start_new_session=True,
    )


def start_worker(name: str, *, concurrency: int = 1, **env: str) -> subprocess.Popen[bytes]:
    """A `celery -A ccm worker` on the test database and this run's queue (celery_env);
    its own process group so a test can SIGKILL all of it."""
    worker_env = celery_env(**env)
    pool = (
        ["--pool", "solo"]
        if concurrency == 1
        else ["--pool", "prefork", "--concurrency", str(concurrency)]
    )
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "ccm",
            "worker",
            *pool,
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-n",
            f"{name}-{os.getpid()}@%h",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
        ],
        cwd=ROOT,
        env=worker_env,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """SIGTERM (warm shutdown) or SIGKILL the worker's whole process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for(condition: object, *, timeout: float = 60, interval: float = 0.2) -> None:
    """Poll `condition()` until true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def wait_for_other_sessions_to_end(timeout: float = 15) -> None:
    """After killing workers, wait until PostgreSQL has let go of their sessions, so the
    test database can be dropped at the end of the run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (others,) = cursor.fetchone()
        if others == 0:
            return
        time.sleep(0.2)
