"""`evaluate(facts, rulebook) -> Decision`: the month-end decision, in the order of s. 4.

The year of the fees, eligibility, which time counts, the family and its units, the
advice, then the documentation findings. Pure: the same facts and rulebook always give
the same decision.
"""

from __future__ import annotations

import datetime as dt

from billing.rules import findings as rules
from billing.rules.counting import TimeCount, count_time, is_own_time
from billing.rules.decision import CountedSeconds, Decision, Line
from billing.rules.documentation import check_documentation
from billing.rules.eligibility import Conditions, check_eligibility, diagnoses
from billing.rules.facts import Facts
from billing.rules.families import (
    Units,
    addon_cap_reached,
    choose_units,
    complex_below_threshold,
    complex_no_mdm,
    mdm_not_billing_practitioner,
    mdm_qualifies,
    next_threshold,
    no_time_threshold,
)
from billing.rules.findings import Finding
from billing.rules.rulebooks import (
    MONTH_END,
    PRACTITIONER_TIME,
    Rulebook,
    fees_from_other_year,
    rulebook_for,
)


def family_rule(family_name: str) -> str:
    """The rule id recorded in Decision.rules_applied for the family that set the lines."""
    return f"FAMILY_{family_name.upper()}"


def threshold_met_on(count: TimeCount, units: Units, billing_practitioner: str) -> dt.date | None:
    """The date the chosen family's base threshold was reached (service_date "threshold_met")."""
    family = units.family
    total = 0
    for item in count.counted():
        if family.time == PRACTITIONER_TIME and not is_own_time(item.entry, billing_practitioner):
            continue
        total += item.seconds
        if total >= family.base.seconds:
            return item.entry.date
    return None


def _service_date(
    facts: Facts, rulebook: Rulebook, count: TimeCount, units: Units | None
) -> dt.date | None:
    """Month end by default (add-on units never split across claims); else threshold met."""
    if rulebook.service_date == MONTH_END:
        return facts.month.last_day
    return None if units is None else threshold_met_on(count, units, facts.billing_practitioner)


def _lines(rulebook: Rulebook, units: Units) -> tuple[Line, ...]:
    return tuple(
        Line(code=code, units=n, unit_amount=rulebook.fee(code)) for code, n in units.lines
    )


def evaluate(facts: Facts, rulebook: Rulebook | None = None) -> Decision:
    """Decide one patient-month: lines, amounts and every finding that explains them."""
    book = rulebook if rulebook is not None else rulebook_for(facts)
    conditions = Conditions.of(facts)
    eligibility = check_eligibility(facts, book, conditions)
    count = count_time(facts)
    time = CountedSeconds(count.clinical_staff, count.practitioner)
    mdm_ok = mdm_qualifies(facts, book)
    units = choose_units(book, time, mdm_ok)

    found: list[Finding] = [
        *fees_from_other_year(book, facts.month),
        *eligibility,
    ]
    found += count.findings
    if units is None:
        found.append(no_time_threshold(book, time))
    chosen = None if any(f.blocks for f in found) else units
    if chosen is not None:
        found += complex_no_mdm(facts, book, time, chosen, mdm_ok, count)
        found += complex_below_threshold(facts, book, time, chosen, mdm_ok, count)
    found += mdm_not_billing_practitioner(facts)
    if chosen is not None:
        found += addon_cap_reached(time, chosen, count)
    found += check_documentation(count.remaining, book)

    # More minutes help only when the time threshold is the month's only block.
    other_blocks = any(f.blocks and f.rule != rules.NO_TIME_THRESHOLD for f in found)
    applied = [family_rule(chosen.family.name)] if chosen is not None else []
    applied += [f.rule for f in found if f.rule not in applied]
    return Decision(
        month=str(facts.month),
        rulebook=book.name,
        billable=chosen is not None,
        tier=chosen.family.name if chosen is not None else None,
        lines=_lines(book, chosen) if chosen is not None else (),
        counted_seconds=time,
        excluded_seconds=count.excluded,
        service_date=_service_date(facts, book, count, chosen),
        diagnoses=diagnoses(conditions, book),
        next_threshold=None if other_blocks else next_threshold(book, time, mdm_ok),
        findings=tuple(found),
        rules_applied=tuple(applied),
    )
