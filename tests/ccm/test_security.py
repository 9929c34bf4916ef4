"""Sign-in lockout on every way in, session limits, security headers and production
settings that pass Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.test import APIClient

from ccm.middleware import SessionTimeoutMiddleware
from ccm.models import User

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-for-tests-1"


def fail_sign_ins(client: Client, username: str, times: int = 5) -> None:
    for _ in range(times):
        client.post("/login/", {"username": username, "password": "wrong"})


def test_sign_in_page_locks_after_five_failures(nurse: User) -> None:
    client = Client()
    fail_sign_ins(client, nurse.username)
    locked = client.post("/login/", {"username": nurse.username, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Sign-in locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_token_endpoint_locks_after_five_failures(nurse: User) -> None:
    api = APIClient()
    answers = [
        api.post("/api/auth/token/", {"username": nurse.username, "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert answers == [400, 400, 400, 400, 429]  # the fifth failure locks
    locked = api.post("/api/auth/token/", {"username": nurse.username, "password": PASSWORD})
    assert locked.status_code == 429
    assert "token" not in locked.json() and "locked" in locked.json()["detail"]


def test_admin_sign_in_locks_after_five_failures(admin_user: User) -> None:
    admin_user.is_staff = True
    admin_user.save()
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": admin_user.username, "password": "wrong"})
    locked = client.post("/admin/login/", {"username": admin_user.username, "password": PASSWORD})
    assert locked.status_code == 429


def test_a_new_session_key_at_sign_in_and_sign_out_ends_it(nurse: User) -> None:
    client = Client()
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/login/", {"username": nurse.username, "password": PASSWORD})
    after = client.session.session_key
    assert after and after != before
    assert Session.objects.filter(session_key=after).exists()
    client.post("/logout/")
    assert not Session.objects.filter(session_key=after).exists()
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("key", "age"),
    [
        (SessionTimeoutMiddleware.SEEN_AT, 15 * 60 + 5),
        (SessionTimeoutMiddleware.AUTH_AT, 12 * 3600 + 5),
    ],
)
def test_idle_and_absolute_session_limits(nurse: User, key: str, age: int) -> None:
    client = Client()
    client.post("/login/", {"username": nurse.username, "password": PASSWORD})
    assert client.get("/").status_code == 200
    session = client.session
    session[key] = int(time.time()) - age
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/").status_code == 302


def test_security_headers_and_no_caching_of_phi(nurse: User) -> None:
    client = Client()
    client.force_login(nurse)
    page = client.get("/")
    csp = page["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    assert page["X-Frame-Options"] == "DENY"
    assert "no-store" in page["Cache-Control"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {nurse.auth_token.key}")
    assert "no-store" in api.get("/api/me/")["Cache-Control"]


def test_production_settings_pass_the_deployment_checks() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="ccm.settings.production",
        SECRET_KEY="k3y-" + "x9Zq!r7Lm2" * 6,
        ALLOWED_HOSTS="ccm.example.org",
        DATABASE_URL="sqlite:////tmp/ccm-deploy-check.sqlite3",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
