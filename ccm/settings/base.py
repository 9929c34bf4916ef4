"""Settings shared by every environment; each value can come from the environment.

DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, DEBUG and ALLOWED_HOSTS are the names
interface.md fixes. The embedded defaults (SQLite, a filesystem broker) let a first run
work with no server; production points DATABASE_URL and CELERY_BROKER_URL at PostgreSQL
and Redis.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from ccm.settings.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
RUN_DIR = Path(env_str("CCM_RUN_DIR", str(BASE_DIR / ".run")) or BASE_DIR / ".run")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or ""
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "ccm",
    "patients",
    "timelog",
    "billing",
    "billing.claims",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before anything reads a parameter: NUL bytes are a 400 naming it (stripped in search).
    "ccm.middleware.InputGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ccm.middleware.SessionTimeoutMiddleware",
    "ccm.middleware.PasswordChoiceMiddleware",
    "ccm.middleware.SecurityHeadersMiddleware",
    # After CSRF (its view check runs first): a deadlock victim's view runs again.
    "ccm.middleware.RetryConflictsMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

# Sign-in lockout (django-axes) on every way in: the sign-in page, the admin and the
# token endpoint all authenticate through Django, where axes counts failures.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Sessions: signed out after 15 idle minutes and 12 hours after sign-in; the cookie dies
# with the browser; Django gives a new session key at sign-in and flushes it at sign-out.
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 15 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
LOGIN_URL_PATH = "/login/"
CSRF_FAILURE_VIEW = "ccm.views.csrf_failure"

# Request limits (issue 15: no input gives a 500). A body larger than this is a 400 that
# says so, before it is read (Django's RequestDataTooBig, ccm.views.bad_request); a JSON
# body nested deeper than JSON_MAX_DEPTH is a 400 too (ccm.parsers). Text fields have
# their own lengths (ccm.limits).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_BODY_MAX_BYTES", 10 * 1024 * 1024)
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 32)
# A transaction PostgreSQL picked as a deadlock or serialization victim is run again,
# this many attempts in all (ccm.middleware.RetryConflictsMiddleware).
REQUEST_ATTEMPTS = env_int("REQUEST_ATTEMPTS", 3)

ROOT_URLCONF = "ccm.urls"
WSGI_APPLICATION = "ccm.wsgi.application"
ASGI_APPLICATION = "ccm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ccm.context_processors.capabilities",
            ],
        },
    },
]

# Two PostgreSQL roles in production (README, Production): DATABASE_URL is the
# application's, a role that owns nothing (it cannot truncate the audit log, alter a table
# or switch a trigger off); DATABASE_OWNER_URL is the owner of the tables, used only by
# `make migrate` (DATABASE_ROLE=owner). Migration ccm 0007 grants the application role
# what it needs, on today's tables and on every table later migrations create.
_APP_DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}") or ""
_OWNER_DATABASE_URL = env_str("DATABASE_OWNER_URL") or _APP_DATABASE_URL
CCM_DATABASE_APP_ROLE: str | None = (
    dj_database_url.parse(_APP_DATABASE_URL).get("USER") or None
    if _OWNER_DATABASE_URL != _APP_DATABASE_URL
    else None
)
DATABASES = {
    "default": dj_database_url.parse(
        _OWNER_DATABASE_URL if env_str("DATABASE_ROLE") == "owner" else _APP_DATABASE_URL,
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "ccm.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ccm.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: a view opens itself to roles explicitly (ccm.permissions).
    "DEFAULT_PERMISSION_CLASSES": ["ccm.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # drf-spectacular plus the error answers every view can give (ccm/openapi.py).
    "DEFAULT_SCHEMA_CLASS": "ccm.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # DRF's JSON parser within the depth and text bounds of ccm/parsers.py.
    "DEFAULT_PARSER_CLASSES": [
        "ccm.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # DRF's negotiation, answered at once for a JSON client (ccm/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "ccm.negotiation.JSONFirstNegotiation",
    "EXCEPTION_HANDLER": "ccm.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CCM time logging and billing API",
    "DESCRIPTION": "Chronic Care Management time logging and month-end Medicare billing.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from this site (no CDN), so the content security policy holds.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery: the broker defaults to Kombu's filesystem transport so a first run needs no
# server; CELERY_BROKER_URL=redis://... in production.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND")
# Redis hands a task whose worker never acknowledged it to another worker after the
# visibility timeout: longer than any chunk takes (about 10 s at 25,000 patients,
# docs/benchmarks.md), so a chunk still running is never taken twice. A dead worker's
# chunk does not wait for it: the sweep below sends it again within CCM_CLOSE_SWEEP_SECONDS.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300)
}
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = RUN_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A close that dies with its worker is redelivered, never lost (issue: month close).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 900)
CELERY_TIMEZONE = TIME_ZONE
# Beat: close the previous month from CCM_CLOSE_DAY (default the 3rd).
CCM_CLOSE_DAY = env_int("CCM_CLOSE_DAY", 3)
# Each chunk reads the whole month of activities once; 25k patients per chunk measured
# fastest at 100k patients (docs/benchmarks.md).
CCM_CLOSE_CHUNK_SIZE = env_int("CCM_CLOSE_CHUNK_SIZE", 25000)
# A chunk is also cut at about this many time entries (billing.close), so chunks cost
# alike and the workers finish together.
CCM_CLOSE_CHUNK_ENTRIES = env_int("CCM_CLOSE_CHUNK_ENTRIES", 400000)
# The month's packet ZIPs a worker builds (billing.claims.archives); the web process
# serves them, so both must see this folder.
CCM_PACKETS_DIR = env_str("CCM_PACKETS_DIR", str(RUN_DIR / "packets")) or str(RUN_DIR / "packets")
# A stalled close resumes within a minute, with no operator (billing/close.py):
# - a chunk's transaction pings PostgreSQL every CCM_CLOSE_HEARTBEAT_SECONDS while the
#   engine works; a session silent for CCM_CLOSE_STALL_SECONDS (a hung worker) or whose
#   machine stops answering TCP keepalives (about 25 s) is ended, freeing its chunk; a
#   killed worker's session ends at once;
# - beat's sweep, every CCM_CLOSE_SWEEP_SECONDS, sends again the pending chunks no worker
#   holds that a worker had started, that were never sent CCM_CLOSE_DISPATCH_GRACE_SECONDS
#   after the request (the broker was down), or that no worker started within
#   CCM_CLOSE_REDISPATCH_SECONDS (a lost message). A killed worker's month: closed in
#   about one sweep plus one chunk.
CCM_CLOSE_HEARTBEAT_SECONDS = env_int("CCM_CLOSE_HEARTBEAT_SECONDS", 5)
CCM_CLOSE_STALL_SECONDS = env_int("CCM_CLOSE_STALL_SECONDS", 45)
CCM_CLOSE_SWEEP_SECONDS = env_int("CCM_CLOSE_SWEEP_SECONDS", 15)
CCM_CLOSE_DISPATCH_GRACE_SECONDS = env_int("CCM_CLOSE_DISPATCH_GRACE_SECONDS", 10)
CCM_CLOSE_REDISPATCH_SECONDS = env_int("CCM_CLOSE_REDISPATCH_SECONDS", 120)
CELERY_BEAT_SCHEDULE = {
    "close-due-months": {
        "task": "billing.close_due_months",
        "schedule": crontab(hour=2, minute=15),
    },
    "close-resume": {
        "task": "billing.close_resume",
        "schedule": float(CCM_CLOSE_SWEEP_SECONDS),
        # A sweep not started by the next one is not worth running.
        "options": {"expires": float(CCM_CLOSE_SWEEP_SECONDS)},
    },
    "refresh-call-lists": {
        "task": "billing.refresh_call_lists",
        "schedule": crontab(hour=3, minute=30),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
