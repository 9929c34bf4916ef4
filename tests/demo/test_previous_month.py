"""The demo's previous month (issue 14, part 6): `seed_demo` then `close_month` on it
shows every kind of finding of billing-rules.md section 4 that the application's data
can produce, each case the finding it is there for, and seeding twice changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.models import WorklistRow
from billing.rules import findings as rules
from billing.rules.rulebooks import rulebook_for_year
from demo.previous_month import CASES, UNREACHABLE, previous_month
from patients.models import Patient
from timelog.models import TimeActivity

pytestmark = pytest.mark.django_db


def expected_kinds(month_year: int) -> set[str]:
    """Every finding of the engine's catalogue, but those the application prevents (and
    FEES_FROM_OTHER_YEAR, which shows only in a year with no shipped rulebook)."""
    kinds = set(rules.RULES) - set(UNREACHABLE)
    fees_from_other_year = getattr(rules, "FEES_FROM_OTHER_YEAR", None)
    if fees_from_other_year and rulebook_for_year(month_year).year == month_year:
        kinds.discard(fees_from_other_year)
    return kinds


def test_seed_demo_then_close_month_shows_every_finding_kind() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    counts = (Patient.objects.count(), TimeActivity.objects.count())
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert (Patient.objects.count(), TimeActivity.objects.count()) == counts
    first = previous_month(timezone.localdate())
    assert f"with a {first:%Y-%m} ready to close" in out.getvalue()
    assert Patient.objects.filter(mrn__startswith="P-20").count() == len(CASES) >= 30

    summary = io.StringIO()
    call_command("close_month", f"{first:%Y-%m}", "--practice", "demo", stdout=summary)
    closed = json.loads(summary.getvalue())
    assert closed["month"] == f"{first:%Y-%m}" and closed["billable"] > 15

    rows = {
        row.patient.mrn: row
        for row in WorklistRow.objects.filter(month=first).select_related("patient")
    }
    fired = {finding["rule"] for row in rows.values() for finding in row.findings}
    missing = expected_kinds(first.year) - fired
    assert not missing, f"finding kinds the demo month does not show: {sorted(missing)}"
    for case in CASES:
        row_rules = {finding["rule"] for finding in rows[case.mrn].findings}
        assert set(case.shows) <= row_rules, f"{case.mrn} ({case.story}): {row_rules}"
    # Plain billable months of every family sit beside them, and some are ready as they are.
    assert {row.tier for row in rows.values() if row.billable} == {
        "non_complex",
        "complex",
        "practitioner",
    }
    assert sum(1 for row in rows.values() if row.status == "ready") >= 10
    # Each entry is logged on the day it records (none of the month reconstructed after
    # the fact) except where a case wants ENTRY_LATE.
    late = [entry for case in CASES for entry in case.entries if entry.late_days]
    entries = TimeActivity.objects.filter(shares__patient__mrn__startswith="P-20").distinct()
    logged_late = [a for a in entries if a.logged_on != a.date]
    assert len(logged_late) == len(late) == 1
    assert (logged_late[0].logged_on - logged_late[0].date).days == late[0].late_days
