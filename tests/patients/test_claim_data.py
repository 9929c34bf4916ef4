"""The patient's claim data (interface.md, "Claims out and audit"): sex, the MBI checked
by CMS's published format, address and coverage, through PATCH /api/patients/{id}/ and
the claim data page; audited; the three-user check."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from ccm.models import AuditEvent, User
from patients.mbi import mbi_problem, normalise_mbi, validate_mbi
from patients.models import MEDICARE_PART_B, Patient

pytestmark = pytest.mark.django_db

ApiClient = Callable[[User | None], APIClient]


@pytest.mark.parametrize(
    "value", ["1EG4-TE5-MK73", "1eg4te5mk73", "9AA0A00AA00", "1A00A00AA00", "5T99W99YY99"]
)
def test_mbis_in_cms_format_pass(value: str) -> None:
    validate_mbi(value)
    assert len(normalise_mbi(value)) == 11


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0EG4TE5MK73", "Position 1"),  # position 1 is 1-9
        ("1SG4TE5MK73", "never use S"),  # excluded letter
        ("1EG4TE5MK7", "11 characters"),
        ("1EG4TE5MK733", "11 characters"),
        ("1E64TE5MK7A", "Position 11"),  # position 11 numeric
        ("1EGATE5MK73", "Position 4"),  # position 4 numeric
        ("11G4TE5MK73", "Position 2"),  # position 2 alphabetic
        ("1EG4TE5M173", "Position 9"),  # position 9 alphabetic
        ("1EG4TE5MK7O", "never use"),
    ],
)
def test_mbis_out_of_format_name_the_position(value: str, why: str) -> None:
    problem = mbi_problem(normalise_mbi(value))
    assert problem is not None and why in problem
    with pytest.raises(ValidationError):
        validate_mbi(value)


CLAIM_DATA = {
    "sex": "F",
    "mbi": "1EG4-TE5-MK73",
    "address_line": "12 Elm Street",
    "city": "Albany",
    "state": "ny",
    "zip": "12207-1234",
}


def test_patch_sets_claim_data_stored_normalised_and_audited(
    patient: Patient, nurse: User, api_client_for: ApiClient
) -> None:
    response = api_client_for(nurse).patch(
        f"/api/patients/{patient.pk}/", CLAIM_DATA, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mbi"] == "1EG4TE5MK73" and body["state"] == "NY" and body["zip"] == "122071234"
    assert body["payer_name"] == MEDICARE_PART_B and body["member_id"] == ""
    patient.refresh_from_db()
    assert patient.subscriber_id == "1EG4TE5MK73" and patient.is_medicare_part_b
    event = AuditEvent.objects.filter(action="patient.update").latest("id")
    assert event.before["mbi"] == "" and event.after["mbi"] == "1EG4TE5MK73"
    assert event.after["sex"] == "F"


def test_bad_claim_data_is_a_400_naming_each_field(
    patient: Patient, nurse: User, api_client_for: ApiClient
) -> None:
    response = api_client_for(nurse).patch(
        f"/api/patients/{patient.pk}/",
        {"mbi": "1SG4TE5MK73", "state": "XX", "zip": "1234", "sex": "Q"},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"sex"}  # the serializer stops at the choice first
    response = api_client_for(nurse).patch(
        f"/api/patients/{patient.pk}/",
        {"mbi": "1SG4TE5MK73", "state": "XX", "zip": "1234"},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert "never use S" in errors["mbi"][0]
    assert "state" in errors and "zip" in errors
    patient.refresh_from_db()
    assert patient.mbi == ""


def test_coverage_other_than_medicare(
    patient: Patient, nurse: User, api_client_for: ApiClient
) -> None:
    response = api_client_for(nurse).patch(
        f"/api/patients/{patient.pk}/",
        {"payer_name": "Acme Health", "payer_id": "ACME1", "member_id": "XYZ123"},
        format="json",
    )
    assert response.status_code == 200
    patient.refresh_from_db()
    assert not patient.is_medicare_part_b and patient.subscriber_id == "XYZ123"
    api_client_for(nurse).patch(f"/api/patients/{patient.pk}/", {"payer_name": ""}, format="json")
    patient.refresh_from_db()
    assert patient.payer_name == MEDICARE_PART_B


def test_three_users_claim_data(
    patient: Patient,
    front_desk: User,
    billing_user: User,
    outsider: User,
    api_client_for: ApiClient,
) -> None:
    url = f"/api/patients/{patient.pk}/"
    # The owner: front desk registers patients and their insurance.
    assert api_client_for(front_desk).patch(url, CLAIM_DATA, format="json").status_code == 200
    # A colleague whose role may read but not change patients.
    assert api_client_for(billing_user).patch(url, {"sex": "M"}, format="json").status_code == 403
    assert api_client_for(billing_user).get(url).json()["sex"] == "F"
    # Another practice: 404, nothing changed.
    assert api_client_for(outsider).patch(url, {"sex": "M"}, format="json").status_code == 404
    patient.refresh_from_db()
    assert patient.sex == "F"


def test_claim_data_page_saves_and_shows_errors(
    client: Client, patient: Patient, front_desk: User, billing_user: User, outsider: User
) -> None:
    url = f"/patients/{patient.pk}/claim-data/"
    client.force_login(front_desk)
    assert client.get(url).status_code == 200
    bad = client.post(url, {**CLAIM_DATA, "mbi": "12345"})
    assert bad.status_code == 400 and b"11 characters" in bad.content
    good = client.post(url, CLAIM_DATA)
    assert good.status_code == 302
    patient.refresh_from_db()
    assert (patient.sex, patient.mbi, patient.zip) == ("F", "1EG4TE5MK73", "122071234")
    client.force_login(billing_user)  # billing staff fix what a claim lacks
    assert client.get(url).status_code == 200
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_claim_data_api_lets_billing_staff_fix_what_a_claim_lacks(
    patient: Patient,
    billing_user: User,
    front_desk: User,
    outsider: User,
    api_client_for: ApiClient,
) -> None:
    url = f"/api/patients/{patient.pk}/claim-data/"
    response = api_client_for(billing_user).patch(url, CLAIM_DATA, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["mbi"] == "1EG4TE5MK73" and "mrn" not in response.json()
    # Only claim fields: a name in the body is not a claim field and changes nothing.
    api_client_for(billing_user).patch(url, {"last_name": "Changed"}, format="json")
    patient.refresh_from_db()
    assert patient.last_name == "Doe" and patient.mbi == "1EG4TE5MK73"
    bad = api_client_for(billing_user).patch(url, {"mbi": "0000"}, format="json")
    assert bad.status_code == 400 and "mbi" in bad.json()
    assert api_client_for(front_desk).get(url).json()["sex"] == "F"
    assert api_client_for(outsider).patch(url, {"sex": "M"}, format="json").status_code == 404
    assert api_client_for(outsider).get(url).status_code == 404
    event = AuditEvent.objects.filter(action="patient.update", actor=billing_user).get()
    assert event.after["zip"] == "122071234"
