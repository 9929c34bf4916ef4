"""Who may see and do what: the product's least-privilege table (product.md, "each role
sees what its work needs"; HIPAA's minimum necessary), written once.

Every page and API view names the capability it needs (`roles_with` gives the roles for
`role_required` and a DRF view's `allowed_roles`); serializers and templates drop what a
caller may not see (`can`, `sight_of`). tests/security/test_least_privilege.py proves the
table on every route for every role.

In words:
- front desk registers patients and records visits and consents; it sees demographics,
  visits and consents, never conditions, care plans, minutes, notes or money;
- clinical staff (RN, LPN, MA, care manager) and practitioners see the clinical record
  and the care time, and log their own; they see codes and minutes, not dollars;
- a practitioner sees the money of the patients they bill (their billing practitioner),
  and no one else's;
- billing staff and the practice admin see revenue: every patient's money, the month
  dashboard, the worklist, the reports and the fee schedule; they work the claims;
- only the practice admin manages users, the practice's settings and bulk enrollment;
  billing staff and admins keep the billing provider's identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ccm.models import Role


class Capability(StrEnum):
    SEE_DEMOGRAPHICS = "see_demographics"  # patients' identity, visits and consents
    SEE_STAFF = "see_staff"  # the practice's users: names, roles, credentials
    REGISTER_PATIENTS = "register_patients"  # register a patient, correct their identity
    RECORD_COVERAGE = "record_coverage"  # sex, MBI, address, payer: what a claim needs
    ENROLL_PATIENTS = "enroll_patients"  # bulk enrollment from a CSV or the EHR's FHIR
    RECORD_VISITS = "record_visits"
    RECORD_CONSENTS = "record_consents"
    SEE_CLINICAL = "see_clinical"  # conditions, care plans, stays, services elsewhere
    WRITE_CLINICAL = "write_clinical"  # conditions, care plans, inpatient stays
    SIGN_CARE_PLAN = "sign_care_plan"
    ATTEST_CHRONIC = "attest_chronic"  # a condition expected to last 12 months or more
    RECORD_OTHER_SERVICES = "record_other_services"  # services billed elsewhere
    SEE_CARE_TIME = "see_care_time"  # minutes, time entries and their notes, progress
    LOG_TIME = "log_time"  # log one's own time; the call list
    ATTEST_MDM = "attest_mdm"
    SEE_OWN_PATIENTS_MONEY = "see_own_patients_money"  # of the patients one bills
    SEE_REVENUE = "see_revenue"  # all money: dashboard, worklist, reports, fees
    WORK_CLAIMS = "work_claims"  # close and reopen months, move claims, export
    EDIT_FEES = "edit_fees"
    EDIT_BILLING_PROVIDER = "edit_billing_provider"  # the practice's identity on claims
    MANAGE_USERS = "manage_users"
    EDIT_PRACTICE_SETTINGS = "edit_practice_settings"


C = Capability

_EVERYONE = {C.SEE_DEMOGRAPHICS, C.SEE_STAFF}
_CLINICAL_STAFF = _EVERYONE | {
    C.REGISTER_PATIENTS,
    C.RECORD_COVERAGE,
    C.RECORD_VISITS,
    C.RECORD_CONSENTS,
    C.SEE_CLINICAL,
    C.WRITE_CLINICAL,
    C.RECORD_OTHER_SERVICES,
    C.SEE_CARE_TIME,
    C.LOG_TIME,
}
_BILLING = _EVERYONE | {
    C.SEE_CLINICAL,
    C.RECORD_OTHER_SERVICES,
    C.SEE_CARE_TIME,
    C.SEE_REVENUE,
    C.WORK_CLAIMS,
    C.EDIT_FEES,
    C.EDIT_BILLING_PROVIDER,
    C.RECORD_COVERAGE,
}

#: The table: each role's capabilities. Change it here and nowhere else.
ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.RN: frozenset(_CLINICAL_STAFF),
    Role.LPN: frozenset(_CLINICAL_STAFF),
    Role.MA: frozenset(_CLINICAL_STAFF),
    Role.CARE_MANAGER: frozenset(_CLINICAL_STAFF),
    Role.PRACTITIONER: frozenset(
        _CLINICAL_STAFF
        | {C.SIGN_CARE_PLAN, C.ATTEST_CHRONIC, C.ATTEST_MDM, C.SEE_OWN_PATIENTS_MONEY}
    ),
    Role.BILLING: frozenset(_BILLING),
    Role.ADMIN: frozenset(
        _BILLING
        | _CLINICAL_STAFF - {C.LOG_TIME}
        | {C.MANAGE_USERS, C.EDIT_PRACTICE_SETTINGS, C.ENROLL_PATIENTS}
    ),
    Role.FRONT_DESK: frozenset(
        _EVERYONE | {C.REGISTER_PATIENTS, C.RECORD_COVERAGE, C.RECORD_VISITS, C.RECORD_CONSENTS}
    ),
}


def roles_with(*capabilities: Capability) -> frozenset[str]:
    """The roles that hold every one of `capabilities` (for `role_required` and a DRF
    view's `allowed_roles`)."""
    return frozenset(
        role
        for role, held in ROLE_CAPABILITIES.items()
        if all(capability in held for capability in capabilities)
    )


def role_can(role: str, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES.get(role, frozenset())


def can(user: Any, capability: Capability) -> bool:
    """Whether a signed-in user of a practice holds `capability` (anonymous: never)."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "practice_id", None) is None:
        return False
    return role_can(user.role, capability)


def capabilities_of(user: Any) -> frozenset[Capability]:
    if not getattr(user, "is_authenticated", False) or getattr(user, "practice_id", None) is None:
        return frozenset()
    return ROLE_CAPABILITIES.get(user.role, frozenset())


@dataclass(frozen=True)
class Sight:
    """What one caller may see of one patient (or, without a patient, of the practice)."""

    clinical: bool  # conditions, care plan, stays, services billed elsewhere
    care_time: bool  # minutes, entries and their notes
    money: bool  # amounts and fees

    def drop_unseen(
        self,
        data: dict[str, Any],
        *,
        money: Iterable[str] = (),
        clinical: Iterable[str] = (),
        care_time: Iterable[str] = (),
    ) -> dict[str, Any]:
        """`data` without the named keys the caller may not see (a serializer's answer)."""
        hidden = [
            *(money if not self.money else ()),
            *(clinical if not self.clinical else ()),
            *(care_time if not self.care_time else ()),
        ]
        for key in hidden:
            data.pop(key, None)
        return data


def sight_of(user: Any, patient: Any = None) -> Sight:
    """What `user` may see: of `patient` when given (a practitioner sees the money of the
    patients they bill), else of the practice as a whole."""
    held = capabilities_of(user)
    own_patient = (
        patient is not None
        and C.SEE_OWN_PATIENTS_MONEY in held
        and getattr(patient, "billing_practitioner_id", None) == user.pk
    )
    return Sight(
        clinical=C.SEE_CLINICAL in held,
        care_time=C.SEE_CARE_TIME in held,
        money=C.SEE_REVENUE in held or own_patient,
    )
