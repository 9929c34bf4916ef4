"""The `create_user` command of interface.md."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from ccm.models import AuditEvent, Practice, User

pytestmark = pytest.mark.django_db


def run_create_user(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_user", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_one_json_object_with_a_working_token() -> None:
    out, _ = run_create_user(
        "nora",
        "--role",
        "rn",
        "--practice",
        "new-clinic",
        "--password",
        "s3cret-pass-1",
        "--full-name",
        "Nora N",
        "--credential",
        "RN",
    )
    payload = json.loads(out)
    assert set(payload) == {"id", "username", "role", "practice", "token"}
    user = User.objects.get(pk=payload["id"])
    assert (payload["username"], payload["role"], payload["practice"]) == (
        "nora",
        "rn",
        "new-clinic",
    )
    assert Token.objects.get(user=user).key == payload["token"]
    assert Practice.objects.filter(slug="new-clinic").exists()
    assert user.check_password("s3cret-pass-1")
    assert AuditEvent.objects.filter(action="user.create", object_id=str(user.pk)).exists()


def test_the_token_authenticates_against_the_api(client: object) -> None:
    out, _ = run_create_user("tok", "--role", "billing", "--practice", "p1")
    token = json.loads(out)["token"]
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.get("/api/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "tok"


def test_bad_role_exits_2_naming_the_field() -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "create_user",
            "x",
            "--role",
            "surgeon",
            "--practice",
            "p1",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert exit_info.value.code == 2
    assert "role" in err.getvalue() and "surgeon" in err.getvalue()
    assert not User.objects.filter(username="x").exists()


def test_bad_npi_exits_2_naming_the_field() -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "create_user",
            "doc",
            "--role",
            "practitioner",
            "--practice",
            "p1",
            "--npi",
            "1234567890",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert exit_info.value.code == 2
    assert "npi" in err.getvalue()


def test_duplicate_username_exits_2() -> None:
    run_create_user("dup", "--role", "rn", "--practice", "p1")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "create_user",
            "dup",
            "--role",
            "rn",
            "--practice",
            "p1",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert exit_info.value.code == 2
    assert "username" in err.getvalue()
