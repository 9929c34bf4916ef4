"""The claims on the pages: the worklist's Download 837P / FHIR buttons, Packet links and
the flag of what a row lacks; the billing provider notice; the Packet link of a
patient's month; the month's packets page (inline, or a worker's progress)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from billing.claims import archives
from billing.claims.models import PacketArchive
from ccm.models import BillingProvider, Practice, User
from patients.models import Patient
from tests.billing.claims.conftest import ClaimsMonth

pytestmark = pytest.mark.django_db


def test_worklist_offers_exports_packets_and_flags_what_a_claim_lacks(
    client: Client, claims_month: ClaimsMonth, billing_user: User, practitioner: User
) -> None:
    scenario = claims_month.scenario
    Patient.objects.filter(pk=scenario.non_complex.pk).update(sex="", zip="")
    client.force_login(billing_user)
    page = client.get("/billing/worklist/", {"month": claims_month.month_text}).content.decode()
    for test_id in ("export-837p", "export-fhir", "packets-zip"):
        assert f'data-testid="{test_id}"' in page
    assert page.count('data-testid="packet-link"') == 4
    assert page.count('data-testid="claim-missing"') == 1
    assert "no patient&#x27;s sex, patient&#x27;s ZIP code" in page
    assert 'data-testid="provider-gaps"' not in page
    # A practitioner may read the worklist, but exports and packets are billing's.
    client.force_login(practitioner)
    page = client.get("/billing/worklist/", {"month": claims_month.month_text}).content.decode()
    assert 'data-testid="export-837p"' not in page and 'data-testid="packet-link"' not in page


def test_worklist_says_when_the_billing_provider_is_incomplete(
    client: Client, claims_month: ClaimsMonth, practice: Practice, billing_user: User
) -> None:
    BillingProvider.objects.filter(practice=practice).update(phone="", payer_id="")
    client.force_login(billing_user)
    page = client.get("/billing/worklist/", {"month": claims_month.month_text}).content.decode()
    assert 'data-testid="provider-gaps"' in page and "phone, Medicare payer id" in page


def test_patient_month_links_the_packet_for_billing_staff_only(
    client: Client, claims_month: ClaimsMonth, billing_user: User, nurse: User
) -> None:
    patient = claims_month.scenario.complex
    row = claims_month.row(patient)
    url = f"/patients/{patient.pk}/months/{claims_month.month_text}/"
    client.force_login(billing_user)
    page = client.get(url).content.decode()
    assert f'href="/api/worklist/{row.pk}/packet/"' in page
    client.force_login(nurse)
    assert 'data-testid="packet-link"' not in client.get(url).content.decode()


def test_month_packets_page(
    client: Client,
    claims_month: ClaimsMonth,
    billing_user: User,
    nurse: User,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = f"/billing/months/{claims_month.month_text}/packets/"
    client.force_login(billing_user)
    page = client.get(url).content.decode()
    assert "3 packets" in page and 'data-testid="packets-download"' in page
    monkeypatch.setattr("billing.claims.views.INLINE_PACKETS", 2)
    monkeypatch.setattr(archives, "INLINE_PACKETS", 2)
    dispatched: list[int] = []
    monkeypatch.setattr(
        "billing.claims.tasks.build_packet_archive.delay", lambda pk: dispatched.append(pk)
    )
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(url).content.decode()
    assert 'data-testid="packets-progress"' in page and "0 of 3 packets" in page
    archive = PacketArchive.objects.get()
    assert dispatched == [archive.pk]
    assert client.get("/billing/months/2020-01/packets/").status_code == 200
    assert client.get("/billing/months/nope/packets/").status_code == 404
    client.force_login(nurse)
    assert client.get(url).status_code == 403
