"""Test settings: real PostgreSQL and Redis on this machine (make test starts them)."""

from __future__ import annotations

import os

import dj_database_url

from ccm.settings.base import *  # noqa: F403
from ccm.settings.env import env_str

SECRET_KEY = "test-only-key"  # noqa: S105
DEBUG = False
DATABASES = {
    "default": dj_database_url.parse(
        env_str("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ccm") or "",
        conn_max_age=0,
    )
}
# A test database is flushed with TRUNCATE between transactional tests; the audit log's
# trigger allows that only to sessions that set this (no production session does).
DATABASES["default"]["OPTIONS"] = {"options": "-c ccm.audit_maintenance=on"}
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
CELERY_RESULT_BACKEND = os.environ.get("TEST_CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/14")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the source folders without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Each test run uses its own queue, so parallel runs on one Redis never take each other's
# tasks; a worker started by a test is handed the same name.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CCM_CELERY_QUEUE") or f"ccm-test-{os.getpid()}"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 10}
CCM_CLOSE_CHUNK_PAUSE_SECONDS = float(os.environ.get("CCM_CLOSE_CHUNK_PAUSE_SECONDS", "0"))
