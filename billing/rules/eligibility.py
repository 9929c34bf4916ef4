"""Eligibility (billing-rules.md s. 4, "Eligibility"): the blocks, checked all together.

Every rule returns its findings (possibly none); the engine reports all of them, so a
biller sees everything to fix at once.
"""

from __future__ import annotations

import datetime as dt

from billing.rules import findings as rules
from billing.rules.facts import Consent, Facts
from billing.rules.findings import Finding, finding
from billing.rules.rulebooks import Rulebook

_INITIATING_CODES_TEXT = (
    "E/M 99202-99205 or 99212-99215, Annual Wellness Visit G0438/G0439, or IPPE G0402"
)


def active_categories(facts: Facts) -> list[str]:
    """The distinct ICD-10 categories of the chronic conditions active in the month."""
    seen: list[str] = []
    for condition in facts.patient.chronic_conditions:
        if condition.active_in(facts.month) and condition.category not in seen:
            seen.append(condition.category)
    return seen


def diagnoses(facts: Facts, rulebook: Rulebook) -> tuple[str, ...]:
    """The chronic ICD-10 codes active in the month, in input order, without repeats, capped."""
    codes: list[str] = []
    for condition in facts.patient.chronic_conditions:
        if condition.active_in(facts.month) and condition.icd10 not in codes:
            codes.append(condition.icd10)
    return tuple(codes[: rulebook.max_diagnoses])


def check_conditions(facts: Facts) -> list[Finding]:
    """ELIGIBILITY_CONDITIONS: CCM needs two or more chronic conditions active in the month."""
    categories = active_categories(facts)
    if len(categories) >= 2:
        return []
    if categories:
        found = f"Only one chronic condition ({categories[0]}) is active"
    else:
        found = "No chronic condition is active"
    return [
        finding(
            rules.ELIGIBILITY_CONDITIONS,
            f"{found} in {facts.month.name}; CCM needs two or more (codes of the same ICD-10 "
            "category count once). For a single complex condition consider Principal Care "
            "Management (PCM, 99424-99427).",
        )
    ]


def counting_consents(facts: Facts) -> list[Consent]:
    """Consents of the billing practitioner whose window overlaps the month."""
    return [
        consent
        for consent in facts.patient.consents
        if consent.billing_practitioner == facts.billing_practitioner
        and consent.overlaps(facts.month)
    ]


def ccm_began(facts: Facts) -> dt.date:
    """The date of the earliest consent that counts (the month's first day if none does)."""
    dates = [consent.date for consent in counting_consents(facts)]
    return min(dates) if dates else facts.month.first_day


def check_consent(facts: Facts) -> list[Finding]:
    """CONSENT_MISSING / CONSENT_PRACTITIONER_MISMATCH: consent to this practitioner.

    A consent counts when it was given to the billing practitioner and its window (from its
    date up to, not including, its revocation) overlaps the month.
    """
    if counting_consents(facts):
        return []
    others = sorted(
        {
            consent.billing_practitioner
            for consent in facts.patient.consents
            if consent.billing_practitioner != facts.billing_practitioner
            and consent.overlaps(facts.month)
        }
    )
    if others:
        return [
            finding(
                rules.CONSENT_PRACTITIONER_MISMATCH,
                f"The patient's CCM consent for {facts.month.name} was given to "
                f"{', '.join(others)}, not to the billing practitioner "
                f"{facts.billing_practitioner}: consent must be obtained again when the "
                "billing practitioner changes.",
            )
        ]
    revoked = [
        consent
        for consent in facts.patient.consents
        if consent.billing_practitioner == facts.billing_practitioner
        and consent.revoked is not None
        and consent.revoked <= facts.month.first_day
    ]
    detail = ""
    if revoked:
        last = max(revoked, key=lambda consent: consent.revoked or consent.date)
        detail = f" (the consent of {last.date.isoformat()} was revoked on {last.revoked})"
    return [
        finding(
            rules.CONSENT_MISSING,
            f"No CCM consent to {facts.billing_practitioner} covers {facts.month.name}{detail}: "
            "document the patient's verbal or written consent before billing.",
        )
    ]


def _initiating_visit_problem(facts: Facts, rulebook: Rulebook) -> str | None:
    visit = facts.patient.initiating_visit
    if visit is None:
        return "no initiating visit is recorded"
    if visit.code not in rulebook.initiating_visit_codes:
        return f"the visit of {visit.date.isoformat()} ({visit.code}) is not a qualifying code"
    if not visit.ccm_discussed:
        return f"the visit of {visit.date.isoformat()} does not record that CCM was discussed"
    if visit.date > facts.month.last_day:
        return f"the visit of {visit.date.isoformat()} is after {facts.month.name}"
    return None


def check_initiating_visit(facts: Facts, rulebook: Rulebook) -> list[Finding]:
    """INITIATING_VISIT_MISSING: a patient not seen within 365 days needs an initiating visit."""
    began = ccm_began(facts)
    prior = facts.patient.prior_visit_date
    if prior is not None and 0 <= (began - prior).days <= rulebook.prior_visit_days:
        return []
    problem = _initiating_visit_problem(facts, rulebook)
    if problem is None:
        return []
    seen = "no prior visit is recorded" if prior is None else f"last seen {prior.isoformat()}"
    if counting_consents(facts):
        start = f"CCM began on {began.isoformat()}"
    else:
        start = f"{facts.month.name}, when no consent counts yet"
    return [
        finding(
            rules.INITIATING_VISIT_MISSING,
            f"The patient was not seen by {facts.billing_practitioner} within "
            f"{rulebook.prior_visit_days} days before {start} ({seen}); "
            f"CCM must start at a qualifying visit ({_INITIATING_CODES_TEXT}) where CCM was "
            f"discussed, on or before {facts.month.last_day.isoformat()}: {problem}.",
        )
    ]


def check_care_plan(facts: Facts) -> list[Finding]:
    """CARE_PLAN_MISSING: a comprehensive care plan established on/before the month's last day."""
    plan = facts.patient.care_plan
    if plan is not None and plan.established <= facts.month.last_day:
        return []
    detail = (
        "No comprehensive care plan is recorded"
        if plan is None
        else f"The care plan was established on {plan.established.isoformat()}, after "
        f"{facts.month.name}"
    )
    return [
        finding(
            rules.CARE_PLAN_MISSING,
            f"{detail}: CCM needs a comprehensive care plan established on or before "
            f"{facts.month.last_day.isoformat()}.",
        )
    ]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _service_name(code: str, rulebook: Rulebook) -> str:
    names = {"G0181": "home health care plan oversight", "G0182": "hospice care plan oversight"}
    if code in names:
        return f"{names[code]} ({code})"
    if code in rulebook.codes:
        return f"CCM {code}"
    if code.startswith("G055"):
        return f"Advanced Primary Care Management ({code})"
    if code.startswith("9942"):
        return f"Principal Care Management ({code})"
    return f"ESRD monthly services ({code})"


def check_other_services(facts: Facts, rulebook: Rulebook) -> list[Finding]:
    """EXCLUSIVE_SERVICE / OVERLAPPING_SERVICE: services billed elsewhere in the same month.

    G0181, G0182 and ESRD 90951-90970 by anyone, PCM or APCM by the billing practitioner,
    or CCM by another practitioner exclude CCM. PCM or APCM by another practitioner (or by
    one not recorded) is a warning: payers differ.
    """
    out: list[Finding] = []
    for service in sorted(facts.other_services, key=lambda s: (s.date, s.code)):
        if not facts.month.contains(service.date):
            continue
        by = service.practitioner
        same = by == facts.billing_practitioner
        who = f" by {by}" if by else ""
        what = f"{_service_name(service.code, rulebook)} billed on {service.date.isoformat()}{who}"
        if service.code in rulebook.exclusive_any or (
            service.code in rulebook.exclusive_same_practitioner and same
        ):
            out.append(
                finding(
                    rules.EXCLUSIVE_SERVICE,
                    f"{_sentence(what)} excludes CCM for {facts.month.name}.",
                )
            )
        elif service.code in rulebook.codes and not same:
            out.append(
                finding(
                    rules.EXCLUSIVE_SERVICE,
                    f"{_sentence(what)}: only one practitioner may bill CCM for a patient "
                    "in a month.",
                )
            )
        elif service.code in rulebook.exclusive_same_practitioner:
            out.append(
                finding(
                    rules.OVERLAPPING_SERVICE,
                    f"{_sentence(what)}{'' if by else ' (practitioner not recorded)'}: payers "
                    "differ on whether this excludes CCM; check the payer's rule before "
                    "submitting.",
                )
            )
    return out


def check_eligibility(facts: Facts, rulebook: Rulebook) -> list[Finding]:
    """All eligibility rules, in the order of billing-rules.md s. 4."""
    return [
        *check_conditions(facts),
        *check_consent(facts),
        *check_initiating_visit(facts, rulebook),
        *check_care_plan(facts),
        *check_other_services(facts, rulebook),
    ]
