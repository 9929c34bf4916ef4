"""Family, units, boundaries, caps, next threshold and the advice findings."""

from __future__ import annotations

import pytest

from tests.billing.rules.builders import decide, entry, facts, lines, mdm, rules_fired, the_finding

NON_COMPLEX = [
    (19, []),
    (20, [("99490", 1)]),
    (39, [("99490", 1)]),
    (40, [("99439", 1), ("99490", 1)]),
    (59, [("99439", 1), ("99490", 1)]),
    (60, [("99439", 2), ("99490", 1)]),
    (89, [("99439", 2), ("99490", 1)]),
    (90, [("99439", 2), ("99490", 1)]),
    (119, [("99439", 2), ("99490", 1)]),
    (120, [("99439", 2), ("99490", 1)]),
]
COMPLEX = [
    (59, [("99439", 1), ("99490", 1)]),
    (60, [("99487", 1)]),
    (89, [("99487", 1)]),
    (90, [("99487", 1), ("99489", 1)]),
    (119, [("99487", 1), ("99489", 1)]),
    (120, [("99487", 1), ("99489", 2)]),
    (300, [("99487", 1), ("99489", 8)]),
]
PRACTITIONER = [
    (29, [("99490", 1)]),  # under 30 min the practitioner's time still meets 99490
    (30, [("99491", 1)]),
    (59, [("99491", 1)]),
    (60, [("99437", 1), ("99491", 1)]),
    (89, [("99437", 1), ("99491", 1)]),
    (90, [("99437", 2), ("99491", 1)]),
]


@pytest.mark.parametrize(("minutes", "expected"), NON_COMPLEX)
def test_non_complex_boundaries_in_minutes(minutes: int, expected: list) -> None:
    assert lines(decide(facts(entry(minutes)))) == expected


@pytest.mark.parametrize(("minutes", "expected"), NON_COMPLEX)
def test_non_complex_boundaries_in_seconds(minutes: int, expected: list) -> None:
    # The same table, logged in seconds instead of minutes.
    assert lines(decide(facts(entry(seconds=minutes * 60)))) == expected


@pytest.mark.parametrize(("seconds", "billable"), [(1199, False), (1200, True)])
def test_first_threshold_in_seconds(seconds: int, billable: bool) -> None:
    d = decide(facts(entry(seconds=seconds)))
    assert d["billable"] is billable
    assert ("NO_TIME_THRESHOLD" in rules_fired(d)) is not billable


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (2399, [("99490", 1)]),
        (2400, [("99439", 1), ("99490", 1)]),
        (3599, [("99439", 1), ("99490", 1)]),
        (3600, [("99439", 2), ("99490", 1)]),
    ],
)
def test_non_complex_add_on_in_seconds(seconds: int, expected: list) -> None:
    assert lines(decide(facts(entry(seconds=seconds)))) == expected


@pytest.mark.parametrize(("minutes", "expected"), COMPLEX)
def test_complex_boundaries(minutes: int, expected: list) -> None:
    d = decide(facts(entry(minutes), mdm=mdm("high")))
    assert lines(d) == expected
    assert d["tier"] == ("complex" if minutes >= 60 else "non_complex")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (3599, [("99439", 1), ("99490", 1)]),
        (3600, [("99487", 1)]),
        (5399, [("99487", 1)]),
        (5400, [("99487", 1), ("99489", 1)]),
        (7199, [("99487", 1), ("99489", 1)]),
        (7200, [("99487", 1), ("99489", 2)]),
    ],
)
def test_complex_boundaries_in_seconds(seconds: int, expected: list) -> None:
    assert lines(decide(facts(entry(seconds=seconds), mdm=mdm()))) == expected


@pytest.mark.parametrize(("minutes", "expected"), PRACTITIONER)
def test_practitioner_boundaries(minutes: int, expected: list) -> None:
    d = decide(facts(entry(minutes, performer="practitioner")))
    assert lines(d) == expected


@pytest.mark.parametrize(("seconds", "code"), [(1799, "99490"), (1800, "99491")])
def test_practitioner_threshold_in_seconds(seconds: int, code: str) -> None:
    d = decide(facts(entry(seconds=seconds, performer="practitioner")))
    assert lines(d) == [(code, 1)]


def test_practitioner_family_needs_no_clinical_staff_time() -> None:
    d = decide(facts(entry(40, performer="practitioner"), entry(seconds=1)))
    assert d["tier"] == "non_complex"
    assert lines(d) == [("99439", 1), ("99490", 1)]


def test_complex_takes_precedence_over_practitioner() -> None:
    d = decide(facts(entry(60, performer="practitioner"), mdm=mdm()))
    assert d["tier"] == "complex"


def test_low_mdm_does_not_make_a_month_complex() -> None:
    d = decide(facts(entry(70), mdm=mdm("low")))
    assert d["tier"] == "non_complex"
    assert "low" in the_finding(d, "COMPLEX_NO_MDM")["message"]


def test_mdm_by_another_practitioner_does_not_count() -> None:
    d = decide(facts(entry(70), mdm=mdm("high", by="P2")))
    assert d["tier"] == "non_complex"
    assert the_finding(d, "MDM_NOT_BILLING_PRACTITIONER")["severity"] == "warn"
    assert "COMPLEX_NO_MDM" in rules_fired(d)


def test_complex_no_mdm_lists_the_counted_entries() -> None:
    d = decide(facts(entry(30, id="a"), entry(30, id="b", date="2026-03-11")))
    f = the_finding(d, "COMPLEX_NO_MDM")
    assert f["severity"] == "info"
    assert f["entries"] == ["a", "b"]


def test_complex_no_mdm_needs_sixty_minutes() -> None:
    assert "COMPLEX_NO_MDM" not in rules_fired(decide(facts(entry(59))))


def test_complex_below_60_fires_only_under_sixty_minutes() -> None:
    below = decide(facts(entry(45), mdm=mdm()))
    assert the_finding(below, "COMPLEX_BELOW_60")["severity"] == "info"
    assert "COMPLEX_BELOW_60" not in rules_fired(decide(facts(entry(60), mdm=mdm())))


def test_advice_is_not_given_for_a_blocked_month() -> None:
    d = decide(facts(entry(70), patient__care_plan=None))
    assert "COMPLEX_NO_MDM" not in rules_fired(d)
    assert "ADDON_CAP_REACHED" not in rules_fired(d)


def test_addon_cap_reached_gives_the_minutes_left_unbilled() -> None:
    d = decide(facts(entry(75)))
    f = the_finding(d, "ADDON_CAP_REACHED")
    assert f["severity"] == "info"
    assert "15 min" in f["message"]
    assert d["next_threshold"] is None


def test_cap_is_a_rulebook_parameter() -> None:
    import dataclasses

    from billing.rules import RULEBOOKS, evaluate, parse_facts

    book = RULEBOOKS["2026"]
    complex_ = book.family("complex")
    capped = dataclasses.replace(complex_, addon=dataclasses.replace(complex_.addon, cap=1))
    families = tuple(capped if f.name == "complex" else f for f in book.families)
    decision = evaluate(
        parse_facts(facts(entry(200), mdm=mdm())), dataclasses.replace(book, families=families)
    )
    assert [(line.code, line.units) for line in decision.lines] == [("99487", 1), ("99489", 1)]
    assert "ADDON_CAP_REACHED" in decision.rules_applied
    assert decision.next_threshold is None


@pytest.mark.parametrize(
    ("minutes", "extra", "expected"),
    [
        (0, {}, {"code": "99490", "minutes_needed": 20}),
        (19, {}, {"code": "99490", "minutes_needed": 1}),
        (20, {}, {"code": "99439", "minutes_needed": 20}),
        (55, {}, {"code": "99439", "minutes_needed": 5}),
        (60, {}, None),
        (65, {"mdm": mdm()}, {"code": "99489", "minutes_needed": 25}),
        (95, {"mdm": mdm()}, {"code": "99489", "minutes_needed": 25}),
        # Qualifying MDM: the next step of a non-complex month may be 99487 itself.
        (25, {"mdm": mdm()}, {"code": "99439", "minutes_needed": 15}),
        (45, {"mdm": mdm()}, {"code": "99487", "minutes_needed": 15}),
    ],
)
def test_next_threshold(minutes: int, extra: dict, expected: dict | None) -> None:
    entries = [entry(minutes)] if minutes else []
    assert decide(facts(*entries, **extra))["next_threshold"] == expected


def test_next_threshold_rounds_seconds_up_to_whole_minutes() -> None:
    d = decide(facts(entry(seconds=1199)))
    assert d["next_threshold"] == {"code": "99490", "minutes_needed": 1}
    d = decide(facts(entry(seconds=1201)))
    assert d["next_threshold"] == {"code": "99439", "minutes_needed": 20}  # 1199 s -> 20 min


def test_next_threshold_of_practitioner_time_follows_practitioner_codes() -> None:
    assert decide(facts(entry(25, performer="practitioner")))["next_threshold"] == {
        "code": "99491",
        "minutes_needed": 5,
    }
    assert decide(facts(entry(35, performer="practitioner")))["next_threshold"] == {
        "code": "99437",
        "minutes_needed": 25,
    }


def test_next_threshold_is_null_under_another_block() -> None:
    d = decide(facts(entry(10), patient__consents=[]))
    assert d["next_threshold"] is None


def test_no_time_threshold_message_counts_minutes() -> None:
    f = the_finding(decide(facts(entry(seconds=1000))), "NO_TIME_THRESHOLD")
    assert "16 min 40 s" in f["message"]
    assert "99490" in f["message"]
    assert "3 min 20 s more" in f["message"]
