"""A closed month ready to go out as claims: the billing scenario's patients with their
claim data, and the practice as billing provider."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from billing.close import close_request, close_run_inline
from billing.models import WorklistRow
from ccm.models import BillingProvider, Practice, User
from ccm.services import billing_provider_save
from patients.models import Patient
from tests.billing.conftest import MonthScenario

GROUP_NPI = "1245319599"
PROVIDER = {
    "name": "Home Practice Family Medicine LLC",
    "npi": GROUP_NPI,
    "tax_id": "123456789",
    "address_line": "1 Main Street, Suite 200",
    "city": "Albany",
    "state": "NY",
    "zip": "122071234",
    "taxonomy": "207Q00000X",
    "phone": "5185550100",
    "payer_id": "13202",
}
MBIS = ["1EG4TE5MK73", "2AA0A00AA00", "3C99W99YY99", "4DD4TE5MK74"]


def give_claim_data(patient: Patient, number: int) -> Patient:
    patient.sex = "F" if number % 2 == 0 else "M"
    patient.mbi = MBIS[number % len(MBIS)]
    patient.address_line = f"{10 + number} Elm Street"
    patient.city = "Troy"
    patient.state = "NY"
    patient.zip = "12180"
    patient.save()
    return patient


@dataclass(frozen=True)
class ClaimsMonth:
    scenario: MonthScenario
    provider: BillingProvider

    @property
    def month_text(self) -> str:
        return f"{self.scenario.month:%Y-%m}"

    def row(self, patient: Patient) -> WorklistRow:
        return WorklistRow.objects.filter(patient=patient, month=self.scenario.month).latest(
            "version"
        )


def close(practice: Practice, scenario: MonthScenario) -> None:
    run, _ = close_request(practice=practice, month=scenario.month, actor=None)
    assert run is not None
    close_run_inline(run)


@pytest.fixture
def claims_month(
    practice: Practice, month_scenario: MonthScenario, admin_user: User
) -> ClaimsMonth:
    for number, patient in enumerate(
        (
            month_scenario.complex,
            month_scenario.non_complex,
            month_scenario.practitioner_only,
            month_scenario.blocked,
        )
    ):
        give_claim_data(patient, number)
    provider = billing_provider_save(practice=practice, actor=admin_user, **PROVIDER)
    close(practice, month_scenario)
    return ClaimsMonth(month_scenario, provider)
