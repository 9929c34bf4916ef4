"""Eligibility (billing-rules.md s. 4, "Eligibility"): the blocks, checked all together,
and the warnings about the patient's record that come with them (a condition that is not
chronic, a care plan not reviewed or not signed, a service billed elsewhere).

Every rule returns its findings (possibly none); the engine reports all of them, so a
biller sees everything to fix at once.
"""

from __future__ import annotations

import datetime as dt

from billing.rules import findings as rules
from billing.rules.classification import CCI_NAME, CCI_VERSION, listed_as
from billing.rules.facts import CarePlan, ChronicCondition, Consent, Facts, OtherService
from billing.rules.findings import Finding, finding
from billing.rules.rulebooks import Rulebook

_INITIATING_CODES_TEXT = (
    "E/M 99202-99205 or 99212-99215, Annual Wellness Visit G0438/G0439, or IPPE G0402"
)
_CLASSIFICATION_TEXT = f"{CCI_NAME.replace(' (CCI)', '')} (release {CCI_VERSION})"


class Conditions:
    """The month's active conditions, sorted out once: those that count as chronic (the
    classification marks them chronic, or the practitioner attests them), and the others
    with what the classification says of them (the listed code and its indicator, or None
    when neither the code nor a parent is listed). Both in input order."""

    def __init__(
        self,
        chronic: tuple[ChronicCondition, ...],
        not_chronic: tuple[tuple[ChronicCondition, tuple[str, bool] | None], ...],
    ) -> None:
        self.chronic = chronic
        self.not_chronic = not_chronic

    @staticmethod
    def of(facts: Facts) -> Conditions:
        chronic: list[ChronicCondition] = []
        not_chronic: list[tuple[ChronicCondition, tuple[str, bool] | None]] = []
        for condition in facts.patient.chronic_conditions:
            if not condition.active_in(facts.month):
                continue
            if condition.attested_chronic:
                chronic.append(condition)
                continue
            listed = listed_as(condition.icd10)
            if listed is not None and listed[1]:
                chronic.append(condition)
            else:
                not_chronic.append((condition, listed))
        return Conditions(tuple(chronic), tuple(not_chronic))

    def not_counted(self) -> list[tuple[ChronicCondition, tuple[str, bool] | None]]:
        """The conditions that do not count, one per code, in input order."""
        seen: set[str] = set()
        out: list[tuple[ChronicCondition, tuple[str, bool] | None]] = []
        for condition, listed in self.not_chronic:
            if condition.icd10 not in seen:
                seen.add(condition.icd10)
                out.append((condition, listed))
        return out

    def categories(self) -> list[str]:
        """The distinct ICD-10 categories of the chronic conditions, in input order."""
        seen: list[str] = []
        for condition in self.chronic:
            if condition.category not in seen:
                seen.append(condition.category)
        return seen


def diagnoses(conditions: Conditions, rulebook: Rulebook) -> tuple[str, ...]:
    """The chronic ICD-10 codes active in the month, in input order, without repeats, capped."""
    codes: list[str] = []
    for condition in conditions.chronic:
        if condition.icd10 not in codes:
            codes.append(condition.icd10)
    return tuple(codes[: rulebook.max_diagnoses])


def check_conditions(facts: Facts, conditions: Conditions) -> list[Finding]:
    """ELIGIBILITY_CONDITIONS: CCM needs two or more chronic conditions active in the month."""
    categories = conditions.categories()
    if len(categories) >= 2:
        return []
    if categories:
        found = f"Only one chronic condition ({categories[0]}) is active"
    else:
        found = "No chronic condition is active"
    not_counted = ""
    counted = {condition.icd10 for condition in conditions.chronic}
    codes = [c.icd10 for c, _ in conditions.not_counted() if c.icd10 not in counted]
    if codes:
        not_counted = f" ({', '.join(codes)} not counted: not chronic)"
    return [
        finding(
            rules.ELIGIBILITY_CONDITIONS,
            f"{found}{not_counted} in {facts.month.name}; CCM needs two or more (codes of the "
            "same ICD-10 category count once). For a single complex condition consider "
            "Principal Care Management (PCM, 99424-99427).",
        )
    ]


def _dotted(code: str) -> str:
    """An ICD-10-CM code as it is written, from the classification's dotless form."""
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def check_chronic(conditions: Conditions) -> list[Finding]:
    """CONDITION_NOT_CHRONIC: each active condition that does not count because the
    classification does not mark its code chronic (nor that of its nearest listed parent,
    for a code newer than the classification) and the practitioner has not attested it.
    One finding per code, in input order; a code that also counts through another of its
    conditions (attested there) is still named, as that record does not count."""
    out: list[Finding] = []
    counted = {condition.icd10 for condition in conditions.chronic}
    for condition, listed in conditions.not_counted():
        code = condition.icd10
        if listed is None:
            why = f"is not in the {_CLASSIFICATION_TEXT} and has no listed parent code"
        elif listed[0] == code.replace(".", ""):
            why = f"is not a chronic condition in the {_CLASSIFICATION_TEXT}"
        else:
            why = (
                f"is not a chronic condition in the {_CLASSIFICATION_TEXT} (a code newer than "
                f"it, taken as its parent {_dotted(listed[0])})"
            )
        if code in counted:
            effect = (
                "this record of it does not count (another record of the code, attested "
                "chronic, does): attest it or remove the duplicate."
            )
        else:
            effect = (
                "it does not count toward the two chronic conditions of CCM and is not a "
                "diagnosis of the claim. If it is expected to last 12 months or until death, the "
                "practitioner can attest it chronic."
            )
        out.append(
            finding(
                rules.CONDITION_NOT_CHRONIC,
                f"{code} {why}, and the practitioner has not attested it chronic: {effect}",
            )
        )
    return out


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
    billing = facts.name(facts.billing_practitioner)
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
                f"{', '.join(facts.name(ref) for ref in others)}, not to the billing "
                f"practitioner {billing}: consent must be obtained again when the billing "
                "practitioner changes.",
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
        last = max(revoked, key=lambda consent: (consent.revoked or consent.date, consent.date))
        detail = f" (the consent of {last.date.isoformat()} was revoked on {last.revoked})"
    return [
        finding(
            rules.CONSENT_MISSING,
            f"No CCM consent to {billing} covers {facts.month.name}{detail}: "
            "document the patient's verbal or written consent before billing.",
        )
    ]


def prior_visit_counts(facts: Facts, rulebook: Rulebook, began: dt.date) -> bool:
    """The patient was seen by the billing practitioner on or before the day CCM began and
    no more than `prior_visit_days` before it (a visit after that day says nothing)."""
    prior = facts.patient.prior_visit_date
    return prior is not None and 0 <= (began - prior).days <= rulebook.prior_visit_days


def initiating_visit_problems(facts: Facts, rulebook: Rulebook, began: dt.date) -> list[str]:
    """What keeps the initiating visit from initiating CCM (none: it does). It must have a
    qualifying code, record that CCM was discussed, be furnished by the billing
    practitioner (an unknown practitioner does not count), be dated no more than
    `prior_visit_days` before CCM began and on/before the month's last day."""
    visit = facts.patient.initiating_visit
    if visit is None:
        return ["no initiating visit is recorded"]
    problems: list[str] = []
    if visit.code not in rulebook.initiating_visit_codes:
        problems.append("its code is not a qualifying one")
    if not visit.ccm_discussed:
        problems.append("it does not record that CCM was discussed")
    if visit.practitioner is None:
        problems.append("it does not record who saw the patient")
    elif visit.practitioner != facts.billing_practitioner:
        problems.append(f"it was with {facts.name(visit.practitioner)}")
    if (began - visit.date).days > rulebook.prior_visit_days:
        problems.append(
            f"it is more than {rulebook.prior_visit_days} days before CCM began "
            f"({began.isoformat()})"
        )
    if visit.date > facts.month.last_day:
        problems.append(f"it is after {facts.month.name}")
    if not problems:
        return []
    return [f"the visit of {visit.date.isoformat()} ({visit.code}): {', '.join(problems)}"]


def check_initiating_visit(facts: Facts, rulebook: Rulebook) -> list[Finding]:
    """INITIATING_VISIT_MISSING: a patient not seen by the billing practitioner within 365
    days before CCM began needs an initiating visit by them."""
    began = ccm_began(facts)
    if prior_visit_counts(facts, rulebook, began):
        return []
    problems = initiating_visit_problems(facts, rulebook, began)
    if not problems:
        return []
    prior = facts.patient.prior_visit_date
    if prior is None:
        seen = "no prior visit is recorded"
    elif prior > began:
        seen = f"the visit of {prior.isoformat()} is after that day and does not count"
    else:
        seen = f"last seen {prior.isoformat()}"
    if counting_consents(facts):
        start = f"CCM began on {began.isoformat()}"
    else:
        start = f"{facts.month.name}, when no consent counts yet"
    billing = facts.name(facts.billing_practitioner)
    return [
        finding(
            rules.INITIATING_VISIT_MISSING,
            f"The patient was not seen by {billing} within {rulebook.prior_visit_days} days "
            f"before {start} ({seen}); CCM must start at a qualifying visit "
            f"({_INITIATING_CODES_TEXT}) with {billing}, where CCM was discussed, no more "
            f"than {rulebook.prior_visit_days} days before CCM began and on or before "
            f"{facts.month.last_day.isoformat()}: {'; '.join(problems)}.",
        )
    ]


def last_review(plan: CarePlan) -> dt.date:
    """The day the plan in force was last reviewed or revised: `reviewed`, by default
    `established`. The facts give the plan in force for the month, with its last review on
    or before the month's end (the facts builder's part)."""
    return plan.established if plan.reviewed is None else plan.reviewed


def check_care_plan(facts: Facts, rulebook: Rulebook) -> list[Finding]:
    """CARE_PLAN_MISSING: a comprehensive care plan established on/before the month's last
    day (block); CARE_PLAN_NOT_REVIEWED and CARE_PLAN_UNSIGNED: the plan in force was not
    reviewed within `care_plan_review_days`, or is not signed by the billing practitioner
    (warnings: the practitioner's oversight is undocumented)."""
    plan = facts.patient.care_plan
    last_day = facts.month.last_day
    if plan is None or plan.established > last_day:
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
                f"{last_day.isoformat()}.",
            )
        ]
    out: list[Finding] = []
    reviewed = last_review(plan)
    age = (last_day - reviewed).days
    if age > rulebook.care_plan_review_days:
        out.append(
            finding(
                rules.CARE_PLAN_NOT_REVIEWED,
                f"The care plan in force was last reviewed or revised on {reviewed.isoformat()}, "
                f"{age} days before {last_day.isoformat()} (more than "
                f"{rulebook.care_plan_review_days}): review it with the patient and record "
                "the review.",
            )
        )
    billing = facts.name(facts.billing_practitioner)
    if plan.signed_by != facts.billing_practitioner:
        signed = (
            "is not signed"
            if plan.signed_by is None
            else f"is signed by {facts.name(plan.signed_by)}, not by the billing practitioner"
        )
        out.append(
            finding(
                rules.CARE_PLAN_UNSIGNED,
                f"The care plan in force (established {plan.established.isoformat()}) {signed}: "
                "the billing practitioner's oversight of it is undocumented. Have "
                f"{billing} sign it.",
            )
        )
    return out


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


def _service_order(service: OtherService) -> tuple[dt.date, str, str]:
    return (service.date, service.code, service.practitioner or "")


def check_other_services(facts: Facts, rulebook: Rulebook) -> list[Finding]:
    """EXCLUSIVE_SERVICE / DUPLICATE_CCM / OVERLAPPING_SERVICE: services billed elsewhere
    in the same month, one finding per service, listed rule by rule, each by date.

    G0181, G0182 and ESRD 90951-90970 by anyone, PCM or APCM by the billing practitioner,
    or CCM by another practitioner (or one not recorded) exclude CCM. CCM already billed by
    the billing practitioner outside this system is the month billed twice. PCM or APCM by
    another practitioner (or by one not recorded) is a warning: payers differ.
    """
    if not facts.other_services:
        return []
    found: dict[str, list[Finding]] = {
        rules.EXCLUSIVE_SERVICE: [],
        rules.DUPLICATE_CCM: [],
        rules.OVERLAPPING_SERVICE: [],
    }
    for service in sorted(facts.other_services, key=_service_order):
        if not facts.month.contains(service.date):
            continue
        by = service.practitioner
        same = by == facts.billing_practitioner
        who = f" by {facts.name(by)}" if by else ""
        what = f"{_service_name(service.code, rulebook)} billed on {service.date.isoformat()}{who}"
        if service.code in rulebook.exclusive_any or (
            service.code in rulebook.exclusive_same_practitioner and same
        ):
            message = f"{_sentence(what)} excludes CCM for {facts.month.name}."
            found[rules.EXCLUSIVE_SERVICE].append(finding(rules.EXCLUSIVE_SERVICE, message))
        elif service.code in rulebook.codes and same:
            message = (
                f"{_sentence(what)} outside this system: CCM for {facts.month.name} is already "
                "billed by the same practitioner, and a month is billed once."
            )
            found[rules.DUPLICATE_CCM].append(finding(rules.DUPLICATE_CCM, message))
        elif service.code in rulebook.codes:
            message = (
                f"{_sentence(what)}: only one practitioner may bill CCM for a patient in a month."
            )
            found[rules.EXCLUSIVE_SERVICE].append(finding(rules.EXCLUSIVE_SERVICE, message))
        elif service.code in rulebook.exclusive_same_practitioner:
            message = (
                f"{_sentence(what)}{'' if by else ' (practitioner not recorded)'}: payers "
                "differ on whether this excludes CCM; check the payer's rule before submitting."
            )
            found[rules.OVERLAPPING_SERVICE].append(finding(rules.OVERLAPPING_SERVICE, message))
    return [item for group in found.values() for item in group]


def check_eligibility(facts: Facts, rulebook: Rulebook, conditions: Conditions) -> list[Finding]:
    """All eligibility rules, in the order of billing-rules.md s. 4."""
    return [
        *check_conditions(facts, conditions),
        *check_chronic(conditions),
        *check_consent(facts),
        *check_initiating_visit(facts, rulebook),
        *check_care_plan(facts, rulebook),
        *check_other_services(facts, rulebook),
    ]
