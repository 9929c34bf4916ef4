"""The practice as billing provider (interface.md): GET/PUT /api/practice/billing-provider/
for billing staff and the admin, validated field by field, audited; and its page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from ccm.models import AuditEvent, BillingProvider, Practice, User

pytestmark = pytest.mark.django_db

ApiClient = Callable[[User | None], APIClient]
URL = "/api/practice/billing-provider/"
PROVIDER: dict[str, Any] = {
    "name": "Home Practice LLC",
    "npi": "1234567893",
    "tax_id": "12-3456789",
    "address_line": "1 Main St",
    "city": "Albany",
    "state": "NY",
    "zip": "12207-1234",
    "taxonomy": "207Q00000X",
}


def test_get_before_any_is_blank_and_says_what_is_missing(
    billing_user: User, api_client_for: ApiClient
) -> None:
    body = api_client_for(billing_user).get(URL).json()
    assert body["name"] == "" and body["place_of_service"] == "11"
    assert "NPI" in body["missing"] and "tax id" in body["missing"]


def test_put_sets_defaults_normalises_and_audits(
    admin_user: User, practice: Practice, api_client_for: ApiClient
) -> None:
    response = api_client_for(admin_user).put(
        URL, {**PROVIDER, "phone": "(518) 555-0100", "payer_id": "13202"}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tax_id"] == "123456789" and body["zip"] == "122071234"
    assert body["place_of_service"] == "11" and body["usage"] == "P"
    assert body["missing"] == []
    provider = BillingProvider.objects.get(practice=practice)
    assert provider.phone == "5185550100"
    event = AuditEvent.objects.get(action="billing_provider.save")
    assert event.before is None and event.after["npi"] == "1234567893"
    # A PUT without the optional fields keeps them; an unchanged PUT writes no event.
    again = api_client_for(admin_user).put(URL, {**PROVIDER, "tax_id": "123456789"}, format="json")
    assert again.json()["phone"] == "5185550100"
    assert AuditEvent.objects.filter(action="billing_provider.save").count() == 1


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("npi", "1234567890", "check digit"),
        ("tax_id", "1234", "9 digits"),
        ("zip", "12207", "ZIP+4"),
        ("state", "QQ", "state"),
        ("taxonomy", "207Q0000", "10 characters"),
    ],
)
def test_bad_fields_are_400s_naming_them(
    field: str, value: str, words: str, billing_user: User, api_client_for: ApiClient
) -> None:
    response = api_client_for(billing_user).put(URL, {**PROVIDER, field: value}, format="json")
    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert not BillingProvider.objects.exists()


def test_missing_required_field_is_a_400(billing_user: User, api_client_for: ApiClient) -> None:
    body = {key: value for key, value in PROVIDER.items() if key != "npi"}
    response = api_client_for(billing_user).put(URL, body, format="json")
    assert response.status_code == 400 and "npi" in response.json()


def test_three_users(
    billing_user: User, nurse: User, outsider: User, practice: Practice, api_client_for: ApiClient
) -> None:
    assert api_client_for(billing_user).put(URL, PROVIDER, format="json").status_code == 200
    # A colleague of another role: no access (no money, no claims).
    assert api_client_for(nurse).get(URL).status_code == 403
    assert api_client_for(nurse).put(URL, PROVIDER, format="json").status_code == 403
    # Another practice sees and writes its own (blank) provider, never ours.
    theirs = api_client_for(outsider).get(URL).json()
    assert theirs["name"] == ""
    api_client_for(outsider).put(URL, {**PROVIDER, "name": "Theirs"}, format="json")
    assert BillingProvider.objects.get(practice=practice).name == PROVIDER["name"]


def test_page_saves_and_shows_errors(client: Client, admin_user: User, nurse: User) -> None:
    client.force_login(admin_user)
    page = client.get("/practice/billing-provider/")
    assert page.status_code == 200 and b"Claims cannot be exported" in page.content
    form = {**PROVIDER, "place_of_service": "11", "usage": "P"}
    bad = client.post("/practice/billing-provider/", {**form, "zip": "12207"})
    assert bad.status_code == 400 and b"ZIP+4" in bad.content
    assert client.post("/practice/billing-provider/", form).status_code == 302
    assert BillingProvider.objects.get().zip == "122071234"
    client.force_login(nurse)
    assert client.get("/practice/billing-provider/").status_code == 403
