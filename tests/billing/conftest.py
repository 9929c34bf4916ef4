"""A closed-month scenario: complex, non-complex, practitioner-only and blocked patients
in the month before this one."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from billing.services import mdm_attest
from ccm.models import User
from patients.models import Patient
from timelog.services import TimeActivityInput, time_activity_create

#: Each entry's own note: a note copied onto three entries is a finding of its own
#: (ENTRY_NOTE_REPEATED).
_CALLS = itertools.count(1)


def last_month() -> dt.date:
    return (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def log_minutes(
    performer: User, patients: list[Patient], day: int, minutes: int, month: dt.date | None = None
) -> None:
    month = month or last_month()
    time_activity_create(
        performer=performer,
        today=month.replace(day=day),  # logged the day it records (rule ENTRY_LATE)
        entry=TimeActivityInput(
            patients=patients,
            date=month.replace(day=day),
            duration_seconds=minutes * 60,
            activity="patient_call",
            note=f"monthly call #{next(_CALLS)}",
        ),
    )


@dataclass(frozen=True)
class MonthScenario:
    month: dt.date
    complex: Patient  # 95 staff min + moderate MDM: 99487 + 99489
    non_complex: Patient  # 45 staff min: 99490 + 99439
    practitioner_only: Patient  # 35 practitioner min: 99491
    blocked: Patient  # 30 staff min, no consent: not billable


@pytest.fixture
def month_scenario(
    make_patient: Callable[..., Patient], nurse: User, practitioner: User
) -> MonthScenario:
    month = last_month()
    complex_patient = make_patient(last_name="Adams", first_name="Ann")
    non_complex = make_patient(last_name="Brown", first_name="Ben")
    practitioner_only = make_patient(last_name="Clark", first_name="Cy")
    blocked = make_patient(last_name="Davis", first_name="Dee")
    blocked.consents.all().delete()
    for day, minutes in ((2, 30), (5, 30), (9, 35)):
        log_minutes(nurse, [complex_patient], day, minutes)
    log_minutes(nurse, [non_complex], 3, 45)
    log_minutes(practitioner, [practitioner_only], 4, 35)
    log_minutes(nurse, [blocked], 6, 30)
    mdm_attest(
        practitioner=practitioner,
        patient=complex_patient,
        month=month,
        level="moderate",
        note="Two unstable conditions, medication changes",
    )
    return MonthScenario(month, complex_patient, non_complex, practitioner_only, blocked)
