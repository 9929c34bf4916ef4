"""Claims in the browser: billing staff download the month's 837P from the worklist
(pyx12 validates the file), open a claim's audit packet as a PDF in Chromium (every
section is in its text) whose JSON matches the worklist row, and take the month's
packets as a ZIP."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from billing.claims.packet import SECTIONS
from ccm.models import User
from tests.billing.claims.conftest import ClaimsMonth
from tests.billing.claims.conftest import claims_month as claims_month
from tests.billing.claims.x12_validation import pyx12_problems
from tests.billing.conftest import month_scenario as month_scenario
from tests.e2e.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory's


def test_billing_exports_837p_and_opens_a_packet(
    page: Page, live_server: object, claims_month: ClaimsMonth, billing_user: User, tmp_path: Path
) -> None:
    base = str(live_server)
    sign_in(page, base, billing_user.username, PASSWORD)
    page.goto(f"{base}/billing/worklist/?month={claims_month.month_text}")
    expect(page.get_by_test_id("export-837p")).to_be_visible()
    expect(page.get_by_test_id("packet-link")).to_have_count(4)
    screenshot(page, "claims-worklist")

    with page.expect_download() as download_info:
        page.get_by_test_id("export-837p").click()
    x12 = Path(download_info.value.path()).read_text()
    assert x12.startswith("ISA*") and x12.count("CLM*") == 3
    assert pyx12_problems(x12) == []

    row = claims_month.row(claims_month.scenario.complex)
    link = page.locator(f'#row-{row.pk} [data-testid="packet-link"]')
    # The link opens the packet in a new tab, where Chromium's PDF viewer shows it
    # (artifacts/screenshots/claims-packet-pdf.png).
    with (
        page.context.expect_page() as tab_info,
        page.context.expect_event(
            "response", lambda response: "/packet/" in response.url
        ) as response_info,
    ):
        link.click()
    response = response_info.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    tab = tab_info.value
    assert tab.url == response.url
    tab.wait_for_timeout(1000)
    screenshot(tab, "claims-packet-pdf")
    # Its text, read from the same bytes with the same session.
    pdf = page.context.request.get(response.url).body()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for number, (_, title) in enumerate(SECTIONS, start=1):
        assert f"{number}. {title}" in text, title
    assert claims_month.scenario.complex.mrn in text and "99487" in text

    packet = page.context.request.get(f"{base}/api/worklist/{row.pk}/packet/?format=json")
    worklist_row = page.context.request.get(f"{base}/api/worklist/{row.pk}/")
    content, expected = json.loads(packet.body()), json.loads(worklist_row.body())
    for key in ("tier", "billable", "lines", "total_amount", "diagnoses", "findings", "status"):
        assert content["decision"][key] == expected[key], key

    page.goto(f"{base}/billing/worklist/?month={claims_month.month_text}")
    page.get_by_test_id("packets-zip").click()
    page.wait_for_url(f"**/billing/months/{claims_month.month_text}/packets/")
    expect(page.get_by_test_id("packets-status")).to_contain_text("3 packets")
    with page.expect_download() as zip_info:
        page.get_by_test_id("packets-download").click()
    names = zipfile.ZipFile(zip_info.value.path()).namelist()
    assert len(names) == 3
