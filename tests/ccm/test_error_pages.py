"""Styled 403, 404 and 500 pages with a way back (issue 14, part 7): the handlers of
ccm/urls.py answer JSON under /api/ and a page of the site's own style elsewhere."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import get_resolver

from ccm import views
from ccm.models import User

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_403_says_why_and_leads_home(front_desk: User) -> None:
    response = signed_in(front_desk).get("/billing/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-testid="error-page"' in html and "/static/css/app.css" in html
    assert "Your role may not open this page." in html
    assert front_desk.display_name in html and "Front desk" in html
    assert 'href="/" data-testid="error-home"' in html
    assert 'aria-label="Main"' in html  # the site's menu is there too


def test_403_under_the_api_stays_json(front_desk: User) -> None:
    client = Client(headers={"Authorization": f"Token {front_desk.auth_token.key}"})
    response = client.get("/api/worklist/", {"month": "2026-01"})
    assert response.status_code == 403 and response["Content-Type"] == "application/json"


def test_404_is_a_page_with_a_way_back(nurse: User) -> None:
    response = signed_in(nurse).get("/patients/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'data-testid="error-page"' in html and "There is nothing here" in html
    assert 'href="/patients/"' in html
    anonymous = Client().get("/no-such-page/")
    assert anonymous.status_code == 404 and 'href="/login/"' in anonymous.content.decode()
    api = Client().get("/api/no-such-thing/")
    assert api.status_code == 404 and api.json() == {"detail": "Not found."}


def test_500_is_a_page_rendered_without_the_requests_context() -> None:
    resolver = get_resolver()
    assert resolver.resolve_error_handler(500) is views.server_error
    assert resolver.resolve_error_handler(403) is views.permission_denied
    page = views.server_error(RequestFactory().get("/patients/"))
    assert page.status_code == 500
    html = page.content.decode()
    assert "Something went wrong on our side" in html and 'href="/"' in html
    assert 'data-testid="error-detail"' in html
    api = views.server_error(RequestFactory().get("/api/patients/"))
    assert api.status_code == 500 and b"logged" in api.content
