"""The write of bulk enrollment: every patient of a file through the patients services
(the same validation, period lock and audit as one patient typed in), all or nothing.

Billing rules served: the billing practitioner (CONSENT_MISSING, the claim's NPI), the
chronic conditions (ELIGIBILITY_CONDITIONS), the consent and the visits (CONSENT_MISSING,
INITIATING_VISIT_MISSING), and the claim data the 837P and FHIR exports read."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException

from ccm.audit import audit_record, snapshot
from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with
from ccm.exceptions import PeriodClosed
from ccm.limits import UNSTORABLE, is_storable
from ccm.models import AuditEvent, Practice, Role, User
from ccm.parsers import check_json
from ccm.periods import billing_month_status, ensure_month_open, month_start
from patients import services
from patients.imports.csv_format import read_csv
from patients.imports.fhir_format import read_bundle
from patients.imports.records import PatientRecord, Problems, Where
from patients.models import ChronicCondition, Consent, Patient, Visit

IMPORTERS = roles_with(C.ENROLL_PATIENTS)
MAX_FILE_BYTES = 20_000_000


@dataclass
class ImportResult:
    """What an import did (or, dry run or refused, would have done)."""

    format: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def written(self) -> bool:
        return not self.errors and not self.dry_run

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "ignored": self.ignored,
            "dry_run": self.dry_run,
            "format": self.format,
        }


def read_enrollment_file(
    content: bytes | str, *, today: dt.date
) -> tuple[str, list[PatientRecord], Problems, list[str]]:
    """(format, records, problems, ignored) of a CSV or a FHIR Bundle (JSON), told apart
    by their first character."""
    problems = Problems()
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.add(Where(line=1), "file", "The file is not UTF-8 text.")
            return "unknown", [], problems, []
    if not is_storable(content):
        problems.add(Where(line=1), "file", f"The file: {UNSTORABLE}")
        return "unknown", [], problems, []
    if content.lstrip().startswith("{"):
        try:
            bundle = json.loads(content)
            check_json(bundle, max_depth=settings.JSON_MAX_DEPTH)
        except (ValueError, RecursionError, APIException) as error:
            detail = getattr(error, "detail", error)
            problems.add(Where(entry=0), "file", f"The file is not a JSON we can read: {detail}")
            return "fhir", [], problems, []
        records, problems, ignored = read_bundle(bundle, today=today)
        return "fhir", records, problems, ignored
    records, problems, ignored = read_csv(content, today=today)
    return "csv", records, problems, [f"column {name}" for name in ignored]


def patients_import(
    *, practice: Practice, actor: User | None, content: bytes | str, dry_run: bool = False
) -> ImportResult:
    """Enroll the file's patients in the practice: new MRNs are created, known ones
    updated where the file differs (conditions, consents and visits added when missing,
    never removed), so importing the same file again changes nothing. Every record is
    validated (ICD-10-CM codes, MBI, the billing practitioner's NPI among the practice's
    active practitioners, dates) and written through the services that validate, lock
    the period and audit each change; one problem anywhere and nothing is written (a dry
    run never writes). The import itself is audited, its outcome included."""
    today = timezone.localdate()
    kind, records, problems, ignored = read_enrollment_file(content, today=today)
    result = ImportResult(format=kind, ignored=ignored, dry_run=dry_run)
    digest = hashlib.sha256(content if isinstance(content, bytes) else content.encode()).hexdigest()
    with transaction.atomic():
        with transaction.atomic():
            _write(practice, actor, records, problems, today, result)
            if problems or dry_run:
                transaction.set_rollback(True)
        result.errors = [problem.as_json() for problem in _sorted(problems)]
        if result.errors:
            result.created = result.updated = result.unchanged = 0
        outcome = "refused" if result.errors else ("dry_run" if dry_run else "done")
        audit_record(
            actor=actor,
            action=f"patient.import_{outcome}" if outcome != "done" else "patient.import",
            object_type="patients.import",
            object_id=digest[:16],
            practice=practice,
            after={
                "format": kind,
                "sha256": digest,
                "patients": len(records),
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "errors": len(result.errors),
            },
        )
    return result


def _sorted(problems: Problems) -> list[Any]:
    return sorted(problems, key=lambda p: (p.where.line or 0, p.where.entry or 0))


@dataclass
class _Known:
    """The practice's rows the file's patients may already have, read once."""

    patients: dict[str, Patient]
    practitioners: dict[str, User]
    conditions: dict[int, dict[str, ChronicCondition]]
    consents: dict[int, set[tuple[dt.date, int]]]
    visits: dict[int, set[tuple[dt.date, str]]]


def _known(practice: Practice, records: Sequence[PatientRecord]) -> _Known:
    mrns = [record.mrn for record in records]
    npis = {record.billing_practitioner_npi for record in records}
    npis |= {visit.practitioner_npi for record in records for visit in record.visits}
    patients = {
        patient.mrn: patient
        for patient in Patient.objects.filter(practice=practice, mrn__in=mrns).select_related(
            "practice", "billing_practitioner"
        )
    }
    ids = [patient.pk for patient in patients.values()]
    conditions: dict[int, dict[str, ChronicCondition]] = defaultdict(dict)
    for condition in ChronicCondition.objects.filter(patient_id__in=ids).order_by("id"):
        conditions[condition.patient_id].setdefault(condition.icd10, condition)
    consents: dict[int, set[tuple[dt.date, int]]] = defaultdict(set)
    for patient_id, day, practitioner_id in Consent.objects.filter(patient_id__in=ids).values_list(
        "patient_id", "date", "billing_practitioner_id"
    ):
        consents[patient_id].add((day, practitioner_id))
    visits: dict[int, set[tuple[dt.date, str]]] = defaultdict(set)
    for patient_id, day, code in Visit.objects.filter(patient_id__in=ids).values_list(
        "patient_id", "date", "code"
    ):
        visits[patient_id].add((day, code))
    practitioners = {
        user.npi: user
        for user in User.objects.filter(
            practice=practice, role=Role.PRACTITIONER, is_active=True, npi__in=npis - {""}
        )
    }
    return _Known(patients, practitioners, conditions, consents, visits)


def _write(
    practice: Practice,
    actor: User | None,
    records: Sequence[PatientRecord],
    problems: Problems,
    today: dt.date,
    result: ImportResult,
) -> None:
    """New patients are written in bulk (validated by the same `*_prepare` functions as
    the services, audited one event per row as the services do); patients the practice
    already has go through the update services one by one (a re-import changes few)."""
    known = _known(practice, records)
    new: list[tuple[PatientRecord, User]] = []
    for record in records:
        practitioner = known.practitioners.get(record.billing_practitioner_npi)
        if practitioner is None:
            problems.add(
                record.where,
                record.field_name("billing_practitioner"),
                f"No active practitioner of this practice has NPI "
                f"{record.billing_practitioner_npi}.",
            )
        elif record.mrn not in known.patients:
            new.append((record, practitioner))
        else:
            try:
                outcome = _update_record(actor, record, practitioner, known, today)
            except _PartRefused as refused:
                _add_service_error(problems, refused)
                continue
            if outcome == "updated":
                result.updated += 1
            else:
                result.unchanged += 1
    result.created = _create_new(practice, actor, new, known, problems, today)


@dataclass
class _NewPatient:
    record: PatientRecord
    patient: Patient
    conditions: list[ChronicCondition]
    consent: Consent | None
    practitioner: User


def _create_new(
    practice: Practice,
    actor: User | None,
    new: Sequence[tuple[PatientRecord, User]],
    known: _Known,
    problems: Problems,
    today: dt.date,
) -> int:
    """Validate every new patient, their conditions and consent, then (no problem found
    anywhere) insert them in bulk, with their audit events and their visits."""
    prepared: list[_NewPatient] = []
    for record, practitioner in new:
        try:
            prepared.append(_prepare(actor, record, practitioner, today))
        except _PartRefused as refused:
            _add_service_error(problems, refused)
    _check_months_open(practice, prepared, problems)
    if problems or not prepared:
        return len(prepared)
    dates = [day for item in prepared for day in _dates(item)]
    file_level = Where(line=1) if prepared[0].record.where.line else Where(entry=0)
    try:
        ensure_month_open(practice, *dates)
        Patient.objects.bulk_create([item.patient for item in prepared])
    except PeriodClosed as error:
        problems.add(
            Where(line=1) if prepared[0].record.where.line else Where(entry=0),
            "file",
            str(error.detail),
        )
        return 0
    except IntegrityError:
        problems.add(
            file_level,
            "mrn",
            "Another registration added one of these MRNs meanwhile: import the file again.",
        )
        return 0
    ChronicCondition.objects.bulk_create([c for item in prepared for c in item.conditions])
    Consent.objects.bulk_create([item.consent for item in prepared if item.consent])
    AuditEvent.objects.bulk_create(
        event for item in prepared for event in _creation_events(practice, actor, item)
    )
    for item in prepared:
        known.patients[item.record.mrn] = item.patient
        try:
            _add_visits(actor, item.record, item.patient, known)
        except _PartRefused as refused:
            _add_service_error(problems, refused)
    return len(prepared)


def _prepare(
    actor: User | None, record: PatientRecord, practitioner: User, today: dt.date
) -> _NewPatient:
    try:
        patient = services.patient_prepare(
            practice=practitioner.practice,  # type: ignore[arg-type]
            mrn=record.mrn,
            first_name=record.first_name,
            last_name=record.last_name,
            birth_date=record.birth_date,
            billing_practitioner=practitioner,
            **record.claim_data,
        )
    except ValidationError as error:
        raise _PartRefused(record.where, record.field_name, error) from None
    default_onset = record.consent[0] if record.consent else today
    conditions = []
    for condition in record.conditions:
        try:
            conditions.append(
                services.condition_prepare(
                    patient=patient,
                    icd10=condition.icd10,
                    onset=condition.onset or default_onset,
                    resolved=condition.resolved,
                )
            )
        except ValidationError as error:
            raise _PartRefused(condition.where, _constant(condition.field), error) from None
    consent = None
    if record.consent:
        try:
            consent = services.consent_prepare(
                patient=patient,
                actor=actor,
                date=record.consent[0],
                method=record.consent[1],
                billing_practitioner=practitioner,
            )
        except ValidationError as error:
            raise _PartRefused(record.where, record.field_name, error) from None
    return _NewPatient(record, patient, conditions, consent, practitioner)


def _dates(item: _NewPatient) -> list[dt.date]:
    """The dates the period lock covers, as the services lock them."""
    days = [d for c in item.conditions for d in (c.onset, c.resolved) if d]
    return [*days, item.consent.date] if item.consent else days


def _check_months_open(
    practice: Practice, prepared: Sequence[_NewPatient], problems: Problems
) -> None:
    """Name every record with a date in a closed (or closing) month, by the field."""
    months = {month_start(day) for item in prepared for day in _dates(item)}
    closed = {month for month in months if billing_month_status(practice, month) != "open"}
    if not closed:
        return
    for item in prepared:
        for condition, source in zip(item.conditions, item.record.conditions, strict=True):
            if {month_start(d) for d in (condition.onset, condition.resolved) if d} & closed:
                problems.add(
                    source.where,
                    source.field,
                    f"The billing month {condition.onset:%Y-%m} is closed; reopen it first.",
                )
        if item.consent and month_start(item.consent.date) in closed:
            problems.add(
                item.record.where,
                item.record.field_name("date"),
                f"The billing month {item.consent.date:%Y-%m} is closed; reopen it first.",
            )


def _creation_events(practice: Practice, actor: User | None, item: _NewPatient) -> list[AuditEvent]:
    """The audit events patient_create, condition_create and consent_create write."""
    made = [
        (item.patient, "patient.create", services.PATIENT_AUDIT_FIELDS),
        *[(c, "condition.create", services.CONDITION_AUDIT_FIELDS) for c in item.conditions],
    ]
    if item.consent:
        made.append((item.consent, "consent.create", services.CONSENT_AUDIT_FIELDS))
    return [
        AuditEvent(
            practice=practice,
            actor=actor,
            action=action,
            object_type=instance._meta.label_lower,
            object_id=str(instance.pk),
            after=snapshot(instance, fields),
        )
        for instance, action, fields in made
    ]


class _PartRefused(Exception):
    """A service refused part of a record (a condition, the consent, a visit): where in
    the file it is, and the file's name of each of the service's fields."""

    def __init__(
        self, where: Where, field_names: Callable[[str], str], error: ValidationError | PeriodClosed
    ) -> None:
        super().__init__(str(error))
        self.where, self.field_names, self.error = where, field_names, error


def _add_service_error(problems: Problems, refused: _PartRefused) -> None:
    where, error = refused.where, refused.error
    if isinstance(error, PeriodClosed):
        problems.add(where, refused.field_names("date"), str(error.detail))
    elif hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            for message in messages:
                problems.add(where, refused.field_names(name), message)
    else:
        for message in error.messages:
            problems.add(where, refused.field_names(""), message)


def _update_record(
    actor: User | None,
    record: PatientRecord,
    practitioner: User,
    known: _Known,
    today: dt.date,
) -> str:
    """Update a known patient where the file differs and add what it lacks; 'updated' or
    'unchanged'."""
    patient = known.patients[record.mrn]
    # A blank in the file leaves what the practice recorded since (an MBI typed in).
    given = {name: value for name, value in record.claim_data.items() if value.strip()}
    wanted: dict[str, Any] = {
        "first_name": record.first_name,
        "last_name": record.last_name,
        "birth_date": record.birth_date,
        **services.normalise_claim_data(given),
    }
    changes = {name: value for name, value in wanted.items() if getattr(patient, name) != value}
    if patient.billing_practitioner_id != practitioner.pk:
        changes["billing_practitioner"] = practitioner
    if changes:
        try:
            services.patient_update(patient=patient, actor=actor, **changes)
        except (ValidationError, PeriodClosed) as error:
            raise _PartRefused(record.where, record.field_name, error) from None
    added = _add_facts(actor, record, patient, practitioner, known, today)
    return "updated" if changes or added else "unchanged"


def _add_facts(
    actor: User | None,
    record: PatientRecord,
    patient: Patient,
    practitioner: User,
    known: _Known,
    today: dt.date,
) -> bool:
    """Add the record's conditions, consent and visits the patient lacks (a condition
    whose dates the file corrects is updated); True when anything changed."""
    changed = False
    default_onset = record.consent[0] if record.consent else today
    have = known.conditions.get(patient.pk, {})
    for condition in record.conditions:
        try:
            existing = have.get(condition.icd10)
            if existing is None:
                services.condition_create(
                    patient=patient,
                    actor=actor,
                    icd10=condition.icd10,
                    onset=condition.onset or default_onset,
                    resolved=condition.resolved,
                )
                changed = True
            elif condition.onset is not None and (existing.onset, existing.resolved) != (
                condition.onset,
                condition.resolved,
            ):
                services.condition_update(
                    condition=existing,
                    actor=actor,
                    onset=condition.onset,
                    resolved=condition.resolved,
                    clear_resolved=condition.resolved is None,
                )
                changed = True
        except (ValidationError, PeriodClosed) as error:
            raise _PartRefused(condition.where, _constant(condition.field), error) from None
    if record.consent and (record.consent[0], practitioner.pk) not in known.consents.get(
        patient.pk, set()
    ):
        try:
            services.consent_create(
                patient=patient,
                actor=actor,
                date=record.consent[0],
                method=record.consent[1],
                billing_practitioner=practitioner,
            )
        except (ValidationError, PeriodClosed) as error:
            raise _PartRefused(record.where, record.field_name, error) from None
        changed = True
    return _add_visits(actor, record, patient, known) or changed


def _add_visits(actor: User | None, record: PatientRecord, patient: Patient, known: _Known) -> bool:
    """Record the visits the patient lacks (visit_create); True when any was added."""
    changed = False
    visits = known.visits.setdefault(patient.pk, set())
    for visit in record.visits:
        code = "".join(visit.code.split()).upper()
        if (visit.date, code) in visits:
            continue
        try:
            services.visit_create(
                patient=patient,
                actor=actor,
                date=visit.date,
                code=code,
                practitioner=known.practitioners.get(visit.practitioner_npi),
            )
        except (ValidationError, PeriodClosed) as error:
            raise _PartRefused(visit.where, _encounter_field, error) from None
        visits.add((visit.date, code))
        changed = True
    return changed


def _constant(field_name: str) -> Callable[[str], str]:
    """Every service field named as the one file field it came from."""
    return lambda _: field_name


def _encounter_field(name: str) -> str:
    return "Encounter.period.start" if name == "date" else "Encounter.type"
