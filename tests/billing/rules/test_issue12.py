"""Issue 12's engine bullets, each as it was seen on main: claims an auditor or a payer
would reject. Seven of them failed before billing rules revision 2; the FOO visit, the
visit after CCM began and the 2027 schedule test the tightened rules from other sides, and
the same-day stays differ only between processes (PYTHONHASHSEED), which
tests/billing/test_ccm_evaluate_command.py shows."""

from __future__ import annotations

import itertools
import json

from billing.rules import RULEBOOKS, evaluate, parse_facts
from tests.billing.rules.builders import decide, entry, facts, lines, rules_fired, the_finding

FORTY = (entry(25, date="2026-03-02"), entry(15, date="2026-03-05"))


def test_j06_9_is_not_a_second_chronic_condition() -> None:
    conditions = [
        {"icd10": "E11.9", "onset": "2019-05-01"},
        {"icd10": "J06.9", "onset": "2019-05-01"},
    ]
    d = decide(facts(*FORTY, patient__chronic_conditions=conditions))
    assert d["billable"] is False
    assert "ELIGIBILITY_CONDITIONS" in rules_fired(d)
    assert "J06.9" in the_finding(d, "CONDITION_NOT_CHRONIC")["message"]
    assert d["diagnoses"] == ["E11.9"]


def test_a_foo_visit_with_no_practitioner_does_not_initiate_ccm() -> None:
    visit = {"date": "2026-01-10", "code": "FOO", "ccm_discussed": True, "practitioner": None}
    d = decide(facts(*FORTY, patient__prior_visit_date=None, patient__initiating_visit=visit))
    assert d["billable"] is False
    assert "INITIATING_VISIT_MISSING" in rules_fired(d)


def test_a_qualifying_visit_with_no_practitioner_does_not_initiate_ccm() -> None:
    visit = {"date": "2026-01-10", "code": "99214", "ccm_discussed": True, "practitioner": None}
    d = decide(facts(*FORTY, patient__prior_visit_date=None, patient__initiating_visit=visit))
    assert "INITIATING_VISIT_MISSING" in rules_fired(d)


def test_a_2020_visit_does_not_initiate_ccm_that_began_in_2026() -> None:
    visit = {"date": "2020-01-10", "code": "99214", "ccm_discussed": True, "practitioner": "P1"}
    d = decide(facts(*FORTY, patient__prior_visit_date=None, patient__initiating_visit=visit))
    assert d["billable"] is False
    assert (
        "more than 365 days before CCM began (2026-01-10)"
        in (the_finding(d, "INITIATING_VISIT_MISSING")["message"])
    )


def test_a_visit_after_ccm_began_is_not_a_prior_visit() -> None:
    d = decide(facts(*FORTY, patient__prior_visit_date="2026-02-15"))
    assert "INITIATING_VISIT_MISSING" in rules_fired(d)


def test_another_practitioners_35_minutes_are_99490_not_99491() -> None:
    d = decide(facts(entry(35, performer="practitioner", staff_id="P2")))
    assert lines(d) == [("99490", 1)]
    assert d["tier"] == "non_complex"
    assert d["counted_seconds"] == {"clinical_staff": 2100, "practitioner": 0}
    assert "ENTRY_OTHER_PRACTITIONER" in rules_fired(d)


def test_99490_already_billed_by_the_same_practitioner_is_not_billed_again() -> None:
    billed = [{"code": "99490", "date": "2026-03-31", "practitioner": "P1"}]
    d = decide(facts(*FORTY, other_services=billed))
    assert d["billable"] is False
    assert d["lines"] == []
    assert "DUPLICATE_CCM" in rules_fired(d)


def test_a_march_2024_month_is_not_priced_at_2026_fees() -> None:
    d = decide(
        facts(
            entry(25, date="2024-03-04"),
            month="2024-03",
            patient__consents=[{"date": "2023-06-01", "billing_practitioner": "P1"}],
            patient__prior_visit_date="2023-05-01",
            patient__care_plan={"established": "2023-06-01", "signed_by": "P1"},
        )
    )
    assert d["total_amount"] == "60.49"  # 2025's, the nearest shipped year, not 66.30
    assert "fees of 2025" in the_finding(d, "FEES_FROM_OTHER_YEAR")["message"]


def test_a_practices_2027_schedule_prices_a_2027_month() -> None:
    data = facts(
        entry(25, date="2027-03-04"),
        month="2027-03",
        patient__consents=[{"date": "2026-06-01", "billing_practitioner": "P1"}],
        patient__prior_visit_date="2026-05-01",
        patient__care_plan={"established": "2026-06-01", "signed_by": "P1"},
    )
    book = RULEBOOKS["2026"].with_fees({"99490": "71.00"}, year=2027)
    decision = evaluate(parse_facts(data), book)
    assert decision.total_amount == 71
    assert "FEES_FROM_OTHER_YEAR" not in decision.rules_applied


def test_a_front_desk_entry_with_an_empty_credential_is_decided_not_refused() -> None:
    desk = entry(10, performer="non_clinical", staff_id="F1", credential="", id="desk")
    d = decide(facts(*FORTY, desk))
    assert d["billable"] is True
    assert the_finding(d, "ENTRY_NON_CLINICAL")["entries"] == ["desk"]


def test_two_stays_that_start_the_same_day_are_listed_in_one_order() -> None:
    stays = [
        {"from": "2026-03-12", "to": "2026-03-20"},
        {"from": "2026-03-12", "to": "2026-03-14"},
        {"from": "2026-03-12", "to": "2026-03-16"},
    ]
    during = entry(10, date="2026-03-13")
    messages = set()
    for order in itertools.permutations(stays):
        d = decide(facts(*FORTY, during, inpatient_stays=list(order)))
        messages.add(json.dumps(d, sort_keys=True))
    assert len(messages) == 1
    message = the_finding(json.loads(messages.pop()), "ENTRY_DURING_INPATIENT_STAY")["message"]
    assert "2026-03-12 to 2026-03-14; 2026-03-12 to 2026-03-16; 2026-03-12 to 2026-03-20" in (
        message
    )
