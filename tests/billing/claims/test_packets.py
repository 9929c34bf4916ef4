"""The audit packet (interface.md): per worklist row a PDF (WeasyPrint) and the same
content as JSON, every section present; opening it is audited; the month's packets as
a streamed ZIP, or built by a worker with progress for a large month; three users."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from pypdf import PdfReader
from rest_framework.test import APIClient

from billing.claims import archives
from billing.claims.archives import packet_archive_build
from billing.claims.models import PacketArchive
from billing.claims.packet import SECTIONS
from billing.models import WorklistRow
from ccm.models import AuditEvent, User
from tests.billing.claims.conftest import ClaimsMonth

pytestmark = pytest.mark.django_db

ApiClient = Callable[[User | None], APIClient]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_packet_json_holds_every_section_and_matches_the_worklist_row(
    claims_month: ClaimsMonth, billing_user: User, practitioner: User, api_client_for: ApiClient
) -> None:
    client = api_client_for(billing_user)
    row = claims_month.row(claims_month.scenario.complex)
    packet = client.get(f"/api/worklist/{row.pk}/packet/", {"format": "json"})
    assert packet.status_code == 200, packet.content
    content = packet.json()
    assert {key for key, _ in SECTIONS} <= set(content)
    worklist_row = client.get(f"/api/worklist/{row.pk}/").json()
    decision = content["decision"]
    for key in ("tier", "billable", "lines", "total_amount", "diagnoses", "findings", "status"):
        assert decision[key] == worklist_row[key], key
    assert decision["counted_minutes"] == worklist_row["counted_minutes"] == 95
    assert content["claim"]["version"] == worklist_row["version"]
    assert content["patient"]["mrn"] == worklist_row["mrn"]
    assert content["patient"]["mbi"] == claims_month.scenario.complex.mbi
    assert content["consents"][0]["covers_month"] is True
    assert all(content["consents"][0]["disclosures"].values())
    assert content["visits"]["initiating_visit"]["code"] == "99214"
    assert [c["icd10"] for c in content["chronic_conditions"]] == ["E11.9", "I50.22"]
    assert all(c["on_claim"] for c in content["chronic_conditions"])
    assert all("Chronic Condition Indicator" in c["why"] for c in content["chronic_conditions"])
    assert "AHRQ" in content["chronic_conditions_source"]
    assert content["care_plan"]["version"] == 1
    assert [e["duration_seconds"] for e in content["time_entries"]] == [1800, 1800, 2100]
    assert all(e["performer"] and e["logged_on"] for e in content["time_entries"])
    assert content["mdm"]["level"] == "moderate"
    assert content["mdm"]["practitioner"]["npi"] == practitioner.npi
    closed = AuditEvent.objects.get(action="billing_month.closed")
    assert content["close"]["audit_chain"] == {
        "event": closed.pk,
        "seq": closed.seq,
        "hash": closed.hash,
    }
    assert len(closed.hash) == 64
    event = AuditEvent.objects.filter(action="packet.open").latest("id")
    assert event.actor == billing_user and event.object_id == str(row.pk)
    assert event.after["format"] == "json"


def test_packet_pdf_shows_every_section(
    claims_month: ClaimsMonth, admin_user: User, api_client_for: ApiClient
) -> None:
    row = claims_month.row(claims_month.scenario.complex)
    response = api_client_for(admin_user).get(f"/api/worklist/{row.pk}/packet/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for number, (_, title) in enumerate(SECTIONS, start=1):
        assert f"{number}. {title}" in text, title
    patient = claims_month.scenario.complex
    for expected in (
        patient.mrn,
        patient.mbi,
        "99487",
        "99489",
        "$222.00",
        "E11.9",
        "Moderate medical",
    ):
        assert expected in text, expected
    assert AuditEvent.objects.filter(action="packet.open", after__format="pdf").count() == 1


def test_packet_three_users(
    claims_month: ClaimsMonth,
    billing_user: User,
    practitioner: User,
    front_desk: User,
    outsider: User,
    api_client_for: ApiClient,
) -> None:
    row = claims_month.row(claims_month.scenario.non_complex)
    url = f"/api/worklist/{row.pk}/packet/"
    assert api_client_for(billing_user).get(url, {"format": "json"}).status_code == 200
    assert api_client_for(practitioner).get(url).status_code == 403
    assert api_client_for(front_desk).get(url).status_code == 403
    assert api_client_for(outsider).get(url).status_code == 404
    assert api_client_for(outsider).get(url, {"format": "json"}).status_code == 404
    assert api_client_for(billing_user).get("/api/worklist/999999/packet/").status_code == 404


def zip_names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_month_zip_streams_every_billable_claim(
    claims_month: ClaimsMonth, billing_user: User, outsider: User, api_client_for: ApiClient
) -> None:
    url = f"/api/billing-months/{claims_month.month_text}/packets.zip"
    response = api_client_for(billing_user).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    names = zip_names(data)
    assert len(names) == 3 and all(name.endswith(".pdf") for name in names)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert "1. Patient and coverage" in pdf_text(archive.read(names[0]))
    assert AuditEvent.objects.filter(action="packet.open_month").count() == 1
    # Another practice has no billable claim that month: 404, never ours.
    assert api_client_for(outsider).get(url).status_code == 404
    assert (
        api_client_for(billing_user).get("/api/billing-months/2019-01/packets.zip").status_code
        == 404
    )


def test_a_large_month_is_built_by_a_worker_with_progress(
    claims_month: ClaimsMonth,
    billing_user: User,
    api_client_for: ApiClient,
    tmp_path: Any,
    monkeypatch: Any,
) -> None:
    """With the inline limit below the month's 3 claims, the first GET starts the
    archive (202 with its progress); the worker's build (run here as the task runs it)
    fills it; the next GET answers the ZIP."""
    monkeypatch.setattr(archives, "INLINE_PACKETS", 2)
    monkeypatch.setattr("billing.claims.api.INLINE_PACKETS", 2)
    url = f"/api/billing-months/{claims_month.month_text}/packets.zip"
    client = api_client_for(billing_user)
    with override_settings(CCM_PACKETS_DIR=str(tmp_path)):
        started = client.get(url)
        assert started.status_code == 202
        assert started.json()["status"] == "building" and started.json()["total"] == 3
        archive = PacketArchive.objects.get()
        assert client.get(url).status_code == 202  # still building: the same archive
        assert PacketArchive.objects.count() == 1
        packet_archive_build(archive_id=archive.pk)
        archive.refresh_from_db()
        assert (archive.status, archive.done, archive.total) == ("ready", 3, 3)
        done = client.get(url)
        assert done.status_code == 200
        assert len(zip_names(b"".join(done.streaming_content))) == 3  # type: ignore[attr-defined]
        # The file gone (a new machine, a cleaned folder): built again, never a 500.
        Path(archive.path).unlink()
        again = client.get(url)
        assert again.status_code == 202 and again.json()["status"] == "building"
    assert AuditEvent.objects.filter(action="packet.archive_start").count() == 2  # and again
    assert WorklistRow.objects.filter(billable=True).count() == 3
