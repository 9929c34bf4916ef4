"""The month close, run in-process (the same service the Celery tasks run): one worklist
row per patient and version, the period lock, reopen and re-close, idempotency."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings
from rest_framework.test import APIClient

from billing.close import (
    PATIENT_WEIGHT,
    close_chunk,
    close_request,
    close_run_inline,
    reopen_month,
)
from billing.models import ClaimLine, CloseChunk, CloseRun, WorklistRow
from billing.tasks import close_due_months, previous_month
from ccm.exceptions import PeriodClosed
from ccm.models import AuditEvent, BillingMonth, Practice, User
from tests.billing.conftest import MonthScenario, log_minutes

pytestmark = pytest.mark.django_db


def close(practice: Practice, scenario: MonthScenario, actor: User | None = None) -> CloseRun:
    run, claimed = close_request(practice=practice, month=scenario.month, actor=actor)
    assert claimed and run is not None
    close_run_inline(run)
    run.refresh_from_db()
    return run


def lines_of(row: WorklistRow) -> list[tuple[str, int, Decimal]]:
    return [(line.code, line.units, line.amount) for line in row.lines.order_by("id")]


def test_close_writes_one_row_per_patient_with_its_lines(
    practice: Practice, month_scenario: MonthScenario, billing_user: User
) -> None:
    run = close(practice, month_scenario, billing_user)
    assert run.status == CloseRun.Status.SUCCEEDED and run.version == 1
    month = BillingMonth.objects.get(practice=practice, month=month_scenario.month)
    assert (month.status, month.version) == ("closed", 1)

    rows = {row.patient_id: row for row in WorklistRow.objects.filter(run=run)}
    assert len(rows) == 4
    complex_row = rows[month_scenario.complex.pk]
    assert complex_row.tier == "complex" and complex_row.status == "ready"
    assert lines_of(complex_row) == [
        ("99487", 1, Decimal("144.00")),
        ("99489", 1, Decimal("78.00")),
    ]
    assert complex_row.total_amount == Decimal("222.00")
    assert complex_row.diagnoses == ["E11.9", "I50.22"]
    assert complex_row.counted_minutes == 95
    assert lines_of(rows[month_scenario.non_complex.pk]) == [
        ("99490", 1, Decimal("66.30")),
        ("99439", 1, Decimal("50.56")),
    ]
    assert lines_of(rows[month_scenario.practitioner_only.pk]) == [("99491", 1, Decimal("89.00"))]
    blocked = rows[month_scenario.blocked.pk]
    assert (blocked.billable, blocked.status, lines_of(blocked)) == (False, "not_billable", [])
    assert "CONSENT_MISSING" in {f["rule"] for f in blocked.findings}
    assert AuditEvent.objects.filter(action="billing_month.close", actor=billing_user).exists()
    assert AuditEvent.objects.filter(action="billing_month.closed").exists()


def test_closing_twice_writes_nothing_twice(
    practice: Practice, month_scenario: MonthScenario
) -> None:
    first = close(practice, month_scenario)
    again, claimed = close_request(practice=practice, month=month_scenario.month, actor=None)
    assert not claimed and again == first
    for chunk in first.chunks.all():
        assert close_chunk(chunk_id=chunk.pk) is False
    assert WorklistRow.objects.count() == 4
    assert ClaimLine.objects.count() == 5


def test_chunks_split_the_patients_and_a_repeated_chunk_is_skipped(
    practice: Practice, month_scenario: MonthScenario, settings: Settings
) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 3
    run, _ = close_request(practice=practice, month=month_scenario.month, actor=None)
    assert run is not None and run.chunks_total == 2
    first_chunk = CloseChunk.objects.get(run=run, index=0)
    assert close_chunk(chunk_id=first_chunk.pk) is True
    assert close_chunk(chunk_id=first_chunk.pk) is False
    assert WorklistRow.objects.count() == 3
    assert BillingMonth.objects.get(practice=practice, month=run.month).status == "closing"
    close_run_inline(run)
    assert WorklistRow.objects.count() == 4
    assert BillingMonth.objects.get(practice=practice, month=run.month).status == "closed"


def test_chunks_are_cut_by_the_patients_time_entries(
    practice: Practice, month_scenario: MonthScenario, settings: Settings
) -> None:
    """A chunk ends once its patients' entries of the month, each patient counting
    PATIENT_WEIGHT more, reach CCM_CLOSE_CHUNK_ENTRIES (CCM_CLOSE_CHUNK_SIZE patients at
    most), so chunks of few busy patients and of many quiet ones take about as long."""
    settings.CCM_CLOSE_CHUNK_ENTRIES = 3 + PATIENT_WEIGHT  # the complex patient has 3
    settings.CCM_CLOSE_CHUNK_SIZE = 100
    scenario = month_scenario
    run, _ = close_request(practice=practice, month=scenario.month, actor=None)
    assert run is not None
    chunks = list(run.chunks.order_by("index").values_list("patient_ids", flat=True))
    assert chunks == [
        [scenario.complex.pk],  # 3 entries
        [scenario.non_complex.pk, scenario.practitioner_only.pk],  # 1 + 1
        [scenario.blocked.pk],  # 1, the last
    ]
    assert run.chunks_total == 3 and run.patients == 4
    close_run_inline(run)
    assert WorklistRow.objects.filter(run=run).count() == 4


def test_after_close_time_and_attestations_are_409(
    practice: Practice,
    month_scenario: MonthScenario,
    nurse: User,
    practitioner: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    close(practice, month_scenario)
    day = month_scenario.month.replace(day=20).isoformat()
    logged = api_client_for(nurse).post(
        "/api/time-entries/",
        {
            "patients": [month_scenario.non_complex.pk],
            "date": day,
            "minutes": 10,
            "activity": "patient_call",
            "note": "late call",
        },
        format="json",
    )
    assert logged.status_code == 409
    attested = api_client_for(practitioner).post(
        f"/api/patients/{month_scenario.non_complex.pk}/months/{month_scenario.month:%Y-%m}/mdm/",
        {"level": "high", "note": "n"},
        format="json",
    )
    assert attested.status_code == 409
    with pytest.raises(PeriodClosed):
        log_minutes(nurse, [month_scenario.non_complex], 21, 5)


def test_reopen_and_reclose_make_version_2_and_keep_version_1(
    practice: Practice, month_scenario: MonthScenario, nurse: User, billing_user: User
) -> None:
    close(practice, month_scenario)
    v1 = {
        row.patient_id: (row.total_amount, lines_of(row))
        for row in WorklistRow.objects.filter(version=1)
    }
    with pytest.raises(Exception, match="reason"):
        reopen_month(practice=practice, month=month_scenario.month, actor=billing_user, reason=" ")
    reopen_month(
        practice=practice,
        month=month_scenario.month,
        actor=billing_user,
        reason="Late-documented call of the 28th",
    )
    log_minutes(nurse, [month_scenario.non_complex], 28, 20)
    run = close(practice, month_scenario)
    assert run.version == 2
    v2 = {row.patient_id: row for row in WorklistRow.objects.filter(version=2)}
    assert lines_of(v2[month_scenario.non_complex.pk]) == [
        ("99490", 1, Decimal("66.30")),
        ("99439", 2, Decimal("101.12")),
    ]
    assert {
        row.patient_id: (row.total_amount, lines_of(row))
        for row in WorklistRow.objects.filter(version=1)
    } == v1
    reopen = AuditEvent.objects.get(action="billing_month.reopen")
    assert (reopen.actor, reopen.reason) == (billing_user, "Late-documented call of the 28th")


def test_close_month_command_prints_the_summary(
    practice: Practice, month_scenario: MonthScenario
) -> None:
    out = io.StringIO()
    call_command(
        "close_month", f"{month_scenario.month:%Y-%m}", "--practice", practice.slug, stdout=out
    )
    assert json.loads(out.getvalue()) == {
        "month": f"{month_scenario.month:%Y-%m}",
        "patients": 4,
        "billable": 3,
        "total_amount": "427.86",
    }
    again = io.StringIO()
    call_command("close_month", f"{month_scenario.month:%Y-%m}", stdout=again)
    assert json.loads(again.getvalue())["patients"] == 4
    assert WorklistRow.objects.count() == 4


def test_close_month_command_rejects_a_bad_or_unfinished_month(db: None) -> None:
    with pytest.raises(Exception, match="month"):
        call_command("close_month", "2026/10", stdout=io.StringIO())
    with pytest.raises(Exception, match="has not ended"):
        call_command("close_month", f"{timezone.localdate():%Y-%m}", stdout=io.StringIO())


def test_beat_closes_the_previous_month_once_and_leaves_reopened_months(
    practice: Practice,
    month_scenario: MonthScenario,
    settings: Settings,
    billing_user: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    settings.CCM_CLOSE_DAY = 1
    assert previous_month(timezone.localdate()) == month_scenario.month
    with django_capture_on_commit_callbacks(execute=False):
        assert close_due_months() == 1
    run = CloseRun.objects.get(practice=practice, month=month_scenario.month)
    close_run_inline(run)
    assert close_due_months() == 0
    reopen_month(practice=practice, month=month_scenario.month, actor=billing_user, reason="fix")
    assert close_due_months() == 0
    assert BillingMonth.objects.get(practice=practice, month=run.month).status == "open"
