"""GET /api/patients/{id}/months/{YYYY-MM}/: the live decision and the month's entries,
with the three-user check."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ccm.models import Role, User
from patients.models import Patient

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def url(patient: Patient, month: str = f"{TODAY:%Y-%m}") -> str:
    return f"/api/patients/{patient.pk}/months/{month}/"


def test_decision_follows_the_logged_minutes(
    nurse: User, patient: Patient, api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(nurse)
    empty = client.get(url(patient)).json()
    assert empty["decision"]["billable"] is False
    assert empty["decision"]["next_threshold"] == {"code": "99490", "minutes_needed": 20}
    assert empty["month_status"] == "open"

    client.post(
        "/api/time-entries/",
        {"patients": [patient.pk], "minutes": 22, "activity": "patient_call", "note": "call"},
        format="json",
    )
    month = client.get(url(patient)).json()
    assert month["decision"]["tier"] == "non_complex"
    assert [line["code"] for line in month["decision"]["lines"]] == ["99490"]
    assert month["decision"]["counted_seconds"]["clinical_staff"] == 1320
    assert [(e["seconds"], e["activity"]) for e in month["entries"]] == [(1320, "patient_call")]


def test_three_user_check(
    nurse: User,
    patient: Patient,
    make_user: Callable[..., User],
    outsider: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    assert api_client_for(nurse).get(url(patient)).status_code == 200
    assert api_client_for(make_user(Role.BILLING)).get(url(patient)).status_code == 200
    assert api_client_for(outsider).get(url(patient)).status_code == 404
    assert APIClient().get(url(patient)).status_code == 401


def test_a_bad_month_is_404(
    nurse: User, patient: Patient, api_client_for: Callable[..., APIClient]
) -> None:
    assert api_client_for(nurse).get(url(patient, "2026-13")).status_code == 404
