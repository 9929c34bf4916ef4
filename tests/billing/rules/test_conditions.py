"""Chronic conditions by the classification or the practitioner's attestation (revision 2:
CONDITION_NOT_CHRONIC, ELIGIBILITY_CONDITIONS, `diagnoses`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.billing.rules.builders import decide, entry, facts, rules_fired, the_finding

FORTY = (entry(25, date="2026-03-02"), entry(15, date="2026-03-05"))


def condition(code: str, *, attested: bool | None = None, **dates: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"icd10": code, "onset": "2019-01-01", "resolved": None, **dates}
    if attested is not None:
        out["attested_chronic"] = attested
    return out


def with_conditions(*conditions: dict[str, Any]) -> dict[str, Any]:
    return decide(facts(*FORTY, patient__chronic_conditions=list(conditions)))


def not_chronic(decision: dict[str, Any]) -> list[str]:
    """The codes CONDITION_NOT_CHRONIC names, one finding each, in order."""
    found = [f for f in decision["findings"] if f["rule"] == "CONDITION_NOT_CHRONIC"]
    for f in found:
        assert f["severity"] == "warn"
        assert f["entries"] == []
    return [f["message"].split(" ", 1)[0] for f in found]


@pytest.mark.parametrize(
    ("conditions", "eligible", "named", "diagnoses"),
    [
        # Both chronic by the classification.
        ([condition("E11.9"), condition("I50.22")], True, [], ["E11.9", "I50.22"]),
        # An acute infection is not a second chronic condition.
        ([condition("E11.9"), condition("J06.9")], False, ["J06.9"], ["E11.9"]),
        # ... unless the practitioner attests it.
        (
            [condition("E11.9"), condition("J06.9", attested=True)],
            True,
            [],
            ["E11.9", "J06.9"],
        ),
        ([condition("E11.9"), condition("J06.9", attested=False)], False, ["J06.9"], ["E11.9"]),
        # An injury.
        ([condition("I10"), condition("S82.001A")], False, ["S82.001A"], ["I10"]),
        # Newer than the table: N18.31 takes N18.3's indicator (chronic).
        ([condition("E11.9"), condition("N18.31")], True, [], ["E11.9", "N18.31"]),
        # A category has no listed parent: it counts only when attested.
        ([condition("I50.22"), condition("E11")], False, ["E11"], ["I50.22"]),
        ([condition("I50.22"), condition("E11", attested=True)], True, [], ["I50.22", "E11"]),
        # A code the table does not know, nor any parent of it.
        ([condition("E11.9"), condition("U07.1")], False, ["U07.1"], ["E11.9"]),
        # Attested: counts whatever the classification says (M54.5 is not chronic there).
        ([condition("E11.9"), condition("M54.5", attested=True)], True, [], ["E11.9", "M54.5"]),
        # Three codes, one of them acute: still two chronic conditions, and a warning.
        (
            [condition("J06.9"), condition("E11.9"), condition("I50.22")],
            True,
            ["J06.9"],
            ["E11.9", "I50.22"],
        ),
    ],
)
def test_what_counts_as_chronic(
    conditions: list[dict[str, Any]], eligible: bool, named: list[str], diagnoses: list[str]
) -> None:
    d = with_conditions(*conditions)
    assert ("ELIGIBILITY_CONDITIONS" not in rules_fired(d)) is eligible
    assert d["billable"] is eligible
    assert not_chronic(d) == named
    assert d["diagnoses"] == diagnoses


def test_the_warning_names_the_code_and_why() -> None:
    d = with_conditions(condition("E11.9"), condition("J06.9"), condition("E11"))
    acute, category = (f["message"] for f in d["findings"] if f["rule"] == "CONDITION_NOT_CHRONIC")
    assert acute.startswith("J06.9 is not a chronic condition in the AHRQ")
    assert "2019.1" in acute
    assert "attest" in acute
    assert category.startswith("E11 is not in the AHRQ")
    assert "no listed parent" in category
    assert "J06.9, E11 not counted" in the_finding(d, "ELIGIBILITY_CONDITIONS")["message"]


def test_a_newer_acute_code_names_the_parent_it_is_judged_by() -> None:
    d = with_conditions(condition("E11.9"), condition("I50.22"), condition("J06.99"))
    message = the_finding(d, "CONDITION_NOT_CHRONIC")["message"]
    assert message.startswith("J06.99 ")
    assert "parent J06.9" in message


def test_an_inactive_condition_raises_nothing() -> None:
    d = with_conditions(
        condition("E11.9"),
        condition("I50.22"),
        condition("J06.9", resolved="2026-02-28"),
        condition("S82.001A", onset="2026-04-01"),
    )
    assert not_chronic(d) == []


def test_a_repeated_code_is_named_once() -> None:
    d = with_conditions(condition("E11.9"), condition("J06.9"), condition("j06.9"))
    assert not_chronic(d) == ["J06.9"]


def test_a_code_attested_on_another_of_its_conditions_counts() -> None:
    d = with_conditions(condition("E11.9"), condition("J06.9"), condition("J06.9", attested=True))
    assert d["billable"] is True
    assert d["diagnoses"] == ["E11.9", "J06.9"]
    # The record not attested still does not count, and is named as such.
    assert not_chronic(d) == ["J06.9"]
    assert "this record of it does not count" in the_finding(d, "CONDITION_NOT_CHRONIC")["message"]


def test_non_chronic_codes_do_not_make_a_second_category() -> None:
    # E11.9 chronic; J06.9 and J02.9 acute: one chronic category.
    d = with_conditions(condition("E11.9"), condition("J06.9"), condition("J02.9"))
    assert "ELIGIBILITY_CONDITIONS" in rules_fired(d)
    assert not_chronic(d) == ["J06.9", "J02.9"]


def test_condition_findings_come_in_the_order_of_section_4() -> None:
    d = decide(
        facts(
            *FORTY,
            patient__chronic_conditions=[condition("J06.9")],
            patient__consents=[],
        )
    )
    fired = rules_fired(d)
    assert fired.index("ELIGIBILITY_CONDITIONS") < fired.index("CONDITION_NOT_CHRONIC")
    assert fired.index("CONDITION_NOT_CHRONIC") < fired.index("CONSENT_MISSING")
