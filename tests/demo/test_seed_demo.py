"""`seed_demo` loads a realistic month (patients near and past each threshold, one blocked
for missing consent) and running it twice changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.selectors import patient_month_decision
from ccm.models import Role, User
from patients.models import CarePlan, ChronicCondition, Patient
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


def test_the_demo_month_shows_each_finding_of_revision_2() -> None:
    """At least one patient of the demo's current month per new finding (ENTRY_LATE once
    the month has run nine days: an entry cannot be logged late before)."""
    call_command("seed_demo", stdout=io.StringIO())
    today = timezone.localdate()
    month = today.replace(day=1)
    fired: dict[str, set[str]] = {}
    for patient in Patient.objects.select_related("billing_practitioner", "practice"):
        decision = patient_month_decision(patient=patient, month=month)[1]
        for finding in decision.findings:
            fired.setdefault(finding.rule, set()).add(patient.mrn)
    expected = {
        "CONDITION_NOT_CHRONIC": "D-1010",
        "ENTRY_OTHER_PRACTITIONER": "D-1011",
        "DUPLICATE_CCM": "D-1012",
        "CARE_PLAN_NOT_REVIEWED": "D-1013",
        "CARE_PLAN_UNSIGNED": "D-1013",
        "ENTRY_LUMPED": "D-1014",
        "ENTRY_NOTE_REPEATED": "D-1015",
    }
    if today.day > 8:
        expected["ENTRY_LATE"] = "D-1015"
    # Exactly that patient: the others' plans are signed and reviewed, their notes differ.
    for rule, mrn in expected.items():
        assert fired.get(rule) == {mrn}, (rule, fired.get(rule))


def test_the_demo_month_carries_the_facts_of_revision_2() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    today = timezone.localdate()
    partner = User.objects.get(username="partner")
    assert partner.role == Role.PRACTITIONER and partner.display_name == "Dr. Priya Partner, DO"
    assert TimeActivity.objects.filter(performer=partner, shares__patient__mrn="D-1011").exists()
    assert ChronicCondition.objects.get(
        patient__mrn="D-1010", icd10="M54.50"
    ).attested_chronic_by == User.objects.get(username="doctor")
    assert CarePlan.objects.get(patient__mrn="D-1013").signed_by is None
    assert CarePlan.objects.get(patient__mrn="D-1001").signed_by is not None
    notes = list(
        TimeActivity.objects.filter(shares__patient__mrn="D-1003").values_list("note", flat=True)
    )
    assert len(notes) == len(set(notes)) == 3
    if today.day > 8:
        late = TimeActivity.objects.filter(shares__patient__mrn="D-1015").order_by("date").first()
        assert late is not None and (late.logged_on - late.date).days > 7
