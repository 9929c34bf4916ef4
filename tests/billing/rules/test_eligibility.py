"""Eligibility blocks and the overlapping-service warning (billing-rules.md s. 4)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from billing.rules import RULEBOOKS, evaluate, parse_facts
from tests.billing.rules.builders import decide, entry, facts, rules_fired, the_finding

FORTY = (entry(25, date="2026-03-02"), entry(15, date="2026-03-05"))


def blocked_by(data: dict[str, Any], rule: str) -> dict[str, Any]:
    d = decide(data)
    f = the_finding(d, rule)
    assert f["severity"] == "block"
    assert f["entries"] == []
    assert d["billable"] is False
    assert d["tier"] is None
    assert d["lines"] == []
    assert d["total_amount"] == "0.00"
    assert d["next_threshold"] is None
    return d


def condition(
    code: str,
    onset: str | None = "2019-01-01",
    resolved: str | None = None,
    **extra: Any,
) -> dict:
    return {"icd10": code, "onset": onset, "resolved": resolved, **extra}


def test_eligible_month_has_no_block() -> None:
    d = decide(facts(*FORTY))
    assert d["billable"] is True
    assert [f for f in d["findings"] if f["severity"] == "block"] == []


def test_one_condition_blocks_and_suggests_pcm() -> None:
    d = blocked_by(
        facts(*FORTY, patient__chronic_conditions=[condition("E11.9")]), "ELIGIBILITY_CONDITIONS"
    )
    assert "PCM" in the_finding(d, "ELIGIBILITY_CONDITIONS")["message"]


def test_no_condition_blocks() -> None:
    blocked_by(facts(*FORTY, patient__chronic_conditions=[]), "ELIGIBILITY_CONDITIONS")


def test_same_category_counts_once() -> None:
    conditions = [condition("E11.9"), condition("E11.65"), condition("e11.9")]
    blocked_by(facts(*FORTY, patient__chronic_conditions=conditions), "ELIGIBILITY_CONDITIONS")


@pytest.mark.parametrize(
    ("onset", "resolved", "active"),
    [
        ("2026-03-31", None, True),  # onset on the last day
        ("2026-04-01", None, False),  # onset after the month
        ("2019-01-01", "2026-03-01", True),  # resolved on the first day
        ("2019-01-01", "2026-02-28", False),  # resolved before the month
        (None, None, True),  # onset unknown: treated as long-standing
    ],
)
def test_condition_active_in_month(onset: str | None, resolved: str | None, active: bool) -> None:
    conditions = [condition("E11.9"), condition("I10", onset, resolved)]
    d = decide(facts(*FORTY, patient__chronic_conditions=conditions))
    assert ("ELIGIBILITY_CONDITIONS" not in rules_fired(d)) is active
    assert ("I10" in d["diagnoses"]) is active


def test_diagnoses_keep_input_order_without_duplicates_and_at_most_twelve() -> None:
    codes = ["I10", "E11.9", "I10", *[f"J4{n}" for n in range(5)], *[f"N1{n}" for n in range(8)]]
    # Attested chronic: some of these codes are acute or categories (revision 2), and
    # this test is about order, repeats and the cap.
    conditions = [condition(c, attested_chronic=True) for c in codes]
    d = decide(facts(*FORTY, patient__chronic_conditions=conditions))
    assert d["diagnoses"][:3] == ["I10", "E11.9", "J40"]
    assert len(d["diagnoses"]) == 12
    assert len(set(d["diagnoses"])) == 12


def test_no_consent_blocks() -> None:
    blocked_by(facts(*FORTY, patient__consents=[]), "CONSENT_MISSING")


def test_consent_after_the_month_blocks() -> None:
    consent = {"date": "2026-04-02", "billing_practitioner": "P1", "revoked": None}
    blocked_by(facts(*FORTY, patient__consents=[consent]), "CONSENT_MISSING")


def test_consent_revoked_before_the_month_blocks_and_says_so() -> None:
    consent = {"date": "2025-01-02", "billing_practitioner": "P1", "revoked": "2026-03-01"}
    d = blocked_by(facts(*FORTY, patient__consents=[consent]), "CONSENT_MISSING")
    assert "revoked on 2026-03-01" in the_finding(d, "CONSENT_MISSING")["message"]


def test_consent_on_the_last_day_covers_the_month() -> None:
    consent = {"date": "2026-03-31", "billing_practitioner": "P1", "revoked": None}
    d = decide(facts(*FORTY, patient__consents=[consent]))
    assert "CONSENT_MISSING" not in rules_fired(d)
    # ...but only the time from that day on counts.
    assert "ENTRY_OUTSIDE_CONSENT" in rules_fired(d)


def test_consent_to_another_practitioner_is_a_mismatch() -> None:
    consent = {"date": "2026-01-10", "billing_practitioner": "P2", "revoked": None}
    d = blocked_by(facts(*FORTY, patient__consents=[consent]), "CONSENT_PRACTITIONER_MISMATCH")
    assert "CONSENT_MISSING" not in rules_fired(d)
    assert "P2" in the_finding(d, "CONSENT_PRACTITIONER_MISMATCH")["message"]


def test_new_consent_after_revocation_counts() -> None:
    consents = [
        {"date": "2024-01-10", "billing_practitioner": "P1", "revoked": "2024-06-01"},
        {"date": "2026-02-01", "billing_practitioner": "P1", "revoked": None},
    ]
    d = decide(facts(*FORTY, patient__consents=consents, patient__prior_visit_date="2025-03-01"))
    # CCM began with the consent that counts (2026-02-01); 2025-03-01 is within 365 days.
    assert d["billable"] is True


@pytest.mark.parametrize(
    ("prior", "needs_visit"),
    [
        ("2025-01-10", False),  # exactly 365 days before consent (2026-01-10)
        ("2025-01-09", True),  # 366 days
        (None, True),
        ("2026-01-10", False),  # the same day
    ],
)
def test_prior_visit_within_365_days(prior: str | None, needs_visit: bool) -> None:
    d = decide(facts(*FORTY, patient__prior_visit_date=prior))
    assert ("INITIATING_VISIT_MISSING" in rules_fired(d)) is needs_visit


def visit(date: str = "2026-01-10", code: str = "99214", **extra: Any) -> dict[str, Any]:
    """An initiating visit by the billing practitioner where CCM was discussed."""
    return {"date": date, "code": code, "ccm_discussed": True, "practitioner": "P1", **extra}


@pytest.mark.parametrize(
    ("visit_", "ok"),
    [
        (visit(), True),
        (visit(code="99205"), True),
        (visit(code="G0438"), True),
        (visit(code="G0402"), True),
        (visit("2026-03-31", "99213"), True),
        (visit("2026-04-01", "99213"), False),
        (visit(code="99211"), False),
        (visit(code="99201"), False),
        (visit(ccm_discussed=False), False),
        ({"date": "2026-01-10", "code": "99214", "practitioner": "P1"}, False),
        # Revision 2: furnished by the billing practitioner; null does not count.
        (visit(practitioner=None), False),
        ({"date": "2026-01-10", "code": "99214", "ccm_discussed": True}, False),
        (visit(practitioner="P2"), False),
        # Revision 2: no more than 365 days before CCM began (2026-01-10).
        (visit("2025-01-10"), True),
        (visit("2025-01-09"), False),
    ],
)
def test_initiating_visit_must_qualify(visit_: dict[str, Any], ok: bool) -> None:
    d = decide(facts(*FORTY, patient__prior_visit_date=None, patient__initiating_visit=visit_))
    assert ("INITIATING_VISIT_MISSING" not in rules_fired(d)) is ok


def test_initiating_visit_message_says_what_is_wrong() -> None:
    visit = {"date": "2026-01-10", "code": "99214", "ccm_discussed": False}
    d = blocked_by(
        facts(*FORTY, patient__prior_visit_date=None, patient__initiating_visit=visit),
        "INITIATING_VISIT_MISSING",
    )
    assert "discussed" in the_finding(d, "INITIATING_VISIT_MISSING")["message"]


def test_ccm_began_is_the_earliest_consent_that_counts() -> None:
    consents = [
        {"date": "2025-06-01", "billing_practitioner": "P1", "revoked": None},
        {"date": "2026-02-01", "billing_practitioner": "P1", "revoked": None},
    ]
    # 2024-07-01 is within 365 days of 2025-06-01 (the earliest), not of 2026-02-01.
    d = decide(facts(*FORTY, patient__consents=consents, patient__prior_visit_date="2024-07-01"))
    assert "INITIATING_VISIT_MISSING" not in rules_fired(d)


def test_missing_care_plan_blocks() -> None:
    blocked_by(facts(*FORTY, patient__care_plan=None), "CARE_PLAN_MISSING")


def test_care_plan_after_the_month_blocks() -> None:
    d = blocked_by(
        facts(*FORTY, patient__care_plan={"established": "2026-04-01"}), "CARE_PLAN_MISSING"
    )
    assert "2026-04-01" in the_finding(d, "CARE_PLAN_MISSING")["message"]


def test_care_plan_on_the_last_day_is_enough() -> None:
    d = decide(facts(*FORTY, patient__care_plan={"established": "2026-03-31"}))
    assert "CARE_PLAN_MISSING" not in rules_fired(d)


def service(code: str, practitioner: str | None = "P2", date: str = "2026-03-15") -> dict:
    return {"code": code, "date": date, "practitioner": practitioner}


@pytest.mark.parametrize(
    ("code", "practitioner"),
    [
        ("G0181", "P2"),
        ("G0182", "P1"),
        ("90951", None),
        ("90970", "P2"),
        ("99424", "P1"),
        ("99427", "P1"),
        ("G0556", "P1"),
        ("G0558", "P1"),
        ("99490", "P2"),
        ("99439", "P2"),
        ("99487", "P2"),
        ("99489", "P2"),
        ("99491", "P2"),
        ("99437", None),
    ],
)
def test_exclusive_services_block(code: str, practitioner: str | None) -> None:
    blocked_by(facts(*FORTY, other_services=[service(code, practitioner)]), "EXCLUSIVE_SERVICE")


@pytest.mark.parametrize("code", ["99424", "99426", "G0557"])
def test_pcm_or_apcm_by_another_practitioner_is_a_warning(code: str) -> None:
    d = decide(facts(*FORTY, other_services=[service(code, "P2")]))
    assert the_finding(d, "OVERLAPPING_SERVICE")["severity"] == "warn"
    assert d["billable"] is True


@pytest.mark.parametrize(
    "code", ["99495", "99496", "99457", "99458", "99484", "99492", "99494", "90950", "90971"]
)
def test_compatible_services_raise_nothing(code: str) -> None:
    d = decide(facts(*FORTY, other_services=[service(code)]))
    assert d["findings"] == []
    assert d["billable"] is True


def test_services_outside_the_month_do_not_count() -> None:
    d = decide(facts(*FORTY, other_services=[service("G0182", date="2026-02-28")]))
    assert d["billable"] is True


def test_own_ccm_code_in_other_services_is_not_exclusive() -> None:
    d = decide(facts(*FORTY, other_services=[service("99490", "P1")]))
    assert "EXCLUSIVE_SERVICE" not in rules_fired(d)
    # Revision 2: it is the month billed twice.
    assert "DUPLICATE_CCM" in rules_fired(d)


def test_all_blocks_are_reported_together() -> None:
    data = facts(
        entry(5),
        patient__chronic_conditions=[condition("E11.9")],
        patient__consents=[],
        patient__prior_visit_date=None,
        patient__care_plan=None,
        other_services=[service("G0182")],
    )
    fired = rules_fired(decide(data))
    for rule in (
        "ELIGIBILITY_CONDITIONS",
        "CONSENT_MISSING",
        "INITIATING_VISIT_MISSING",
        "CARE_PLAN_MISSING",
        "EXCLUSIVE_SERVICE",
        "NO_TIME_THRESHOLD",
    ):
        assert rule in fired
    # Reported in the order the engine applies the rules.
    assert fired.index("ELIGIBILITY_CONDITIONS") < fired.index("CONSENT_MISSING")
    assert fired.index("EXCLUSIVE_SERVICE") < fired.index("NO_TIME_THRESHOLD")


# Revision 2: the 12-month rule, the care plan's review and signature, DUPLICATE_CCM.


@pytest.mark.parametrize(
    ("prior", "needs_visit"),
    [
        ("2026-01-10", False),  # the day CCM began
        ("2026-01-11", True),  # after CCM began: says nothing about the year before
        ("2026-03-05", True),
        ("2025-01-10", False),  # 365 days before
        ("2025-01-09", True),  # 366 days before
    ],
)
def test_prior_visit_on_or_before_the_day_ccm_began(prior: str, needs_visit: bool) -> None:
    d = decide(facts(*FORTY, patient__prior_visit_date=prior))
    assert ("INITIATING_VISIT_MISSING" in rules_fired(d)) is needs_visit


def test_a_prior_visit_after_ccm_began_is_said_not_to_count() -> None:
    d = decide(facts(*FORTY, patient__prior_visit_date="2026-02-01"))
    message = the_finding(d, "INITIATING_VISIT_MISSING")["message"]
    assert "the visit of 2026-02-01 is after that day" in message


@pytest.mark.parametrize(
    ("prior", "needs_visit"),
    [("2025-03-01", False), ("2025-02-28", True), ("2026-03-01", False), ("2026-03-02", True)],
)
def test_without_a_counting_consent_ccm_began_on_the_first_day(
    prior: str, needs_visit: bool
) -> None:
    d = decide(facts(*FORTY, patient__consents=[], patient__prior_visit_date=prior))
    assert "CONSENT_MISSING" in rules_fired(d)
    assert ("INITIATING_VISIT_MISSING" in rules_fired(d)) is needs_visit


def test_initiating_visit_lists_every_reason_it_does_not_count() -> None:
    d = decide(
        facts(
            *FORTY,
            patient__prior_visit_date=None,
            patient__initiating_visit={"date": "2020-01-10", "code": "FOO", "practitioner": None},
        )
    )
    message = the_finding(d, "INITIATING_VISIT_MISSING")["message"]
    assert "the visit of 2020-01-10 (FOO)" in message
    for reason in (
        "code is not a qualifying one",
        "does not record that CCM was discussed",
        "does not record who saw the patient",
        "more than 365 days before CCM began (2026-01-10)",
    ):
        assert reason in message


def test_initiating_visit_by_another_practitioner_names_them() -> None:
    d = decide(
        facts(
            *FORTY,
            patient__prior_visit_date=None,
            patient__initiating_visit=visit(practitioner="P2"),
        )
    )
    assert "it was with P2" in the_finding(d, "INITIATING_VISIT_MISSING")["message"]


def plan(established: str = "2026-01-10", **extra: Any) -> dict[str, Any]:
    return {"established": established, "signed_by": "P1", **extra}


@pytest.mark.parametrize(
    ("care_plan", "stale"),
    [
        (plan(), False),
        (plan("2025-03-31"), False),  # 365 days before 2026-03-31
        (plan("2025-03-30"), True),  # 366 days
        (plan("2024-01-01", reviewed="2025-03-31"), False),
        (plan("2024-01-01", reviewed="2025-03-30"), True),
        (plan("2024-01-01", reviewed=None), True),  # null: `established`
        (plan("2024-01-01", reviewed="2026-03-31"), False),
        # `reviewed` as the facts give it (the builder passes the last review by month end).
        (plan("2024-01-01", reviewed="2026-04-01"), False),
    ],
)
def test_care_plan_not_reviewed_within_365_days(care_plan: dict[str, Any], stale: bool) -> None:
    d = decide(facts(*FORTY, patient__care_plan=care_plan))
    assert ("CARE_PLAN_NOT_REVIEWED" in rules_fired(d)) is stale
    assert d["billable"] is True
    if stale:
        f = the_finding(d, "CARE_PLAN_NOT_REVIEWED")
        assert f["severity"] == "warn"
        assert f["entries"] == []
        assert "2026-03-31" in f["message"]


def test_care_plan_review_message_names_the_review_day() -> None:
    d = decide(facts(*FORTY, patient__care_plan=plan("2024-01-01", reviewed="2025-02-01")))
    message = the_finding(d, "CARE_PLAN_NOT_REVIEWED")["message"]
    assert "last reviewed or revised on 2025-02-01" in message
    assert "423 days before 2026-03-31" in message


def test_care_plan_review_days_is_a_rulebook_parameter() -> None:
    book = dataclasses.replace(RULEBOOKS["2026"], care_plan_review_days=30)
    data = facts(*FORTY, patient__care_plan=plan("2026-01-10", reviewed="2026-03-01"))
    assert "CARE_PLAN_NOT_REVIEWED" not in evaluate(parse_facts(data), book).rules_applied
    data["patient"]["care_plan"]["reviewed"] = "2026-02-28"  # 31 days
    assert "CARE_PLAN_NOT_REVIEWED" in evaluate(parse_facts(data), book).rules_applied
    assert RULEBOOKS["2026"].care_plan_review_days == 365


@pytest.mark.parametrize(
    ("signed_by", "unsigned"), [("P1", False), (None, True), ("P2", True), ("S1", True)]
)
def test_care_plan_signed_by_the_billing_practitioner(
    signed_by: str | None, unsigned: bool
) -> None:
    d = decide(facts(*FORTY, patient__care_plan=plan(signed_by=signed_by)))
    assert ("CARE_PLAN_UNSIGNED" in rules_fired(d)) is unsigned
    assert d["billable"] is True
    if unsigned:
        f = the_finding(d, "CARE_PLAN_UNSIGNED")
        assert f["severity"] == "warn"
        expected = "is not signed" if signed_by is None else f"is signed by {signed_by}"
        assert expected in f["message"]


def test_care_plan_without_signed_by_is_unsigned() -> None:
    d = decide(facts(*FORTY, patient__care_plan={"established": "2026-01-10"}))
    assert "CARE_PLAN_UNSIGNED" in rules_fired(d)


@pytest.mark.parametrize("care_plan", [None, plan("2026-04-01", signed_by=None)])
def test_no_plan_in_force_is_missing_not_unsigned_or_stale(care_plan: dict | None) -> None:
    fired = rules_fired(decide(facts(*FORTY, patient__care_plan=care_plan)))
    assert "CARE_PLAN_MISSING" in fired
    assert "CARE_PLAN_UNSIGNED" not in fired
    assert "CARE_PLAN_NOT_REVIEWED" not in fired


def test_care_plan_findings_come_in_the_order_of_section_4() -> None:
    data = facts(
        *FORTY,
        patient__care_plan={"established": "2024-01-01"},
        other_services=[service("99490", "P1")],
    )
    fired = rules_fired(decide(data))
    assert fired == ["CARE_PLAN_NOT_REVIEWED", "CARE_PLAN_UNSIGNED", "DUPLICATE_CCM"]


@pytest.mark.parametrize("code", ["99490", "99439", "99487", "99489", "99491", "99437"])
def test_ccm_already_billed_by_the_same_practitioner_is_a_duplicate(code: str) -> None:
    d = blocked_by(facts(*FORTY, other_services=[service(code, "P1")]), "DUPLICATE_CCM")
    assert "EXCLUSIVE_SERVICE" not in rules_fired(d)
    assert code in the_finding(d, "DUPLICATE_CCM")["message"]


@pytest.mark.parametrize("practitioner", ["P2", None])
def test_ccm_by_another_or_unknown_practitioner_stays_exclusive(practitioner: str | None) -> None:
    d = blocked_by(
        facts(*FORTY, other_services=[service("99490", practitioner)]), "EXCLUSIVE_SERVICE"
    )
    assert "DUPLICATE_CCM" not in rules_fired(d)


def test_ccm_billed_in_another_month_is_not_a_duplicate() -> None:
    d = decide(facts(*FORTY, other_services=[service("99490", "P1", date="2026-02-28")]))
    assert d["billable"] is True
    assert d["findings"] == []


def test_services_are_reported_rule_by_rule_each_by_date() -> None:
    services = [
        service("99426", "P2", date="2026-03-01"),
        service("99490", "P1", date="2026-03-02"),
        service("G0182", "P2", date="2026-03-20"),
        service("99491", "P2", date="2026-03-03"),
    ]
    d = decide(facts(*FORTY, other_services=services))
    assert rules_fired(d) == [
        "EXCLUSIVE_SERVICE",
        "EXCLUSIVE_SERVICE",
        "DUPLICATE_CCM",
        "OVERLAPPING_SERVICE",
    ]
    exclusive = [f["message"] for f in d["findings"] if f["rule"] == "EXCLUSIVE_SERVICE"]
    assert "2026-03-03" in exclusive[0]
    assert "2026-03-20" in exclusive[1]
