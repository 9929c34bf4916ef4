"""The facts builder: billing-rules.md facts of a patient-month from the database, in a
fixed number of queries however many patients and entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from billing.close import close_chunk, close_request
from billing.models import MdmAttestation, WorklistRow
from billing.rules import FactsError, evaluate, parse_facts
from billing.selectors import (
    patient_keys,
    patient_month_facts,
    patients_month_engine_facts,
    patients_month_facts,
)
from ccm.models import User
from patients.models import InpatientStay, OtherService, Patient
from timelog.models import TimeActivity
from timelog.services import TimeActivityInput, time_activity_create

pytestmark = pytest.mark.django_db
MARCH = dt.date(2026, 3, 1)
TODAY = dt.date(2026, 4, 15)


def log(
    performer: User,
    patients: list[Patient],
    day: int,
    minutes: int,
    start: str | None = None,
    program: str = "ccm",
) -> None:
    time_activity_create(
        performer=performer,
        today=TODAY,
        entry=TimeActivityInput(
            patients=patients,
            date=dt.date(2026, 3, day),
            duration_seconds=minutes * 60,
            activity="patient_call",
            note="called",
            program=program,
            started_at=dt.time.fromisoformat(start) if start else None,
        ),
    )


def test_facts_of_a_patient_month(
    patient: Patient, nurse: User, practitioner: User, make_patient: Callable[..., Patient]
) -> None:
    others = [make_patient(), make_patient()]
    log(nurse, [patient], 3, 25, "09:00")
    log(nurse, [patient, *others], 4, 30, "10:00")
    log(nurse, [patient], 5, 10, program="rpm")
    log(practitioner, [patient], 6, 15)
    OtherService.objects.create(patient=patient, code="99457", date=dt.date(2026, 3, 9))
    InpatientStay.objects.create(
        patient=patient, admitted=dt.date(2026, 2, 27), discharged=dt.date(2026, 3, 2)
    )
    MdmAttestation.objects.create(
        patient=patient,
        month=MARCH,
        level="moderate",
        note="n",
        practitioner=practitioner,
        signed_at=dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC),
    )
    facts = patient_month_facts(patient=patient, month=MARCH)

    assert facts["month"] == "2026-03"
    assert facts["billing_practitioner"] == f"U{practitioner.pk}"
    assert [c["icd10"] for c in facts["patient"]["chronic_conditions"]] == ["E11.9", "I50.22"]
    assert facts["patient"]["consents"][0]["billing_practitioner"] == f"U{practitioner.pk}"
    assert facts["patient"]["initiating_visit"] == {
        "date": "2025-01-10",
        "code": "99214",
        "ccm_discussed": True,
        "practitioner": f"U{practitioner.pk}",
    }
    assert facts["patient"]["prior_visit_date"] == "2025-01-10"
    # The fixture's plan was reviewed after March: by March's end it was last reviewed
    # the day it was established.
    reviewed = patient.care_plans.get().reviewed
    assert reviewed is not None
    assert reviewed > dt.date(2026, 3, 31)
    assert facts["patient"]["care_plan"] == {
        "established": "2025-01-10",
        "reviewed": "2025-01-10",
        "signed_by": f"U{practitioner.pk}",
    }
    assert facts["names"] == {
        f"U{practitioner.pk}": practitioner.display_name,
        f"U{nurse.pk}": nurse.display_name,
    }
    assert facts["mdm"] == {
        "level": "moderate",
        "attested_by": f"U{practitioner.pk}",
        "date": "2026-03-28",
    }
    assert facts["inpatient_stays"] == [{"from": "2026-02-27", "to": "2026-03-02"}]
    assert facts["other_services"][0]["code"] == "99457"
    entries = facts["time_entries"]
    assert [(e["seconds"], e["shared_with"], e["performer"], e["program"]) for e in entries] == [
        (1500, 1, "clinical_staff", "ccm"),
        (1800, 3, "clinical_staff", "ccm"),
        (600, 1, "clinical_staff", "rpm"),
        (900, 1, "practitioner", "ccm"),
    ]
    assert entries[0]["start"] == "09:00:00"
    assert (entries[0]["note"], entries[0]["logged_on"]) == ("called", TODAY.isoformat())

    decision = evaluate(parse_facts(facts))
    assert decision.counted_seconds.clinical_staff == 1500 + 600
    assert decision.counted_seconds.practitioner == 900
    assert decision.tier == "non_complex"  # 50 min: MDM attested but under 60


def test_query_count_is_fixed_as_patients_and_entries_grow(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    few = [make_patient() for _ in range(2)]
    log(nurse, few, 2, 20)

    def count_queries(patients: list[Patient]) -> int:
        loaded = list(
            Patient.objects.filter(pk__in=[p.pk for p in patients]).select_related(
                "billing_practitioner"
            )
        )
        with CaptureQueriesContext(connection) as captured:
            built = patients_month_facts(loaded, MARCH)
        assert set(built) == {p.pk for p in patients}
        return len(captured.captured_queries)

    small = count_queries(few)
    many = few + [make_patient() for _ in range(10)]
    for day in range(3, 20):
        log(nurse, many, day, 30 + day)
    assert count_queries(many) == small == 8


def test_engine_facts_are_what_parse_facts_makes_of_the_json_facts(
    patient: Patient,
    nurse: User,
    practitioner: User,
    make_user: Callable[..., User],
    make_patient: Callable[..., Patient],
) -> None:
    """The close builds the engine's Facts straight from the rows; they must be exactly
    what parse_facts makes of the JSON-like facts the API shows."""
    others = [make_patient(), make_patient(eligible=False)]
    no_credential = make_user("ma", credential="")
    log(nurse, [patient], 3, 25, "09:00")
    log(nurse, [patient, *others], 4, 30, "10:00:30")
    log(nurse, [patient], 5, 10, program="rpm")
    log(practitioner, [patient, others[0]], 6, 15)
    log(no_credential, [others[1]], 7, 12)
    OtherService.objects.create(
        patient=patient, code="g0182", date=dt.date(2026, 3, 9), practitioner_npi="1234567893"
    )
    OtherService.objects.create(patient=others[0], code="99457", date=dt.date(2026, 3, 2))
    InpatientStay.objects.create(
        patient=patient, admitted=dt.date(2026, 2, 27), discharged=dt.date(2026, 3, 2)
    )
    consent = others[0].consents.get()
    consent.revoked = dt.date(2026, 3, 20)
    consent.save()
    MdmAttestation.objects.create(
        patient=patient,
        month=MARCH,
        level="high",
        note="n",
        practitioner=practitioner,
        signed_at=dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC),
    )
    patients = list(
        Patient.objects.filter(pk__in=[patient.pk, *(p.pk for p in others)]).select_related(
            "billing_practitioner"
        )
    )
    json_facts = patients_month_facts(patients, MARCH)
    engine_facts = patients_month_engine_facts(patient_keys([p.pk for p in patients]), MARCH)
    assert set(engine_facts) == set(json_facts)
    for pk, facts in json_facts.items():
        built = engine_facts[pk]  # in no particular order: the engine sorts entries itself
        ordered = sorted(built.time_entries, key=lambda e: (e.date, int(e.id[1:])))
        assert replace(built, time_entries=tuple(ordered)) == parse_facts(facts)
    (blank,) = [
        e
        for e in json_facts[others[1].pk]["time_entries"]
        if e["staff_id"] == f"U{no_credential.pk}"
    ]
    assert blank["credential"] is None  # a blank credential is unknown, not a bad fact
    assert engine_facts[patient.pk].other_services[0].practitioner == f"U{practitioner.pk}"


def _assert_engine_facts_match(patients: list[Patient]) -> None:
    """patients_month_engine_facts == parse_facts(patients_month_facts) for each patient,
    the entries compared in one order (the engine sorts them itself)."""
    loaded = list(
        Patient.objects.filter(pk__in=[p.pk for p in patients]).select_related(
            "billing_practitioner"
        )
    )
    json_facts = patients_month_facts(loaded, MARCH)
    engine_facts = patients_month_engine_facts(patient_keys([p.pk for p in loaded]), MARCH)
    assert set(engine_facts) == set(json_facts) == {p.pk for p in patients}
    for pk, facts in json_facts.items():
        built = engine_facts[pk]
        ordered = sorted(built.time_entries, key=lambda e: (e.date, int(e.id[1:])))
        assert replace(built, time_entries=tuple(ordered)) == parse_facts(facts)


def test_engine_facts_match_over_a_varied_month(
    nurse: User,
    practitioner: User,
    make_user: Callable[..., User],
    make_patient: Callable[..., Patient],
) -> None:
    """Many patients, shared and untimed entries, several programs and performers, a
    patient with no entries: the fast path (each row taken as the database made it)
    gives what parse_facts makes of the JSON-like facts."""
    patients = [make_patient() for _ in range(8)] + [make_patient(eligible=False)]
    assistant = make_user("ma", credential="CMA")
    for day in range(1, 29):
        group = patients[day % 5 : day % 5 + 1 + day % 3]
        log(nurse, group, day, 5 + day, f"{8 + day % 9:02d}:{day % 60:02d}:00")
        log(assistant, [patients[day % 9]], day, 3 + day % 7, program="rpm" if day % 4 else "ccm")
        if day % 6 == 0:
            log(practitioner, [patients[day % 8]], day, 31)
    _assert_engine_facts_match([*patients, make_patient()])


def test_engine_facts_normalise_texts_as_parse_facts_does(
    patient: Patient, nurse: User, make_patient: Callable[..., Patient]
) -> None:
    """Texts stored as parse_facts would not take them as they stand (a credential with
    spaces around it, a blank one, a program in capitals) take the long way and come out
    normalised the same."""
    other = make_patient()
    log(nurse, [patient], 3, 25, "09:00")
    log(nurse, [patient, other], 4, 30)
    log(nurse, [other], 5, 10, program="rpm")
    activities = TimeActivity.objects.filter(shares__patient=patient).order_by("date")
    TimeActivity.objects.filter(pk=activities[0].pk).update(performer_credential=" RN\t")
    TimeActivity.objects.filter(pk=activities[1].pk).update(performer_credential="  ")
    TimeActivity.objects.filter(shares__patient=other, program="rpm").update(program=" RPM ")
    _assert_engine_facts_match([patient, other])
    entries = patients_month_engine_facts(patient_keys([patient.pk]), MARCH)[patient.pk]
    assert sorted(str(e.credential) for e in entries.time_entries) == ["None", "RN"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"patient_count": 0}, "time_entries[0].shared_with"),
        ({"performer_kind": "robot"}, "time_entries[0].performer"),
        ({"program": " "}, "time_entries[].program"),
    ],
)
def test_a_bad_entry_is_the_facts_error_parse_facts_raises(
    patient: Patient, nurse: User, change: dict[str, object], field: str
) -> None:
    log(nurse, [patient], 3, 25)
    TimeActivity.objects.filter(shares__patient=patient).update(**change)
    with pytest.raises(FactsError) as engine_error:
        patients_month_engine_facts(patient_keys([patient.pk]), MARCH)
    assert engine_error.value.field == field
    with pytest.raises(FactsError):
        parse_facts(patient_month_facts(patient=patient, month=MARCH))


def test_engine_facts_take_a_fixed_number_of_queries(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    few = [make_patient() for _ in range(2)]
    log(nurse, few, 2, 20)

    def count_queries(patients: list[Patient]) -> int:
        keys = patient_keys([p.pk for p in patients])
        with CaptureQueriesContext(connection) as captured:
            built = patients_month_engine_facts(keys, MARCH)
        assert set(built) == {p.pk for p in patients}
        return len(captured.captured_queries)

    small = count_queries(few)
    many = few + [make_patient() for _ in range(10)]
    for day in range(3, 20):
        log(nurse, many, day, 30 + day)
    # The JSON-like facts' eight, the entries without their performer's name, and one
    # query for the performers' names.
    assert count_queries(many) == small == 9


def test_a_close_chunk_takes_a_fixed_number_of_queries(
    nurse: User, make_patient: Callable[..., Patient], settings: Settings
) -> None:
    """Claim, facts, engine, rows and lines of a chunk: the same queries for 2 patients
    or 12, with any number of entries."""
    few = [make_patient() for _ in range(2)]
    many = [make_patient() for _ in range(12)]
    log(nurse, few, 2, 20)
    for day in range(3, 20):
        log(nurse, many, day, 30 + day)
    settings.CCM_CLOSE_CHUNK_SIZE = 2
    practice = few[0].practice
    run, _ = close_request(practice=practice, month=MARCH, actor=None)
    assert run is not None
    # Chunk 0 holds the 2 patients of `few`; chunk 1 two of `many` (ids in order).
    counts = []
    for chunk in run.chunks.order_by("index")[:2]:
        with CaptureQueriesContext(connection) as captured:
            assert close_chunk(chunk_id=chunk.pk)
        counts.append(len(captured.captured_queries))
    assert WorklistRow.objects.filter(run=run).count() == 4
    assert counts[0] == counts[1]


def test_names_are_the_users_display_names(
    patient: Patient, practitioner: User, make_user: Callable[..., User]
) -> None:
    """The facts' names (findings say "Dr. Diane Doctor, MD", never "U5") are worked out
    by the database as User.display_name does, whatever the user has filled in."""
    people = [
        make_user("rn", full_name="Nora Nurse", credential="RN"),
        make_user("ma", full_name="", first_name="Maya", last_name="Assistant", credential=""),
        make_user("lpn", full_name="", first_name="", last_name="", credential="LPN"),
        make_user("care_manager", full_name="A" * 200, credential="MSW"),
    ]
    for day, person in enumerate(people, start=2):
        log(person, [patient], day, 5)
    names = patient_month_facts(patient=patient, month=MARCH)["names"]
    for person in people[:3]:
        assert names[f"U{person.pk}"] == person.display_name
    assert names[f"U{people[3].pk}"] == "A" * 200  # not ", MSW": parse_facts takes 200
    assert names[f"U{practitioner.pk}"] == practitioner.display_name
    engine = patients_month_engine_facts(patient_keys([patient.pk]), MARCH)[patient.pk]
    assert dict(engine.names) == names


@pytest.mark.parametrize(
    ("reviewed", "passed_on", "stale"),
    [
        # A review after the month cannot show the plan was reviewed by then.
        (dt.date(2026, 5, 2), "2025-01-10", True),
        # A review within the month's year counts.
        (dt.date(2026, 3, 20), "2026-03-20", False),
    ],
)
def test_a_care_plan_review_counts_only_on_or_before_the_months_end(
    patient: Patient, nurse: User, reviewed: dt.date, passed_on: str, stale: bool
) -> None:
    """CARE_PLAN_NOT_REVIEWED: the facts pass the plan's last review as of the month's
    last day, so a review entered later does not hide a stale plan from the month."""
    patient.care_plans.update(reviewed=reviewed)
    log(nurse, [patient], 3, 25)

    facts = patient_month_facts(patient=patient, month=MARCH)
    decision = evaluate(parse_facts(facts))

    assert facts["patient"]["care_plan"]["reviewed"] == passed_on
    assert ("CARE_PLAN_NOT_REVIEWED" in decision.rules_applied) is stale


def test_engine_facts_come_in_the_engines_order(
    nurse: User, practitioner: User, make_patient: Callable[..., Patient]
) -> None:
    """Each patient's entries come by date, then start (untimed first), as the engine's
    `in_chronological_order` orders them, whatever order they were logged in: the close
    then only checks the order of a month instead of sorting it (issue 16)."""
    from billing.rules.counting import _already_in_order, in_chronological_order

    patients = [make_patient() for _ in range(3)]
    logged = [
        (20, "09:00", "22:00"),
        (3, None, None),
        (20, "08:00", "06:00"),
        (3, "07:30", "23:00"),
        (11, None, "10:00"),
    ]
    for day, nurse_start, practitioner_start in logged:
        log(nurse, patients[:2], day, 5, nurse_start)
        log(practitioner, patients[1:], day, 4, practitioner_start)
    built = patients_month_engine_facts(patient_keys([p.pk for p in patients]), MARCH)
    for patient in patients:
        entries = built[patient.pk].time_entries
        assert len(entries) >= 5
        assert _already_in_order(entries)
        assert list(entries) == in_chronological_order(entries)
