"""The worklist API, the CSV export of interface.md, claim status changes, the billing
month endpoints and MDM attestation, with the three-user check."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from billing.close import close_request, close_run_inline
from billing.models import MdmAttestation, WorklistRow
from billing.worklist import EXPORT_HEADER
from ccm.models import AuditEvent, Practice, Role, User
from patients.models import Patient
from tests.billing.conftest import MonthScenario
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed(practice: Practice, month_scenario: MonthScenario) -> MonthScenario:
    run, _ = close_request(practice=practice, month=month_scenario.month, actor=None)
    assert run is not None
    close_run_inline(run)
    return month_scenario


def month_text(scenario: MonthScenario) -> str:
    return f"{scenario.month:%Y-%m}"


def read_csv(response: StreamingHttpResponse) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()  # type: ignore[arg-type]
    return list(csv.reader(io.StringIO(body)))


def test_worklist_rows_and_filters(
    closed: MonthScenario,
    billing_user: User,
    practitioner: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    client = api_client_for(billing_user)
    data = client.get("/api/worklist/", {"month": month_text(closed)}).json()
    assert data["count"] == 4
    first = data["results"][0]
    assert {"patient", "tier", "lines", "total_amount", "billable", "findings", "status"} <= set(
        first
    )
    by_patient = {row["patient"]: row for row in data["results"]}
    assert by_patient[closed.complex.pk]["total_amount"] == "222.00"
    assert [(line["code"], line["units"]) for line in by_patient[closed.complex.pk]["lines"]] == [
        ("99487", 1),
        ("99489", 1),
    ]

    def patients(**filters: object) -> set[int]:
        rows = client.get("/api/worklist/", {"month": month_text(closed), **filters}).json()
        return {row["patient"] for row in rows["results"]}

    assert patients(status="not_billable") == {closed.blocked.pk}
    assert patients(tier="practitioner") == {closed.practitioner_only.pk}
    assert patients(tier="none") == {closed.blocked.pk}
    assert len(patients(practitioner=practitioner.pk)) == 4
    assert patients(practitioner=billing_user.pk) == set()
    assert client.get("/api/worklist/", {"month": "2026-99"}).status_code == 400
    assert (
        client.get("/api/worklist/", {"month": month_text(closed), "status": "lost"}).status_code
        == 400
    )


def test_csv_export_is_exactly_one_row_per_claim_line(
    closed: MonthScenario,
    billing_user: User,
    practitioner: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    response = api_client_for(billing_user).get(
        "/api/worklist/export/", {"month": month_text(closed)}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = read_csv(response)
    assert rows[0] == list(EXPORT_HEADER)
    assert ",".join(rows[0]) == (
        "mrn,patient_name,birth_date,billing_practitioner,npi,"
        "service_month,service_date,tier,code,units,amount,diagnoses,"
        "counted_minutes,status,findings"
    )
    body = rows[1:]
    assert [(r[1], r[8], r[9], r[10]) for r in body] == [
        ("Adams, Ann", "99487", "1", "144.00"),
        ("Adams, Ann", "99489", "1", "78.00"),
        ("Brown, Ben", "99490", "1", "66.30"),
        ("Brown, Ben", "99439", "1", "50.56"),
        ("Clark, Cy", "99491", "1", "89.00"),
    ]
    adams = body[0]
    assert adams[0] == closed.complex.mrn and adams[3] == practitioner.display_name
    assert adams[4] == practitioner.npi and adams[5] == month_text(closed)
    assert adams[7] == "complex" and adams[11] == "E11.9;I50.22" and adams[12] == "95"
    assert adams[13] == "ready"
    assert AuditEvent.objects.filter(action="worklist.export", actor=billing_user).exists()


def test_csv_neutralises_formulas(
    practice: Practice,
    practitioner: User,
    billing_user: User,
    nurse: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    from tests.billing.conftest import last_month, log_minutes
    from tests.conftest import make_eligible

    sly = make_eligible(
        PatientFactory(
            practice=practice,
            billing_practitioner=practitioner,
            last_name='=HYPERLINK("http://x")',
            first_name="@Eve",
        )
    )
    log_minutes(nurse, [sly], 3, 25)
    run, _ = close_request(practice=practice, month=last_month(), actor=None)
    assert run is not None
    close_run_inline(run)
    rows = read_csv(
        api_client_for(billing_user).get(
            "/api/worklist/export/", {"month": f"{last_month():%Y-%m}"}
        )
    )
    assert rows[1][1] == '\'=HYPERLINK("http://x"), @Eve'


def test_status_changes_follow_the_claim_and_are_audited(
    closed: MonthScenario,
    billing_user: User,
    nurse: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    client = api_client_for(billing_user)
    row = WorklistRow.objects.get(patient=closed.complex)
    url = f"/api/worklist/{row.pk}/"
    assert client.patch(url, {"status": "paid"}, format="json").status_code == 400
    assert client.patch(url, {"status": "submitted"}, format="json").json()["status"] == "submitted"
    no_reason = client.patch(url, {"status": "denied"}, format="json")
    assert no_reason.status_code == 400 and "denial_reason" in no_reason.json()
    denied = client.patch(
        url, {"status": "denied", "denial_reason": "CO-97 bundled"}, format="json"
    ).json()
    assert (denied["status"], denied["denial_reason"]) == ("denied", "CO-97 bundled")
    event = AuditEvent.objects.filter(action="worklist.status").order_by("id").last()
    assert event is not None and event.before["status"] == "submitted"
    assert event.after == {"status": "denied", "denial_reason": "CO-97 bundled"}
    assert (
        api_client_for(nurse).patch(url, {"status": "submitted"}, format="json").status_code == 403
    )
    blocked = WorklistRow.objects.get(patient=closed.blocked)
    assert (
        client.patch(
            f"/api/worklist/{blocked.pk}/", {"status": "submitted"}, format="json"
        ).status_code
        == 400
    )


def test_three_user_check_on_worklist(
    closed: MonthScenario,
    billing_user: User,
    nurse: User,
    make_user: Callable[..., User],
    other_practice: Practice,
    api_client_for: Callable[..., APIClient],
) -> None:
    row = WorklistRow.objects.get(patient=closed.complex)
    foreign_billing = api_client_for(make_user(Role.BILLING, practice=other_practice))
    assert api_client_for(billing_user).get(f"/api/worklist/{row.pk}/").status_code == 200
    # the nurse's work needs no claims or dollars: the worklist is billing's (403)
    assert api_client_for(nurse).get(f"/api/worklist/{row.pk}/").status_code == 403
    assert (
        api_client_for(nurse).get("/api/worklist/", {"month": month_text(closed)}).status_code
        == 403
    )
    assert (
        api_client_for(nurse)
        .get("/api/worklist/export/", {"month": month_text(closed)})
        .status_code
        == 403
    )
    assert foreign_billing.get(f"/api/worklist/{row.pk}/").status_code == 404
    assert (
        foreign_billing.patch(
            f"/api/worklist/{row.pk}/", {"status": "submitted"}, format="json"
        ).status_code
        == 404
    )
    assert foreign_billing.get("/api/worklist/", {"month": month_text(closed)}).json()["count"] == 0
    exported = read_csv(foreign_billing.get("/api/worklist/export/", {"month": month_text(closed)}))
    assert exported == [list(EXPORT_HEADER)]
    row.refresh_from_db()
    assert row.status == "ready"


def test_billing_month_endpoints(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    nurse: User,
    api_client_for: Callable[..., APIClient],
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    client = api_client_for(billing_user)
    url = f"/api/billing-months/{month_text(month_scenario)}/"
    assert client.get(url).json()["status"] == "open"
    assert api_client_for(nurse).post(f"{url}close/").status_code == 403
    with django_capture_on_commit_callbacks(execute=False):  # type: ignore[operator]
        started = client.post(f"{url}close/")
    assert started.status_code == 202
    assert started.json()["status"] == "closing" and started.json()["task_id"]
    with django_capture_on_commit_callbacks(execute=False):  # type: ignore[operator]
        again = client.post(f"{url}close/")
    assert again.json()["task_id"] == started.json()["task_id"]
    progress = client.get(url).json()
    assert progress["run"]["chunks_total"] == 1 and progress["run"]["chunks_done"] == 0
    assert client.post("/api/billing-months/2999-01/close/").status_code == 400
    assert client.post(f"{url}reopen/", {"reason": "x"}, format="json").status_code == 409


def test_mdm_attestation_is_the_billing_practitioners_alone(
    patient: Patient,
    practitioner: User,
    make_user: Callable[..., User],
    other_practice: Practice,
    api_client_for: Callable[..., APIClient],
) -> None:
    from django.utils import timezone

    url = f"/api/patients/{patient.pk}/months/{timezone.localdate():%Y-%m}/mdm/"
    another_doctor = make_user(Role.PRACTITIONER, credential="DO")
    foreign_doctor = make_user(Role.PRACTITIONER, practice=other_practice)
    assert (
        api_client_for(another_doctor)
        .post(url, {"level": "high", "note": "n"}, format="json")
        .status_code
        == 403
    )
    assert (
        api_client_for(foreign_doctor)
        .post(url, {"level": "high", "note": "n"}, format="json")
        .status_code
        == 404
    )
    bad = api_client_for(practitioner).post(url, {"level": "low", "note": ""}, format="json")
    assert bad.status_code == 400 and "level" in bad.json()
    done = api_client_for(practitioner).post(
        url, {"level": "moderate", "note": "Two conditions"}, format="json"
    )
    assert done.status_code == 201 and done.json()["level"] == "moderate"
    assert MdmAttestation.objects.get(patient=patient).practitioner == practitioner
    assert AuditEvent.objects.filter(action="mdm.attest", actor=practitioner).exists()
