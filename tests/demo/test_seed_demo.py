"""`seed_demo` loads a realistic month (patients near and past each threshold, one blocked
for missing consent) and running it twice changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.selectors import patient_month_decision
from ccm.models import Role, User
from patients.models import Patient
from timelog.models import TimeActivity

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_makes_a_realistic_month() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    counts = (User.objects.count(), Patient.objects.count(), TimeActivity.objects.count())
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert (User.objects.count(), Patient.objects.count(), TimeActivity.objects.count()) == counts
    assert "nurse" in out.getvalue() and "demo-pass-2026" in out.getvalue()
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)

    month = timezone.localdate().replace(day=1)
    decisions = {
        p.mrn: patient_month_decision(patient=p, month=month)[1]
        for p in Patient.objects.select_related("billing_practitioner", "practice")
    }

    def codes(mrn: str) -> list[tuple[str, int]]:
        return [(line.code, line.units) for line in decisions[mrn].lines]

    def rules(mrn: str) -> set[str]:
        return {finding.rule for finding in decisions[mrn].findings}

    assert decisions["D-1001"].next_threshold is not None
    assert (
        decisions["D-1001"].next_threshold.code,
        decisions["D-1001"].next_threshold.minutes_needed,
    ) == ("99490", 3)
    assert codes("D-1002") == [("99490", 1)]
    assert codes("D-1003") == [("99490", 1)]
    assert decisions["D-1003"].next_threshold.minutes_needed == 2  # type: ignore[union-attr]
    assert codes("D-1004") == [("99490", 1), ("99439", 2)] and "COMPLEX_NO_MDM" in rules("D-1004")
    assert codes("D-1005") == [("99487", 1), ("99489", 1)]
    assert not decisions["D-1006"].billable and "CONSENT_MISSING" in rules("D-1006")
    assert codes("D-1007") == [("99491", 1)]
    assert "ELIGIBILITY_CONDITIONS" in rules("D-1008")
    assert decisions["D-1009"].counted_seconds.clinical_staff == 0
