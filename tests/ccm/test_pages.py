"""Sign-in, sign-out and the home page."""

from __future__ import annotations

import pytest
from django.test import Client

from ccm.models import User

pytestmark = pytest.mark.django_db


def test_home_needs_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_sign_in_then_home_then_sign_out(client: Client, nurse: User) -> None:
    response = client.post("/login/", {"username": nurse.username, "password": "pw-for-tests-1"})
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert nurse.full_name in home.content.decode()
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_wrong_password_shows_an_error(client: Client, nurse: User) -> None:
    response = client.post("/login/", {"username": nurse.username, "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_static_files_are_served(client: Client) -> None:
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
