"""Settings of the benchmark's own processes (web, workers, the runner): the development
settings without DEBUG (no query log), on the bench's database and its own Celery queue."""

from __future__ import annotations

import os

import dj_database_url

from ccm.settings.dev import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.urls"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ccm_bench"),
        conn_max_age=600,
    )
}
CELERY_BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
CELERY_RESULT_BACKEND = None
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_QUEUE", "ccm-bench")
CCM_CLOSE_CHUNK_SIZE = int(os.environ.get("CCM_CLOSE_CHUNK_SIZE", "25000"))
CCM_CLOSE_CHUNK_ENTRIES = int(os.environ.get("CCM_CLOSE_CHUNK_ENTRIES", "400000"))
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
