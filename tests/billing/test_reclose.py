"""A re-close never bills twice (CONTRACTS.md; issue 12): through the API and the pages,
submit, reopen, add time, re-close, export. A claim that went out is never listed again
as a new one; a changed one is needs_correction with the lines that went out and why; an
unchanged one keeps submitted, paid or denied; "ready" in at most one version."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Count, Q
from django.test import Client
from rest_framework.test import APIClient

from billing.close import close_chunk, close_run_inline
from billing.models import ClaimLine, CloseRun, FeeScheduleEntry, WorklistRow, WorklistStatus
from ccm.models import AuditEvent, Practice, User
from patients.models import Patient
from tests.billing.conftest import MonthScenario, log_minutes

pytestmark = pytest.mark.django_db


def month_text(scenario: MonthScenario) -> str:
    return f"{scenario.month:%Y-%m}"


def api_close(client: APIClient, scenario: MonthScenario, capture: Callable[..., Any]) -> CloseRun:
    """POST close (202), then the run's chunks in this process, as a worker would."""
    with capture(execute=False):
        response = client.post(f"/api/billing-months/{month_text(scenario)}/close/")
    assert response.status_code == 202, response.content
    run = CloseRun.objects.filter(month=scenario.month).order_by("-version").first()
    assert run is not None
    close_run_inline(run)
    return run


def api_reopen(client: APIClient, scenario: MonthScenario) -> None:
    response = client.post(
        f"/api/billing-months/{month_text(scenario)}/reopen/",
        {"reason": "A call of the 28th was documented late"},
        format="json",
    )
    assert response.status_code == 200, response.content


def worklist(client: APIClient, scenario: MonthScenario) -> dict[int, dict[str, Any]]:
    data = client.get("/api/worklist/", {"month": month_text(scenario)}).json()
    return {row["patient"]: row for row in data["results"]}


def patch(client: APIClient, row_id: int, **body: str) -> dict[str, Any]:
    response = client.patch(f"/api/worklist/{row_id}/", body, format="json")
    assert response.status_code == 200, response.content
    result: dict[str, Any] = response.json()
    return result


def export(client: APIClient, scenario: MonthScenario) -> list[dict[str, str]]:
    response = client.get("/api/worklist/export/", {"month": month_text(scenario)})
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def assert_ready_in_at_most_one_version(scenario: MonthScenario) -> None:
    ready = (
        WorklistRow.objects.filter(month=scenario.month)
        .values("patient_id")
        .annotate(n=Count("id", filter=Q(status=WorklistStatus.READY)))
    )
    assert all(row["n"] <= 1 for row in ready), list(ready)


@pytest.fixture
def submitted(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> MonthScenario:
    """Version 1 closed; complex and non-complex submitted, practitioner-only paid."""
    client = api_client_for(billing_user)
    api_close(client, month_scenario, django_capture_on_commit_callbacks)
    rows = worklist(client, month_scenario)
    for patient in (month_scenario.complex, month_scenario.non_complex):
        patch(client, rows[patient.pk]["id"], status="submitted")
    practitioner_row = rows[month_scenario.practitioner_only.pk]["id"]
    patch(client, practitioner_row, status="submitted")
    patch(client, practitioner_row, status="paid")
    return month_scenario


def test_submit_reopen_add_time_reclose_export(
    submitted: MonthScenario,
    billing_user: User,
    nurse: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    scenario = submitted
    client = api_client_for(billing_user)
    v1 = {row.patient_id: row for row in WorklistRow.objects.filter(version=1)}
    api_reopen(client, scenario)
    logged = api_client_for(nurse).post(
        "/api/time-entries/",
        {
            "patients": [scenario.non_complex.pk],
            "date": scenario.month.replace(day=28).isoformat(),
            "minutes": 20,
            "activity": "patient_call",
            "note": "Late-documented call about the new inhaler",
        },
        format="json",
    )
    assert logged.status_code == 201, logged.content
    run = api_close(client, scenario, django_capture_on_commit_callbacks)
    assert run.version == 2

    rows = worklist(client, scenario)
    complex_row = rows[scenario.complex.pk]
    assert complex_row["version"] == 2
    assert (complex_row["status"], complex_row["supersedes"]) == (
        "submitted",
        v1[scenario.complex.pk].pk,
    )
    assert complex_row["previous_lines"] is None and complex_row["correction_reason"] == ""
    assert rows[scenario.practitioner_only.pk]["status"] == "paid"

    changed = rows[scenario.non_complex.pk]
    assert changed["status"] == "needs_correction"
    assert changed["supersedes"] == v1[scenario.non_complex.pk].pk
    assert [(line["code"], line["units"]) for line in changed["lines"]] == [
        ("99490", 1),
        ("99439", 2),
    ]
    assert changed["previous_lines"] == [
        {"code": "99490", "units": 1, "unit_amount": "66.30", "amount": "66.30"},
        {"code": "99439", "units": 1, "unit_amount": "50.56", "amount": "50.56"},
    ]
    assert "99490 + 99439" in changed["correction_reason"]
    assert "99439 ×2" in changed["correction_reason"]
    blocked = rows[scenario.blocked.pk]
    assert (blocked["status"], blocked["supersedes"]) == ("not_billable", None)

    # Version 1 keeps the claims that went out; its never-billed row is superseded.
    assert {
        patient_id: WorklistRow.objects.get(pk=row.pk).status for patient_id, row in v1.items()
    } == {
        scenario.complex.pk: "submitted",
        scenario.non_complex.pk: "submitted",
        scenario.practitioner_only.pk: "paid",
        scenario.blocked.pk: "superseded",
    }
    assert_ready_in_at_most_one_version(scenario)

    exported = export(client, scenario)
    assert {line["status"] for line in exported} == {"submitted", "paid", "needs_correction"}
    assert not [line for line in exported if line["status"] in ("ready", "needs_review")]
    correction = [line for line in exported if line["status"] == "needs_correction"]
    assert [(line["code"], line["units"]) for line in correction] == [
        ("99490", "1"),
        ("99439", "2"),
    ]
    assert correction[0]["findings"].startswith(
        "NEEDS_CORRECTION: The claim submitted in version 1"
    )

    # The correction goes out: billing staff mark it sent.
    sent = patch(client, changed["id"], status="submitted")
    assert sent["status"] == "submitted" and sent["previous_lines"] is not None
    event = AuditEvent.objects.filter(action="worklist.status").order_by("id").last()
    assert event is not None and event.before["status"] == "needs_correction"


def test_a_third_close_compares_with_the_claim_that_went_out_last(
    submitted: MonthScenario,
    billing_user: User,
    nurse: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    scenario = submitted
    client = api_client_for(billing_user)
    api_reopen(client, scenario)
    log_minutes(nurse, [scenario.non_complex], 28, 20)
    api_close(client, scenario, django_capture_on_commit_callbacks)
    v2 = worklist(client, scenario)
    v1_row = WorklistRow.objects.get(version=1, patient=scenario.non_complex)

    # The correction was never sent: version 3 still corrects version 1's claim.
    api_reopen(client, scenario)
    api_close(client, scenario, django_capture_on_commit_callbacks)
    v3 = worklist(client, scenario)
    assert v3[scenario.non_complex.pk]["status"] == "needs_correction"
    assert v3[scenario.non_complex.pk]["supersedes"] == v1_row.pk
    assert WorklistRow.objects.get(pk=v2[scenario.non_complex.pk]["id"]).status == "superseded"

    # Sent now: version 4 carries the corrected claim, unchanged.
    patch(client, v3[scenario.non_complex.pk]["id"], status="submitted")
    api_reopen(client, scenario)
    api_close(client, scenario, django_capture_on_commit_callbacks)
    v4 = worklist(client, scenario)
    assert v4[scenario.non_complex.pk]["status"] == "submitted"
    assert v4[scenario.non_complex.pk]["supersedes"] == v3[scenario.non_complex.pk]["id"]
    assert v4[scenario.non_complex.pk]["previous_lines"] is None
    assert v4[scenario.complex.pk]["supersedes"] == v3[scenario.complex.pk]["id"]
    assert_ready_in_at_most_one_version(scenario)


def test_a_denied_claim_unchanged_stays_denied_with_its_reason(
    submitted: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    scenario = submitted
    client = api_client_for(billing_user)
    row = worklist(client, scenario)[scenario.complex.pk]
    patch(client, row["id"], status="denied", denial_reason="CO-16 missing information")
    denied_at = WorklistRow.objects.get(pk=row["id"]).status_changed_at
    api_reopen(client, scenario)
    api_close(client, scenario, django_capture_on_commit_callbacks)
    carried = WorklistRow.objects.get(version=2, patient=scenario.complex)
    assert (carried.status, carried.denial_reason) == ("denied", "CO-16 missing information")
    assert carried.status_changed_at == denied_at


def test_a_claim_that_no_longer_bills_is_a_void_correction(
    submitted: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    scenario = submitted
    client = api_client_for(billing_user)
    api_reopen(client, scenario)
    recorded = client.post(
        f"/api/patients/{scenario.complex.pk}/other-services/",
        {"code": "G0182", "date": scenario.month.replace(day=3).isoformat()},
        format="json",
    )
    assert recorded.status_code == 201, recorded.content
    api_close(client, scenario, django_capture_on_commit_callbacks)
    row = worklist(client, scenario)[scenario.complex.pk]
    assert (row["status"], row["billable"], row["lines"]) == ("needs_correction", False, [])
    assert [line["code"] for line in row["previous_lines"]] == ["99487", "99489"]
    assert row["correction_reason"].startswith("No longer billable (")
    assert "to be voided" in row["correction_reason"]
    voids = [line for line in export(client, scenario) if line["mrn"] == scenario.complex.mrn]
    assert len(voids) == 1
    assert (voids[0]["code"], voids[0]["amount"], voids[0]["status"]) == (
        "",
        "0.00",
        "needs_correction",
    )


def test_new_fees_correct_a_claim_with_the_same_codes(
    submitted: MonthScenario,
    practice: Practice,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    scenario = submitted
    client = api_client_for(billing_user)
    api_reopen(client, scenario)
    FeeScheduleEntry.objects.create(
        practice=practice, code="99491", year=scenario.month.year, amount=Decimal("95.00")
    )
    api_close(client, scenario, django_capture_on_commit_callbacks)
    row = worklist(client, scenario)[scenario.practitioner_only.pk]
    assert row["status"] == "needs_correction"
    assert "other fees (99491 89.00 → 95.00)" in row["correction_reason"]


def test_unbilled_rows_are_superseded_and_ready_once(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    client = api_client_for(billing_user)
    api_close(client, month_scenario, django_capture_on_commit_callbacks)
    api_reopen(client, month_scenario)
    api_close(client, month_scenario, django_capture_on_commit_callbacks)
    statuses = dict(
        WorklistRow.objects.filter(version=1).values_list("patient_id", "status").distinct()
    )
    assert set(statuses.values()) == {"superseded"}
    rows = worklist(client, month_scenario)
    assert rows[month_scenario.complex.pk]["status"] == "ready"
    assert rows[month_scenario.complex.pk]["supersedes"] is None
    assert_ready_in_at_most_one_version(month_scenario)
    # A superseded row is history: it moves no more.
    old = WorklistRow.objects.get(version=1, patient=month_scenario.complex)
    refused = client.patch(f"/api/worklist/{old.pk}/", {"status": "submitted"}, format="json")
    assert refused.status_code == 409


def test_an_inactive_patients_claim_is_still_corrected(
    submitted: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    scenario = submitted
    client = api_client_for(billing_user)
    api_reopen(client, scenario)
    Patient.objects.filter(pk=scenario.complex.pk).update(is_active=False)
    api_close(client, scenario, django_capture_on_commit_callbacks)
    assert worklist(client, scenario)[scenario.complex.pk]["status"] == "submitted"


def test_a_repeated_reclose_writes_each_row_once(
    submitted: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    scenario = submitted
    client = api_client_for(billing_user)
    api_reopen(client, scenario)
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(f"/api/billing-months/{month_text(scenario)}/close/").json()
        again = client.post(f"/api/billing-months/{month_text(scenario)}/close/").json()
    assert first["task_id"] == again["task_id"]
    run = CloseRun.objects.get(month=scenario.month, version=2)
    for chunk in run.chunks.all():
        assert close_chunk(chunk_id=chunk.pk) is True
        assert close_chunk(chunk_id=chunk.pk) is False  # a duplicate delivery
    close_run_inline(run)
    assert WorklistRow.objects.filter(version=2).count() == 4
    assert ClaimLine.objects.filter(row__version=2).count() == 5
    assert WorklistRow.objects.get(version=2, patient=scenario.complex).status == "submitted"


def test_the_pages_show_the_new_lines_beside_the_ones_that_went_out(
    submitted: MonthScenario,
    billing_user: User,
    nurse: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    scenario = submitted
    client = api_client_for(billing_user)
    api_reopen(client, scenario)
    log_minutes(nurse, [scenario.non_complex], 28, 20)
    api_close(client, scenario, django_capture_on_commit_callbacks)
    page = Client()
    page.force_login(billing_user)

    html = page.get("/billing/worklist/", {"month": month_text(scenario)}).content.decode()
    row = WorklistRow.objects.get(version=2, patient=scenario.non_complex)
    start = html.index(f'id="row-{row.pk}"')
    cell = html[start : html.index("</tr>", start)]
    assert 'data-status="needs_correction"' in cell
    assert 'data-testid="previous-lines"' in cell and "Sent before:" in cell
    assert "99439 ×2" in cell and 'data-testid="correction-reason"' in cell
    assert "Mark correction sent" in cell
    carried = WorklistRow.objects.get(version=2, patient=scenario.complex)
    start = html.index(f'id="row-{carried.pk}"')
    assert 'data-testid="carried"' in html[start : html.index("</tr>", start)]

    sent = page.post(f"/billing/worklist/{row.pk}/status/", {"status": "submitted"})
    assert sent.status_code == 302
    row.refresh_from_db()
    assert row.status == "submitted"

    month_page = page.get(
        f"/patients/{scenario.non_complex.pk}/months/{month_text(scenario)}/"
    ).content.decode()
    assert 'data-testid="claim"' in month_page and 'data-testid="previous-lines"' in month_page
    assert "The claim submitted in version 1 billed 99490 + 99439" in month_page
