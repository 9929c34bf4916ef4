"""The facts builder: billing-rules.md facts of a patient-month from the database, in a
fixed number of queries however many patients and entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import MdmAttestation
from billing.rules import evaluate, parse_facts
from billing.selectors import patient_month_facts, patients_month_facts
from ccm.models import User
from patients.models import InpatientStay, OtherService, Patient
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
    assert facts["patient"]["initiating_visit"]["code"] == "99214"
    assert facts["patient"]["care_plan"] == {"established": "2025-01-10"}
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
