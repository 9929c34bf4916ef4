"""billing.progress: a decision as the call list shows it (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from billing.progress import (
    GROUP_ACT,
    GROUP_BLOCKED,
    GROUP_DONE,
    RULE_LABELS,
    MonthProgress,
    entry_flags,
    month_progress,
)
from billing.rules import RULEBOOKS, RULES, evaluate, parse_facts
from tests.billing.rules.builders import entry, facts, mdm

BOOK = RULEBOOKS["2026"]


def progress_of(data: dict[str, Any]) -> MonthProgress:
    return month_progress(evaluate(parse_facts(data), BOOK), BOOK)


@pytest.mark.parametrize(
    ("entries", "mdm_given", "text", "percent", "start", "target", "codes"),
    [
        ([], None, "20 min to 99490", 0, 0, 20, ()),
        ([entry(19)], None, "1 min to 99490", 95, 0, 20, ()),
        ([entry(seconds=1190)], None, "1 min to 99490", 99, 0, 20, ()),
        ([entry(20)], None, "20 min to 99439", 0, 20, 40, ("99490",)),
        ([entry(31)], None, "9 min to 99439", 55, 20, 40, ("99490",)),
        ([entry(45)], None, "15 min to 99439", 25, 40, 60, ("99490", "99439")),
        # 45 min and qualifying MDM: 99487 at 60 is the next code, reached from zero.
        ([entry(45)], mdm(), "15 min to 99487", 75, 0, 60, ("99490", "99439")),
        ([entry(75)], mdm(), "15 min to 99489", 50, 60, 90, ("99487",)),
        ([entry(35, performer="practitioner")], None, "25 min to 99437", 16, 30, 60, ("99491",)),
    ],
)
def test_next_threshold_text_and_the_step_it_measures(
    entries: list[dict[str, Any]],
    mdm_given: dict[str, Any] | None,
    text: str,
    percent: int,
    start: int,
    target: int,
    codes: tuple[str, ...],
) -> None:
    progress = progress_of(facts(*entries, mdm=mdm_given))
    assert progress.next_text == text
    assert (progress.step_start_minutes, progress.target_minutes) == (start, target)
    assert progress.percent == percent
    assert progress.codes == codes
    assert progress.group == GROUP_ACT


def test_add_on_cap_reached_is_done_and_full() -> None:
    progress = progress_of(facts(entry(65)))
    assert progress.codes == ("99490", "99439 ×2")
    assert progress.next_code is None
    assert progress.next_text == "Every code reached"
    assert progress.percent == 100
    assert progress.group == GROUP_DONE
    assert "ADDON_CAP_REACHED" in [f.rule for f in progress.findings]


def test_blocks_are_named_in_plain_words_and_sort_last() -> None:
    progress = progress_of(facts(entry(25), patient__consents=[], patient__care_plan=None))
    assert [f.label for f in progress.blocks] == ["No consent", "No care plan"]
    assert all(f.severity_text == "Blocks billing" for f in progress.blocks)
    assert progress.blocked and not progress.billable
    assert progress.next_text == "Blocked"
    assert progress.group == GROUP_BLOCKED
    assert progress.percent == 0


def test_not_enough_time_is_no_block_of_its_own() -> None:
    progress = progress_of(facts(entry(5)))
    assert [f.rule for f in progress.findings] == ["NO_TIME_THRESHOLD"]
    assert progress.blocks == ()
    assert not progress.blocked


def test_call_list_order() -> None:
    """Fewest minutes to a code first (a first code before an add-on at a tie), months
    with nothing left to earn next, blocked patients last."""
    by_name = {
        "blocked": progress_of(facts(entry(19), patient__care_plan=None)),
        "capped": progress_of(facts(entry(65))),
        "needs_9_addon": progress_of(facts(entry(31))),
        "needs_1": progress_of(facts(entry(19))),
        "needs_1_addon": progress_of(facts(entry(39))),
        "needs_20": progress_of(facts()),
    }
    order = sorted(by_name, key=lambda name: by_name[name].sort_key)
    assert order == ["needs_1", "needs_1_addon", "needs_9_addon", "needs_20", "capped", "blocked"]


def test_entry_flags_name_the_excluded_entries() -> None:
    rpm = entry(10, program="rpm", id="a7")
    progress = progress_of(facts(entry(25, id="a8"), rpm))
    flags = entry_flags(progress.findings)
    assert list(flags) == ["a7"]
    assert flags["a7"][0].label == "Time of another program"
    assert flags["a7"][0].severity_text == "Advice"


def test_every_rule_has_a_label_in_words() -> None:
    """The pages label each finding (revision 2's rules included), never with its id."""
    assert set(RULES) <= set(RULE_LABELS)
