"""Reads for billing: the facts of patient-months (billing-rules.md section 2) built from
the database in a fixed number of queries, the practice's fees, and live decisions."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import F, QuerySet

from billing.models import FeeScheduleEntry, MdmAttestation
from billing.rules import Decision, Facts, FactsError, Rulebook, evaluate
from billing.rules import facts as rules_facts
from billing.rules.rulebooks import rulebook_for_year
from ccm.lookups import AnyOf
from ccm.models import Practice
from ccm.periods import month_end, month_start
from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)
from timelog.models import TimeShare

FactsDict = dict[str, Any]

# The checks parse_facts makes on what the database does not already guarantee, so that
# facts built directly are the facts parse_facts would build (or the same FactsError).
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
_MAX_ENTRY_SECONDS = 24 * 3600


def practitioner_ref(user_id: int) -> str:
    """How the facts name a practitioner: one stable id per user."""
    return f"U{user_id}"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _grouped(queryset: QuerySet[Any, Any]) -> dict[int, list[tuple[Any, ...]]]:
    """The rows of a values_list whose first column is the patient id, by patient id (the
    id dropped)."""
    grouped: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in _fetch(queryset):
        grouped[row[0]].append(row[1:])
    return grouped


def _fetch(queryset: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a values_list. On PostgreSQL, straight from the cursor: its dates,
    times and numbers need none of Django's per-row converters, and skipping them halves
    the cost of reading millions of rows."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


# One patient as the facts need them: (id, billing practitioner id, that practitioner's NPI).
PatientKey = tuple[int, int, str]


@dataclass(frozen=True)
class _MonthRows:
    """Every row the facts of some patients' month need, one query per kind, as tuples
    (no model instances: the close reads millions of them)."""

    conditions: dict[int, list[tuple[Any, ...]]]  # icd10, onset, resolved
    consents: dict[int, list[tuple[Any, ...]]]  # date, method, revoked, practitioner id
    visits: dict[int, list[tuple[Any, ...]]]  # date, code, ccm_discussed, practitioner id
    care_plans: dict[int, list[tuple[Any, ...]]]  # established
    other_services: dict[int, list[tuple[Any, ...]]]  # code, date, practitioner NPI
    stays: dict[int, list[tuple[Any, ...]]]  # admitted, discharged
    entries: dict[int, list[Any]]  # _ENTRY_COLUMNS, or TimeEntry objects for the engine
    attestations: dict[int, tuple[Any, ...]]  # level, practitioner id, signed at


#: A time entry of a patient: the activity it is a share of.
_ENTRY_COLUMNS = (
    "patient_id",
    "activity_id",
    "activity__date",
    "activity__started_at",
    "activity__duration_seconds",
    "activity__patient_count",
    "activity__performer_kind",
    "activity__performer_id",
    "activity__performer_credential",
    "activity__activity",
    "activity__program",
)


def _ids_in(field: str, ids: Sequence[int]) -> AnyOf:
    """`field = ANY(ids)`: one array parameter, not thousands of literals (a chunk of the
    close has tens of thousands of patients), planned with its true size."""
    return AnyOf(F(field), ids)


def _load_month_rows(
    patient_ids: Sequence[int], first: dt.date, last: dt.date, *, engine: bool = False
) -> _MonthRows:
    """The rows of the patients' month; with `engine`, the time entries come as the
    engine's TimeEntry objects (built while the rows are read: the close's hot path)."""
    in_patients = _ids_in("patient_id", patient_ids)
    return _MonthRows(
        conditions=_grouped(
            ChronicCondition.objects.filter(in_patients, onset__lte=last)
            .exclude(resolved__lt=first)
            .order_by("id")
            .values_list("patient_id", "icd10", "onset", "resolved")
        ),
        consents=_grouped(
            Consent.objects.filter(in_patients)
            .order_by("date", "id")
            .values_list("patient_id", "date", "method", "revoked", "billing_practitioner_id")
        ),
        visits=_grouped(
            Visit.objects.filter(in_patients, date__lte=last)
            .order_by("date", "id")
            .values_list("patient_id", "date", "code", "ccm_discussed", "practitioner_id")
        ),
        care_plans=_grouped(
            CarePlan.objects.filter(in_patients, established__lte=last)
            .order_by("established")
            .values_list("patient_id", "established")
        ),
        other_services=_grouped(
            OtherService.objects.filter(in_patients, date__range=(first, last))
            .order_by("date", "id")
            .values_list("patient_id", "code", "date", "practitioner_npi")
        ),
        stays=_grouped(
            InpatientStay.objects.filter(in_patients, admitted__lte=last, discharged__gte=first)
            .order_by("admitted", "id")
            .values_list("patient_id", "admitted", "discharged")
        ),
        # The engine's decision does not depend on the order of the entries (it sorts them
        # chronologically); the JSON-like facts keep the order people read.
        entries=_engine_entries(_engine_entry_rows(patient_ids, first, last))
        if engine
        else _grouped(
            TimeShare.objects.filter(in_patients, date__range=(first, last))
            .order_by("date", "activity_id")
            .values_list(*_ENTRY_COLUMNS)
        ),
        attestations={
            row[0]: row[1:]
            for row in _fetch(
                MdmAttestation.objects.filter(in_patients, month=first).values_list(
                    "patient_id", "level", "practitioner_id", "signed_at"
                )
            )
        },
    )


def _visit_choice(
    visits: list[tuple[Any, ...]],
    consents: list[tuple[Any, ...]],
    billing_id: int,
    rulebook: Rulebook,
) -> tuple[dt.date | None, tuple[Any, ...] | None]:
    """prior_visit_date: the latest visit with the billing practitioner before CCM began
    (the earliest consent to them); initiating_visit: the first visit at which CCM was
    discussed, preferring a qualifying code (billing rule INITIATING_VISIT_MISSING)."""
    own = [v for v in visits if v[3] is None or v[3] == billing_id]
    consent_dates = [c[0] for c in consents if c[3] == billing_id]
    began = min(consent_dates) if consent_dates else None
    prior = [v for v in own if began is not None and v[0] < began]
    discussed = [v for v in own if v[2]]
    qualifying = [v for v in discussed if v[1] in rulebook.initiating_visit_codes]
    initiating = (qualifying or discussed)[0] if discussed else None
    return (prior[-1][0] if prior else None), initiating


def _seconds_of_day(start: dt.time | None) -> int | None:
    return None if start is None else start.hour * 3600 + start.minute * 60 + start.second


def _entry_dict(row: tuple[Any, ...], staff_ref: str) -> dict[str, Any]:
    activity_id, day, start, seconds, shared_with, kind, _, credential, activity, program = row
    entry: dict[str, Any] = {
        "id": f"a{activity_id}",
        "date": day.isoformat(),
        "seconds": seconds,
        "shared_with": shared_with,
        "performer": kind,
        "staff_id": staff_ref,
        # A blank credential is "not known", which the facts say with null.
        "credential": credential or None,
        "activity": activity,
        "program": program,
    }
    if start is not None:
        entry["start"] = start.strftime("%H:%M:%S")
    return entry


class _Refs(dict[int, str]):
    """practitioner_ref(user id), made once per user."""

    def __missing__(self, user_id: int) -> str:
        ref = self[user_id] = practitioner_ref(user_id)
        return ref


class _PatientMonth(NamedTuple):
    """One patient's rows of the month as both facts builders start from them."""

    pk: int
    billing_ref: str
    billing_npi: str
    consents: list[tuple[Any, ...]]
    prior_visit: dt.date | None
    initiating: tuple[Any, ...] | None
    plans: list[tuple[Any, ...]]
    attestation: tuple[Any, ...] | None


def _patient_month(
    key: PatientKey, rows: _MonthRows, rulebook: Rulebook, refs: _Refs
) -> _PatientMonth:
    pk, billing_id, billing_npi = key
    consents = rows.consents.get(pk, [])
    prior_visit, initiating = _visit_choice(rows.visits.get(pk, []), consents, billing_id, rulebook)
    return _PatientMonth(
        pk,
        refs[billing_id],
        billing_npi,
        consents,
        prior_visit,
        initiating,
        rows.care_plans.get(pk, []),
        rows.attestations.get(pk),
    )


def _patient_facts_dict(
    key: PatientKey, first: dt.date, rows: _MonthRows, rulebook: Rulebook, refs: _Refs
) -> FactsDict:
    pk, billing_ref, billing_npi, consents, prior_visit, initiating, plans, attestation = (
        _patient_month(key, rows, rulebook, refs)
    )
    return {
        "month": f"{first:%Y-%m}",
        "billing_practitioner": billing_ref,
        "patient": {
            "chronic_conditions": [
                {"icd10": icd10, "onset": onset.isoformat(), "resolved": _iso(resolved)}
                for icd10, onset, resolved in rows.conditions.get(pk, [])
            ],
            "consents": [
                {
                    "date": day.isoformat(),
                    "method": method,
                    "revoked": _iso(revoked),
                    "billing_practitioner": refs[practitioner_id],
                }
                for day, method, revoked, practitioner_id in consents
            ],
            "prior_visit_date": _iso(prior_visit),
            "initiating_visit": {
                "date": initiating[0].isoformat(),
                "code": initiating[1],
                "ccm_discussed": initiating[2],
            }
            if initiating
            else None,
            "care_plan": {"established": plans[0][0].isoformat()} if plans else None,
        },
        "time_entries": [_entry_dict(row, refs[row[6]]) for row in rows.entries.get(pk, [])],
        "mdm": {
            "level": attestation[0],
            "attested_by": refs[attestation[1]],
            "date": attestation[2].date().isoformat(),
        }
        if attestation
        else None,
        "other_services": [
            {
                "code": code,
                "date": day.isoformat(),
                "practitioner": billing_ref
                if billing_npi and npi == billing_npi
                else (npi or "unknown"),
            }
            for code, day, npi in rows.other_services.get(pk, [])
        ],
        "inpatient_stays": [
            {"from": admitted.isoformat(), "to": discharged.isoformat()}
            for admitted, discharged in rows.stays.get(pk, [])
        ],
    }


def _text(value: object, field: str, *, upper: bool = False) -> str:
    """A required string as parse_facts reads it: stripped, not empty."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise FactsError(field, "must not be empty")
    return text.upper() if upper else text


def _engine_conditions(rows: list[tuple[Any, ...]]) -> tuple[rules_facts.ChronicCondition, ...]:
    out = []
    for index, (icd10, onset, resolved) in enumerate(rows):
        code = _text(icd10, f"patient.chronic_conditions[{index}].icd10", upper=True)
        if not _ICD10.match(code):
            raise FactsError(
                f"patient.chronic_conditions[{index}].icd10", f"not an ICD-10 code {code!r}"
            )
        if resolved is not None and resolved < onset:
            raise FactsError(f"patient.chronic_conditions[{index}].resolved", "is before the onset")
        out.append(rules_facts.ChronicCondition(icd10=code, onset=onset, resolved=resolved))
    return tuple(out)


def _engine_consents(rows: list[tuple[Any, ...]], refs: _Refs) -> tuple[rules_facts.Consent, ...]:
    out = []
    for index, (day, method, revoked, practitioner_id) in enumerate(rows):
        if revoked is not None and revoked < day:
            raise FactsError(f"patient.consents[{index}].revoked", "is before the consent date")
        if method and method.strip() not in rules_facts.CONSENT_METHODS:
            raise FactsError(f"patient.consents[{index}].method", f"unknown value {method!r}")
        out.append(
            rules_facts.Consent(
                date=day,
                billing_practitioner=refs[practitioner_id],
                method=method.strip() if method else None,
                revoked=revoked,
            )
        )
    return tuple(out)


class _Normalised(dict[object, str | None]):
    """An optional string of the time entries as parse_facts reads it (stripped, or None
    when empty), worked out once per distinct value: a month repeats a handful of them."""

    def __missing__(self, value: object) -> str | None:
        text = value.strip() if isinstance(value, str) else ""
        self[value] = text or None
        return text or None


class _Programs(dict[object, str]):
    """A program as parse_facts reads it: stripped and lower-cased, never empty."""

    def __missing__(self, value: object) -> str:
        text = value.strip().lower() if isinstance(value, str) else ""
        if not text:
            raise FactsError("time_entries[].program", "must not be empty")
        self[value] = text
        return text


def _engine_entry_rows(patient_ids: Sequence[int], first: dt.date, last: dt.date) -> list[Any]:
    """The patients' time entries of the month, one row per share, in TimeEntry's field
    order after the patient id: id ('a' + activity id), date, seconds, performer, start
    (whole seconds after midnight), staff (user id), credential, activity, program,
    shared_with. On PostgreSQL the id and the start are made by the database (the close
    reads millions); elsewhere (SQLite in development) from the ORM's rows."""
    if connection.vendor != "postgresql":
        return [
            _as_engine_row(row[0], row[1:])
            for row in TimeShare.objects.filter(
                _ids_in("patient_id", patient_ids), date__range=(first, last)
            ).values_list(*_ENTRY_COLUMNS)
        ]
    sql = (
        "SELECT s.patient_id, 'a' || s.activity_id, a.date, a.duration_seconds,"
        " a.performer_kind, floor(extract(epoch FROM a.started_at))::int, a.performer_id,"
        " a.performer_credential, a.activity, a.program, a.patient_count"
        " FROM timelog_timeshare s JOIN timelog_timeactivity a ON a.id = s.activity_id"
        " WHERE s.patient_id = ANY(%s::bigint[]) AND s.date BETWEEN %s AND %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(patient_ids), first, last])
        rows: list[Any] = cursor.fetchall()
        return rows


def _engine_entries(rows: Sequence[Any]) -> dict[int, list[Any]]:
    """The patients' time entries as the engine's TimeEntry, by patient id: what
    parse_facts makes of `_entry_dict` (tests compare the two), without the round trip.

    The hot loop of the close (millions of entries): one pass over the rows of
    `_engine_entry_rows`, a TimeEntry made from each (a named tuple), strings normalised
    once per distinct value."""
    make = rules_facts.TimeEntry._make
    performers = rules_facts.PERFORMERS
    refs, credentials, activities, programs = _Refs(), _Normalised(), _Normalised(), _Programs()
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        patient_id, id_, day, seconds, kind, start, staff, credential, activity, program, shared = (
            row
        )
        entries = grouped.get(patient_id)
        if entries is None:
            entries = grouped[patient_id] = []
        if kind not in performers or not 0 < seconds <= _MAX_ENTRY_SECONDS or shared <= 0:
            _bad_entry(len(entries), kind, seconds, shared)
        entries.append(
            make(
                (
                    id_,
                    day,
                    seconds,
                    kind,
                    start,
                    refs[staff],
                    credentials[credential],
                    activities[activity],
                    programs[program],
                    shared,
                    None,  # note
                    None,  # logged_on
                )
            )
        )
    return grouped


def _bad_entry(index: int, kind: str, seconds: int, shared_with: int) -> None:
    if kind not in rules_facts.PERFORMERS:
        raise FactsError(f"time_entries[{index}].performer", f"unknown value {kind!r}")
    if shared_with <= 0:
        raise FactsError(f"time_entries[{index}].shared_with", "must be greater than 0")
    raise FactsError(f"time_entries[{index}].seconds", f"out of range: {seconds}")


def _patient_engine_facts(
    key: PatientKey, first: dt.date, rows: _MonthRows, rulebook: Rulebook, refs: _Refs
) -> Facts:
    """The Facts parse_facts would make of _patient_facts_dict, built directly."""
    pk, billing_ref, billing_npi, consents, prior_visit, initiating, plans, attestation = (
        _patient_month(key, rows, rulebook, refs)
    )
    mdm = None
    if attestation is not None:
        level = attestation[0]
        if level not in rules_facts.MDM_LEVELS:
            raise FactsError("mdm.level", f"unknown value {level!r}")
        mdm = rules_facts.Mdm(
            level=level, attested_by=refs[attestation[1]], date=attestation[2].date()
        )
    return Facts(
        month=rules_facts.Month(first.year, first.month),
        billing_practitioner=billing_ref,
        patient=rules_facts.Patient(
            chronic_conditions=_engine_conditions(rows.conditions.get(pk, [])),
            consents=_engine_consents(consents, refs),
            prior_visit_date=prior_visit,
            initiating_visit=None
            if initiating is None
            else rules_facts.InitiatingVisit(
                date=initiating[0],
                code=_text(initiating[1], "patient.initiating_visit.code", upper=True),
                ccm_discussed=bool(initiating[2]),
            ),
            care_plan=rules_facts.CarePlan(established=plans[0][0]) if plans else None,
        ),
        time_entries=tuple(rows.entries.get(pk, ())),
        mdm=mdm,
        other_services=tuple(
            rules_facts.OtherService(
                code=_text(code, f"other_services[{index}].code", upper=True),
                date=day,
                practitioner=billing_ref
                if billing_npi and npi == billing_npi
                else ((npi or "").strip() or "unknown"),
            )
            for index, (code, day, npi) in enumerate(rows.other_services.get(pk, []))
        ),
        inpatient_stays=tuple(
            rules_facts.InpatientStay(start=admitted, end=discharged)
            for admitted, discharged in rows.stays.get(pk, [])
        ),
    )


def _patient_keys(patients: Sequence[Patient]) -> list[PatientKey]:
    return [(p.pk, p.billing_practitioner_id, p.billing_practitioner.npi) for p in patients]


def _keys(patients: QuerySet[Patient]) -> list[PatientKey]:
    """(id, billing practitioner id, NPI) of the patients, in id order: one query."""
    return _fetch(
        patients.order_by("pk").values_list(
            "pk", "billing_practitioner_id", "billing_practitioner__npi"
        )
    )


def patient_keys(patient_ids: Sequence[int]) -> list[PatientKey]:
    """The keys of the patients with these ids."""
    return _keys(Patient.objects.filter(_ids_in("pk", patient_ids)))


def active_patient_keys(practice: Practice) -> list[PatientKey]:
    """The keys of the practice's active patients."""
    return _keys(Patient.objects.filter(practice=practice, is_active=True))


def patients_month_facts(patients: Sequence[Patient], month: dt.date) -> dict[int, FactsDict]:
    """The billing-rules.md facts of each patient's month, by patient id, in eight queries
    whatever the number of patients and entries. `patients` need `billing_practitioner`
    loaded (select_related) to keep that promise."""
    first, last = month_start(month), month_end(month)
    keys = _patient_keys(patients)
    rows = _load_month_rows([key[0] for key in keys], first, last)
    rulebook, refs = rulebook_for_month(first), _Refs()
    return {key[0]: _patient_facts_dict(key, first, rows, rulebook, refs) for key in keys}


def patients_month_engine_facts(keys: Sequence[PatientKey], month: dt.date) -> dict[int, Facts]:
    """The engine's Facts of each patient's month, by patient id, in eight queries: what
    parse_facts(patients_month_facts(...)) gives (or a FactsError naming the field), built
    straight from database rows without the JSON-like round trip (the close's hot path).
    `keys` are (patient id, billing practitioner id, NPI), as `patient_keys` reads them."""
    first, last = month_start(month), month_end(month)
    rows = _load_month_rows([key[0] for key in keys], first, last, engine=True)
    rulebook, refs = rulebook_for_month(first), _Refs()
    return {key[0]: _patient_engine_facts(key, first, rows, rulebook, refs) for key in keys}


def rulebook_for_month(month: dt.date) -> Rulebook:
    """The shipped rulebook of the month's year, else the nearest (billing-rules.md s. 2)."""
    return rulebook_for_year(month.year)


def patient_month_facts(*, patient: Patient, month: dt.date) -> FactsDict:
    """The facts of one patient-month (billing-rules.md section 2)."""
    return patients_month_facts([patient], month)[patient.pk]


def practice_fees(practice: Practice, year: int) -> dict[str, Decimal]:
    """The practice's fees for `year`: its locality's where loaded, else its national
    (blank-locality) ones; codes with neither keep the rulebook's shipped default."""
    fees: dict[str, Decimal] = {}
    entries = FeeScheduleEntry.objects.filter(
        practice=practice, year=year, locality__in={"", practice.fee_locality}
    ).order_by("locality")  # blank first, so the practice's own locality wins
    for entry in entries:
        fees[entry.code] = entry.amount
    return fees


def practice_rulebook(practice: Practice, month: dt.date) -> Rulebook:
    """The month's rulebook with the practice's fee schedule applied."""
    return with_practice_fees(practice, rulebook_for_month(month))


def with_practice_fees(practice: Practice, rulebook: Rulebook) -> Rulebook:
    """The rulebook with the practice's fees of its year (the engine takes the fees it is
    given; billing-rules.md section 1)."""
    fees = practice_fees(practice, rulebook.year)
    known = {code: amount for code, amount in fees.items() if code in rulebook.codes}
    return rulebook.with_fees(known) if known else rulebook


def _as_engine_row(patient_id: int, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of `_ENTRY_COLUMNS` (without the patient id) as `_engine_entry_rows` gives it."""
    activity_id, day, start, seconds, shared_with, kind, staff, credential, activity, program = row
    return (
        patient_id,
        f"a{activity_id}",
        day,
        seconds,
        kind,
        _seconds_of_day(start),
        staff,
        credential,
        activity,
        program,
        shared_with,
    )


def patient_month_decision(*, patient: Patient, month: dt.date) -> tuple[FactsDict, Decision]:
    """The live decision of one patient-month: the same engine the month close runs, on
    the same facts (built once from the rows, as JSON-like facts and as engine Facts)."""
    first, last = month_start(month), month_end(month)
    key = _patient_keys([patient])[0]
    rows = _load_month_rows([patient.pk], first, last)
    rulebook, refs = rulebook_for_month(first), _Refs()
    facts = _patient_facts_dict(key, first, rows, rulebook, refs)
    rows = replace(
        rows,
        entries=_engine_entries(
            [_as_engine_row(patient.pk, row) for row in rows.entries[patient.pk]]
        ),
    )
    engine_facts = _patient_engine_facts(key, first, rows, rulebook, refs)
    return facts, evaluate(engine_facts, practice_rulebook(patient.practice, month))
