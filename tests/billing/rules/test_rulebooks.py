"""Rulebooks, fees, service dates, month ends and the decision's JSON."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from billing.rules import (
    RULEBOOKS,
    RULES,
    Decision,
    Rulebook,
    decision_as_json,
    evaluate,
    parse_facts,
    rulebook_for,
)
from tests.billing.rules.builders import decide, entry, facts, mdm

FEES = {
    "2025": {
        "99490": "60.49",
        "99439": "45.93",
        "99487": "131.65",
        "99489": "70.52",
        "99491": "82.16",
        "99437": "57.58",
    },
    "2026": {
        "99490": "66.30",
        "99439": "50.56",
        "99487": "144.00",
        "99489": "78.00",
        "99491": "89.00",
        "99437": "65.00",
    },
}


@pytest.mark.parametrize("name", ["2025", "2026"])
def test_shipped_fees(name: str) -> None:
    book = RULEBOOKS[name]
    assert book.year == int(name)
    assert book.source
    assert {code: str(fee) for code, fee in book.fees.items()} == FEES[name]
    assert set(book.codes) == set(FEES[name])


def test_rulebooks_differ_only_in_fees() -> None:
    a, b = RULEBOOKS["2025"], RULEBOOKS["2026"]
    strip = {"name": "", "year": 0, "fees": b.fees, "fee_source": ""}
    assert dataclasses.replace(a, **strip) == dataclasses.replace(b, **strip)


def test_codes_describe_families_thresholds_and_caps() -> None:
    codes = RULEBOOKS["2026"].codes
    assert (codes["99490"].seconds, codes["99490"].cap) == (1200, 1)
    assert (codes["99439"].seconds, codes["99439"].cap, codes["99439"].base) == (1200, 2, "99490")
    assert (codes["99487"].seconds, codes["99489"].seconds, codes["99489"].cap) == (
        3600,
        1800,
        None,
    )
    assert (codes["99491"].seconds, codes["99437"].seconds, codes["99437"].cap) == (
        1800,
        1800,
        None,
    )


@pytest.mark.parametrize(
    ("month", "named", "expected"),
    [
        ("2025-12", None, "2025"),
        ("2026-01", None, "2026"),
        ("2026-01", "2025", "2025"),
        ("2024-06", None, "2025"),  # no earlier year shipped: the oldest (revision 2)
        ("2031-06", None, "2026"),
    ],
)
def test_rulebook_for(month: str, named: str | None, expected: str) -> None:
    data = facts(month=month)
    if named:
        data["rulebook"] = named
    assert rulebook_for(parse_facts(data)).name == expected


def test_2025_month_uses_2025_fees() -> None:
    d = decide(
        facts(
            entry(60, date="2025-03-10"),
            month="2025-03",
            patient__consents=[{"date": "2025-01-01", "billing_practitioner": "P1"}],
            patient__care_plan={"established": "2025-01-01"},
            patient__prior_visit_date="2024-12-01",
        )
    )
    assert d["rulebook"] == "2025"
    assert d["total_amount"] == "152.35"  # 60.49 + 2 x 45.93


def test_named_rulebook_overrides_the_month() -> None:
    d = decide(facts(entry(20), rulebook="2025"))
    assert d["total_amount"] == "60.49"


def test_amounts_are_strings_with_two_decimals() -> None:
    d = decide(facts(entry(95), mdm=mdm()))
    assert d["lines"] == [
        {"code": "99487", "units": 1, "unit_amount": "144.00", "amount": "144.00"},
        {"code": "99489", "units": 1, "unit_amount": "78.00", "amount": "78.00"},
    ]
    assert d["total_amount"] == "222.00"


def test_with_fees_replaces_only_the_codes_given() -> None:
    book = RULEBOOKS["2026"].with_fees({"99490": Decimal("70"), "99439": "55.5"})
    assert book.fees["99490"] == Decimal("70.00")
    assert book.fees["99439"] == Decimal("55.50")
    assert book.fees["99487"] == Decimal("144.00")
    assert RULEBOOKS["2026"].fees["99490"] == Decimal("66.30")  # the shipped book is untouched
    decision = evaluate(parse_facts(facts(entry(45))), book)
    assert decision_as_json(decision)["total_amount"] == "125.50"


@pytest.mark.parametrize(
    "fees",
    [
        {"G0506": Decimal(1)},
        {"99490": Decimal(-1)},
        {"99490": 1.5},
        {"99490": "x"},
        {"99490": True},
        {"99490": Decimal("NaN")},
    ],
)
def test_with_fees_refuses_bad_input(fees: dict) -> None:
    with pytest.raises(ValueError, match=r"99490|G0506"):
        RULEBOOKS["2026"].with_fees(fees)


def test_rulebook_refuses_an_unknown_service_date_policy() -> None:
    with pytest.raises(ValueError, match="service_date"):
        dataclasses.replace(RULEBOOKS["2026"], service_date="whenever")


@pytest.mark.parametrize(
    ("month", "last_day"),
    [
        ("2026-03", "2026-03-31"),
        ("2026-04", "2026-04-30"),
        ("2026-02", "2026-02-28"),
        ("2028-02", "2028-02-29"),
        ("2100-02", "2100-02-28"),
        ("2000-02", "2000-02-29"),
        ("2026-12", "2026-12-31"),
    ],
)
def test_service_date_is_the_month_end(month: str, last_day: str) -> None:
    d = decide(
        facts(
            entry(20, date=f"{month}-01"),
            month=month,
            patient__consents=[{"date": "1999-01-01", "billing_practitioner": "P1"}],
            patient__prior_visit_date="1999-01-01",
        )
    )
    assert d["service_date"] == last_day


def test_service_date_is_the_month_end_even_when_not_billable() -> None:
    assert decide(facts(entry(5)))["service_date"] == "2026-03-31"


def test_leap_day_entry_counts_in_a_leap_february() -> None:
    d = decide(facts(entry(20, date="2028-02-29"), month="2028-02"))
    assert d["billable"] is True
    assert d["counted_seconds"]["clinical_staff"] == 1200


def threshold_met_book() -> Rulebook:
    return dataclasses.replace(RULEBOOKS["2026"], service_date="threshold_met")


def test_service_date_threshold_met_policy() -> None:
    data = facts(
        entry(15, date="2026-03-03"), entry(5, date="2026-03-09"), entry(30, date="2026-03-20")
    )
    decision = evaluate(parse_facts(data), threshold_met_book())
    assert decision_as_json(decision)["service_date"] == "2026-03-09"


def test_service_date_threshold_met_for_complex_uses_60_minutes() -> None:
    data = facts(
        entry(30, date="2026-03-03"),
        entry(20, date="2026-03-09"),
        entry(20, date="2026-03-20"),
        mdm=mdm(),
    )
    decision = evaluate(parse_facts(data), threshold_met_book())
    assert decision.service_date is not None
    assert decision.service_date.isoformat() == "2026-03-20"


def test_service_date_threshold_met_is_null_when_not_billable() -> None:
    decision = evaluate(parse_facts(facts(entry(10))), threshold_met_book())
    assert decision.service_date is None


def test_decision_json_has_exactly_the_contract_keys() -> None:
    d = decide(facts(entry(25, program="rpm", id="r"), entry(25)))
    assert set(d) == {
        "month",
        "rulebook",
        "billable",
        "tier",
        "lines",
        "total_amount",
        "counted_seconds",
        "excluded_seconds",
        "service_date",
        "diagnoses",
        "next_threshold",
        "findings",
    }
    assert d["month"] == "2026-03"
    assert d["diagnoses"] == ["E11.9", "I50.22"]
    assert d["findings"][0] == {
        "rule": "ENTRY_EXCLUDED_PROGRAM",
        "severity": "info",
        "message": "25 min logged under RPM do not count toward CCM: the same minute is never "
        "counted for two programs.",
        "entries": ["r"],
    }


def test_decision_carries_the_rules_that_produced_it() -> None:
    decision: Decision = evaluate(parse_facts(facts(entry(65))))
    assert decision.rules_applied == (
        "FAMILY_NON_COMPLEX",
        "COMPLEX_NO_MDM",
        "ADDON_CAP_REACHED",
        "ENTRY_LUMPED",  # revision 2: 65 min without a start time
    )
    blocked = evaluate(parse_facts(facts(entry(5))))
    assert blocked.rules_applied == ("NO_TIME_THRESHOLD",)


def test_every_finding_has_the_catalogue_severity() -> None:
    d = decide(
        facts(
            entry(5, date="2026-02-01"),
            entry(5, program="rpm"),
            entry(5, performer="non_clinical"),
            patient__consents=[],
        )
    )
    for f in d["findings"]:
        assert RULES[f["rule"]] == f["severity"]
        assert f["message"].endswith(".")


def test_service_date_threshold_met_for_practitioner_counts_practitioner_time() -> None:
    data = facts(
        entry(20, date="2026-03-03", performer="practitioner"),
        entry(15, date="2026-03-12", performer="practitioner"),
    )
    decision = evaluate(parse_facts(data), threshold_met_book())
    assert decision.tier == "practitioner"
    assert decision.service_date is not None
    assert decision.service_date.isoformat() == "2026-03-12"


def test_the_engine_imports_no_django() -> None:
    import subprocess
    import sys

    code = "import sys, billing.rules; print(any(m.startswith('django') for m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.strip() == "False"


# Revision 2: a month is priced with the fees of its own year, or says which year it used.


def fees_finding(decision: dict) -> list[dict]:
    return [f for f in decision["findings"] if f["rule"] == "FEES_FROM_OTHER_YEAR"]


def month_facts(month: str, **extra: object) -> dict:
    year = int(month[:4])
    return facts(
        entry(20, date=f"{month}-10"),
        month=month,
        patient__consents=[{"date": f"{year - 1}-06-01", "billing_practitioner": "P1"}],
        patient__prior_visit_date=f"{year - 1}-05-01",
        patient__care_plan={"established": f"{year - 1}-06-01", "signed_by": "P1"},
        **extra,
    )


@pytest.mark.parametrize(
    ("month", "used", "total"),
    [
        ("2024-03", "2025", "60.49"),  # no earlier shipped year: the oldest
        ("2025-03", None, "60.49"),
        ("2026-03", None, "66.30"),
        ("2031-06", "2026", "66.30"),  # the newest earlier year
    ],
)
def test_fees_from_another_year_say_which_year(month: str, used: str | None, total: str) -> None:
    d = decide(month_facts(month))
    assert d["total_amount"] == total
    found = fees_finding(d)
    if used is None:
        assert found == []
        return
    (f,) = found
    assert f["severity"] == "warn"
    assert f["entries"] == []
    assert f"priced with the fees of {used}" in f["message"]
    assert f"not of {month[:4]}" in f["message"]
    assert d["findings"][0] == f  # about the price of the whole month: first


def test_a_named_rulebook_of_another_year_says_so() -> None:
    d = decide(facts(entry(20), rulebook="2025"))
    assert d["total_amount"] == "60.49"
    assert "fees of 2025" in fees_finding(d)[0]["message"]


def test_a_practice_schedule_loaded_for_the_months_year_is_that_years_fees() -> None:
    book = RULEBOOKS["2026"].with_fees({"99490": "70.00"}, year=2027)
    decision = evaluate(parse_facts(month_facts("2027-03")), book)
    assert "FEES_FROM_OTHER_YEAR" not in decision.rules_applied
    assert decision_as_json(decision)["total_amount"] == "70.00"


def test_a_practice_schedule_of_another_year_says_so() -> None:
    book = RULEBOOKS["2026"].with_fees({"99490": "70.00"}, year=2026)
    decision = decision_as_json(evaluate(parse_facts(month_facts("2027-03")), book))
    assert "fees of 2026" in fees_finding(decision)[0]["message"]


def test_fees_from_another_year_are_said_for_a_blocked_month_too() -> None:
    d = decide(month_facts("2024-03", mdm=None) | {"time_entries": []})
    assert d["billable"] is False
    assert len(fees_finding(d)) == 1


def test_rulebooks_name_the_chronic_condition_classification() -> None:
    for book in RULEBOOKS.values():
        assert "Chronic Condition Indicator" in book.conditions_source
        assert (book.care_plan_review_days, book.late_entry_days) == (365, 7)
