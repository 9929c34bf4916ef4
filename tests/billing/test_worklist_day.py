"""The worklist for a day's work (issue 14, part 7): search by patient name or MRN, rows
selected and marked submitted in one action (all or none, audited per row, only rows that
may move), findings folded to one line per row; with the three-user check of the bulk
endpoint."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.test import APIClient

from billing.close import close_request, close_run_inline
from billing.models import WorklistRow, WorklistStatus
from ccm.models import AuditEvent, Practice, User
from tests.billing.conftest import MonthScenario

pytestmark = pytest.mark.django_db

BULK = "/api/worklist/bulk-status/"


@pytest.fixture
def closed(practice: Practice, month_scenario: MonthScenario) -> MonthScenario:
    run, _ = close_request(practice=practice, month=month_scenario.month, actor=None)
    assert run is not None
    close_run_inline(run)
    return month_scenario


def month_text(scenario: MonthScenario) -> str:
    return f"{scenario.month:%Y-%m}"


def row_of(patient: object) -> WorklistRow:
    return WorklistRow.objects.get(patient=patient)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ready(*patients: object) -> list[WorklistRow]:
    """The rows of `patients`, made ready (a row with a warning starts in review)."""
    rows = [row_of(patient) for patient in patients]
    WorklistRow.objects.filter(pk__in=[row.pk for row in rows]).update(status=WorklistStatus.READY)
    return rows


def test_search_by_patient_name_or_mrn(
    closed: MonthScenario, billing_user: User, api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(billing_user)

    def found(search: str) -> set[int]:
        body = client.get("/api/worklist/", {"month": month_text(closed), "search": search})
        return {row["patient"] for row in body.json()["results"]}

    assert found("adams") == {closed.complex.pk}
    assert found(closed.non_complex.mrn.lower()) == {closed.non_complex.pk}
    assert found("ann adams") == {closed.complex.pk}  # every word must match
    assert found("ann brown") == set()
    assert len(found("")) == 4
    html = signed_in(billing_user).get(
        "/billing/worklist/", {"month": month_text(closed), "search": "Clark"}
    )
    rows = re.findall(r'data-testid="worklist-row"[^>]*data-patient="(\d+)"', html.content.decode())
    assert rows == [str(closed.practitioner_only.pk)]
    assert 'value="Clark"' in html.content.decode()


def test_bulk_mark_submitted_all_audited_per_row(
    closed: MonthScenario, billing_user: User, api_client_for: Callable[..., APIClient]
) -> None:
    rows = ready(closed.complex, closed.non_complex)
    response = api_client_for(billing_user).post(
        BULK, {"ids": [row.pk for row in rows], "status": "submitted"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == 2 and {row["status"] for row in body["rows"]} == {"submitted"}
    for row in rows:
        row.refresh_from_db()
        assert row.status == WorklistStatus.SUBMITTED and row.status_changed_at is not None
        (event,) = AuditEvent.objects.filter(action="worklist.status", object_id=str(row.pk))
        assert event.before["status"] == "ready" and event.after["status"] == "submitted"
        assert event.actor_id == billing_user.pk


def test_bulk_is_all_or_nothing_and_names_each_row_that_may_not_move(
    closed: MonthScenario, billing_user: User, api_client_for: Callable[..., APIClient]
) -> None:
    (movable,) = ready(closed.non_complex)
    blocked = row_of(closed.blocked)
    assert blocked.status == WorklistStatus.NOT_BILLABLE
    response = api_client_for(billing_user).post(
        BULK, {"ids": [movable.pk, blocked.pk], "status": "submitted"}, format="json"
    )
    assert response.status_code == 400
    message = " ".join(response.json()["ids"])
    assert "Nothing changed" in message and "Davis, Dee" in message and "not billable" in message
    assert "Brown" not in message
    movable.refresh_from_db()
    assert movable.status == WorklistStatus.READY
    assert not AuditEvent.objects.filter(action="worklist.status").exists()


def test_bulk_refuses_an_old_version_and_bad_input(
    practice: Practice,
    closed: MonthScenario,
    billing_user: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    client = api_client_for(billing_user)
    assert client.post(BULK, {"ids": [], "status": "submitted"}, format="json").status_code == 400
    wrong_status = client.post(BULK, {"ids": [1], "status": "lost"}, format="json")
    assert wrong_status.status_code == 400 and "status" in wrong_status.json()
    unknown = client.post(BULK, {"ids": [987654], "status": "submitted"}, format="json")
    assert unknown.status_code == 400 and "987654" in str(unknown.json())
    (old,) = ready(closed.non_complex)
    client.post(f"/api/billing-months/{month_text(closed)}/reopen/", {"reason": "late claim"})
    run, _ = close_request(practice=practice, month=closed.month, actor=None)
    assert run is not None
    close_run_inline(run)
    stale = client.post(BULK, {"ids": [old.pk], "status": "submitted"}, format="json")
    assert stale.status_code == 400 and "not the month's current close" in str(stale.json())


def test_three_user_check_on_bulk(
    closed: MonthScenario,
    billing_user: User,
    nurse: User,
    outsider: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    rows = ready(closed.complex, closed.non_complex)
    payload = {"ids": [row.pk for row in rows], "status": "submitted"}
    # colleague: a nurse may not move claims
    assert api_client_for(nurse).post(BULK, payload, format="json").status_code == 403
    # outsider: another practice's admin names our rows: unknown to them, nothing moves
    foreign = api_client_for(outsider).post(BULK, payload, format="json")
    assert foreign.status_code == 400 and "in your practice" in str(foreign.json())
    assert all(row_of(p).status == "ready" for p in (closed.complex, closed.non_complex))
    # owner: billing staff
    assert api_client_for(billing_user).post(BULK, payload, format="json").status_code == 200


def test_the_page_selects_rows_and_marks_them_submitted(
    closed: MonthScenario, billing_user: User
) -> None:
    rows = ready(closed.complex, closed.non_complex)
    client = signed_in(billing_user)
    page = client.get("/billing/worklist/", {"month": month_text(closed)}).content.decode()
    selectable = set(re.findall(r'name="row" value="(\d+)" form="bulk-form"', page))
    ready_rows = WorklistRow.objects.filter(status=WorklistStatus.READY)
    assert selectable == {str(row.pk) for row in ready_rows}  # not the not-billable row
    assert str(row_of(closed.blocked).pk) not in selectable
    # Findings folded to one line: a summary that opens to every finding.
    blocked = page.split(f'data-patient="{closed.blocked.pk}"', 1)[1].split("</tr>", 1)[0]
    assert '<details class="findings-fold"' in blocked
    assert re.search(r'<span class="badge block">\d+ blocks?</span>', blocked)
    assert 'data-rule="CONSENT_MISSING"' in blocked
    done = client.post(
        "/billing/worklist/bulk-status/",
        {"row": [str(row.pk) for row in rows], "back": f"month={month_text(closed)}&search=a"},
    )
    assert done.status_code == 302
    assert done["Location"] == f"/billing/worklist/?month={month_text(closed)}&search=a"
    assert {row_of(p).status for p in (closed.complex, closed.non_complex)} == {"submitted"}
    again = client.post(
        "/billing/worklist/bulk-status/",
        {"row": [str(rows[0].pk)], "back": f"month={month_text(closed)}"},
    )
    assert again.status_code == 400 and "cannot become submitted" in again.content.decode()
    assert (
        signed_in(User.objects.get(pk=billing_user.pk))
        .post("/billing/worklist/bulk-status/", {"back": ""})
        .status_code
        == 400
    )
