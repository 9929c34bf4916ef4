"""The live billing decision of some patients' month: the engine's facts of all of them in
a fixed set of queries, built as the month close builds them, and the engine per patient
(billing-rules.md sections 2 and 3). The patient's month page and the call list call it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from billing.rules import Decision, FactsError, Rulebook, evaluate, parse_facts
from billing.selectors import PatientKey, patients_month_engine_facts, patients_month_facts
from patients.models import Patient


def decide_months(
    keys: Sequence[PatientKey], first: dt.date, rulebook: Rulebook
) -> dict[int, Decision | str]:
    """Each patient's live decision for the month: the engine's facts of all of them in
    one fixed set of queries, built straight from the rows as the month close builds them
    (billing.selectors.patients_month_engine_facts), one rulebook, and the engine per
    patient. `keys` name the patients as billing.selectors does (id, billing
    practitioner id, NPI).

    A patient whose facts the engine refuses gets the error text instead. The direct
    builder refuses the whole batch at the first bad fact, so then the JSON-like facts are
    built and parsed patient by patient (parse_facts): the error names the field as the
    API names it, and the other patients keep their decisions."""
    try:
        facts = patients_month_engine_facts(keys, first)
    except FactsError:
        return _decide_months_one_by_one([key[0] for key in keys], first, rulebook)
    decided: dict[int, Decision | str] = {}
    for pk, _, _ in keys:
        try:
            decided[pk] = evaluate(facts[pk], rulebook)
        except FactsError as error:
            decided[pk] = f"{error.field}: {error.message}"
    return decided


def _decide_months_one_by_one(
    patient_ids: list[int], first: dt.date, rulebook: Rulebook
) -> dict[int, Decision | str]:
    patients = Patient.objects.filter(pk__in=patient_ids).select_related("billing_practitioner")
    facts = patients_month_facts(list(patients), first)
    decided: dict[int, Decision | str] = {}
    for pk in patient_ids:
        try:
            decided[pk] = evaluate(parse_facts(facts[pk]), rulebook)
        except FactsError as error:
            decided[pk] = f"{error.field}: {error.message}"
    return decided
