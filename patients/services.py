"""Writes of the patients app: every change to a patient fact that the billing engine reads
(billing-rules.md sections 2 and 4), validated, period-locked and audited.

Conventions: keyword-only arguments, one transaction per call, field errors as Django
ValidationErrors keyed by the input's field name (the API turns them into 400s), a change
to a fact dated in a closing or closed billing month raises PeriodClosed (409), and every
write appends an audit event with before/after snapshots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from ccm.audit import audit_record, audited_delete, snapshot
from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with
from ccm.locks import lock_for_change
from ccm.models import Practice, Role, User
from ccm.npi import validate_npi
from ccm.periods import ensure_month_open, month_start
from ccm.us_address import normalise_zip
from patients.icd10 import icd10_lookup
from patients.mbi import normalise_mbi
from patients.models import (
    MEDICARE_PART_B,
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)
from patients.service_codes import KNOWN_OTHER_SERVICE_CODES, unknown_code_message
from patients.visit_codes import VISIT_CODES, normalise_visit_code

# Who may do what (the API's `allowed_roles` and the pages' `role_required` use these),
# from the least-privilege table of ccm.capabilities.
PATIENT_READERS = roles_with(C.SEE_DEMOGRAPHICS)
CLINICAL_READERS = roles_with(C.SEE_CLINICAL)
PATIENT_WRITERS = roles_with(C.REGISTER_PATIENTS)
VISIT_WRITERS = roles_with(C.RECORD_VISITS)
CONDITION_WRITERS = roles_with(C.WRITE_CLINICAL)
CONDITION_ATTESTERS = roles_with(C.ATTEST_CHRONIC)
CONSENT_WRITERS = roles_with(C.RECORD_CONSENTS)
CARE_PLAN_WRITERS = roles_with(C.WRITE_CLINICAL)
CARE_PLAN_SIGNERS = roles_with(C.SIGN_CARE_PLAN)
INPATIENT_STAY_WRITERS = roles_with(C.WRITE_CLINICAL)
OTHER_SERVICE_WRITERS = roles_with(C.RECORD_OTHER_SERVICES)
# A stay locks every month it covers, one row lock each: a stay of centuries (a typo, or
# a hostile request) would tie up a worker for minutes.
MAX_STAY_DAYS = 366

#: What a claim needs of the patient (837P 2010BA/2010BB, FHIR Patient and Coverage).
PATIENT_CLAIM_FIELDS = (
    "sex",
    "mbi",
    "address_line",
    "city",
    "state",
    "zip",
    "payer_name",
    "payer_id",
    "member_id",
)
PATIENT_AUDIT_FIELDS = (
    "mrn",
    "first_name",
    "last_name",
    "birth_date",
    "billing_practitioner_id",
    "is_active",
    *PATIENT_CLAIM_FIELDS,
)
CONDITION_AUDIT_FIELDS = (
    "patient_id",
    "icd10",
    "description",
    "onset",
    "resolved",
    "attested_chronic_by_id",
    "attested_chronic_at",
)
CONSENT_AUDIT_FIELDS = (
    "patient_id",
    "date",
    "method",
    "billing_practitioner_id",
    "informed_service_available",
    "informed_cost_sharing",
    "informed_one_practitioner",
    "informed_may_stop",
    "revoked",
    "revoked_reason",
    "recorded_by_id",
)
VISIT_AUDIT_FIELDS = ("patient_id", "date", "code", "ccm_discussed", "practitioner_id")
CARE_PLAN_TEXT_FIELDS = (
    "problems",
    "expected_outcome",
    "goals",
    "symptom_management",
    "interventions",
    "medication_management",
    "coordination",
)
CARE_PLAN_AUDIT_FIELDS = (
    "patient_id",
    "version",
    "established",
    *CARE_PLAN_TEXT_FIELDS,
    "reviewed",
    "signed_by_id",
    "signed_at",
    "created_by_id",
)
OTHER_SERVICE_AUDIT_FIELDS = ("patient_id", "code", "date", "practitioner_npi", "note")
STAY_AUDIT_FIELDS = ("patient_id", "admitted", "discharged", "kind", "facility")

# The four things CMS requires the patient be told before consenting to CCM.
CONSENT_DISCLOSURES: dict[str, str] = {
    "informed_service_available": "that CCM is available to them",
    "informed_cost_sharing": "that cost sharing (co-insurance) applies",
    "informed_one_practitioner": "that only one practitioner can bill CCM in a month",
    "informed_may_stop": "that they may stop CCM at any time",
}


# -- helpers ---------------------------------------------------------------------------


def _raise_if(errors: Mapping[str, list[str]]) -> None:
    if errors:
        raise ValidationError({field: messages for field, messages in errors.items()})


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _clean(
    instance: models.Model, errors: dict[str, list[str]], exclude: Iterable[str] = ()
) -> None:
    """Model field validation (required, lengths, choices) merged with the service's own
    errors, raised together so a form or API shows every problem at once."""
    try:
        instance.full_clean(
            exclude=list(exclude), validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                if message not in errors.get(field, []):
                    _add(errors, field, message)
    _raise_if(errors)


def _check_practitioner(
    errors: dict[str, list[str]], field: str, practice: Practice, user: User | None
) -> None:
    """Billing rule CONSENT_MISSING / initiating visit: the billing practitioner is a
    practitioner of this practice (CCM is billed under their NPI)."""
    if user is None:
        _add(errors, field, "Choose a practitioner.")
    elif user.practice_id != practice.pk or not user.is_active or user.role != Role.PRACTITIONER:
        _add(errors, field, f"{user} is not an active practitioner of this practice.")


def _days_in(first: dt.date, last: dt.date) -> list[dt.date]:
    """One date per calendar month from `first` to `last` (so a range is period-locked in
    every month it covers)."""
    days: list[dt.date] = []
    current = month_start(first)
    while current <= last:
        days.append(max(current, first))
        current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return days


def _lock_patient(patient: Patient) -> None:
    """Serialise writes that derive a number from a patient's rows (care plan versions):
    the first lock of the transaction, FOR NO KEY UPDATE (ccm.locks: the lock order)."""
    lock_for_change(Patient.objects.filter(pk=patient.pk))


# -- patients --------------------------------------------------------------------------


def normalise_claim_data(claim_data: Mapping[str, str | None]) -> dict[str, str]:
    """The claim fields given (None: left out) in the form they are stored: the MBI
    without dashes, the state upper case, the ZIP as digits, a blank payer as Medicare."""
    values: dict[str, str] = {}
    for field, value in claim_data.items():
        if field not in PATIENT_CLAIM_FIELDS:
            raise TypeError(f"{field} is not a claim field")
        if value is None:
            continue
        text = value.strip()
        if field == "mbi":
            text = normalise_mbi(text)
        elif field in ("state", "sex"):
            text = text.upper()
        elif field == "zip":
            text = normalise_zip(text)
        elif field == "payer_name":
            text = text or MEDICARE_PART_B
        values[field] = text
    return values


def _set_claim_data(patient: Patient, claim_data: Mapping[str, str | None]) -> None:
    for field, value in normalise_claim_data(claim_data).items():
        setattr(patient, field, value)


def _check_patient(errors: dict[str, list[str]], patient: Patient) -> None:
    patient.mrn = patient.mrn.strip()
    patient.first_name = patient.first_name.strip()
    patient.last_name = patient.last_name.strip()
    if patient.birth_date and patient.birth_date > timezone.localdate():
        _add(errors, "birth_date", "The birth date cannot be in the future.")
    if patient.mrn and (
        Patient.objects.filter(practice_id=patient.practice_id, mrn=patient.mrn)
        .exclude(pk=patient.pk)
        .exists()
    ):
        _add(errors, "mrn", f"A patient with MRN {patient.mrn} already exists in this practice.")


def _save_patient(patient: Patient) -> None:
    # The unique constraint is the real guard: two concurrent creates of one MRN both pass
    # the check above, and the loser gets the same 400 instead of a 500.
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        raise ValidationError(
            {"mrn": [f"A patient with MRN {patient.mrn} already exists in this practice."]}
        ) from None


@transaction.atomic
def patient_create(
    *,
    practice: Practice,
    actor: User | None,
    mrn: str,
    first_name: str,
    last_name: str,
    birth_date: dt.date,
    billing_practitioner: User | None,
    **claim_data: str | None,
) -> Patient:
    """Register a patient with their billing practitioner (billing rules CONSENT_MISSING
    and INITIATING_VISIT_MISSING are judged against this practitioner; the claim goes out
    under their NPI). MRN unique per practice; birth date not in the future. `claim_data`:
    any of PATIENT_CLAIM_FIELDS (sex, MBI by CMS's format, address, coverage)."""
    patient = patient_prepare(
        practice=practice,
        mrn=mrn,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        billing_practitioner=billing_practitioner,
        **claim_data,
    )
    _save_patient(patient)
    audit_record(
        actor=actor,
        action="patient.create",
        instance=patient,
        after=snapshot(patient, PATIENT_AUDIT_FIELDS),
    )
    return patient


def patient_prepare(
    *,
    practice: Practice,
    mrn: str,
    first_name: str,
    last_name: str,
    birth_date: dt.date,
    billing_practitioner: User | None,
    **claim_data: str | None,
) -> Patient:
    """The unsaved patient `patient_create` registers, validated (ValidationError naming
    each field otherwise); the bulk import saves many at once."""
    patient = Patient(
        practice=practice,
        mrn=mrn,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        billing_practitioner=billing_practitioner,
    )
    _set_claim_data(patient, claim_data)
    errors: dict[str, list[str]] = {}
    _check_patient(errors, patient)
    _check_practitioner(errors, "billing_practitioner", practice, billing_practitioner)
    _clean(patient, errors, exclude=["billing_practitioner"])
    return patient


@transaction.atomic
def patient_update(
    *,
    patient: Patient,
    actor: User | None,
    mrn: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    birth_date: dt.date | None = None,
    billing_practitioner: User | None = None,
    is_active: bool | None = None,
    **claim_data: str | None,
) -> Patient:
    """Change a patient's identity, billing practitioner, active flag or claim data (any
    of PATIENT_CLAIM_FIELDS; None: unchanged). A new billing practitioner needs a new
    consent (rule CONSENT_PRACTITIONER_MISMATCH); that is the engine's finding, not a
    reason to refuse the change. The claim data feeds no billing rule: the 837P and FHIR
    exports read it, and the worklist flags a claim that lacks it."""
    before = snapshot(patient, PATIENT_AUDIT_FIELDS)
    changes: dict[str, Any] = {
        "mrn": mrn,
        "first_name": first_name,
        "last_name": last_name,
        "birth_date": birth_date,
        "is_active": is_active,
    }
    for field, value in changes.items():
        if value is not None:
            setattr(patient, field, value)
    _set_claim_data(patient, claim_data)
    errors: dict[str, list[str]] = {}
    if billing_practitioner is not None:
        _check_practitioner(errors, "billing_practitioner", patient.practice, billing_practitioner)
        patient.billing_practitioner = billing_practitioner
    _check_patient(errors, patient)
    _clean(patient, errors, exclude=["billing_practitioner"])
    _save_patient(patient)
    after = snapshot(patient, PATIENT_AUDIT_FIELDS)
    if after != before:
        audit_record(
            actor=actor,
            action="patient.update",
            instance=patient,
            practice=patient.practice,
            before=before,
            after=after,
        )
    return patient


# -- chronic conditions ----------------------------------------------------------------


def _check_condition(
    errors: dict[str, list[str]],
    condition: ChronicCondition,
    icd10: str | None,
    description: str | None,
) -> None:
    """Validate and set the code (dotted) and description. A blank description takes the
    code set's; a new code drops the description written for the old one."""
    if icd10 is not None:
        try:
            found = icd10_lookup(icd10)
        except ValidationError as exc:
            errors.setdefault("icd10", []).extend(exc.messages)
        else:
            if found.code != condition.icd10 and description is None:
                description = ""
            condition.icd10 = found.code
    if description is not None:
        condition.description = description.strip()[:255]
    if not condition.description and condition.icd10 and "icd10" not in errors:
        try:
            condition.description = icd10_lookup(condition.icd10).description[:255]
        except ValidationError as exc:
            errors.setdefault("icd10", []).extend(exc.messages)
    if condition.onset and condition.resolved and condition.resolved < condition.onset:
        _add(errors, "resolved", "The resolved date cannot be before the onset.")


@transaction.atomic
def condition_create(
    *,
    patient: Patient,
    actor: User | None,
    icd10: str,
    onset: dt.date,
    resolved: dt.date | None = None,
    description: str = "",
) -> ChronicCondition:
    """Record a chronic condition (billing rule ELIGIBILITY_CONDITIONS: two distinct
    chronic conditions active in the month; its code is one of the claim's diagnoses).
    The code must be a billable ICD-10-CM code; it is stored dotted (E119 → E11.9) and the
    description defaults to the code set's."""
    condition = condition_prepare(
        patient=patient, icd10=icd10, onset=onset, resolved=resolved, description=description
    )
    ensure_month_open(patient.practice, *[d for d in (onset, resolved) if d])
    condition.save()
    audit_record(
        actor=actor,
        action="condition.create",
        instance=condition,
        practice=patient.practice,
        after=snapshot(condition, CONDITION_AUDIT_FIELDS),
    )
    return condition


@transaction.atomic
def condition_update(
    *,
    condition: ChronicCondition,
    actor: User | None,
    icd10: str | None = None,
    description: str | None = None,
    onset: dt.date | None = None,
    resolved: dt.date | None = None,
    clear_resolved: bool = False,
) -> ChronicCondition:
    """Change a chronic condition (rule ELIGIBILITY_CONDITIONS). None leaves a field as it
    is; `clear_resolved` marks it active again. The period lock covers the dates that
    change (old and new); a new code changes the diagnoses of every month the condition
    spans, so it also covers its onset and resolved dates, and it withdraws a chronic
    attestation (rule CONDITION_NOT_CHRONIC: the practitioner judged the old code)."""
    practice = condition.patient.practice
    before = snapshot(condition, CONDITION_AUDIT_FIELDS)
    old_dates = {"onset": condition.onset, "resolved": condition.resolved}
    if onset is not None:
        condition.onset = onset
    if clear_resolved:
        condition.resolved = None
    elif resolved is not None:
        condition.resolved = resolved
    errors: dict[str, list[str]] = {}
    _check_condition(errors, condition, icd10, description)
    _clean(condition, errors, exclude=["icd10"] if "icd10" in errors else [])
    new_dates = {"onset": condition.onset, "resolved": condition.resolved}
    touched: set[dt.date] = set()
    for field, old in old_dates.items():
        if old != new_dates[field]:
            touched.update(d for d in (old, new_dates[field]) if d)
    if condition.icd10 != before["icd10"]:
        touched.update(d for d in (*old_dates.values(), *new_dates.values()) if d)
        # An attestation judged the condition of the old code, not this one.
        condition.attested_chronic_by = None
        condition.attested_chronic_at = None
    ensure_month_open(practice, *touched)
    condition.save()
    after = snapshot(condition, CONDITION_AUDIT_FIELDS)
    if after != before:
        audit_record(
            actor=actor,
            action="condition.update",
            instance=condition,
            practice=practice,
            before=before,
            after=after,
        )
    return condition


def _check_attester(condition: ChronicCondition, actor: User) -> None:
    if actor.role != Role.PRACTITIONER or actor.practice_id != condition.patient.practice_id:
        raise PermissionDenied("Only a practitioner can attest that a condition is chronic.")


def _save_attestation(
    condition: ChronicCondition, actor: User, *, attested: bool, action: str
) -> None:
    """Write the attestation columns only: an attestation is dated when it is made (the
    month of today must be open), so the period guard of the condition's own dates
    (patients migration 0003) does not apply; a closed month keeps its worklist until it
    is reopened and closed again."""
    before = snapshot(condition, CONDITION_AUDIT_FIELDS)
    ensure_month_open(condition.patient.practice, timezone.localdate())
    condition.attested_chronic_by = actor if attested else None
    condition.attested_chronic_at = timezone.now() if attested else None
    condition.save(update_fields=["attested_chronic_by", "attested_chronic_at"])
    audit_record(
        actor=actor,
        action=action,
        instance=condition,
        practice=condition.patient.practice,
        before=before,
        after=snapshot(condition, CONDITION_AUDIT_FIELDS),
    )


@transaction.atomic
def condition_attest_chronic(*, condition: ChronicCondition, actor: User) -> ChronicCondition:
    """A practitioner attests that the condition is expected to last at least 12 months or
    until death (billing rule CONDITION_NOT_CHRONIC: it then counts as chronic whatever
    the classification says). Practitioners of the practice only (403); attesting again
    records the new practitioner and time. Audited."""
    _check_attester(condition, actor)
    _save_attestation(condition, actor, attested=True, action="condition.attest_chronic")
    return condition


@transaction.atomic
def condition_withdraw_chronic(*, condition: ChronicCondition, actor: User) -> ChronicCondition:
    """A practitioner withdraws the chronic attestation (rule CONDITION_NOT_CHRONIC: the
    classification decides again). Practitioners only (403); a condition that is not
    attested is a 400. Audited."""
    _check_attester(condition, actor)
    if condition.attested_chronic_by_id is None:
        raise ValidationError({"attested_chronic": ["This condition is not attested chronic."]})
    _save_attestation(condition, actor, attested=False, action="condition.withdraw_chronic")
    return condition


@transaction.atomic
def condition_delete(*, condition: ChronicCondition, actor: User) -> None:
    """Remove a condition recorded in error (rule ELIGIBILITY_CONDITIONS); refused when
    its onset or resolved date lies in a closed month. To end a real condition, set its
    resolved date instead."""
    practice = condition.patient.practice
    ensure_month_open(practice, *[d for d in (condition.onset, condition.resolved) if d])
    audited_delete(
        actor=actor,
        action="condition.delete",
        instance=condition,
        fields=CONDITION_AUDIT_FIELDS,
        practice=practice,
    )


def condition_prepare(
    *,
    patient: Patient,
    icd10: str,
    onset: dt.date,
    resolved: dt.date | None = None,
    description: str = "",
) -> ChronicCondition:
    """The unsaved condition `condition_create` records, validated (code, dates), without
    the period lock (the caller takes it). `patient` may itself be unsaved."""
    condition = ChronicCondition(patient=patient, onset=onset, resolved=resolved)
    errors: dict[str, list[str]] = {}
    _check_condition(errors, condition, icd10, description)
    exclude = ["icd10"] if "icd10" in errors else []
    _clean(condition, errors, exclude=exclude if patient.pk else [*exclude, "patient"])
    return condition


# -- consents --------------------------------------------------------------------------


@transaction.atomic
def consent_create(
    *,
    patient: Patient,
    actor: User | None,
    date: dt.date,
    method: str,
    billing_practitioner: User | None = None,
    informed_service_available: bool = True,
    informed_cost_sharing: bool = True,
    informed_one_practitioner: bool = True,
    informed_may_stop: bool = True,
) -> Consent:
    """Record the patient's consent to CCM with a billing practitioner (billing rule
    CONSENT_MISSING; a consent to another practitioner is CONSENT_PRACTITIONER_MISMATCH).
    The practitioner defaults to the patient's; all four CMS disclosures must have been
    made, or nothing is recorded."""
    practice = patient.practice
    consent = consent_prepare(
        patient=patient,
        actor=actor,
        date=date,
        method=method,
        billing_practitioner=billing_practitioner,
        informed_service_available=informed_service_available,
        informed_cost_sharing=informed_cost_sharing,
        informed_one_practitioner=informed_one_practitioner,
        informed_may_stop=informed_may_stop,
    )
    ensure_month_open(practice, date)
    consent.save()
    audit_record(
        actor=actor,
        action="consent.create",
        instance=consent,
        practice=practice,
        after=snapshot(consent, CONSENT_AUDIT_FIELDS),
    )
    return consent


def consent_prepare(
    *,
    patient: Patient,
    actor: User | None,
    date: dt.date,
    method: str,
    billing_practitioner: User | None = None,
    informed_service_available: bool = True,
    informed_cost_sharing: bool = True,
    informed_one_practitioner: bool = True,
    informed_may_stop: bool = True,
) -> Consent:
    """The unsaved consent `consent_create` records, validated (the four disclosures,
    the practitioner), without the period lock. `patient` may itself be unsaved."""
    practice = patient.practice
    practitioner = billing_practitioner or patient.billing_practitioner
    disclosures = {
        "informed_service_available": informed_service_available,
        "informed_cost_sharing": informed_cost_sharing,
        "informed_one_practitioner": informed_one_practitioner,
        "informed_may_stop": informed_may_stop,
    }
    consent = Consent(
        patient=patient,
        date=date,
        method=method,
        billing_practitioner=practitioner,
        recorded_by=actor,
        **disclosures,
    )
    errors: dict[str, list[str]] = {}
    for field, told in disclosures.items():
        if not told:
            _add(
                errors,
                field,
                f"The patient must be told {CONSENT_DISCLOSURES[field]} "
                "before consent can be recorded.",
            )
    _check_practitioner(errors, "billing_practitioner", practice, practitioner)
    excluded = ["billing_practitioner", "recorded_by"]
    _clean(consent, errors, exclude=excluded if patient.pk else [*excluded, "patient"])
    return consent


@transaction.atomic
def consent_revoke(*, consent: Consent, actor: User, date: dt.date, reason: str) -> Consent:
    """Record that the patient withdrew consent on `date` (billing rules CONSENT_MISSING
    and ENTRY_OUTSIDE_CONSENT: the consent window ends the day before). Not before the
    consent's own date; a reason is required; a consent is revoked once."""
    practice = consent.patient.practice
    errors: dict[str, list[str]] = {}
    if consent.revoked is not None:
        _add(errors, "date", f"This consent was already revoked on {consent.revoked:%Y-%m-%d}.")
    elif date < consent.date:
        _add(
            errors,
            "date",
            f"The revocation cannot be before the consent ({consent.date:%Y-%m-%d}).",
        )
    if not reason.strip():
        _add(errors, "reason", "Give the reason the patient stopped CCM.")
    _raise_if(errors)
    ensure_month_open(practice, date)
    before = snapshot(consent, CONSENT_AUDIT_FIELDS)
    consent.revoked = date
    consent.revoked_reason = reason.strip()
    consent.save(update_fields=["revoked", "revoked_reason"])
    audit_record(
        actor=actor,
        action="consent.revoke",
        instance=consent,
        practice=practice,
        before=before,
        after=snapshot(consent, CONSENT_AUDIT_FIELDS),
        reason=consent.revoked_reason,
    )
    return consent


# -- visits ----------------------------------------------------------------------------


def visit_default_practitioner(actor: User) -> User | None:
    """Who saw the patient when the caller does not say: the caller when a practitioner
    (recording their own visit), else unknown (interface.md, visits)."""
    return actor if actor.role == Role.PRACTITIONER else None


@transaction.atomic
def visit_create(
    *,
    patient: Patient,
    actor: User | None,
    date: dt.date,
    code: str,
    ccm_discussed: bool = False,
    practitioner: User | None = None,
) -> Visit:
    """Record a face-to-face visit (billing rule INITIATING_VISIT_MISSING: a qualifying
    visit by the billing practitioner within 365 days before CCM began, or a qualifying
    initiating visit by them with CCM discussed). The code must be one of
    patients.visit_codes; the practitioner who saw the patient, when known, a
    practitioner of the practice."""
    visit = Visit(
        patient=patient,
        date=date,
        code=normalise_visit_code(code),
        ccm_discussed=ccm_discussed,
        practitioner=practitioner,
    )
    errors: dict[str, list[str]] = {}
    if visit.code not in VISIT_CODES:
        _add(
            errors,
            "code",
            f"{visit.code or code!r} is not a visit code this practice records: use an office "
            "E/M (99202-99205, 99211-99215), AWV G0438/G0439, IPPE G0402, TCM 99495/99496, "
            "a home (99341-99350), nursing facility (99304-99310) or telemedicine "
            "(98000-98015) visit code.",
        )
    if practitioner is not None:
        _check_practitioner(errors, "practitioner", patient.practice, practitioner)
    _clean(visit, errors, exclude=["practitioner"])
    ensure_month_open(patient.practice, date)
    visit.save()
    audit_record(
        actor=actor,
        action="visit.create",
        instance=visit,
        practice=patient.practice,
        after=snapshot(visit, VISIT_AUDIT_FIELDS),
    )
    return visit


# -- care plans ------------------------------------------------------------------------


@transaction.atomic
def care_plan_save(
    *,
    patient: Patient,
    actor: User,
    established: dt.date,
    problems: str,
    goals: str,
    interventions: str,
    expected_outcome: str = "",
    symptom_management: str = "",
    medication_management: str = "",
    coordination: str = "",
    reviewed: dt.date | None = None,
) -> CarePlan:
    """Write a new version of the comprehensive care plan (billing rule CARE_PLAN_MISSING:
    a plan established on/before the month's last day; CARE_PLAN_NOT_REVIEWED: its last
    review or revision, `reviewed`, defaults to the day it was established). Earlier
    versions stay as they were; a new version is unsigned until the billing practitioner
    signs it (CARE_PLAN_UNSIGNED). The period lock covers the established date (old and
    new) when it is set or changed, not an edit of the plan's text."""
    _lock_patient(patient)
    previous = CarePlan.objects.filter(patient=patient).order_by("-version").first()
    texts = {
        "problems": problems,
        "goals": goals,
        "interventions": interventions,
        "expected_outcome": expected_outcome,
        "symptom_management": symptom_management,
        "medication_management": medication_management,
        "coordination": coordination,
    }
    plan = CarePlan(
        patient=patient,
        version=(previous.version + 1) if previous else 1,
        established=established,
        reviewed=reviewed or established,
        created_by=actor,
        **{field: value.strip() for field, value in texts.items()},
    )
    errors: dict[str, list[str]] = {}
    if reviewed and established and reviewed < established:
        _add(errors, "reviewed", "The last review cannot be before the plan was established.")
    if reviewed and reviewed > timezone.localdate():
        _add(errors, "reviewed", "The last review cannot be in the future.")
    _clean(plan, errors, exclude=["signed_by", "created_by"])
    if previous is None:
        ensure_month_open(patient.practice, established)
    elif previous.established != established:
        ensure_month_open(patient.practice, previous.established, established)
    plan.save()
    audit_record(
        actor=actor,
        action="care_plan.save",
        instance=plan,
        practice=patient.practice,
        before=snapshot(previous, CARE_PLAN_AUDIT_FIELDS) if previous else None,
        after=snapshot(plan, CARE_PLAN_AUDIT_FIELDS),
    )
    return plan


@transaction.atomic
def care_plan_sign(*, patient: Patient, actor: User) -> CarePlan:
    """The billing practitioner signs the current version of the care plan (the plan CCM
    works to is directed by the practitioner who bills it; rule CARE_PLAN_UNSIGNED). Only
    the patient's billing practitioner may sign (403 for anyone else); a version is
    signed once (a change makes a new, unsigned version)."""
    if (
        actor.role != Role.PRACTITIONER
        or actor.practice_id != patient.practice_id
        or actor.pk != patient.billing_practitioner_id
    ):
        raise PermissionDenied("Only the patient's billing practitioner can sign the care plan.")
    _lock_patient(patient)
    plan = CarePlan.objects.filter(patient=patient).order_by("-version").first()
    if plan is None:
        raise ValidationError({"non_field_errors": ["This patient has no care plan to sign."]})
    if plan.signed_at is not None:
        raise ValidationError(
            {
                "non_field_errors": [
                    f"Version {plan.version} is already signed by {plan.signed_by} "
                    f"on {timezone.localtime(plan.signed_at):%Y-%m-%d}."
                ]
            }
        )
    before = snapshot(plan, CARE_PLAN_AUDIT_FIELDS)
    plan.signed_by = actor
    plan.signed_at = timezone.now()
    plan.save(update_fields=["signed_by", "signed_at"])
    audit_record(
        actor=actor,
        action="care_plan.sign",
        instance=plan,
        practice=patient.practice,
        before=before,
        after=snapshot(plan, CARE_PLAN_AUDIT_FIELDS),
    )
    return plan


# -- services billed elsewhere ---------------------------------------------------------


@transaction.atomic
def other_service_create(
    *,
    patient: Patient,
    actor: User,
    code: str,
    date: dt.date,
    practitioner_npi: str = "",
    note: str = "",
) -> OtherService:
    """Record a service billed elsewhere (billing rules EXCLUSIVE_SERVICE and
    OVERLAPPING_SERVICE: hospice G0182 or home-health G0181 supervision, ESRD, PCM/APCM,
    another practitioner's CCM). The NPI, when given, must be a valid NPI."""
    service = OtherService(
        patient=patient,
        code="".join(code.split()).upper(),
        date=date,
        practitioner_npi=practitioner_npi.strip(),
        note=note.strip(),
    )
    errors: dict[str, list[str]] = {}
    if service.code not in KNOWN_OTHER_SERVICE_CODES:
        _add(errors, "code", unknown_code_message(service.code))
    if service.practitioner_npi:
        try:
            validate_npi(service.practitioner_npi)
        except ValidationError as exc:
            errors.setdefault("practitioner_npi", []).extend(exc.messages)
    _clean(service, errors)
    ensure_month_open(patient.practice, date)
    service.save()
    audit_record(
        actor=actor,
        action="other_service.create",
        instance=service,
        practice=patient.practice,
        after=snapshot(service, OTHER_SERVICE_AUDIT_FIELDS),
    )
    return service


@transaction.atomic
def other_service_delete(*, service: OtherService, actor: User) -> None:
    """Remove a service billed elsewhere recorded in error (rule EXCLUSIVE_SERVICE);
    refused when it is dated in a closed month."""
    practice = service.patient.practice
    ensure_month_open(practice, service.date)
    audited_delete(
        actor=actor,
        action="other_service.delete",
        instance=service,
        fields=OTHER_SERVICE_AUDIT_FIELDS,
        practice=practice,
    )


# -- inpatient stays -------------------------------------------------------------------


@transaction.atomic
def inpatient_stay_create(
    *,
    patient: Patient,
    actor: User,
    admitted: dt.date,
    discharged: dt.date,
    kind: str = InpatientStay.Kind.HOSPITAL,
    facility: str = "",
) -> InpatientStay:
    """Record an inpatient hospital or skilled nursing stay (billing rule
    ENTRY_DURING_INPATIENT_STAY: time dated within it, both days included, does not count).
    Every month the stay covers must be open."""
    stay = InpatientStay(
        patient=patient,
        admitted=admitted,
        discharged=discharged,
        kind=kind or InpatientStay.Kind.HOSPITAL,
        facility=facility.strip(),
    )
    errors: dict[str, list[str]] = {}
    if admitted and discharged and discharged < admitted:
        _add(errors, "discharged", "The discharge cannot be before the admission.")
    elif admitted and discharged and (discharged - admitted).days > MAX_STAY_DAYS:
        _add(errors, "discharged", f"A stay of more than {MAX_STAY_DAYS} days is not plausible.")
    _clean(stay, errors)
    ensure_month_open(patient.practice, *_days_in(admitted, discharged))
    stay.save()
    audit_record(
        actor=actor,
        action="inpatient_stay.create",
        instance=stay,
        practice=patient.practice,
        after=snapshot(stay, STAY_AUDIT_FIELDS),
    )
    return stay


@transaction.atomic
def inpatient_stay_delete(*, stay: InpatientStay, actor: User) -> None:
    """Remove a stay recorded in error (rule ENTRY_DURING_INPATIENT_STAY); refused when it
    covers a closed month."""
    practice = stay.patient.practice
    ensure_month_open(practice, *_days_in(stay.admitted, stay.discharged))
    audited_delete(
        actor=actor,
        action="inpatient_stay.delete",
        instance=stay,
        fields=STAY_AUDIT_FIELDS,
        practice=practice,
    )
