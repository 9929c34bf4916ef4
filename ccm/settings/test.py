"""Test settings: real PostgreSQL and Redis on this machine (make test starts them)."""

from __future__ import annotations

import os
from typing import Any

import dj_database_url

from ccm.settings.base import *  # noqa: F403
from ccm.settings.env import env_str

SECRET_KEY = "test-only-key"  # noqa: S105

# The benchmark's load generator (`generate_load`, bench/): development and tests
# only; production never installs it.
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
DEBUG = False
# Production's two roles (README, Production): the suite connects as the application
# role, which owns nothing; the test database is created by the bootstrap superuser (the
# user of TEST_DATABASE_URL), and migrated and flushed by the owner role
# (ccm/test_database/base.py). Both roles are created when missing, with these passwords
# (local test roles; scripts/ensure_services.sh creates them the same way).
_server: dict[str, Any] = dict(
    dj_database_url.parse(
        env_str("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ccm") or "",
        conn_max_age=0,
    )
)
_roles = {
    "bootstrap": {"USER": _server["USER"], "PASSWORD": _server["PASSWORD"]},
    "owner": {
        "USER": env_str("TEST_DATABASE_OWNER", "ccm_owner") or "",
        "PASSWORD": env_str("TEST_DATABASE_OWNER_PASSWORD", "ccm-owner-test") or "",
    },
    "app": {
        "USER": env_str("TEST_DATABASE_APP_USER", "ccm_app") or "",
        "PASSWORD": env_str("TEST_DATABASE_APP_PASSWORD", "ccm-app-test") or "",
    },
}
_default: Any = {**_server, **_roles["app"]}
_default.update(ENGINE="ccm.test_database", TEST={"ROLES": _roles})
DATABASES = {"default": _default}
CCM_DATABASE_APP_ROLE = _roles["app"]["USER"]
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
CELERY_RESULT_BACKEND = os.environ.get("TEST_CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/14")
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
# Short, so a test's killed worker's task comes back soon; the fault tests that prove
# the sweep resumes a close by itself run their processes with production's.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "10"))
}
CCM_CLOSE_CHUNK_PAUSE_SECONDS = float(os.environ.get("CCM_CLOSE_CHUNK_PAUSE_SECONDS", "0"))
