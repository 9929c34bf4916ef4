"""Reads for billing: the facts of patient-months (billing-rules.md section 2) built from
the database in a fixed number of queries, the practice's fees, and live decisions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q

from billing.models import FeeScheduleEntry, MdmAttestation
from billing.rules import RULEBOOKS, Decision, Rulebook, evaluate, parse_facts
from billing.rules.rulebooks import newest_rulebook
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


def practitioner_ref(user_id: int) -> str:
    """How the facts name a practitioner: one stable id per user."""
    return f"U{user_id}"


def _group(rows: Iterable[Any], key: str) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass(frozen=True)
class _MonthRows:
    """Every row the facts of some patients' month need, one query per kind."""

    conditions: dict[int, list[ChronicCondition]]
    consents: dict[int, list[Consent]]
    visits: dict[int, list[Visit]]
    care_plans: dict[int, list[CarePlan]]
    other_services: dict[int, list[OtherService]]
    stays: dict[int, list[InpatientStay]]
    shares: dict[int, list[TimeShare]]
    attestations: dict[int, MdmAttestation]


def _load_month_rows(patient_ids: Sequence[int], first: dt.date, last: dt.date) -> _MonthRows:
    in_patients = Q(patient_id__in=patient_ids)
    return _MonthRows(
        conditions=_group(
            ChronicCondition.objects.filter(in_patients, onset__lte=last)
            .exclude(resolved__lt=first)
            .order_by("id"),
            "patient_id",
        ),
        consents=_group(Consent.objects.filter(in_patients).order_by("date", "id"), "patient_id"),
        visits=_group(
            Visit.objects.filter(in_patients, date__lte=last).order_by("date", "id"), "patient_id"
        ),
        care_plans=_group(
            CarePlan.objects.filter(in_patients, established__lte=last)
            .only("id", "patient_id", "established")
            .order_by("established"),
            "patient_id",
        ),
        other_services=_group(
            OtherService.objects.filter(in_patients, date__range=(first, last)).order_by(
                "date", "id"
            ),
            "patient_id",
        ),
        stays=_group(
            InpatientStay.objects.filter(in_patients, admitted__lte=last, discharged__gte=first),
            "patient_id",
        ),
        shares=_group(
            TimeShare.objects.filter(in_patients, date__range=(first, last))
            .select_related("activity")
            .order_by("date", "activity_id"),
            "patient_id",
        ),
        attestations={
            a.patient_id: a for a in MdmAttestation.objects.filter(in_patients, month=first)
        },
    )


def _visit_facts(
    visits: list[Visit], consents: list[dict[str, Any]], billing_ref: str, rulebook: Rulebook
) -> tuple[str | None, dict[str, Any] | None]:
    """prior_visit_date: the latest visit with the billing practitioner before CCM began
    (the earliest consent to them); initiating_visit: the first visit at which CCM was
    discussed, preferring a qualifying code (billing rule INITIATING_VISIT_MISSING)."""
    own = [
        v
        for v in visits
        if v.practitioner_id is None or practitioner_ref(v.practitioner_id) == billing_ref
    ]
    consent_dates = [c["date"] for c in consents if c["billing_practitioner"] == billing_ref]
    began = min(consent_dates) if consent_dates else None
    prior = [v for v in own if began is not None and v.date.isoformat() < began]
    discussed = [v for v in own if v.ccm_discussed]
    qualifying = [v for v in discussed if v.code in rulebook.initiating_visit_codes]
    initiating = (qualifying or discussed or [None])[0]
    return (
        _iso(prior[-1].date) if prior else None,
        {
            "date": initiating.date.isoformat(),
            "code": initiating.code,
            "ccm_discussed": initiating.ccm_discussed,
        }
        if initiating
        else None,
    )


def _time_entry_fact(share: TimeShare) -> dict[str, Any]:
    activity = share.activity
    entry: dict[str, Any] = {
        "id": f"a{activity.pk}",
        "date": activity.date.isoformat(),
        "seconds": activity.duration_seconds,
        "shared_with": activity.patient_count,
        "performer": activity.performer_kind,
        "staff_id": practitioner_ref(activity.performer_id),
        "credential": activity.performer_credential,
        "activity": activity.activity,
        "program": activity.program,
    }
    if activity.started_at is not None:
        entry["start"] = activity.started_at.strftime("%H:%M:%S")
    return entry


def _patient_facts(
    patient: Patient, month: dt.date, rows: _MonthRows, billing_npi: str, rulebook: Rulebook
) -> FactsDict:
    billing_ref = practitioner_ref(patient.billing_practitioner_id)
    consents = [
        {
            "date": c.date.isoformat(),
            "method": c.method,
            "revoked": _iso(c.revoked),
            "billing_practitioner": practitioner_ref(c.billing_practitioner_id),
        }
        for c in rows.consents.get(patient.pk, [])
    ]
    prior_visit, initiating = _visit_facts(
        rows.visits.get(patient.pk, []), consents, billing_ref, rulebook
    )
    plans = rows.care_plans.get(patient.pk, [])
    attestation = rows.attestations.get(patient.pk)
    return {
        "month": f"{month:%Y-%m}",
        "billing_practitioner": billing_ref,
        "patient": {
            "chronic_conditions": [
                {"icd10": c.icd10, "onset": c.onset.isoformat(), "resolved": _iso(c.resolved)}
                for c in rows.conditions.get(patient.pk, [])
            ],
            "consents": consents,
            "prior_visit_date": prior_visit,
            "initiating_visit": initiating,
            "care_plan": {"established": plans[0].established.isoformat()} if plans else None,
        },
        "time_entries": [_time_entry_fact(s) for s in rows.shares.get(patient.pk, [])],
        "mdm": {
            "level": attestation.level,
            "attested_by": practitioner_ref(attestation.practitioner_id),
            "date": attestation.signed_at.date().isoformat(),
        }
        if attestation
        else None,
        "other_services": [
            {
                "code": s.code,
                "date": s.date.isoformat(),
                "practitioner": billing_ref
                if billing_npi and s.practitioner_npi == billing_npi
                else (s.practitioner_npi or "unknown"),
            }
            for s in rows.other_services.get(patient.pk, [])
        ],
        "inpatient_stays": [
            {"from": s.admitted.isoformat(), "to": s.discharged.isoformat()}
            for s in rows.stays.get(patient.pk, [])
        ],
    }


def patients_month_facts(patients: Sequence[Patient], month: dt.date) -> dict[int, FactsDict]:
    """The billing-rules.md facts of each patient's month, by patient id, in eight queries
    whatever the number of patients and entries. `patients` need `billing_practitioner`
    loaded (select_related) to keep that promise."""
    first, last = month_start(month), month_end(month)
    rows = _load_month_rows([p.pk for p in patients], first, last)
    rulebook = rulebook_for_month(first)
    return {
        patient.pk: _patient_facts(patient, first, rows, patient.billing_practitioner.npi, rulebook)
        for patient in patients
    }


def rulebook_for_month(month: dt.date) -> Rulebook:
    """The shipped rulebook of the month's year, else the newest (billing-rules.md s. 2)."""
    return RULEBOOKS.get(str(month.year)) or newest_rulebook()


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


def patient_month_decision(*, patient: Patient, month: dt.date) -> tuple[FactsDict, Decision]:
    """The live decision of one patient-month: the same engine the month close runs."""
    facts = patient_month_facts(patient=patient, month=month)
    return facts, evaluate(parse_facts(facts), practice_rulebook(patient.practice, month))
