# A frozen copy of billing/claims/fhir.py as it was before the narrow-row, text-template
# writers (branch perf2-claims): the reference test_writers_identical.py compares the new
# writers' files with, byte for byte. Not used by the app.
"""The month's claims as a FHIR R4B Bundle (type collection): a Claim per billable
patient-month with the resources it references: the billing provider (Organization),
the billing practitioner (Practitioner, the claim's care team), the patient (Patient)
and their coverage (Coverage), plus the patient's chronic conditions active in the month
(Condition, the evidence behind the claim's diagnoses). The Patient, Condition and
Practitioner resources are those bulk enrollment reads back (patients.imports).

Streamed: the Bundle's head and the shared resources first, then the claims of a chunk
in pieces of CLAIMS_PER_PIECE, never the whole Bundle in memory. Every resource is a
plain dict written with json.dumps; the tests validate each against fhir.resources' R4B
models."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db.models import Q

from billing.claims.models import ClaimInterchange, InterchangeClaim
from ccm.models import BillingProvider, User
from ccm.periods import month_end
from patients.imports.fhir_format import (
    CPT_SYSTEM,
    ICD10CM_SYSTEM,
    MBI_SYSTEM,
    MRN_TYPE,
    NPI_SYSTEM,
)
from patients.models import ChronicCondition, Patient
from tests.billing.claims.reference.claims_before import Claim
from tests.billing.claims.reference.x12_before import person_name

EIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
CLAIM_ID_SYSTEM = "urn:ccm:claim"
INTERCHANGE_SYSTEM = "urn:ccm:interchange"
POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
GENDERS = {"F": "female", "M": "male", "U": "unknown"}
CLAIMS_PER_PIECE = 200
_NAMESPACE = uuid.UUID("6f0f3c9e-7a52-4c8e-9a55-1c0b5d8f2e11")

Resource = dict[str, Any]


@lru_cache(maxsize=4096)
def full_url(kind: str, key: object) -> str:
    """A stable urn:uuid for one of our objects (the same object, the same URL); a claim
    names its patient several times, so the last few thousand are kept."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"


def _ref(kind: str, key: object) -> dict[str, str]:
    return {"reference": full_url(kind, key)}


def _money(amount: Decimal) -> dict[str, Any]:
    return {"value": float(amount), "currency": "USD"}


def _coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _address(line: str, city: str, state: str, postal_code: str) -> dict[str, Any]:
    address: dict[str, Any] = {}
    if line:
        address["line"] = [line]
    for key, value in (("city", city), ("state", state), ("postalCode", postal_code)):
        if value:
            address[key] = value
    return address


def organization(provider: BillingProvider) -> Resource:
    return {
        "resourceType": "Organization",
        "id": f"org-{provider.practice_id}",
        "identifier": [
            {"system": NPI_SYSTEM, "value": provider.npi},
            {"system": EIN_SYSTEM, "value": provider.tax_id},
        ],
        "active": True,
        "name": provider.name,
        "telecom": [{"system": "phone", "value": provider.phone}] if provider.phone else [],
        "address": [
            {
                **_address(provider.address_line, provider.city, provider.state, provider.zip),
                "use": "work",
            }
        ],
    }


def practitioner(user: User) -> Resource:
    last, first = person_name(user)
    name: dict[str, Any] = {"family": last, "text": user.display_name}
    if first:
        name["given"] = first.split()
    resource: Resource = {"resourceType": "Practitioner", "id": f"pr-{user.pk}", "name": [name]}
    if user.npi:
        resource["identifier"] = [{"system": NPI_SYSTEM, "value": user.npi}]
    return resource


def patient_resource(patient: Patient) -> Resource:
    identifiers: list[dict[str, Any]] = [
        {
            "type": {"coding": [{"system": MRN_TYPE[0], "code": MRN_TYPE[1]}]},
            "system": f"urn:ccm:mrn:{patient.practice_id}",
            "value": patient.mrn,
        }
    ]
    if patient.mbi:
        identifiers.append({"system": MBI_SYSTEM, "value": patient.mbi})
    resource: Resource = {
        "resourceType": "Patient",
        "id": f"pt-{patient.pk}",
        "identifier": identifiers,
        "active": patient.is_active,
        "name": [{"family": patient.last_name, "given": patient.first_name.split()}],
        "birthDate": patient.birth_date.isoformat(),
        "generalPractitioner": [_ref("Practitioner", patient.billing_practitioner_id)],
    }
    if patient.sex:
        resource["gender"] = GENDERS[patient.sex]
    if patient.address_line or patient.city:
        resource["address"] = [
            _address(patient.address_line, patient.city, patient.state, patient.zip)
        ]
    return resource


def coverage(patient: Patient) -> Resource:
    payor: dict[str, Any] = {"display": patient.payer_name}
    if patient.payer_id:  # else the practice's Medicare payer (the 837P names it)
        payor["identifier"] = {"value": patient.payer_id}
    resource: Resource = {
        "resourceType": "Coverage",
        "id": f"cov-{patient.pk}",
        "status": "active",
        "beneficiary": _ref("Patient", patient.pk),
        "relationship": _coding(
            "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"
        ),
        "payor": [payor],
    }
    if patient.subscriber_id:
        resource["subscriberId"] = patient.subscriber_id
    return resource


def condition(item: ChronicCondition) -> Resource:
    resource: Resource = {
        "resourceType": "Condition",
        "id": f"cond-{item.pk}",
        "clinicalStatus": _coding(
            "http://terminology.hl7.org/CodeSystem/condition-clinical",
            "resolved" if item.resolved else "active",
        ),
        "verificationStatus": _coding(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"
        ),
        "category": [
            _coding("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")
        ],
        "code": _coding(ICD10CM_SYSTEM, item.icd10, item.description),
        "subject": _ref("Patient", item.patient_id),
        "onsetDateTime": item.onset.isoformat(),
    }
    if item.resolved:
        resource["abatementDateTime"] = item.resolved.isoformat()
    return resource


def claim_resource(claim: Claim, provider: BillingProvider, created: dt.date) -> Resource:
    row = claim.row
    diagnoses = list(claim.diagnoses)
    pointers = list(range(1, min(len(diagnoses), 4) + 1))
    resource: Resource = {
        "resourceType": "Claim",
        "id": f"claim-{row.pk}",
        "identifier": [{"system": CLAIM_ID_SYSTEM, "value": claim.claim_id}],
        "status": "cancelled" if claim.frequency == InterchangeClaim.Frequency.VOID else "active",
        "type": _coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
        "use": "claim",
        "patient": _ref("Patient", row.patient_id),
        "billablePeriod": {"start": row.month.isoformat(), "end": month_end(row.month).isoformat()},
        "created": created.isoformat(),
        "provider": _ref("Organization", provider.practice_id),
        "priority": _coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "careTeam": [
            {
                "sequence": 1,
                "provider": _ref("Practitioner", row.billing_practitioner_id),
                "role": _coding(
                    "http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary"
                ),
            }
        ],
        "diagnosis": [
            {"sequence": number, "diagnosisCodeableConcept": _coding(ICD10CM_SYSTEM, code)}
            for number, code in enumerate(diagnoses, start=1)
        ],
        "insurance": [{"sequence": 1, "focal": True, "coverage": _ref("Coverage", row.patient_id)}],
        "item": [
            {
                "sequence": number,
                "careTeamSequence": [1],
                **({"diagnosisSequence": pointers} if pointers else {}),
                "productOrService": _coding(CPT_SYSTEM, line.code),
                "servicedDate": claim.service_date.isoformat(),
                "locationCodeableConcept": _coding(POS_SYSTEM, provider.place_of_service),
                "quantity": {"value": line.units},
                "unitPrice": _money(line.unit_amount),
                "net": _money(line.amount),
            }
            for number, line in enumerate(claim.lines, start=1)
        ],
        "total": _money(claim.total),
    }
    if claim.original_claim_id:
        resource["related"] = [
            {
                "claim": {
                    "identifier": {"system": CLAIM_ID_SYSTEM, "value": claim.original_claim_id}
                },
                "relationship": _coding(
                    "http://terminology.hl7.org/CodeSystem/related-claim-relationship", "prior"
                ),
            }
        ]
    return resource


def _entry(resource: Resource, kind: str, key: object) -> str:
    return json.dumps({"fullUrl": full_url(kind, key), "resource": resource}, separators=(",", ":"))


def _month_conditions(claims: list[Claim]) -> dict[int, list[ChronicCondition]]:
    """The chronic conditions of each claim's patient active in the claim's month (one
    query for the chunk)."""
    if not claims:
        return {}
    month = claims[0].row.month
    found: dict[int, list[ChronicCondition]] = defaultdict(list)
    for item in ChronicCondition.objects.filter(
        Q(resolved__isnull=True) | Q(resolved__gte=month),
        patient_id__in=[claim.row.patient_id for claim in claims],
        onset__lte=month_end(month),
    ).order_by("id"):
        found[item.patient_id].append(item)
    return found


def fhir_bundle(
    interchange: ClaimInterchange,
    provider: BillingProvider,
    claim_chunks: Iterable[list[Claim]],
) -> Iterator[str]:
    """The Bundle as JSON text, the shared resources then a chunk of claims per piece."""
    head = {
        "resourceType": "Bundle",
        "id": f"claims-{interchange.control_number}",
        "identifier": {"system": INTERCHANGE_SYSTEM, "value": interchange.control_number},
        "type": "collection",
        "timestamp": interchange.created_at.isoformat(),
    }
    created = interchange.created_at.date()
    practitioners = User.objects.filter(
        pk__in=InterchangeClaim.objects.filter(interchange=interchange).values(
            "row__billing_practitioner_id"
        )
    ).order_by("pk")
    shared = [_entry(organization(provider), "Organization", provider.practice_id)]
    shared += [_entry(practitioner(user), "Practitioner", user.pk) for user in practitioners]
    yield json.dumps(head, separators=(",", ":"))[:-1] + ',"entry":[' + ",".join(shared)
    for chunk in claim_chunks:
        conditions = _month_conditions(chunk)
        # A piece per CLAIMS_PER_PIECE claims: a claim's resources weigh about 5 KB, so a
        # chunk's (2,000) in one string would be the worker's largest allocation.
        for start in range(0, len(chunk), CLAIMS_PER_PIECE):
            entries = []
            for claim in chunk[start : start + CLAIMS_PER_PIECE]:
                patient = claim.row.patient
                entries.append(_entry(patient_resource(patient), "Patient", patient.pk))
                entries.append(_entry(coverage(patient), "Coverage", patient.pk))
                entries += [
                    _entry(condition(item), "Condition", item.pk) for item in conditions[patient.pk]
                ]
                entries.append(
                    _entry(claim_resource(claim, provider, created), "Claim", claim.row.pk)
                )
            yield "," + ",".join(entries)
    yield "]}"
