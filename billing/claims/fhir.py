"""The month's claims as a FHIR R4B Bundle (type collection): a Claim per billable
patient-month with the resources it references: the billing provider (Organization),
the billing practitioner (Practitioner, the claim's care team), the patient (Patient)
and their coverage (Coverage), plus the patient's chronic conditions active in the month
(Condition, the evidence behind the claim's diagnoses). The Patient, Condition and
Practitioner resources are those bulk enrollment reads back (patients.imports).

Streamed: the Bundle's head and the shared resources first, then the claims of a chunk
in pieces of CLAIMS_PER_PIECE, never the whole Bundle in memory. The shared resources
are plain dicts written with json.dumps; a claim's resources are written as text, their
constant parts serialised once and each variable string escaped as json.dumps escapes
it, so the bytes are those json.dumps gives for the same dicts (a test compares them);
the tests validate each resource against fhir.resources' R4B models."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import connection

from billing.claims.claims import Claim, ClaimLineData, ClaimPatient
from billing.claims.models import ClaimInterchange, InterchangeClaim
from billing.claims.x12 import person_name
from ccm.lookups import bigint_array
from ccm.models import BillingProvider, User
from ccm.periods import month_end
from patients.imports.fhir_format import (
    CPT_SYSTEM,
    ICD10CM_SYSTEM,
    MBI_SYSTEM,
    MRN_TYPE,
    NPI_SYSTEM,
)
from patients.models import ChronicCondition

EIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
CLAIM_ID_SYSTEM = "urn:ccm:claim"
INTERCHANGE_SYSTEM = "urn:ccm:interchange"
POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
GENDERS = {"F": "female", "M": "male", "U": "unknown"}
CLAIMS_PER_PIECE = 200
_NAMESPACE = uuid.UUID("6f0f3c9e-7a52-4c8e-9a55-1c0b5d8f2e11")

_NAMESPACE_BYTES = _NAMESPACE.bytes

Resource = dict[str, Any]


@lru_cache(maxsize=4096)
def full_url(kind: str, key: object) -> str:
    """A stable urn:uuid for one of our objects (the same object, the same URL): the
    uuid5 of `kind/key` in our namespace (RFC 4122, section 4.3), written from the SHA-1
    digest without a UUID object; a claim names its patient several times, so the last
    few thousand are kept."""
    return _uuid5_url(f"{kind}/{key}")


def _uuid5_url(name: str) -> str:
    """full_url() without the cache, for what is named once (a Claim, a Condition, a
    Coverage: 6 of a claim's 7 URLs missed the cache, 0.4 s of 91,014 claims)."""
    h = hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).hexdigest()
    # version 5 in the 13th digit, the RFC 4122 variant (10xx) in the 17th
    return f"urn:uuid:{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _reference(kind: str, key: object) -> str:
    """_ref() as JSON text."""
    return f'{{"reference":"{full_url(kind, key)}"}}'


def _ref(kind: str, key: object) -> dict[str, str]:
    return {"reference": full_url(kind, key)}


def _json(value: object) -> str:
    """JSON as the Bundle writes it: compact, ASCII (json.dumps' default escapes)."""
    return json.dumps(value, separators=(",", ":"))


#: json.dumps of one string (quoted, escaped as the whole file is: ASCII).
_string: Callable[[str], str] = json.encoder.encode_basestring_ascii


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


_MRN_TYPE = _json({"coding": [{"system": MRN_TYPE[0], "code": MRN_TYPE[1]}]})
_MBI_SYSTEM = _string(MBI_SYSTEM)
_CLAIM_ID_SYSTEM = _string(CLAIM_ID_SYSTEM)
_SELF = _json(_coding("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self"))
_ACTIVE, _RESOLVED = (
    _json(_coding("http://terminology.hl7.org/CodeSystem/condition-clinical", status))
    for status in ("active", "resolved")
)
_CONFIRMED = _json(
    _coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed")
)
_PROBLEM_LIST_ITEM = _json(
    _coding("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")
)
_PROFESSIONAL = _json(_coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional"))
_NORMAL = _json(_coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal"))
_PRIMARY = _json(_coding("http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary"))
_PRIOR = _json(_coding("http://terminology.hl7.org/CodeSystem/related-claim-relationship", "prior"))


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


def _address_text(line: str, city: str, state: str, postal_code: str) -> str:
    """_address() as JSON text."""
    parts = []
    if line:
        parts.append(f'"line":[{_string(line)}]')
    for key, value in (("city", city), ("state", state), ("postalCode", postal_code)):
        if value:
            parts.append(f'"{key}":{_string(value)}')
    return "{" + ",".join(parts) + "}"


def patient_entry(patient: ClaimPatient, patient_url: str) -> str:
    """The claim's Patient (MRN, MBI, name, birth date, general practitioner, gender and
    address as bulk enrollment reads them back), as a Bundle entry's JSON text;
    `patient_url` is its full_url()."""
    mbi = f',{{"system":{_MBI_SYSTEM},"value":{_string(patient.mbi)}}}' if patient.mbi else ""
    given = ",".join(_string(word) for word in patient.first_name.split())
    text = (
        f'{{"fullUrl":"{patient_url}","resource":{{'
        f'"resourceType":"Patient","id":"pt-{patient.id}","identifier":[{{"type":{_MRN_TYPE},'
        f'"system":"urn:ccm:mrn:{patient.practice_id}","value":{_string(patient.mrn)}}}{mbi}],'
        f'"active":{"true" if patient.is_active else "false"},'
        f'"name":[{{"family":{_string(patient.last_name)},"given":[{given}]}}],'
        f'"birthDate":"{patient.birth_date.isoformat()}",'
        f'"generalPractitioner":[{_reference("Practitioner", patient.billing_practitioner_id)}]'
    )
    if patient.sex:
        text += f',"gender":"{GENDERS[patient.sex]}"'
    if patient.address_line or patient.city:
        address = _address_text(patient.address_line, patient.city, patient.state, patient.zip)
        text += f',"address":[{address}]'
    return text + "}}"


@lru_cache(maxsize=1024)
def _payor_text(payer_name: str, payer_id: str) -> str:
    payor: dict[str, Any] = {"display": payer_name}
    if payer_id:  # else the practice's Medicare payer (the 837P names it)
        payor["identifier"] = {"value": payer_id}
    return _json(payor)


def coverage_entry(patient: ClaimPatient, patient_url: str, coverage_url: str) -> str:
    """The patient's Coverage (self, the payer, the subscriber id), as JSON text; the
    URLs are the patient's and the coverage's full_url()."""
    text = (
        f'{{"fullUrl":"{coverage_url}","resource":{{'
        f'"resourceType":"Coverage","id":"cov-{patient.id}","status":"active",'
        f'"beneficiary":{{"reference":"{patient_url}"}},"relationship":{_SELF},'
        f'"payor":[{_payor_text(patient.payer_name, patient.payer_id)}]'
    )
    if patient.subscriber_id:
        text += f',"subscriberId":{_string(patient.subscriber_id)}'
    return text + "}}"


#: A chronic condition as _month_conditions reads it: id, patient id, ICD-10-CM code,
#: description, onset, resolved (a plain tuple: 273,226 of them at full size).
MonthCondition = tuple[int, int, str, str, dt.date, dt.date | None]
_CONDITION_FIELDS = ("id", "patient_id", "icd10", "description", "onset", "resolved")


@lru_cache(maxsize=4096)
def _condition_code(icd10: str, description: str) -> str:
    return _json(_coding(ICD10CM_SYSTEM, icd10, description))


#: A Condition after its id and before its code: its status and category (constant).
_CONDITION_STATUS = {
    resolved: f'"clinicalStatus":{status},"verificationStatus":{_CONFIRMED},'
    f'"category":[{_PROBLEM_LIST_ITEM}],"code":'
    for resolved, status in ((False, _ACTIVE), (True, _RESOLVED))
}


def condition_entry(item: MonthCondition) -> str:
    """A chronic condition of the claim's patient active in its month (the evidence
    behind its diagnoses), as JSON text."""
    pk, patient_id, icd10, description, onset, resolved = item
    text = (
        f'{{"fullUrl":"{_uuid5_url(f"Condition/{pk}")}","resource":{{'
        f'"resourceType":"Condition","id":"cond-{pk}",'
        f"{_CONDITION_STATUS[resolved is not None]}{_condition_code(icd10, description)},"
        f'"subject":{{"reference":"{full_url("Patient", patient_id)}"}},'
        f'"onsetDateTime":"{onset.isoformat()}"'
    )
    if resolved is not None:
        return f'{text},"abatementDateTime":"{resolved.isoformat()}"}}}}'
    return text + "}}"


@lru_cache(maxsize=1024)
def _money_text(amount: Decimal) -> str:
    return _json(_money(amount))


@lru_cache(maxsize=256)
def _billable_period(month: dt.date) -> str:
    return _json({"start": month.isoformat(), "end": month_end(month).isoformat()})


@lru_cache(maxsize=1024)
def _diagnosis_code(code: str) -> str:
    return _json(_coding(ICD10CM_SYSTEM, code))


@lru_cache(maxsize=4096)
def _diagnosis_text(diagnoses: tuple[str, ...]) -> tuple[str, str]:
    """The claim's diagnosis list (ICD-10-CM, in order) and its items' diagnosis
    pointers (up to four); combinations repeat over a month, codes more."""
    listed = ",".join(
        f'{{"sequence":{number},"diagnosisCodeableConcept":{_diagnosis_code(code)}}}'
        for number, code in enumerate(diagnoses, start=1)
    )
    pointers = ",".join(str(number) for number in range(1, min(len(diagnoses), 4) + 1))
    return f"[{listed}]", f',"diagnosisSequence":[{pointers}]' if pointers else ""


@lru_cache(maxsize=4096)
def _item_text(line: ClaimLineData, service_date: dt.date, place_of_service: str) -> str:
    """A claim item after its sequence and pointers: the code, date, place, units and
    amounts (a month repeats a few of each)."""
    rest = _json(
        {
            "productOrService": _coding(CPT_SYSTEM, line.code),
            "servicedDate": service_date.isoformat(),
            "locationCodeableConcept": _coding(POS_SYSTEM, place_of_service),
            "quantity": {"value": line.units},
            "unitPrice": _money(line.unit_amount),
            "net": _money(line.amount),
        }
    )
    return "," + rest[1:]


@lru_cache(maxsize=4096)
def _items_text(
    lines: tuple[ClaimLineData, ...], pointers: str, service_date: dt.date, place_of_service: str
) -> str:
    """A Claim's items and total: a month bills a few combinations of lines, diagnosis
    pointers and dates (written per claim, 0.7 s of 91,014 claims under cProfile)."""
    items = ",".join(
        f'{{"sequence":{number},"careTeamSequence":[1]{pointers}'
        f"{_item_text(line, service_date, place_of_service)}"
        for number, line in enumerate(lines, start=1)
    )
    total = sum((line.amount for line in lines), Decimal("0.00"))
    return f'"item":[{items}],"total":{_money_text(total)}'


def claim_entry(
    claim: Claim, provider: BillingProvider, created: str, patient_url: str, coverage_url: str
) -> str:
    """The Claim (professional, its billable period, care team, diagnoses, coverage,
    items and total; a correction names the claim it corrects), as JSON text; `created`
    is the interchange's date, ISO; the URLs its patient's and coverage's full_url()."""
    diagnoses, pointers = _diagnosis_text(claim.diagnoses)
    items = _items_text(claim.lines, pointers, claim.service_date, provider.place_of_service)
    status = "cancelled" if claim.frequency == InterchangeClaim.Frequency.VOID else "active"
    related = ""
    if claim.original_claim_id:
        related = (
            f',"related":[{{"claim":{{"identifier":{{"system":{_CLAIM_ID_SYSTEM},'
            f'"value":{_string(claim.original_claim_id)}}}}},"relationship":{_PRIOR}}}]'
        )
    return (
        f'{{"fullUrl":"{_uuid5_url(f"Claim/{claim.row_id}")}","resource":{{'
        f'"resourceType":"Claim","id":"claim-{claim.row_id}",'
        f'"identifier":[{{"system":{_CLAIM_ID_SYSTEM},"value":{_string(claim.claim_id)}}}],'
        f'"status":"{status}",{_CLAIM_KIND}"patient":{{"reference":"{patient_url}"}},'
        f'"billablePeriod":{_billable_period(claim.month)},'
        f"{_claim_origin(created, provider.practice_id)}"
        f'"provider":{{"reference":"{full_url("Practitioner", claim.practitioner.pk)}"}},'
        f'"role":{_PRIMARY}}}],"diagnosis":{diagnoses},"insurance":[{{"sequence":1,'
        f'"focal":true,"coverage":{{"reference":"{coverage_url}"}}}}],'
        f"{items}{related}}}}}"
    )


#: A Claim's type and use (constant).
_CLAIM_KIND = f'"type":{_PROFESSIONAL},"use":"claim",'


@lru_cache(maxsize=64)
def _claim_origin(created: str, practice_id: int) -> str:
    """A Claim's creation date, provider, priority and the head of its care team: the
    same for every claim of an interchange."""
    return (
        f'"created":"{created}","provider":{_reference("Organization", practice_id)},'
        f'"priority":{_NORMAL},"careTeam":[{{"sequence":1,'
    )


def _entry(resource: Resource, kind: str, key: object) -> str:
    return _json({"fullUrl": full_url(kind, key), "resource": resource})


#: The patients' ids go as one array literal (ccm.lookups.bigint_array: thousands of
#: placeholders, or a list adapted element by element, cost more than the query).
_MONTH_CONDITIONS_SQL = (
    f"SELECT {', '.join(_CONDITION_FIELDS)}"  # noqa: S608 (our table)
    f" FROM {ChronicCondition._meta.db_table}"
    " WHERE patient_id = ANY(%s::bigint[]) AND onset <= %s AND (resolved IS NULL OR resolved >= %s)"
    " ORDER BY id"
)


def _month_conditions(claims: list[Claim]) -> dict[int, list[str]]:
    """The chronic conditions of each claim's patient active in the claim's month (one
    query for the chunk, narrow rows), as their entries' JSON text."""
    if not claims:
        return {}
    month = claims[0].month
    found: dict[int, list[str]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            _MONTH_CONDITIONS_SQL,
            [bigint_array(claim.patient.id for claim in claims), month_end(month), month],
        )
        items: list[MonthCondition] = cursor.fetchall()
    for item in items:
        found[item[1]].append(condition_entry(item))
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
    created = interchange.created_at.date().isoformat()
    practitioners = User.objects.filter(
        pk__in=InterchangeClaim.objects.filter(interchange=interchange).values(
            "row__billing_practitioner_id"
        )
    ).order_by("pk")
    shared = [_entry(organization(provider), "Organization", provider.practice_id)]
    shared += [_entry(practitioner(user), "Practitioner", user.pk) for user in practitioners]
    yield _json(head)[:-1] + ',"entry":[' + ",".join(shared)
    for chunk in claim_chunks:
        conditions = _month_conditions(chunk)
        # A piece per CLAIMS_PER_PIECE claims: a claim's resources weigh about 5 KB, so a
        # chunk's (2,000) in one string would be the worker's largest allocation.
        for start in range(0, len(chunk), CLAIMS_PER_PIECE):
            entries = [""]  # the piece's leading comma, without copying the piece again
            for claim in chunk[start : start + CLAIMS_PER_PIECE]:
                patient = claim.patient
                patient_url = full_url("Patient", patient.id)
                coverage_url = _uuid5_url(f"Coverage/{patient.id}")
                entries.append(patient_entry(patient, patient_url))
                entries.append(coverage_entry(patient, patient_url, coverage_url))
                entries += conditions[patient.id]
                entries.append(claim_entry(claim, provider, created, patient_url, coverage_url))
            yield ",".join(entries)
    yield "]}"
