"""Settings come from the environment, with first-run defaults; production refuses to
start without SECRET_KEY. Each case imports the settings in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup();"
    "db = settings.DATABASES['default'];"
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'host': db.get('HOST'),"
    "'broker': settings.CELERY_BROKER_URL, 'debug': settings.DEBUG,"
    "'hosts': settings.ALLOWED_HOSTS, 'key': settings.SECRET_KEY}))"
)
CONTROLLED = ("DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")


def load_settings(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    clean.update(env, DJANGO_SETTINGS_MODULE=module)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_first_run_defaults_need_no_server() -> None:
    result = load_settings("ccm.settings.dev")
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["engine"] == "django.db.backends.sqlite3"
    assert got["broker"] == "filesystem://"
    assert got["debug"] is True


def test_environment_overrides_every_setting() -> None:
    result = load_settings(
        "ccm.settings.dev",
        DATABASE_URL="postgres://ccm:pw@db.internal:5433/ccmprod",
        CELERY_BROKER_URL="redis://cache.internal:6379/3",
        SECRET_KEY="from-env",
        DEBUG="false",
        ALLOWED_HOSTS="ccm.example.org, api.example.org",
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["engine"] == "django.db.backends.postgresql"
    assert (got["name"], got["host"]) == ("ccmprod", "db.internal")
    assert got["broker"] == "redis://cache.internal:6379/3"
    assert got["debug"] is False
    assert got["hosts"] == ["ccm.example.org", "api.example.org"]
    assert got["key"] == "from-env"


def test_production_refuses_to_start_without_secret_key() -> None:
    result = load_settings("ccm.settings.production")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_starts_with_secret_key_and_debug_off() -> None:
    result = load_settings("ccm.settings.production", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is False


def test_a_malformed_boolean_is_a_clear_error() -> None:
    result = load_settings("ccm.settings.dev", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr
