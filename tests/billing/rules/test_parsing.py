"""parse_facts: every bad fact is a FactsError naming its field, never a decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from billing.rules import FactsError, evaluate_json, parse_facts
from tests.billing.rules.builders import entry, facts

Mutation = Callable[[dict[str, Any]], None]


def good() -> dict[str, Any]:
    return facts(
        entry(25, id="e1", start="09:00"),
        entry(10, id="e2"),
        entry(seconds=90, id="e3"),
        inpatient_stays=[{"from": "2026-03-12", "to": "2026-03-15"}],
        other_services=[{"code": "G0182", "date": "2026-03-02", "practitioner": "P2"}],
    )


def set_entry(index: int, key: str, value: object) -> Mutation:
    return lambda data: data["time_entries"][index].__setitem__(key, value)


def drop_entry_key(index: int, key: str) -> Mutation:
    return lambda data: data["time_entries"][index].pop(key)


def set_key(path: str, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[part]
        target[last] = value

    return mutate


def drop_key(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[part]
        del target[last]

    return mutate


BAD: list[tuple[str, Mutation, str]] = [
    ("month format", set_key("month", "2026-3"), "month"),
    ("month 13", set_key("month", "2026-13"), "month"),
    ("month as date", set_key("month", "2026-03-01"), "month"),
    ("month number", set_key("month", 202603), "month"),
    ("month missing", drop_key("month"), "month"),
    ("unknown rulebook", set_key("rulebook", "2019"), "rulebook"),
    ("practitioner missing", drop_key("billing_practitioner"), "billing_practitioner"),
    ("practitioner empty", set_key("billing_practitioner", " "), "billing_practitioner"),
    ("patient missing", drop_key("patient"), "patient"),
    ("patient not object", set_key("patient", []), "patient"),
    ("entries missing", drop_key("time_entries"), "time_entries"),
    ("entries not list", set_key("time_entries", {}), "time_entries"),
    ("entry not object", set_key("time_entries", [1]), "time_entries[0]"),
    ("negative minutes", set_entry(1, "minutes", -5), "time_entries[1].minutes"),
    ("zero minutes", set_entry(1, "minutes", 0), "time_entries[1].minutes"),
    ("fractional minutes", set_entry(1, "minutes", 2.5), "time_entries[1].minutes"),
    ("string minutes", set_entry(1, "minutes", "10"), "time_entries[1].minutes"),
    ("boolean minutes", set_entry(1, "minutes", True), "time_entries[1].minutes"),
    ("zero seconds", set_entry(2, "seconds", 0), "time_entries[2].seconds"),
    ("both", set_entry(1, "seconds", 600), "time_entries[1].seconds"),
    ("neither", drop_entry_key(1, "minutes"), "time_entries[1].minutes"),
    ("over a day", set_entry(1, "minutes", 1441), "time_entries[1].minutes"),
    ("bad date", set_entry(0, "date", "2026-02-30"), "time_entries[0].date"),
    ("date format", set_entry(0, "date", "03/04/2026"), "time_entries[0].date"),
    ("compact date", set_entry(0, "date", "20260304"), "time_entries[0].date"),
    ("date missing", drop_entry_key(0, "date"), "time_entries[0].date"),
    ("unknown performer", set_entry(0, "performer", "nurse"), "time_entries[0].performer"),
    ("performer missing", drop_entry_key(0, "performer"), "time_entries[0].performer"),
    ("bad start", set_entry(0, "start", "25:00"), "time_entries[0].start"),
    ("start format", set_entry(0, "start", "9am"), "time_entries[0].start"),
    ("start seconds", set_entry(0, "start", "09:00:60"), "time_entries[0].start"),
    ("shared_with 0", set_entry(0, "shared_with", 0), "time_entries[0].shared_with"),
    ("shared_with bool", set_entry(0, "shared_with", True), "time_entries[0].shared_with"),
    ("id missing", drop_entry_key(0, "id"), "time_entries[0].id"),
    ("duplicate id", set_entry(2, "id", "e1"), "time_entries[2].id"),
    ("program number", set_entry(0, "program", 3), "time_entries[0].program"),
    ("mdm level", set_key("mdm", {"level": "extreme", "attested_by": "P1"}), "mdm.level"),
    ("mdm attested_by", set_key("mdm", {"level": "high"}), "mdm.attested_by"),
    ("mdm not object", set_key("mdm", "high"), "mdm"),
    ("conditions missing", drop_key("patient.chronic_conditions"), "patient.chronic_conditions"),
    (
        "conditions not list",
        set_key("patient.chronic_conditions", "E11.9"),
        "patient.chronic_conditions",
    ),
    (
        "bad icd10",
        set_key("patient.chronic_conditions", [{"icd10": "diabetes"}]),
        "patient.chronic_conditions[0].icd10",
    ),
    (
        "resolved before onset",
        set_key(
            "patient.chronic_conditions",
            [{"icd10": "I10", "onset": "2020-01-02", "resolved": "2020-01-01"}],
        ),
        "patient.chronic_conditions[0].resolved",
    ),
    ("consents missing", drop_key("patient.consents"), "patient.consents"),
    (
        "consent date",
        set_key("patient.consents", [{"date": "x", "billing_practitioner": "P1"}]),
        "patient.consents[0].date",
    ),
    (
        "consent practitioner",
        set_key("patient.consents", [{"date": "2026-01-01"}]),
        "patient.consents[0].billing_practitioner",
    ),
    (
        "consent method",
        set_key(
            "patient.consents",
            [{"date": "2026-01-01", "billing_practitioner": "P1", "method": "telepathy"}],
        ),
        "patient.consents[0].method",
    ),
    (
        "revoked before consent",
        set_key(
            "patient.consents",
            [{"date": "2026-01-02", "billing_practitioner": "P1", "revoked": "2026-01-01"}],
        ),
        "patient.consents[0].revoked",
    ),
    (
        "prior visit date",
        set_key("patient.prior_visit_date", "yesterday"),
        "patient.prior_visit_date",
    ),
    (
        "visit code",
        set_key("patient.initiating_visit", {"date": "2026-01-01"}),
        "patient.initiating_visit.code",
    ),
    (
        "visit discussed",
        set_key(
            "patient.initiating_visit",
            {"date": "2026-01-01", "code": "99214", "ccm_discussed": "yes"},
        ),
        "patient.initiating_visit.ccm_discussed",
    ),
    (
        "care plan",
        set_key("patient.care_plan", {"established": None}),
        "patient.care_plan.established",
    ),
    ("service date", set_key("other_services", [{"code": "G0182"}]), "other_services[0].date"),
    ("services not list", set_key("other_services", "G0182"), "other_services"),
    (
        "stay order",
        set_key("inpatient_stays", [{"from": "2026-03-15", "to": "2026-03-12"}]),
        "inpatient_stays[0].to",
    ),
    ("stay from", set_key("inpatient_stays", [{"to": "2026-03-12"}]), "inpatient_stays[0].from"),
    # Revision 2's optional facts.
    (
        "attested_chronic",
        set_key(
            "patient.chronic_conditions",
            [{"icd10": "E11.9"}, {"icd10": "J06.9", "attested_chronic": "yes"}],
        ),
        "patient.chronic_conditions[1].attested_chronic",
    ),
    (
        "attested_chronic number",
        set_key("patient.chronic_conditions", [{"icd10": "J06.9", "attested_chronic": 1}]),
        "patient.chronic_conditions[0].attested_chronic",
    ),
    (
        "visit practitioner empty",
        set_key(
            "patient.initiating_visit",
            {"date": "2026-01-01", "code": "99214", "practitioner": " "},
        ),
        "patient.initiating_visit.practitioner",
    ),
    (
        "visit practitioner list",
        set_key(
            "patient.initiating_visit",
            {"date": "2026-01-01", "code": "99214", "practitioner": ["P1"]},
        ),
        "patient.initiating_visit.practitioner",
    ),
    (
        "care plan reviewed",
        set_key("patient.care_plan", {"established": "2026-01-10", "reviewed": "last week"}),
        "patient.care_plan.reviewed",
    ),
    (
        "care plan signed_by",
        set_key("patient.care_plan", {"established": "2026-01-10", "signed_by": ""}),
        "patient.care_plan.signed_by",
    ),
    ("note number", set_entry(0, "note", 12), "time_entries[0].note"),
    ("note list", set_entry(1, "note", ["a"]), "time_entries[1].note"),
    ("logged_on", set_entry(0, "logged_on", "2026-02-30"), "time_entries[0].logged_on"),
    ("logged_on number", set_entry(2, "logged_on", 20260304), "time_entries[2].logged_on"),
    ("credential number", set_entry(0, "credential", 3), "time_entries[0].credential"),
    ("names list", set_key("names", ["U5"]), "names"),
    ("names value number", set_key("names", {"U5": 5}), "names.U5"),
    ("names value empty", set_key("names", {"U5": "  "}), "names.U5"),
    ("names value long", set_key("names", {"U5": "x" * 201}), "names.U5"),
    ("names value newline", set_key("names", {"U5": "Dr. A\nB"}), "names.U5"),
    ("names key empty", set_key("names", {" ": "Dr. A"}), "names"),
    ("names too many", set_key("names", {f"U{n}": "A" for n in range(1001)}), "names"),
]


def test_the_good_facts_parse() -> None:
    parsed = parse_facts(good())
    assert str(parsed.month) == "2026-03"
    assert parsed.rulebook is None
    assert [e.seconds for e in parsed.time_entries] == [1500, 600, 90]
    assert parsed.time_entries[0].start == 9 * 3600
    assert parsed.inpatient_stays[0].start == dt.date(2026, 3, 12)


@pytest.mark.parametrize(("label", "mutate", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_fact_names_its_field(label: str, mutate: Mutation, field: str) -> None:
    data = good()
    mutate(data)
    with pytest.raises(FactsError) as caught:
        parse_facts(data)
    assert caught.value.field == field
    assert caught.value.message
    assert str(caught.value) == f"{field}: {caught.value.message}"


@pytest.mark.parametrize("data", [None, [], "facts", 3])
def test_facts_must_be_an_object(data: object) -> None:
    with pytest.raises(FactsError) as caught:
        parse_facts(data)
    assert caught.value.field == "facts"


def test_facts_error_is_a_value_error() -> None:
    assert issubclass(FactsError, ValueError)


def test_evaluate_json_raises_for_bad_facts() -> None:
    with pytest.raises(FactsError, match="month"):
        evaluate_json({"month": "March"})


def test_optional_parts_may_be_null_or_absent() -> None:
    data = good()
    for key in ("mdm", "other_services", "inpatient_stays", "rulebook"):
        data[key] = None
    data["patient"]["initiating_visit"] = None
    for entry_ in data["time_entries"]:
        for key in ("shared_with", "program", "staff_id", "start"):
            entry_.pop(key, None)
    parsed = parse_facts(data)
    assert parsed.mdm is None
    assert parsed.time_entries[0].program == "ccm"
    assert parsed.time_entries[0].shared_with == 1
    del data["mdm"], data["other_services"], data["inpatient_stays"]
    assert parse_facts(data).other_services == ()


def test_start_with_seconds_and_numeric_ids() -> None:
    data = good()
    data["time_entries"][0].update(start="23:59:30", id=7, staff_id=12)
    parsed = parse_facts(data)
    assert parsed.time_entries[0].start == 23 * 3600 + 59 * 60 + 30
    assert parsed.time_entries[0].id == "7"
    assert parsed.time_entries[0].staff_id == "12"


def test_unknown_keys_are_ignored() -> None:
    data = good()
    data["note"] = "free text"
    data["time_entries"][0]["outcome"] = "called back"
    assert parse_facts(data).billing_practitioner == "P1"


def test_leap_day_is_a_date_only_in_leap_years() -> None:
    data = good()
    data["time_entries"][0]["date"] = "2028-02-29"
    parse_facts(data)
    data["time_entries"][0]["date"] = "2026-02-29"
    with pytest.raises(FactsError, match=r"time_entries\[0\]\.date"):
        parse_facts(data)


def test_revision_2_facts_parse() -> None:
    data = good()
    data["patient"]["chronic_conditions"][1]["attested_chronic"] = True
    data["patient"]["initiating_visit"] = {
        "date": "2026-01-10",
        "code": "99214",
        "ccm_discussed": True,
        "practitioner": 5,
    }
    data["patient"]["care_plan"] = {
        "established": "2026-01-10",
        "reviewed": "2026-02-01",
        "signed_by": "P1",
    }
    data["time_entries"][0].update(note="  Called patient  ", logged_on="2026-03-12")
    data["names"] = {"P1": "Dr. Diane Doctor, MD", " S1 ": "Rita Nurse, RN"}
    parsed = parse_facts(data)
    assert [c.attested_chronic for c in parsed.patient.chronic_conditions] == [False, True]
    assert parsed.patient.initiating_visit is not None
    assert parsed.patient.initiating_visit.practitioner == "5"
    assert parsed.patient.care_plan is not None
    assert parsed.patient.care_plan.reviewed == dt.date(2026, 2, 1)
    assert parsed.patient.care_plan.signed_by == "P1"
    first = parsed.time_entries[0]
    assert (first.note, first.logged_on) == ("Called patient", dt.date(2026, 3, 12))
    assert dict(parsed.names) == {"P1": "Dr. Diane Doctor, MD", "S1": "Rita Nurse, RN"}
    assert parsed.name("P1") == "Dr. Diane Doctor, MD"
    assert parsed.name("P9") == "P9"


def test_revision_2_facts_default_as_before() -> None:
    parsed = parse_facts(good())
    assert [c.attested_chronic for c in parsed.patient.chronic_conditions] == [False, False]
    assert parsed.patient.care_plan is not None
    assert (parsed.patient.care_plan.reviewed, parsed.patient.care_plan.signed_by) == (
        None,
        "P1",
    )
    assert all(e.note is None and e.logged_on is None for e in parsed.time_entries)
    assert dict(parsed.names) == {}


@pytest.mark.parametrize("credential", ["", "   ", None])
def test_an_empty_credential_is_not_known(credential: str | None) -> None:
    # Front-desk staff have no clinical credential: the month is decided, not refused.
    data = good()
    data["time_entries"][1].update(performer="non_clinical", credential=credential)
    parsed = parse_facts(data)
    assert parsed.time_entries[1].credential is None
    assert "ENTRY_NON_CLINICAL" in [f["rule"] for f in evaluate_json(data)["findings"]]


@pytest.mark.parametrize("text", ["", "   ", None])
def test_an_empty_note_is_no_note(text: str | None) -> None:
    data = good()
    data["time_entries"][0]["note"] = text
    assert parse_facts(data).time_entries[0].note is None


def test_names_may_be_null_and_hold_up_to_a_thousand() -> None:
    data = good()
    data["names"] = None
    assert dict(parse_facts(data).names) == {}
    data["names"] = {f"U{n}": "x" * 200 for n in range(1000)}
    assert len(parse_facts(data).names) == 1000
