"""Documentation findings (revision 2): ENTRY_LUMPED, ENTRY_NOTE_REPEATED, ENTRY_LATE.
Warnings over the month's counted entries; they never change the lines."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from billing.rules import RULEBOOKS, decision_as_json, evaluate, parse_facts
from tests.billing.rules.builders import decide, entry, facts, rules_fired, the_finding

DOCUMENTATION = {"ENTRY_LUMPED", "ENTRY_NOTE_REPEATED", "ENTRY_LATE"}


def documented(decision: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in decision["findings"] if f["rule"] in DOCUMENTATION]


def without_documentation(decision: dict[str, Any]) -> dict[str, Any]:
    return {
        **decision,
        "findings": [f for f in decision["findings"] if f["rule"] not in DOCUMENTATION],
    }


@pytest.mark.parametrize(
    ("duration", "lumped"),
    [
        ({"minutes": 59}, False),
        ({"seconds": 3599}, False),  # 59:59
        ({"seconds": 3600}, True),  # 60:00
        ({"minutes": 60}, True),
        ({"minutes": 95}, True),
    ],
)
def test_lumped_from_sixty_minutes_without_a_start(duration: dict[str, int], lumped: bool) -> None:
    d = decide(facts({**entry(id="x"), **duration}))
    assert ("ENTRY_LUMPED" in rules_fired(d)) is lumped
    if lumped:
        f = the_finding(d, "ENTRY_LUMPED")
        assert f["severity"] == "warn"
        assert f["entries"] == ["x"]


def test_an_entry_with_a_start_is_not_lumped() -> None:
    assert "ENTRY_LUMPED" not in rules_fired(decide(facts(entry(90, start="09:00"))))


def test_lumped_looks_at_the_full_logged_duration_not_the_share() -> None:
    # 90 min shared by 3 patients credit 30 min each, but 90 min were logged at once.
    d = decide(facts(entry(90, shared_with=3, id="x"), entry(5)))
    assert the_finding(d, "ENTRY_LUMPED")["entries"] == ["x"]


def test_lumped_entries_are_named_together_chronologically() -> None:
    d = decide(
        facts(
            entry(70, date="2026-03-20", id="b"),
            entry(60, date="2026-03-03", id="a"),
            entry(30, date="2026-03-04"),
        )
    )
    f = the_finding(d, "ENTRY_LUMPED")
    assert f["entries"] == ["a", "b"]
    assert "up to 70 min" in f["message"]


def note(text: str, **extra: Any) -> dict[str, Any]:
    return entry(10, note=text, **extra)


@pytest.mark.parametrize(
    ("notes", "repeated"),
    [
        (["Called patient", "Called patient"], False),  # twice
        (["Called patient"] * 3, True),  # three times
        (["Called patient", " called PATIENT ", "CALLED PATIENT\n"], True),  # trimmed, folded
        (["Called patient", "Called patient.", "Called patient"], False),  # not the same
        (["", "", "", ""], False),  # empty notes never match
        (["   ", " ", "\t", "  "], False),
        (["Straße", "STRASSE", "strasse"], True),  # case-folded, not only lower-cased
    ],
)
def test_the_same_note_on_three_counted_entries(notes: list[str], repeated: bool) -> None:
    entries = [note(text, date=f"2026-03-{day + 1:02d}") for day, text in enumerate(notes)]
    d = decide(facts(*entries))
    assert ("ENTRY_NOTE_REPEATED" in rules_fired(d)) is repeated
    if repeated:
        f = the_finding(d, "ENTRY_NOTE_REPEATED")
        assert f["severity"] == "warn"
        assert f["entries"] == [e["id"] for e in entries]


def test_notes_without_a_note_never_match() -> None:
    assert "ENTRY_NOTE_REPEATED" not in rules_fired(decide(facts(entry(10), entry(10), entry(10))))


def test_each_repeated_note_is_its_own_finding_all_entries_named() -> None:
    d = decide(
        facts(
            note("Refill", date="2026-03-05", id="r1"),
            note("Labs", date="2026-03-01", id="l1"),
            note("refill", date="2026-03-02", id="r2"),
            note("Labs", date="2026-03-03", id="l2"),
            note("Refill ", date="2026-03-09", id="r3"),
            note("labs", date="2026-03-04", id="l3"),
            note("Refill", date="2026-03-10", id="r4"),
        )
    )
    found = [f for f in d["findings"] if f["rule"] == "ENTRY_NOTE_REPEATED"]
    assert [f["entries"] for f in found] == [["l1", "l2", "l3"], ["r2", "r1", "r3", "r4"]]
    assert '"Labs"' in found[0]["message"]
    assert '"refill"' in found[1]["message"]  # as the first entry wrote it


def test_a_long_note_is_shortened_in_the_message() -> None:
    text = "Reviewed " + "x" * 200
    d = decide(facts(note(text), note(text), note(text)))
    message = the_finding(d, "ENTRY_NOTE_REPEATED")["message"]
    assert "x" * 200 not in message
    assert "…" in message


def test_only_counted_entries_are_compared() -> None:
    d = decide(
        facts(
            note("Called patient"),
            note("Called patient"),
            note("Called patient", program="rpm"),
            note("Called patient", date="2026-04-01"),
            note("Called patient", performer="non_clinical"),
        )
    )
    assert "ENTRY_NOTE_REPEATED" not in rules_fired(d)


@pytest.mark.parametrize(
    ("logged_on", "late"),
    [
        (None, False),
        ("2026-03-10", False),  # the same day
        ("2026-03-17", False),  # 7 days later
        ("2026-03-18", True),  # 8 days later
        ("2026-04-30", True),
        ("2026-03-01", False),  # before the day it records: not late
    ],
)
def test_late_more_than_seven_days_after(logged_on: str | None, late: bool) -> None:
    d = decide(facts(entry(25, date="2026-03-10", logged_on=logged_on, id="x")))
    assert ("ENTRY_LATE" in rules_fired(d)) is late
    if late:
        f = the_finding(d, "ENTRY_LATE")
        assert f["severity"] == "warn"
        assert f["entries"] == ["x"]
        assert f"x of 2026-03-10 on {logged_on}" in f["message"]


def test_late_entry_days_is_a_rulebook_parameter() -> None:
    book = dataclasses.replace(RULEBOOKS["2026"], late_entry_days=2)
    data = facts(entry(25, date="2026-03-10", logged_on="2026-03-12"))
    assert "ENTRY_LATE" not in evaluate(parse_facts(data), book).rules_applied
    data["time_entries"][0]["logged_on"] = "2026-03-13"
    assert "ENTRY_LATE" in evaluate(parse_facts(data), book).rules_applied
    assert RULEBOOKS["2026"].late_entry_days == 7


def test_late_excluded_entries_are_not_named() -> None:
    d = decide(
        facts(
            entry(25, date="2026-03-02", logged_on="2026-03-30", id="late"),
            entry(10, date="2026-03-02", logged_on="2026-03-30", program="rpm"),
            entry(10, date="2026-02-02", logged_on="2026-03-30"),
        )
    )
    assert the_finding(d, "ENTRY_LATE")["entries"] == ["late"]


def test_documentation_findings_come_last_in_their_order() -> None:
    d = decide(
        facts(
            entry(70, note="Same", logged_on="2026-03-30", date="2026-03-02"),
            entry(10, note="same", date="2026-03-03"),
            entry(10, note="SAME", date="2026-03-04"),
        )
    )
    assert rules_fired(d)[-3:] == ["ENTRY_LUMPED", "ENTRY_NOTE_REPEATED", "ENTRY_LATE"]


def test_documentation_findings_are_given_for_a_blocked_month_too() -> None:
    d = decide(facts(entry(70, logged_on="2026-03-30"), patient__care_plan=None))
    assert d["billable"] is False
    assert documented(d) == ["ENTRY_LUMPED", "ENTRY_LATE"]


@pytest.mark.parametrize(
    "extra",
    [
        {"logged_on": "2026-03-30"},
        {"note": "Called patient"},
        {"note": "Called patient", "logged_on": "2026-03-31"},
    ],
)
def test_documentation_findings_never_change_the_lines(extra: dict[str, Any]) -> None:
    plain = [entry(70, id="a"), entry(20, id="b", date="2026-03-02"), entry(5, id="c")]
    annotated = [{**e, **extra} for e in plain]
    before, after = decide(facts(*plain)), decide(facts(*annotated))
    assert documented(after)
    assert without_documentation(after) == without_documentation(before)


def test_documentation_findings_are_in_the_decisions_rules() -> None:
    decision = evaluate(parse_facts(facts(entry(60, logged_on="2026-03-20"))))
    assert {"ENTRY_LUMPED", "ENTRY_LATE"} <= set(decision.rules_applied)
    assert decision_as_json(decision)["billable"] is True
