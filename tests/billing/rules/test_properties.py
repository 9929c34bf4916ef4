"""Properties of the engine over generated months (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.rules import RULEBOOKS, evaluate, parse_facts
from billing.rules.families import addon_units
from tests.billing.rules.builders import decide, facts

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)
BOOK = RULEBOOKS["2026"]


@st.composite
def entry_data(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {
        "date": draw(
            st.one_of(
                st.integers(1, 31).map(lambda d: f"2026-03-{d:02d}"),
                st.sampled_from(["2026-02-28", "2026-04-01"]),
            )
        ),
        "performer": draw(
            st.sampled_from(["clinical_staff"] * 4 + ["practitioner"] * 2 + ["non_clinical"])
        ),
        "staff_id": draw(st.sampled_from(["S1", "S2", "P1"])),
        "program": draw(st.sampled_from(["ccm"] * 5 + ["rpm", "g0506"])),
        "shared_with": draw(st.sampled_from([1, 1, 1, 2, 3, 4])),
    }
    if draw(st.booleans()):
        out["minutes"] = draw(st.integers(1, 60))
    else:
        out["seconds"] = draw(st.integers(1, 3600))
    if draw(st.booleans()):
        out["start"] = f"09:{draw(st.integers(0, 59)):02d}:{draw(st.integers(0, 59)):02d}"
    return out


@st.composite
def month_facts(draw: st.DrawFn) -> dict[str, Any]:
    entries = draw(st.lists(entry_data(), max_size=12))
    for index, item in enumerate(entries):
        item["id"] = f"e{index}"
    mdm = draw(
        st.sampled_from(
            [
                None,
                {"level": "moderate", "attested_by": "P1"},
                {"level": "high", "attested_by": "P1"},
                {"level": "low", "attested_by": "P1"},
                {"level": "high", "attested_by": "P2"},
            ]
        )
    )
    data = facts(*entries, mdm=mdm)
    if draw(st.booleans()):
        data["inpatient_stays"] = [{"from": "2026-03-12", "to": "2026-03-15"}]
    if draw(st.integers(0, 9)) == 0:
        data["patient"]["care_plan"] = None
    return data


def total_units(decision: dict[str, Any]) -> int:
    return sum(line["units"] for line in decision["lines"])


@PROPERTY_SETTINGS
@given(month_facts())
def test_units_respect_caps_and_add_ons_need_their_base(data: dict[str, Any]) -> None:
    d = decide(data)
    codes = {line["code"]: line["units"] for line in d["lines"]}
    for code, units in codes.items():
        spec = BOOK.codes[code]
        assert units >= 1
        if spec.cap is not None:
            assert units <= spec.cap
        if spec.base is not None:
            assert codes.get(spec.base) == 1
        assert spec.family == d["tier"]


@PROPERTY_SETTINGS
@given(month_facts())
def test_a_blocked_month_has_no_lines(data: dict[str, Any]) -> None:
    d = decide(data)
    blocked = any(f["severity"] == "block" for f in d["findings"])
    assert d["billable"] is not blocked
    if blocked:
        assert d["lines"] == []
        assert d["tier"] is None
        assert d["total_amount"] == "0.00"


@PROPERTY_SETTINGS
@given(month_facts())
def test_counted_seconds_never_exceed_the_seconds_logged(data: dict[str, Any]) -> None:
    parsed = parse_facts(data)
    decision = evaluate(parsed)
    counted = decision.counted_seconds.total
    credited = sum(e.credited_seconds for e in parsed.time_entries)
    logged = sum(e.seconds for e in parsed.time_entries)
    assert 0 <= counted <= credited <= logged
    assert counted + decision.excluded_seconds == credited


@PROPERTY_SETTINGS
@given(month_facts(), st.randoms(use_true_random=False))
def test_the_order_of_entries_does_not_matter(data: dict[str, Any], rnd: Any) -> None:
    shuffled = {**data, "time_entries": list(data["time_entries"])}
    rnd.shuffle(shuffled["time_entries"])
    assert decide(shuffled) == decide(data)


@PROPERTY_SETTINGS
@given(month_facts(), st.integers(1, 31))
def test_a_countable_minute_never_lowers_the_units(data: dict[str, Any], day: int) -> None:
    before = decide(data)
    performer = "practitioner" if before["tier"] == "practitioner" else "clinical_staff"
    if 12 <= day <= 15 and data.get("inpatient_stays"):
        day = 20
    minute = {"id": "extra", "date": f"2026-03-{day:02d}", "minutes": 1, "performer": performer}
    after = decide({**data, "time_entries": [*data["time_entries"], minute]})
    assert after["billable"] or not before["billable"]
    if after["tier"] == before["tier"]:
        assert total_units(after) >= total_units(before)
    assert sum(after["counted_seconds"].values()) == sum(before["counted_seconds"].values()) + 60


@PROPERTY_SETTINGS
@given(st.integers(0, 5 * 3600), st.integers(0, 3600))
def test_each_family_units_grow_with_time(seconds: int, more: int) -> None:
    for family in BOOK.families:
        assert addon_units(family, seconds + more) >= addon_units(family, seconds)


@PROPERTY_SETTINGS
@given(month_facts())
def test_next_threshold_needs_at_least_a_minute(data: dict[str, Any]) -> None:
    nxt = decide(data)["next_threshold"]
    if nxt is not None:
        assert nxt["minutes_needed"] >= 1
        assert nxt["code"] in BOOK.codes
