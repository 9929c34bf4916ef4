"""Messages name people through the facts' `names` (revision 2): "Dr. Diane Doctor, MD",
never "U5", when a name is given; the ref itself otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from tests.billing.rules.builders import decide, entry, facts, the_finding

NAMES = {
    "U5": "Dr. Diane Doctor, MD",
    "U6": "Dr. Paul Other, DO",
    "U7": "Nina Nurse, NP",
    "U8": "Rita Nurse, RN",
}
FORTY = (entry(25, date="2026-03-02", staff_id="U8"), entry(15, date="2026-03-05", staff_id="U8"))


def as_u5(data: dict[str, Any]) -> dict[str, Any]:
    """The builder's facts with the billing practitioner U5 (not P1) everywhere it was."""
    data["billing_practitioner"] = "U5"
    for consent in data["patient"]["consents"]:
        if consent["billing_practitioner"] == "P1":
            consent["billing_practitioner"] = "U5"
    plan = data["patient"]["care_plan"]
    if plan is not None and plan.get("signed_by") == "P1":
        plan["signed_by"] = "U5"
    for item in data["time_entries"]:
        if item.get("staff_id") == "P1":
            item["staff_id"] = "U5"
    return data


CASES: list[tuple[str, dict[str, Any], str, list[str]]] = [
    (
        "billing practitioner: consent missing",
        {"patient__consents": []},
        "CONSENT_MISSING",
        ["U5"],
    ),
    (
        "consent practitioners",
        {"patient__consents": [{"date": "2026-01-10", "billing_practitioner": "U6"}]},
        "CONSENT_PRACTITIONER_MISMATCH",
        ["U6", "U5"],
    ),
    (
        "initiating visit's practitioner",
        {
            "patient__prior_visit_date": None,
            "patient__initiating_visit": {
                "date": "2026-01-10",
                "code": "99214",
                "ccm_discussed": True,
                "practitioner": "U6",
            },
        },
        "INITIATING_VISIT_MISSING",
        ["U6", "U5"],
    ),
    (
        "care plan signer",
        {"patient__care_plan": {"established": "2026-01-10", "signed_by": "U6"}},
        "CARE_PLAN_UNSIGNED",
        ["U6", "U5"],
    ),
    (
        "other services' practitioner",
        {"other_services": [{"code": "99490", "date": "2026-03-03", "practitioner": "U6"}]},
        "EXCLUSIVE_SERVICE",
        ["U6"],
    ),
    (
        "duplicate CCM",
        {"other_services": [{"code": "99490", "date": "2026-03-03", "practitioner": "U5"}]},
        "DUPLICATE_CCM",
        ["U5"],
    ),
    (
        "overlapping service",
        {"other_services": [{"code": "99424", "date": "2026-03-03", "practitioner": "U6"}]},
        "OVERLAPPING_SERVICE",
        ["U6"],
    ),
    (
        "MDM attester",
        {"mdm": {"level": "high", "attested_by": "U6"}},
        "MDM_NOT_BILLING_PRACTITIONER",
        ["U6", "U5"],
    ),
    (
        "MDM of another level",
        {"mdm": {"level": "low", "attested_by": "U5"}, "extra_entries": [entry(30)]},
        "COMPLEX_NO_MDM",
        ["U5"],
    ),
    (
        "complex below 60",
        {"mdm": {"level": "high", "attested_by": "U5"}},
        "COMPLEX_BELOW_60",
        ["U5"],
    ),
    (
        "staff in an overlap",
        {
            "extra_entries": [
                entry(20, start="09:00", staff_id="U8", date="2026-03-20"),
                entry(20, start="09:10", staff_id="U8", date="2026-03-20"),
            ]
        },
        "ENTRY_OVERLAP",
        ["U8"],
    ),
    (
        "another practitioner's entry",
        {"extra_entries": [entry(10, performer="practitioner", staff_id="U7")]},
        "ENTRY_OTHER_PRACTITIONER",
        ["U7", "U5"],
    ),
    (
        "outside the consent",
        {"extra_entries": [entry(10, date="2026-01-02")], "month": "2026-01"},
        "ENTRY_OUTSIDE_CONSENT",
        ["U5"],
    ),
]


def build(overrides: dict[str, Any], names: dict[str, str] | None) -> dict[str, Any]:
    extra = list(overrides.pop("extra_entries", []))
    month = overrides.get("month", "2026-03")
    base = FORTY if month == "2026-03" else ()
    data = as_u5(facts(*base, *extra, **overrides))
    if names is not None:
        data["names"] = names
    return data


@pytest.mark.parametrize(
    ("label", "overrides", "rule", "refs"), CASES, ids=[case[0] for case in CASES]
)
def test_messages_name_people_by_their_names(
    label: str, overrides: dict[str, Any], rule: str, refs: list[str]
) -> None:
    message = the_finding(decide(build(dict(overrides), NAMES)), rule)["message"]
    for ref in refs:
        assert NAMES[ref] in message
    for ref in NAMES:
        assert ref not in message.replace(NAMES.get(ref, ref), "")


@pytest.mark.parametrize(
    ("label", "overrides", "rule", "refs"), CASES, ids=[case[0] for case in CASES]
)
def test_without_names_messages_give_the_refs(
    label: str, overrides: dict[str, Any], rule: str, refs: list[str]
) -> None:
    message = the_finding(decide(build(dict(overrides), None)), rule)["message"]
    for ref in refs:
        assert ref in message


def test_names_never_change_the_decision() -> None:
    data = build({"mdm": {"level": "high", "attested_by": "U6"}}, None)
    plain, named = decide(data), decide({**data, "names": NAMES})
    assert {**named, "findings": None} == {**plain, "findings": None}
    assert [f["rule"] for f in named["findings"]] == [f["rule"] for f in plain["findings"]]
