"""Regression tests for what the security walk and schemathesis found, each pinned down
directly so it cannot come back unnoticed if the generated cases change."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from ccm.models import BillingMonth, Role
from tests.security.conftest import Side, build_side

pytestmark = pytest.mark.django_db


@pytest.fixture
def side() -> Side:
    return build_side("defects", "Defects")


def api(side: Side, role: str = Role.RN) -> Client:
    return Client(headers={"Authorization": f"Token {side.users[role].auth_token.key}"})


def test_a_stay_of_centuries_is_refused_at_once(side: Side) -> None:
    """It used to lock (and create) a billing-month row for each of its ~24,000 months:
    one request held a worker for minutes."""
    client = api(side)
    assert client.get(f"/api/patients/{side.patient.pk}/").status_code == 200  # warm up
    months_before = BillingMonth.objects.count()
    started = time.monotonic()
    response = client.post(
        f"/api/patients/{side.patient.pk}/inpatient-stays/",
        {"admitted": "0026-01-04", "discharged": "2000-01-01"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "discharged" in response.json()
    assert time.monotonic() - started < 2
    assert BillingMonth.objects.count() == months_before


def test_a_long_but_real_stay_is_still_recorded(side: Side) -> None:
    response = api(side).post(
        f"/api/patients/{side.patient.pk}/inpatient-stays/",
        {"admitted": "2025-01-02", "discharged": "2025-12-30", "kind": "snf"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("url", ["/api/patients/-1/", "/api/patients/abc/", "/api/nothing/"])
def test_an_unknown_api_url_answers_json(side: Side, url: str) -> None:
    response = api(side).get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_is_still_a_page(side: Side) -> None:
    client = Client()
    client.force_login(side.users[Role.RN])
    response = client.get("/patients/abc/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("component", ["WorklistRow", "MdmOutput"])
def test_months_are_documented_as_months_not_dates(client: Client, component: str) -> None:
    """The API answers "2025-03"; the document said format: date, so every client that
    validates answers rejected every worklist row and attestation."""
    document = client.get("/api/schema/", {"format": "json"}).json()
    month = document["components"]["schemas"][component]["properties"]["month"]
    assert month.get("format") != "date"
    assert month["pattern"] == r"^\d{4}-\d{2}$"


def test_post_only_billing_pages_send_anonymous_to_sign_in() -> None:
    """require_POST used to sit outside role_required: anonymous got 405, not sign-in."""
    for url in ("/billing/months/2025-01/close/", "/billing/mdm-queue/attest/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
