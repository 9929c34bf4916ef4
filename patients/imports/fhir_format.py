"""A FHIR R4B Bundle of Patient, Condition and Encounter resources (what EHRs export; the
claims Bundle of billing.claims.fhir reads back the same way): each Patient becomes a
patient, each Condition coded in ICD-10-CM a chronic condition of its subject, each
Encounter coded in CPT or HCPCS a visit. Practitioner resources in the Bundle give the
NPIs that Patient.generalPractitioner (the billing practitioner) and
Encounter.participant point at; Coverage gives the payer and member id. Other resources
are ignored (and listed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from patients.imports.records import (
    ConditionRecord,
    PatientRecord,
    Problems,
    VisitRecord,
    Where,
    check_date,
    check_icd10,
    check_mbi,
    check_npi,
    check_sex,
)

MRN_TYPE = ("http://terminology.hl7.org/CodeSystem/v2-0203", "MR")
MBI_SYSTEM = "http://hl7.org/fhir/sid/us-mbi"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
HCPCS_SYSTEM = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
VISIT_SYSTEMS = frozenset({CPT_SYSTEM, HCPCS_SYSTEM, HCPCS_SYSTEM.replace("https:", "http:")})
INACTIVE = frozenset({"inactive", "resolved", "remission"})
#: Our field names -> the Bundle's, for the services' errors.
PATIENT_FIELDS = {
    "mrn": "Patient.identifier",
    "first_name": "Patient.name.given",
    "last_name": "Patient.name.family",
    "birth_date": "Patient.birthDate",
    "billing_practitioner": "Patient.generalPractitioner",
    "sex": "Patient.gender",
    "mbi": "Patient.identifier",
    "address_line": "Patient.address.line",
    "city": "Patient.address.city",
    "state": "Patient.address.state",
    "zip": "Patient.address.postalCode",
    "payer_name": "Coverage.payor",
    "payer_id": "Coverage.payor",
    "member_id": "Coverage.subscriberId",
}

Json = Mapping[str, Any]


def fhir_date(value: object) -> str:
    """A FHIR date or dateTime as YYYY-MM-DD text (a partial date: its first day)."""
    text = str(value or "").strip()[:10]
    if len(text) == 4:
        return f"{text}-01-01"
    if len(text) == 7:
        return f"{text}-01"
    return text


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: object) -> Json:
    return value if isinstance(value, Mapping) else {}


def _identifier(resource: Json, system: str) -> str:
    for identifier in _list(resource.get("identifier")):
        if _dict(identifier).get("system") == system:
            return str(_dict(identifier).get("value") or "").strip()
    return ""


def _mrn(resource: Json) -> str:
    for identifier in _list(resource.get("identifier")):
        codings = _list(_dict(_dict(identifier).get("type")).get("coding"))
        if any((_dict(c).get("system"), _dict(c).get("code")) == MRN_TYPE for c in codings):
            return str(_dict(identifier).get("value") or "").strip()
    return ""


def _code(concept: object, systems: frozenset[str] | None = None) -> str:
    """The first code of the concept in one of `systems` (None: any system)."""
    for coding in _list(_dict(concept).get("coding")):
        system_ok = systems is None or _dict(coding).get("system") in systems
        if system_ok and _dict(coding).get("code"):
            return str(_dict(coding)["code"]).strip()
    return ""


class _Bundle:
    """The Bundle's entries, with the references between them resolved."""

    def __init__(self, bundle: Json) -> None:
        self.entries: list[tuple[int, Json]] = []
        self.by_reference: dict[str, int] = {}
        for index, entry in enumerate(_list(bundle.get("entry"))):
            resource = _dict(_dict(entry).get("resource"))
            self.entries.append((index, resource))
            kind, key = resource.get("resourceType"), resource.get("id")
            if _dict(entry).get("fullUrl"):
                self.by_reference[str(_dict(entry)["fullUrl"])] = index
            if kind and key:
                self.by_reference[f"{kind}/{key}"] = index

    def resolve(self, reference: object) -> tuple[int, Json] | None:
        text = str(_dict(reference).get("reference") or "")
        index = self.by_reference.get(text)
        if index is None and "/" in text:  # an absolute URL ending in Type/id
            index = self.by_reference.get("/".join(text.rstrip("/").split("/")[-2:]))
        return (index, self.entries[index][1]) if index is not None else None

    def npi_of(self, reference: object) -> str:
        """The NPI of a reference to a Practitioner (in the Bundle, or by identifier)."""
        logical = _dict(_dict(reference).get("identifier"))
        if logical.get("system") == NPI_SYSTEM:
            return str(logical.get("value") or "").strip()
        found = self.resolve(reference)
        return _identifier(found[1], NPI_SYSTEM) if found else ""


def read_bundle(bundle: Json, *, today: dt.date) -> tuple[list[PatientRecord], Problems, list[str]]:
    """The Bundle's patients, the problems of each entry, and what it ignored."""
    problems, ignored = Problems(), []
    if bundle.get("resourceType") != "Bundle":
        problems.add(Where(entry=0), "resourceType", "The file is not a FHIR Bundle.")
        return [], problems, []
    parsed = _Bundle(bundle)
    patients: dict[int, PatientRecord] = {}
    seen_mrns: dict[str, int] = {}
    for index, resource in parsed.entries:
        if resource.get("resourceType") == "Patient":
            record = _patient(parsed, index, resource, problems, today)
            if record is None:
                continue
            if record.mrn in seen_mrns:
                problems.add(
                    Where(entry=index),
                    "Patient.identifier",
                    f"MRN {record.mrn} is also on entry {seen_mrns[record.mrn]}.",
                )
                continue
            seen_mrns[record.mrn] = index
            patients[index] = record
    for index, resource in parsed.entries:
        kind = resource.get("resourceType")
        where = Where(entry=index)
        if kind == "Patient" or kind == "Practitioner":
            continue
        if kind not in ("Condition", "Encounter", "Coverage"):
            ignored.append(f"entry {index}: {kind or 'no resourceType'}")
            continue
        subject = resource.get("beneficiary" if kind == "Coverage" else "subject")
        found = parsed.resolve(subject)
        if found is None or _dict(found[1]).get("resourceType") != "Patient":
            problems.add(where, f"{kind}.subject", "It names no Patient of this Bundle.")
            continue
        record = patients.get(found[0])
        if record is None:
            continue  # the patient's own entry has the problem
        if kind == "Condition":
            _condition(record, where, resource, problems, ignored, today)
        elif kind == "Encounter":
            _encounter(parsed, record, where, resource, problems, ignored, today)
        else:
            _coverage(record, resource)
    return list(patients.values()), problems, ignored


def _patient(
    bundle: _Bundle, index: int, resource: Json, problems: Problems, today: dt.date
) -> PatientRecord | None:
    where, before = Where(entry=index), len(problems)
    mrn = _mrn(resource)
    if not mrn:
        problems.add(where, "Patient.identifier", "No identifier of type MR (the MRN).")
    name = _dict(next(iter(_list(resource.get("name"))), {}))
    last_name = str(name.get("family") or "").strip()
    first_name = " ".join(str(part).strip() for part in _list(name.get("given"))).strip()
    if not last_name:
        problems.add(where, "Patient.name.family", "Required.")
    if not first_name:
        problems.add(where, "Patient.name.given", "Required.")
    birth_date = check_date(
        problems,
        where,
        "Patient.birthDate",
        fhir_date(resource.get("birthDate")),
        today=today,
        required=True,
    )
    npis = [bundle.npi_of(ref) for ref in _list(resource.get("generalPractitioner"))]
    npi = check_npi(
        problems, where, "Patient.generalPractitioner", next((n for n in npis if n), "")
    )
    address = _dict(next(iter(_list(resource.get("address"))), {}))
    claim_data = {
        "sex": check_sex(problems, where, "Patient.gender", str(resource.get("gender") or "")),
        "mbi": check_mbi(problems, where, "Patient.identifier", _identifier(resource, MBI_SYSTEM)),
        "address_line": " ".join(str(line) for line in _list(address.get("line"))).strip(),
        "city": str(address.get("city") or ""),
        "state": str(address.get("state") or ""),
        "zip": str(address.get("postalCode") or ""),
    }
    if len(problems) > before or birth_date is None:
        return None
    return PatientRecord(
        where=where,
        mrn=mrn,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        billing_practitioner_npi=npi,
        claim_data=claim_data,
        fields=PATIENT_FIELDS,
    )


def _condition(
    record: PatientRecord,
    where: Where,
    resource: Json,
    problems: Problems,
    ignored: list[str],
    today: dt.date,
) -> None:
    verification = _code(resource.get("verificationStatus"))
    if verification in ("entered-in-error", "refuted"):
        ignored.append(f"entry {where.entry}: Condition {verification}")
        return
    code = _code(resource.get("code"), frozenset({ICD10CM_SYSTEM}))
    if not code:
        problems.add(where, "Condition.code", "No ICD-10-CM coding (system icd-10-cm).")
        return
    icd10 = check_icd10(problems, where, "Condition.code", code)
    onset_text = fhir_date(
        resource.get("onsetDateTime")
        or _dict(resource.get("onsetPeriod")).get("start")
        or resource.get("recordedDate")
    )
    onset = check_date(
        problems, where, "Condition.onsetDateTime", onset_text, today=today, required=False
    )
    resolved = check_date(
        problems,
        where,
        "Condition.abatementDateTime",
        fhir_date(resource.get("abatementDateTime")),
        today=today,
        required=False,
    )
    status = _code(resource.get("clinicalStatus"))
    if status in INACTIVE and resolved is None:
        ignored.append(f"entry {where.entry}: Condition {status} with no abatementDateTime")
        return
    if icd10 and onset and resolved and resolved < onset:
        problems.add(where, "Condition.abatementDateTime", "It is before the onset.")
    elif icd10 and icd10 not in {c.icd10 for c in record.conditions}:
        record.conditions.append(ConditionRecord(icd10, onset, resolved, where, "Condition.code"))


def _encounter(
    bundle: _Bundle,
    record: PatientRecord,
    where: Where,
    resource: Json,
    problems: Problems,
    ignored: list[str],
    today: dt.date,
) -> None:
    if resource.get("status") in ("cancelled", "entered-in-error"):
        ignored.append(f"entry {where.entry}: Encounter {resource.get('status')}")
        return
    codes = [_code(concept, VISIT_SYSTEMS) for concept in _list(resource.get("type"))]
    code = next((found for found in codes if found), "")
    if not code:
        ignored.append(f"entry {where.entry}: Encounter with no CPT or HCPCS code")
        return
    day = check_date(
        problems,
        where,
        "Encounter.period.start",
        fhir_date(_dict(resource.get("period")).get("start")),
        today=today,
        required=True,
    )
    npis = [bundle.npi_of(_dict(p).get("individual")) for p in _list(resource.get("participant"))]
    if day is not None:
        record.visits.append(VisitRecord(day, code, next((n for n in npis if n), ""), where))


def _coverage(record: PatientRecord, resource: Json) -> None:
    payor = _dict(next(iter(_list(resource.get("payor"))), {}))
    if payor.get("display"):
        record.claim_data["payer_name"] = str(payor["display"])
    payer_id = str(_dict(payor.get("identifier")).get("value") or "")
    if payer_id:
        record.claim_data["payer_id"] = payer_id
    member = str(resource.get("subscriberId") or "").strip()
    if member and member != record.claim_data.get("mbi"):
        record.claim_data["member_id"] = member
