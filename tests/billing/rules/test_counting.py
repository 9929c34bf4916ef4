"""Which time counts: exclusions, shared activities, overlaps (billing-rules.md s. 4)."""

from __future__ import annotations

import pytest

from tests.billing.rules.builders import decide, entry, facts, rules_fired, the_finding


def counted(decision: dict[str, object]) -> dict[str, object]:
    return decision["counted_seconds"]  # type: ignore[return-value]


def test_clinical_and_practitioner_seconds_are_summed_separately() -> None:
    d = decide(facts(entry(25), entry(seconds=90, performer="practitioner")))
    assert counted(d) == {"clinical_staff": 1500, "practitioner": 90}
    assert d["excluded_seconds"] == 0


def test_practitioner_time_counts_toward_the_staff_threshold() -> None:
    d = decide(facts(entry(15), entry(5, performer="practitioner")))
    assert d["tier"] == "non_complex"
    assert d["billable"] is True


def test_entry_outside_month_is_ignored_with_a_warning() -> None:
    late = entry(30, date="2026-04-01", id="late")
    d = decide(facts(entry(20), late))
    f = the_finding(d, "ENTRY_OUTSIDE_MONTH")
    assert f["severity"] == "warn"
    assert f["entries"] == ["late"]
    assert "30 min" in f["message"]
    assert counted(d)["clinical_staff"] == 1200
    assert d["excluded_seconds"] == 1800


@pytest.mark.parametrize("program", ["rpm", "tcm", "pcm", "bhi", "g0506", "RPM"])
def test_other_programs_do_not_count(program: str) -> None:
    d = decide(facts(entry(25), entry(10, program=program, id="x")))
    f = the_finding(d, "ENTRY_EXCLUDED_PROGRAM")
    assert f["severity"] == "info"
    assert f["entries"] == ["x"]
    assert counted(d)["clinical_staff"] == 1500


def test_each_excluded_program_gets_its_own_finding() -> None:
    d = decide(facts(entry(10, program="rpm"), entry(10, program="g0506"), entry(20)))
    programs = [f for f in d["findings"] if f["rule"] == "ENTRY_EXCLUDED_PROGRAM"]
    assert len(programs) == 2
    assert any("G0506" in f["message"] for f in programs)
    assert any("RPM" in f["message"] for f in programs)


def test_entry_before_consent_is_ignored() -> None:
    data = facts(entry(10, date="2026-03-02", id="before"), entry(25, date="2026-03-20"))
    data["patient"]["consents"] = [
        {"date": "2026-03-15", "billing_practitioner": "P1", "method": "written", "revoked": None}
    ]
    d = decide(data)
    assert the_finding(d, "ENTRY_OUTSIDE_CONSENT")["entries"] == ["before"]
    assert counted(d)["clinical_staff"] == 1500
    assert d["billable"] is True


def test_entry_on_or_after_revocation_is_ignored() -> None:
    data = facts(
        entry(20, date="2026-03-09"),
        entry(10, date="2026-03-10", id="on_revocation"),
        entry(10, date="2026-03-11", id="after"),
    )
    data["patient"]["consents"][0]["revoked"] = "2026-03-10"
    d = decide(data)
    assert the_finding(d, "ENTRY_OUTSIDE_CONSENT")["entries"] == ["on_revocation", "after"]
    assert counted(d)["clinical_staff"] == 1200
    # Revoked inside the month: the consent still covered part of it.
    assert "CONSENT_MISSING" not in rules_fired(d)


def test_consent_of_another_practitioner_does_not_cover_entries() -> None:
    data = facts(entry(25))
    data["patient"]["consents"][0]["billing_practitioner"] = "P2"
    d = decide(data)
    assert "ENTRY_OUTSIDE_CONSENT" in rules_fired(d)
    assert counted(d)["clinical_staff"] == 0


def test_non_clinical_time_is_ignored() -> None:
    d = decide(facts(entry(25), entry(15, performer="non_clinical", id="desk")))
    f = the_finding(d, "ENTRY_NON_CLINICAL")
    assert f["severity"] == "warn"
    assert f["entries"] == ["desk"]
    assert counted(d) == {"clinical_staff": 1500, "practitioner": 0}


@pytest.mark.parametrize(
    ("day", "inside"),
    [("2026-03-11", False), ("2026-03-12", True), ("2026-03-15", True), ("2026-03-16", False)],
)
def test_inpatient_stay_days_are_both_included(day: str, inside: bool) -> None:
    d = decide(
        facts(
            entry(20, date="2026-03-02"),
            entry(10, date=day, id="x"),
            inpatient_stays=[{"from": "2026-03-12", "to": "2026-03-15"}],
        )
    )
    assert ("ENTRY_DURING_INPATIENT_STAY" in rules_fired(d)) is inside
    assert counted(d)["clinical_staff"] == (1200 if inside else 1800)


def test_an_entry_is_excluded_by_the_first_rule_only() -> None:
    # Outside the month AND another program: reported once, as outside the month.
    d = decide(facts(entry(20), entry(10, date="2026-02-27", program="rpm", id="x")))
    assert "ENTRY_OUTSIDE_MONTH" in rules_fired(d)
    assert "ENTRY_EXCLUDED_PROGRAM" not in rules_fired(d)


def test_shared_activity_credits_floor_of_the_share() -> None:
    # 1000 s shared by 3 patients: 333 s each (the remainder second is lost, never invented).
    d = decide(facts(entry(seconds=1000, shared_with=3)))
    assert counted(d)["clinical_staff"] == 333


def test_shared_activity_remainders_add_up_per_entry() -> None:
    d = decide(facts(entry(seconds=61, shared_with=2), entry(seconds=61, shared_with=2)))
    assert counted(d)["clinical_staff"] == 60


def test_excluded_seconds_use_the_credited_share() -> None:
    d = decide(facts(entry(20), entry(30, shared_with=3, program="rpm")))
    assert d["excluded_seconds"] == 600


def test_overlapping_entries_of_one_staff_member_count_once() -> None:
    d = decide(
        facts(
            entry(20, start="09:00", id="a"),
            entry(20, start="09:10", id="b"),
        )
    )
    f = the_finding(d, "ENTRY_OVERLAP")
    assert f["severity"] == "warn"
    assert f["entries"] == ["a", "b"]
    assert counted(d)["clinical_staff"] == 30 * 60
    assert d["excluded_seconds"] == 10 * 60
    assert "10 min not counted" in f["message"]


def test_touching_entries_do_not_overlap() -> None:
    d = decide(facts(entry(20, start="09:00"), entry(20, start="09:20")))
    assert "ENTRY_OVERLAP" not in rules_fired(d)
    assert counted(d)["clinical_staff"] == 2400


def test_entry_inside_another_counts_nothing_extra() -> None:
    d = decide(facts(entry(30, start="09:00:00"), entry(seconds=300, start="09:05:30")))
    assert counted(d)["clinical_staff"] == 1800


def test_overlap_chain_is_one_cluster() -> None:
    d = decide(
        facts(
            entry(20, start="09:00", id="a"),
            entry(20, start="09:15", id="b"),
            entry(20, start="09:30", id="c"),
        )
    )
    assert the_finding(d, "ENTRY_OVERLAP")["entries"] == ["a", "b", "c"]
    assert counted(d)["clinical_staff"] == 50 * 60


def test_different_staff_or_dates_or_no_start_never_overlap() -> None:
    d = decide(
        facts(
            entry(20, start="09:00"),
            entry(20, start="09:00", staff_id="S2"),
            entry(20, start="09:00", date="2026-03-11"),
            entry(20),
        )
    )
    assert "ENTRY_OVERLAP" not in rules_fired(d)
    assert counted(d)["clinical_staff"] == 80 * 60


def test_practitioner_and_staff_entries_of_the_same_person_overlap() -> None:
    d = decide(
        facts(
            entry(20, start="09:00", staff_id="P1", performer="practitioner"),
            entry(20, start="09:10", staff_id="P1"),
        )
    )
    assert "ENTRY_OVERLAP" in rules_fired(d)
    assert counted(d)["clinical_staff"] + counted(d)["practitioner"] == 1800


def test_shared_overlapping_entries_scale_each_share() -> None:
    # 09:00-09:30 shared by 3, 09:20-09:40 shared by 2: the union is 40 min. The overlap
    # (10 min) goes to the entry shared by more patients: a keeps 30 min / 3 = 10 min,
    # b keeps 10 min / 2 = 5 min.
    d = decide(
        facts(
            entry(30, start="09:00", shared_with=3, id="a"),
            entry(20, start="09:20", shared_with=2, id="b"),
        )
    )
    assert counted(d)["clinical_staff"] == 15 * 60
    assert d["excluded_seconds"] == 5 * 60  # credited 10 + 10 min, counted 15


def test_shared_overlapping_entries_with_remainders() -> None:
    d = decide(
        facts(
            entry(seconds=1001, start="09:00:00", shared_with=3),
            entry(seconds=1001, start="09:10:00", shared_with=3),
        )
    )
    # Union 09:00:00 .. 09:26:41 = 1601 s; first keeps 1001 -> 333, second 600 -> 200.
    assert counted(d)["clinical_staff"] == 533
    assert counted(d)["clinical_staff"] <= 1601 // 3 + 1


def test_excluded_entries_do_not_take_part_in_overlaps() -> None:
    d = decide(facts(entry(20, start="09:00"), entry(20, start="09:10", program="rpm")))
    assert "ENTRY_OVERLAP" not in rules_fired(d)
    assert counted(d)["clinical_staff"] == 1200


# Revision 2: 99491/99437 count only the billing practitioner's own time.


@pytest.mark.parametrize(
    ("staff_id", "counted_as", "code"),
    [
        ("P1", {"clinical_staff": 0, "practitioner": 2100}, "99491"),
        ("P2", {"clinical_staff": 2100, "practitioner": 0}, "99490"),
        (None, {"clinical_staff": 2100, "practitioner": 0}, "99490"),
    ],
)
def test_only_the_billing_practitioners_own_time_is_practitioner_time(
    staff_id: str | None, counted_as: dict[str, int], code: str
) -> None:
    d = decide(facts(entry(35, performer="practitioner", staff_id=staff_id, id="x")))
    assert counted(d) == counted_as
    assert [line["code"] for line in d["lines"]] == [code]
    if staff_id == "P1":
        assert "ENTRY_OTHER_PRACTITIONER" not in rules_fired(d)
    else:
        f = the_finding(d, "ENTRY_OTHER_PRACTITIONER")
        assert f["severity"] == "info"
        assert f["entries"] == ["x"]
        assert "35 min" in f["message"]
        assert "99491" in f["message"]


def test_a_practitioner_entry_without_staff_id_is_another_practitioners() -> None:
    data = facts(entry(35, performer="practitioner"))
    del data["time_entries"][0]["staff_id"]
    d = decide(data)
    assert counted(d) == {"clinical_staff": 2100, "practitioner": 0}
    assert "a practitioner not recorded" in the_finding(d, "ENTRY_OTHER_PRACTITIONER")["message"]


def test_another_practitioners_time_keeps_the_month_out_of_the_practitioner_family() -> None:
    # P1's own 35 min would be 99491 alone; P2's 20 min are staff time, so c > 0.
    d = decide(
        facts(
            entry(35, performer="practitioner", date="2026-03-02"),
            entry(20, performer="practitioner", staff_id="P2", date="2026-03-03"),
        )
    )
    assert counted(d) == {"clinical_staff": 1200, "practitioner": 2100}
    assert d["tier"] == "non_complex"
    assert sorted((line["code"], line["units"]) for line in d["lines"]) == [
        ("99439", 1),
        ("99490", 1),
    ]


def test_other_practitioners_entries_are_named_together_chronologically() -> None:
    d = decide(
        facts(
            entry(10, performer="practitioner", staff_id="P3", date="2026-03-09", id="b"),
            entry(10, performer="practitioner", staff_id="P2", date="2026-03-02", id="a"),
            entry(10),
        )
    )
    f = the_finding(d, "ENTRY_OTHER_PRACTITIONER")
    assert f["entries"] == ["a", "b"]
    assert "P2, P3" in f["message"]
    assert "20 min" in f["message"]


def test_other_practitioners_entries_are_named_before_the_stay_excludes_them() -> None:
    # s. 4's order: month, program, consent, non-clinical, other practitioner, stay.
    d = decide(
        facts(
            entry(25),
            entry(10, performer="practitioner", staff_id="P2", date="2026-03-13", id="stay"),
            entry(10, performer="practitioner", staff_id="P2", date="2026-03-20", id="counts"),
            entry(10, performer="practitioner", staff_id="P2", program="rpm", id="rpm"),
            inpatient_stays=[{"from": "2026-03-12", "to": "2026-03-15"}],
        )
    )
    assert the_finding(d, "ENTRY_OTHER_PRACTITIONER")["entries"] == ["stay", "counts"]
    assert the_finding(d, "ENTRY_DURING_INPATIENT_STAY")["entries"] == ["stay"]
    fired = rules_fired(d)
    assert (
        fired.index("ENTRY_EXCLUDED_PROGRAM")
        < fired.index("ENTRY_OTHER_PRACTITIONER")
        < fired.index("ENTRY_DURING_INPATIENT_STAY")
    )
    assert counted(d) == {"clinical_staff": 2100, "practitioner": 0}


def test_overlapping_entries_of_another_practitioner_come_off_staff_time() -> None:
    d = decide(
        facts(
            entry(20, performer="practitioner", staff_id="P2", start="09:00"),
            entry(20, performer="practitioner", staff_id="P2", start="09:10"),
        )
    )
    assert counted(d) == {"clinical_staff": 1800, "practitioner": 0}
    assert "ENTRY_OVERLAP" in rules_fired(d)


def test_complex_counts_other_practitioners_time_as_staff_time() -> None:
    d = decide(
        facts(
            entry(40, performer="practitioner", staff_id="P2"),
            entry(30, date="2026-03-11"),
            mdm={"level": "high", "attested_by": "P1"},
        )
    )
    assert d["tier"] == "complex"
    assert counted(d) == {"clinical_staff": 4200, "practitioner": 0}
