"""The demo's claims: seed_demo gives the practice a billing provider and every patient
the claim data an 837P needs, so the demo's closed month exports as an 837P that pyx12
validates and as FHIR that fhir.resources validates; seeding again changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from billing.claims.readiness import row_missing
from billing.close import close_request, close_run_inline
from billing.models import WorklistRow
from ccm.models import BillingProvider, Practice, User, billing_provider_missing
from patients.models import Patient
from tests.billing.claims.fhir_validation import fhir_problems
from tests.billing.claims.x12_validation import pyx12_problems

pytestmark = pytest.mark.django_db


def test_the_demo_month_exports_as_valid_claims() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    practice = Practice.objects.get(slug="demo")
    provider = BillingProvider.objects.get(practice=practice)
    assert billing_provider_missing(provider) == []
    snapshot = list(Patient.objects.order_by("pk").values_list("mbi", "sex", "zip", "updated_at"))
    call_command("seed_demo", stdout=io.StringIO())
    assert (
        list(Patient.objects.order_by("pk").values_list("mbi", "sex", "zip", "updated_at"))
        == snapshot
    )
    assert len({mbi for mbi, *_ in snapshot}) == len(snapshot)

    # The demo's entries are in the current month: close it as the close job does.
    month = timezone.localdate().replace(day=1)
    run, _ = close_request(practice=practice, month=month, actor=None)
    assert run is not None
    close_run_inline(run)
    billable = WorklistRow.objects.filter(practice=practice, billable=True).select_related(
        "patient", "billing_practitioner"
    )
    assert billable.count() >= 3 and all(row_missing(row) == [] for row in billable)

    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {User.objects.get(username='billing').auth_token.key}"
    )
    x12 = client.get("/api/worklist/export/837p/", {"month": f"{month:%Y-%m}"})
    assert x12.status_code == 200, x12.content
    text = b"".join(x12.streaming_content).decode()  # type: ignore[attr-defined]
    assert text.count("CLM*") == billable.count()
    assert pyx12_problems(text) == []
    fhir = client.get("/api/worklist/export/fhir/", {"month": f"{month:%Y-%m}"})
    bundle = json.loads(b"".join(fhir.streaming_content))  # type: ignore[attr-defined]
    assert fhir_problems(bundle) == []
