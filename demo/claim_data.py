"""Demo claim data: the demo practice as billing provider and every demo patient's sex,
MBI and address, so a new biller can export the demo's months as 837P and FHIR claims
that validate. Made up but well formed (CMS's MBI format, a valid NPI, ZIP+4). Running
it again changes nothing: only blank fields are filled."""

from __future__ import annotations

from django.db import transaction

from ccm.models import BillingProvider, Practice, User
from ccm.services import billing_provider_save
from patients.mbi import LETTERS
from patients.models import Patient
from patients.services import patient_update

DEMO_PROVIDER = {
    "name": "Demo Family Medicine",
    "npi": "1245319599",
    "tax_id": "123456789",
    "address_line": "100 Main Street",
    "city": "Albany",
    "state": "NY",
    "zip": "122071234",
    "taxonomy": "207Q00000X",
    "phone": "5185550100",
    "payer_id": "13202",
    "submitter_id": "DEMOSUBMIT",
}
STREETS = ("Elm Street", "Oak Avenue", "Maple Road", "Pine Lane", "Cedar Court")
DEMO_LETTERS = sorted(LETTERS)


def demo_mbi(number: int) -> str:
    """An MBI of CMS's format, different for each number (positions: C A AN N A AN N A A
    N N)."""
    letter = DEMO_LETTERS
    return "".join(
        (
            str(1 + number % 9),
            letter[number % len(letter)],
            letter[(number // 3) % len(letter)],
            str(number % 10),
            letter[(number // 7) % len(letter)],
            str((number // 10) % 10),
            str((number // 100) % 10),
            letter[(number // 11) % len(letter)],
            letter[(number // 13) % len(letter)],
            str((number // 1000) % 10),
            str(number % 7),
        )
    )


@transaction.atomic
def seed_demo_claim_data(practice: Practice) -> BillingProvider:
    """The billing provider (when the practice has none) and the claim data of every
    patient of the practice that lacks it."""
    admin = User.objects.filter(practice=practice, username="admin").first()
    provider = BillingProvider.objects.filter(practice=practice).first()
    if provider is None:
        provider = billing_provider_save(practice=practice, actor=admin, **DEMO_PROVIDER)
    for number, patient in enumerate(Patient.objects.filter(practice=practice).order_by("mrn")):
        wanted = {
            "sex": "F" if number % 2 == 0 else "M",
            "mbi": demo_mbi(number + 1),
            "address_line": f"{10 + number} {STREETS[number % len(STREETS)]}",
            "city": "Troy",
            "state": "NY",
            "zip": "12180",
        }
        blank = {field: value for field, value in wanted.items() if not getattr(patient, field)}
        if blank:
            patient_update(patient=patient, actor=admin, **blank)
    return provider
