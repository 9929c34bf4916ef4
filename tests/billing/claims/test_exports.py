"""The 837P and FHIR exports of a closed month (interface.md, "Claims out and audit"):
every 837P validated by pyx12's 005010X222A1 map (no error, no warning), every FHIR
resource by fhir.resources' R4B models; control numbers unique and stored; rows that
lack claim data left out (and flagged on the worklist); streamed in chunks; the
three-user check; a Bundle exported and imported again gives the same patients and
conditions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone
from rest_framework.test import APIClient

from billing.claims.claims import interchange_claims
from billing.claims.fhir import fhir_bundle
from billing.claims.models import ClaimInterchange, InterchangeClaim
from billing.claims.services import claim_interchange_create
from billing.claims.x12 import x12_837p
from billing.models import WorklistRow
from billing.services import worklist_row_set_status
from ccm.models import AuditEvent, BillingProvider, Practice, Role, User
from patients.imports.services import patients_import
from patients.models import ChronicCondition, Patient
from tests.billing.claims.conftest import ClaimsMonth
from tests.billing.claims.fhir_validation import fhir_problems
from tests.billing.claims.x12_validation import pyx12_problems
from tests.factories import PracticeFactory, UserFactory

pytestmark = pytest.mark.django_db

ApiClient = Callable[[User | None], APIClient]
X12_URL = "/api/worklist/export/837p/"
FHIR_URL = "/api/worklist/export/fhir/"


def body(response: StreamingHttpResponse) -> str:
    return b"".join(response.streaming_content).decode()  # type: ignore[arg-type]


def segments(text: str, name: str) -> list[list[str]]:
    return [s.split("*") for s in text.replace("\n", "").split("~") if s.startswith(name + "*")]


def export_837p(client: APIClient, month: str, **params: Any) -> str:
    response = client.get(X12_URL, {"month": month, **params})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/edi-x12"
    return body(response)


def test_837p_validates_with_pyx12_and_bills_each_ready_row(
    claims_month: ClaimsMonth, billing_user: User, practitioner: User, api_client_for: ApiClient
) -> None:
    text = export_837p(api_client_for(billing_user), claims_month.month_text)
    assert pyx12_problems(text) == []
    scenario = claims_month.scenario
    rows = {p: claims_month.row(p) for p in (scenario.complex, scenario.non_complex)}
    rows[scenario.practitioner_only] = claims_month.row(scenario.practitioner_only)
    clms = {clm[1]: clm for clm in segments(text, "CLM")}
    assert set(clms) == {f"CCM{row.pk}" for row in rows.values()}  # not the blocked one
    complex_row = rows[scenario.complex]
    assert clms[f"CCM{complex_row.pk}"][2] == "222"
    assert clms[f"CCM{complex_row.pk}"][5] == "11:B:1"
    assert [(s[1], s[2], s[4]) for s in segments(text, "SV1")][:2] == [
        ("HC:99487", "144", "1"),
        ("HC:99489", "78", "1"),
    ]
    assert ["HI", "ABK:E119", "ABF:I5022"] in segments(text, "HI")
    # The rendering provider is the billing practitioner (their NPI is not the group's).
    assert segments(text, "NM1*82")[0][:3] == ["NM1", "82", "1"]
    assert segments(text, "NM1*82")[0][-1] == practitioner.npi
    assert segments(text, "NM1*85")[0][-1] == claims_month.provider.npi
    assert ["SBR", "P", "18", "", "", "", "", "", "", "MB"] in segments(text, "SBR")
    assert f"DTP*472*D8*{complex_row.service_date:%Y%m%d}" in text


def test_control_numbers_are_unique_and_stored_with_who_when_which_rows(
    claims_month: ClaimsMonth, billing_user: User, api_client_for: ApiClient
) -> None:
    client = api_client_for(billing_user)
    first = export_837p(client, claims_month.month_text)
    second = export_837p(client, claims_month.month_text)
    isa13 = [segments(text, "ISA")[0][13] for text in (first, second)]
    gs06 = [segments(text, "GS")[0][6] for text in (first, second)]
    st02 = [segments(text, "ST")[0][2] for text in (first, second)]
    assert len(set(isa13)) == len(set(gs06)) == len(set(st02)) == 2
    stored = list(ClaimInterchange.objects.order_by("id"))
    assert [i.control_number for i in stored] == isa13
    assert all(i.created_by == billing_user and i.claims == 3 for i in stored)
    items = InterchangeClaim.objects.filter(interchange=stored[0])
    assert {item.claim_id for item in items} == {c[1] for c in segments(first, "CLM")}
    event = AuditEvent.objects.filter(action="claims.export_837p").latest("id")
    assert event.actor == billing_user and event.after["claims"] == 3


def test_rows_lacking_claim_data_or_submitted_are_left_out(
    claims_month: ClaimsMonth, billing_user: User, api_client_for: ApiClient
) -> None:
    scenario = claims_month.scenario
    Patient.objects.filter(pk=scenario.complex.pk).update(mbi="", member_id="")
    worklist_row_set_status(
        row=claims_month.row(scenario.non_complex), actor=billing_user, status="ready"
    ) if claims_month.row(scenario.non_complex).status == "needs_review" else None
    row = claims_month.row(scenario.non_complex)
    worklist_row_set_status(row=row, actor=billing_user, status="submitted")
    text = export_837p(api_client_for(billing_user), claims_month.month_text)
    assert [c[1] for c in segments(text, "CLM")] == [
        f"CCM{claims_month.row(scenario.practitioner_only).pk}"
    ]
    assert pyx12_problems(text) == []
    api = (
        api_client_for(billing_user)
        .get("/api/worklist/", {"month": claims_month.month_text})
        .json()
    )
    flags = {r["patient"]: r["claim_missing"] for r in api["results"]}
    assert flags[scenario.complex.pk] == ["patient's MBI or member id"]
    assert flags[scenario.practitioner_only.pk] == []


def test_an_export_needs_the_billing_provider_and_a_ready_claim(
    claims_month: ClaimsMonth, practice: Practice, billing_user: User, api_client_for: ApiClient
) -> None:
    client = api_client_for(billing_user)
    assert client.get(X12_URL, {"month": "2020-01"}).status_code == 400
    assert "No claim of 2020-01" in client.get(X12_URL, {"month": "2020-01"}).json()["month"][0]
    assert client.get(X12_URL, {"month": "2026-13"}).status_code == 400
    assert client.get(X12_URL).json()["month"]
    bad = client.get(X12_URL, {"month": claims_month.month_text, "practitioner": "x"})
    assert bad.status_code == 400 and "practitioner" in bad.json()
    BillingProvider.objects.filter(practice=practice).update(tax_id="")
    refused = client.get(X12_URL, {"month": claims_month.month_text})
    assert refused.status_code == 400
    assert "tax id" in refused.json()["billing_provider"][0]
    assert refused["Content-Type"] == "application/json"
    assert not ClaimInterchange.objects.exists()


def test_accept_negotiation(
    claims_month: ClaimsMonth, billing_user: User, api_client_for: ApiClient
) -> None:
    client = api_client_for(billing_user)
    month = {"month": claims_month.month_text}
    for accept in ("application/edi-x12", "*/*", "application/*"):
        response = client.get(X12_URL, month, HTTP_ACCEPT=accept)
        assert response.status_code == 200 and response["Content-Type"] == "application/edi-x12"
    for accept in ("application/fhir+json", "*/*"):
        response = client.get(FHIR_URL, month, HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/fhir+json"
    assert client.get(X12_URL, month, HTTP_ACCEPT="text/csv").status_code == 406
    # An unknown ?format= is ignored, not a 404.
    assert client.get(X12_URL, {**month, "format": "¢x"}).status_code == 200
    error = client.get(X12_URL, {"month": "nope"}, HTTP_ACCEPT="application/edi-x12")
    assert error.status_code == 400 and error["Content-Type"] == "application/json"


def test_exports_stream_in_chunks_not_per_claim(
    claims_month: ClaimsMonth, billing_user: User, practice: Practice
) -> None:
    """The writers yield a piece per chunk of claims read (here chunks of 2), never one
    per claim; ccm.exports then sends them in chunks of 64 KB."""
    interchange = claim_interchange_create(
        practice=practice, actor=billing_user, month=claims_month.scenario.month, kind="837p"
    )
    provider = claims_month.provider
    pieces = list(
        x12_837p(interchange, provider, interchange_claims(interchange.pk, 2), timezone.now())
    )
    assert [piece.count("CLM*") for piece in pieces] == [0, 2, 1, 0]
    assert pyx12_problems("".join(pieces)) == []
    pieces = list(fhir_bundle(interchange, provider, interchange_claims(interchange.pk, 2)))
    assert [piece.count('"resourceType":"Claim"') for piece in pieces] == [0, 2, 1, 0]
    assert fhir_problems(json.loads("".join(pieces))) == []


def test_the_file_is_the_same_whatever_the_chunk_and_in_the_rows_order(
    claims_month: ClaimsMonth,
    billing_user: User,
    practice: Practice,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    """A chunk is read by its own bounded queries (the items by their index, then their
    rows and lines; a billing practitioner once), and the size of a chunk never changes
    a byte of either file; the items are stored in the worklist's order (by name)."""
    interchange = claim_interchange_create(
        practice=practice, actor=billing_user, month=claims_month.scenario.month, kind="837p"
    )
    stored = list(
        InterchangeClaim.objects.filter(interchange=interchange)
        .order_by("id")
        .values_list("row__patient__last_name", "claim_id", "frequency", "original_claim_id")
    )
    assert stored == [
        (name, claim_id, "1", "")
        for name, claim_id in sorted(
            (r.patient.last_name, f"CCM{r.pk}")
            for r in WorklistRow.objects.filter(billable=True, practice=practice)
            .exclude(patient=claims_month.scenario.blocked)
            .select_related("patient")
        )
    ]
    provider = claims_month.provider
    now = timezone.now()
    whole = "".join(x12_837p(interchange, provider, interchange_claims(interchange.pk), now))
    with django_assert_max_num_queries(4 * 3 + 1):  # three chunks of one claim
        by_one = "".join(
            x12_837p(interchange, provider, interchange_claims(interchange.pk, 1), now)
        )
    assert by_one == whole and whole.count("CLM*") == 3
    fhir_whole = "".join(fhir_bundle(interchange, provider, interchange_claims(interchange.pk)))
    fhir_by_one = "".join(fhir_bundle(interchange, provider, interchange_claims(interchange.pk, 1)))
    assert fhir_by_one == fhir_whole and fhir_whole.count('"resourceType":"Claim"') == 3


def test_a_chunk_reads_its_interchange_only_when_another_export_stored_in_between(
    claims_month: ClaimsMonth, billing_user: User, practice: Practice
) -> None:
    """The chunks are windows of item ids: when another export's items fall inside an
    interchange's ids (two exports storing at once), a window holds fewer items or none,
    never another interchange's, and the claims still come in the items' order."""
    month = claims_month.scenario.month
    first = claim_interchange_create(
        practice=practice, actor=billing_user, month=month, kind="fhir"
    )
    other = claim_interchange_create(
        practice=practice, actor=billing_user, month=month, kind="fhir"
    )
    items = InterchangeClaim.objects.filter(interchange=first)
    moved = items.order_by("id").first()
    assert moved is not None
    beyond = InterchangeClaim.objects.filter(interchange=other).order_by("-id")[0].pk + 3
    items.filter(pk=moved.pk).update(id=beyond)  # the other's ids now lie inside ours
    expected = list(items.order_by("id").values_list("claim_id", flat=True))
    assert len(expected) == 3 and expected[-1] == moved.claim_id
    for chunk_size in (1, 2, 2000):
        read = [c.claim_id for chunk in interchange_claims(first.pk, chunk_size) for c in chunk]
        assert read == expected


def test_three_users(
    claims_month: ClaimsMonth,
    billing_user: User,
    nurse: User,
    practitioner: User,
    outsider: User,
    api_client_for: ApiClient,
) -> None:
    month = {"month": claims_month.month_text}
    for url in (X12_URL, FHIR_URL):
        assert api_client_for(billing_user).get(url, month).status_code == 200
        assert api_client_for(nurse).get(url, month).status_code == 403
        assert api_client_for(practitioner).get(url, month).status_code == 403
        theirs = api_client_for(outsider).get(url, month)
        # Their practice has no billing provider and no claims: never ours.
        assert theirs.status_code == 400
        assert claims_month.scenario.complex.mrn not in theirs.content.decode()


def export_fhir(client: APIClient, month: str) -> dict[str, Any]:
    response = client.get(FHIR_URL, {"month": month})
    assert response.status_code == 200, response.content
    bundle: dict[str, Any] = json.loads(body(response))
    return bundle


def test_fhir_bundle_every_resource_validates(
    claims_month: ClaimsMonth, billing_user: User, practitioner: User, api_client_for: ApiClient
) -> None:
    bundle = export_fhir(api_client_for(billing_user), claims_month.month_text)
    assert fhir_problems(bundle) == []
    assert bundle["type"] == "collection"
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds.count("Claim") == 3 and kinds.count("Patient") == 3
    assert kinds.count("Coverage") == 3 and kinds.count("Organization") == 1
    assert kinds.count("Practitioner") == 1 and kinds.count("Condition") == 6
    claims = {
        e["resource"]["identifier"][0]["value"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Claim"
    }
    complex_row = claims_month.row(claims_month.scenario.complex)
    claim = claims[f"CCM{complex_row.pk}"]
    assert claim["total"] == {"value": 222.0, "currency": "USD"}
    assert [i["productOrService"]["coding"][0]["code"] for i in claim["item"]] == [
        "99487",
        "99489",
    ]
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]] == [
        "E11.9",
        "I50.22",
    ]
    assert ClaimInterchange.objects.get().kind == "fhir"


def test_a_fhir_bundle_exported_and_imported_gives_the_same_patients_and_conditions(
    claims_month: ClaimsMonth, practice: Practice, billing_user: User, api_client_for: ApiClient
) -> None:
    bundle = export_fhir(api_client_for(billing_user), claims_month.month_text)
    content = json.dumps(bundle)
    # Into the same practice: everything is already there.
    same = patients_import(practice=practice, actor=None, content=content)
    assert (same.created, same.updated, same.unchanged, same.errors) == (0, 0, 3, [])
    # Into a new practice whose practitioner has the same NPI: the same patients and
    # conditions.
    elsewhere = PracticeFactory(slug="elsewhere")
    UserFactory(
        practice=elsewhere,
        role=Role.PRACTITIONER,
        npi=claims_month.scenario.complex.billing_practitioner.npi,
    )
    result = patients_import(practice=elsewhere, actor=None, content=content)
    assert (result.created, result.errors) == (3, [])
    exported = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert len(exported) == 3

    def patients(of: Practice) -> set[tuple[Any, ...]]:
        return set(
            Patient.objects.filter(
                practice=of, mrn__in=[p["identifier"][0]["value"] for p in exported]
            ).values_list(
                "mrn",
                "first_name",
                "last_name",
                "birth_date",
                "sex",
                "mbi",
                "address_line",
                "city",
                "state",
                "zip",
            )
        )

    def conditions(of: Practice) -> set[tuple[Any, ...]]:
        return set(
            ChronicCondition.objects.filter(
                patient__practice=of, patient__mrn__in=[p[0] for p in patients(of)]
            ).values_list("patient__mrn", "icd10", "onset", "resolved")
        )

    assert patients(elsewhere) == patients(practice)
    assert conditions(elsewhere) == conditions(practice) and len(conditions(practice)) == 6


def test_only_the_current_version_and_billable_rows_go_out(
    claims_month: ClaimsMonth, billing_user: User, api_client_for: ApiClient
) -> None:
    text = export_837p(api_client_for(billing_user), claims_month.month_text)
    blocked = WorklistRow.objects.get(patient=claims_month.scenario.blocked)
    assert f"CCM{blocked.pk}*" not in text


def test_a_large_month_is_split_into_transaction_sets(
    claims_month: ClaimsMonth,
    billing_user: User,
    api_client_for: ApiClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most CLAIMS_PER_TRANSACTION claims per ST/SE (the guide recommends 5,000): here
    two, so the month's three claims make two sets in one group."""
    monkeypatch.setattr("billing.claims.x12.CLAIMS_PER_TRANSACTION", 2)
    text = export_837p(api_client_for(billing_user), claims_month.month_text)
    assert pyx12_problems(text) == []
    sts = segments(text, "ST")
    assert len(sts) == 2 and len({st[2] for st in sts}) == 2
    assert segments(text, "GE")[0][1] == "2"
    assert len(segments(text, "CLM")) == 3
    assert [len(segments(part, "CLM")) for part in text.split("~\nST*")[1:]] == [2, 1]
