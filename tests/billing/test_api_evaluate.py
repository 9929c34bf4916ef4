"""POST /api/billing/evaluate/: facts in, decision out, 400 naming the bad field."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from billing.models import FeeScheduleEntry
from ccm.models import Practice, User

pytestmark = pytest.mark.django_db
URL = "/api/billing/evaluate/"
CASES = Path(__file__).parent / "rules" / "cases"


def case(name: str) -> dict:
    return json.loads((CASES / f"{name}.json").read_text())


def test_a_case_evaluates_like_the_engine(
    billing_user: User, api_client_for: Callable[..., APIClient]
) -> None:
    data = case("complex_95_min")
    response = api_client_for(billing_user).post(URL, data["facts"], format="json")
    assert response.status_code == 200
    decision = response.json()
    assert decision["tier"] == "complex"
    assert sorted((line["code"], line["units"]) for line in decision["lines"]) == [
        ("99487", 1),
        ("99489", 1),
    ]
    assert decision["total_amount"] == data["expect"]["total_amount"]


def test_bad_facts_are_400_naming_the_field(
    nurse: User, api_client_for: Callable[..., APIClient]
) -> None:
    facts = case("noncomplex_55_min")["facts"]
    facts["time_entries"][0]["minutes"] = -3
    response = api_client_for(nurse).post(URL, facts, format="json")
    assert response.status_code == 400
    assert "time_entries[0].minutes" in response.json()
    bad_month = api_client_for(nurse).post(URL, {**facts, "month": "March"}, format="json")
    assert bad_month.status_code == 400 and "month" in bad_month.json()


def test_unauthenticated_is_401() -> None:
    assert APIClient().post(URL, {}, format="json").status_code == 401


def test_the_practice_fee_schedule_is_applied(
    billing_user: User,
    practice: Practice,
    outsider: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    FeeScheduleEntry.objects.create(
        practice=practice, code="99487", year=2026, amount=Decimal("150.00")
    )
    facts = case("complex_95_min")["facts"]
    own = api_client_for(billing_user).post(URL, facts, format="json").json()
    other = api_client_for(outsider).post(URL, facts, format="json").json()
    assert own["total_amount"] == "228.00"
    assert other["total_amount"] == "222.00"
