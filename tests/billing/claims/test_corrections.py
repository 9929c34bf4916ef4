"""A re-close never bills twice (CONTRACTS.md): a submitted claim whose lines changed
goes out as a replacement (frequency 7) naming the claim it corrects (REF*F8), one whose
month no longer bills as a void (frequency 8) repeating the original lines; a submitted
claim carried unchanged is not sent again. pyx12 validates every file."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from billing.claims.models import InterchangeClaim
from billing.close import reopen_month
from billing.models import WorklistRow
from billing.services import worklist_row_set_status
from ccm.models import Practice, User
from patients.models import OtherService
from tests.billing.claims.conftest import ClaimsMonth, close
from tests.billing.claims.fhir_validation import fhir_problems
from tests.billing.claims.x12_validation import pyx12_problems
from tests.billing.conftest import log_minutes

pytestmark = pytest.mark.django_db

ApiClient = Callable[[User | None], APIClient]


def submit(row: WorklistRow, actor: User) -> None:
    if row.status == "needs_review":
        worklist_row_set_status(row=row, actor=actor, status="ready")
    worklist_row_set_status(row=row, actor=actor, status="submitted")


def export(client: APIClient, month: str, kind: str = "837p") -> str:
    response = client.get(f"/api/worklist/export/{kind}/", {"month": month})
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]


def clm(text: str) -> dict[str, list[str]]:
    """CLM01 -> the claim's segments, CLM first (up to the next claim)."""
    claims: dict[str, list[str]] = {}
    current: list[str] | None = None
    for segment in text.replace("\n", "").split("~"):
        if segment.startswith("CLM*"):
            current = claims.setdefault(segment.split("*")[1], [])
        elif segment.startswith(("HL*", "SE*")):
            current = None
        if current is not None:
            current.append(segment)
    return claims


def test_a_changed_claim_goes_out_as_a_replacement_and_a_dropped_one_as_a_void(
    claims_month: ClaimsMonth,
    practice: Practice,
    billing_user: User,
    nurse: User,
    api_client_for: ApiClient,
) -> None:
    scenario = claims_month.scenario
    client = api_client_for(billing_user)
    first = clm(export(client, claims_month.month_text))
    complex_v1 = claims_month.row(scenario.complex)
    clark_v1 = claims_month.row(scenario.practitioner_only)
    brown_v1 = claims_month.row(scenario.non_complex)
    for row in (complex_v1, clark_v1, brown_v1):
        assert f"CCM{row.pk}" in first
        submit(row, billing_user)

    reopen_month(practice=practice, month=scenario.month, actor=billing_user, reason="late call")
    log_minutes(nurse, [scenario.complex], 20, 30)  # 95 -> 125 min: a second 99489
    OtherService.objects.create(  # hospice supervision: Clark's month no longer bills
        patient=scenario.practitioner_only, code="G0182", date=scenario.month.replace(day=2)
    )
    close(practice, scenario)

    complex_v2 = claims_month.row(scenario.complex)
    clark_v2 = claims_month.row(scenario.practitioner_only)
    brown_v2 = claims_month.row(scenario.non_complex)
    assert (complex_v2.version, complex_v2.status) == (2, "needs_correction")
    assert (clark_v2.status, clark_v2.billable) == ("needs_correction", False)
    assert brown_v2.status == "submitted"  # carried unchanged: not a new claim

    text = export(client, claims_month.month_text)
    assert pyx12_problems(text) == []
    claims = clm(text)
    assert set(claims) == {f"CCM{complex_v2.pk}", f"CCM{clark_v2.pk}"}

    replacement = claims[f"CCM{complex_v2.pk}"]
    assert replacement[0].split("*")[5] == "11:B:7"
    assert f"REF*F8*CCM{complex_v1.pk}" in replacement
    assert [s for s in replacement if s.startswith("SV1")] == [
        "SV1*HC:99487*144*UN*1***1:2",
        "SV1*HC:99489*156*UN*2***1:2",
    ]

    void = claims[f"CCM{clark_v2.pk}"]
    assert void[0].split("*")[1:3] == [f"CCM{clark_v2.pk}", "89"]
    assert void[0].split("*")[5] == "11:B:8"
    assert f"REF*F8*CCM{clark_v1.pk}" in void
    assert "SV1*HC:99491*89*UN*1***1:2" in void
    assert "HI*ABK:E119*ABF:I5022" in void

    stored = {i.claim_id: i for i in InterchangeClaim.objects.filter(interchange__kind="837p")}
    assert stored[f"CCM{complex_v2.pk}"].frequency == "7"
    assert stored[f"CCM{clark_v2.pk}"].original_claim_id == f"CCM{clark_v1.pk}"

    bundle = json.loads(export(client, claims_month.month_text, "fhir"))
    assert fhir_problems(bundle) == []
    fhir_claims = {
        e["resource"]["identifier"][0]["value"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Claim"
    }
    related = fhir_claims[f"CCM{complex_v2.pk}"]["related"][0]
    assert related["claim"]["identifier"]["value"] == f"CCM{complex_v1.pk}"
    assert fhir_claims[f"CCM{clark_v2.pk}"]["status"] == "cancelled"

    # Sent: the corrections move to submitted and go out no more.
    worklist_row_set_status(row=complex_v2, actor=billing_user, status="submitted")
    worklist_row_set_status(row=clark_v2, actor=billing_user, status="submitted")
    nothing = client.get("/api/worklist/export/837p/", {"month": claims_month.month_text})
    assert nothing.status_code == 400


def test_a_second_correction_names_the_claim_that_went_out(
    claims_month: ClaimsMonth,
    practice: Practice,
    billing_user: User,
    nurse: User,
    api_client_for: ApiClient,
) -> None:
    """v1 sent and submitted; v2 carries it unchanged; v3 changes it: REF*F8 names the
    claim id of v1, the one the payer received."""
    scenario = claims_month.scenario
    client = api_client_for(billing_user)
    export(client, claims_month.month_text)
    complex_v1 = claims_month.row(scenario.complex)
    submit(complex_v1, billing_user)
    reopen_month(practice=practice, month=scenario.month, actor=billing_user, reason="check")
    close(practice, scenario)
    carried = claims_month.row(scenario.complex)
    assert (carried.version, carried.status, carried.supersedes_id) == (
        2,
        "submitted",
        complex_v1.pk,
    )
    reopen_month(practice=practice, month=scenario.month, actor=billing_user, reason="late")
    log_minutes(nurse, [scenario.complex], 21, 40)
    close(practice, scenario)
    corrected = claims_month.row(scenario.complex)
    assert (corrected.version, corrected.status) == (3, "needs_correction")
    claims = clm(export(client, claims_month.month_text))
    assert f"REF*F8*CCM{complex_v1.pk}" in claims[f"CCM{corrected.pk}"]


def test_the_packet_of_a_correction_names_the_claim_it_corrects(
    claims_month: ClaimsMonth,
    practice: Practice,
    billing_user: User,
    nurse: User,
    practitioner: User,
    api_client_for: ApiClient,
) -> None:
    from patients.services import condition_attest_chronic

    scenario = claims_month.scenario
    client = api_client_for(billing_user)
    complex_v1 = claims_month.row(scenario.complex)
    submit(complex_v1, billing_user)
    reopen_month(practice=practice, month=scenario.month, actor=billing_user, reason="late")
    log_minutes(nurse, [scenario.complex], 20, 30)
    condition = scenario.complex.conditions.get(icd10="I50.22")
    condition_attest_chronic(condition=condition, actor=practitioner)
    close(practice, scenario)
    row = claims_month.row(scenario.complex)
    packet = client.get(f"/api/worklist/{row.pk}/packet/", {"format": "json"}).json()
    correction = packet["claim"]["correction"]
    assert correction["supersedes"] == complex_v1.pk
    assert correction["original_claim_id"] == f"CCM{complex_v1.pk}"
    assert correction["frequency"] == "7" and correction["reason"]
    assert [line["code"] for line in correction["previous_lines"]] == ["99487", "99489"]
    why = {c["icd10"]: c["why"] for c in packet["chronic_conditions"]}
    assert f"attested chronic by {practitioner.display_name}" in why["I50.22"]
    assert all(e["logged_on"] for e in packet["time_entries"])
    pdf = client.get(f"/api/worklist/{row.pk}/packet/")
    assert pdf.status_code == 200
