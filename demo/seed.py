"""Demo data for `make run`: one practice, one user per role, and (once the clinical apps
provide them) patients with a realistic month. Running it twice changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billing.models import MdmAttestation
from ccm.models import Practice, Role, User
from ccm.services import practice_get_or_create, user_create
from patients.models import CarePlan, ChronicCondition, Consent, Patient, Visit
from timelog.models import ActivityType
from timelog.services import TimeActivityInput, time_activity_create

DEMO_PRACTICE_SLUG = "demo"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed on purpose: demo sign-in details


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    full_name: str
    credential: str = ""
    npi: str = ""


DEMO_USERS = (
    DemoUser("nurse", Role.RN, "Nora Nurse", "RN"),
    DemoUser("lpn", Role.LPN, "Leo Practical", "LPN"),
    DemoUser("ma", Role.MA, "Maya Assistant", "CMA"),
    DemoUser("caremanager", Role.CARE_MANAGER, "Carla Manager", "MSW"),
    DemoUser("doctor", Role.PRACTITIONER, "Dr. Diane Doctor", "MD", "1234567893"),
    DemoUser("billing", Role.BILLING, "Bill Biller"),
    DemoUser("admin", Role.ADMIN, "Ada Admin"),
    DemoUser("frontdesk", Role.FRONT_DESK, "Fran Desk"),
)


@transaction.atomic
def seed_demo_users() -> tuple[Practice, list[User]]:
    """The demo practice and one user per role (existing ones are left as they are)."""
    practice = practice_get_or_create(slug=DEMO_PRACTICE_SLUG, name="Demo Family Medicine")
    users = []
    for demo in DEMO_USERS:
        user = User.objects.filter(username=demo.username).first()
        if user is None:
            user = user_create(
                username=demo.username,
                role=demo.role,
                practice=practice,
                password=DEMO_PASSWORD,
                full_name=demo.full_name,
                credential=demo.credential,
                npi=demo.npi,
            )
        users.append(user)
    return practice, users


@dataclass(frozen=True)
class DemoPatient:
    mrn: str
    first_name: str
    last_name: str
    birth_date: dt.date
    conditions: tuple[str, ...]
    staff_minutes: tuple[int, ...] = ()
    practitioner_minutes: tuple[int, ...] = ()
    consent: bool = True
    mdm: str = ""
    note: str = ""


# A realistic month: patients near and past each threshold, one blocked for missing
# consent, one with a single condition, one complex month waiting for the practitioner.
DEMO_PATIENTS = (
    DemoPatient(
        "D-1001",
        "Alice",
        "Anders",
        dt.date(1948, 3, 2),
        ("E11.9", "I10"),
        (10, 7),
        note="3 min short of 99490",
    ),
    DemoPatient(
        "D-1002",
        "Bruno",
        "Baker",
        dt.date(1951, 7, 19),
        ("I50.22", "N18.30"),
        (15, 13),
        note="99490 reached",
    ),
    DemoPatient(
        "D-1003",
        "Carmen",
        "Cruz",
        dt.date(1944, 11, 5),
        ("J44.9", "E11.65", "I10"),
        (20, 12, 6),
        note="2 min short of 99439",
    ),
    DemoPatient(
        "D-1004",
        "Dmitri",
        "Dale",
        dt.date(1939, 1, 30),
        ("I50.22", "E11.9", "N18.30"),
        (25, 20, 18),
        note="63 min, no MDM yet: the practitioner's queue",
    ),
    DemoPatient(
        "D-1005",
        "Esther",
        "Evans",
        dt.date(1946, 6, 14),
        ("C50.911", "I10", "F33.1"),
        (30, 25, 25, 15),
        mdm="moderate",
        note="complex: 99487 + 99489",
    ),
    DemoPatient(
        "D-1006",
        "Frank",
        "Fischer",
        dt.date(1950, 9, 9),
        ("E11.9", "I10"),
        (20, 10),
        consent=False,
        note="blocked: no consent",
    ),
    DemoPatient(
        "D-1007",
        "Grace",
        "Gomez",
        dt.date(1942, 4, 21),
        ("I48.91", "E78.5"),
        (),
        practitioner_minutes=(20, 15),
        note="practitioner's own time: 99491",
    ),
    DemoPatient(
        "D-1008",
        "Hiro",
        "Hayashi",
        dt.date(1955, 12, 1),
        ("E11.9",),
        (25,),
        note="one chronic condition: PCM, not CCM",
    ),
    DemoPatient(
        "D-1009",
        "Ines",
        "Ibarra",
        dt.date(1949, 8, 8),
        ("J44.9", "I10"),
        (),
        note="no time yet this month",
    ),
)


def _entry_days(today: dt.date, count: int) -> list[dt.date]:
    """`count` dates of the current month, spread over the days elapsed so far."""
    first = today.replace(day=1)
    span = max(today.day - 1, 0)
    return [first + dt.timedelta(days=(span * (i + 1)) // (count + 1)) for i in range(count)]


def _seed_patient(
    demo: DemoPatient, practice: Practice, doctor: User, nurse: User, today: dt.date
) -> Patient:
    since = today.replace(day=1) - dt.timedelta(days=120)
    patient = Patient.objects.create(
        practice=practice,
        mrn=demo.mrn,
        first_name=demo.first_name,
        last_name=demo.last_name,
        birth_date=demo.birth_date,
        billing_practitioner=doctor,
    )
    for code in demo.conditions:
        ChronicCondition.objects.create(patient=patient, icd10=code, onset=dt.date(2018, 1, 1))
    Visit.objects.create(
        patient=patient, date=since, code="99214", ccm_discussed=True, practitioner=doctor
    )
    if demo.consent:
        Consent.objects.create(
            patient=patient,
            date=since,
            method=Consent.Method.VERBAL,
            billing_practitioner=doctor,
            recorded_by=nurse,
        )
    CarePlan.objects.create(
        patient=patient,
        version=1,
        established=since,
        created_by=doctor,
        problems=", ".join(demo.conditions),
        goals="Stable symptoms; A1c < 8",
        interventions="Monthly calls, medication review",
    )
    for performer, minutes_list in (
        (nurse, demo.staff_minutes),
        (doctor, demo.practitioner_minutes),
    ):
        for day, minutes in zip(_entry_days(today, len(minutes_list)), minutes_list, strict=True):
            time_activity_create(
                performer=performer,
                today=today,
                entry=TimeActivityInput(
                    patients=[patient],
                    date=day,
                    duration_seconds=minutes * 60,
                    activity=ActivityType.PATIENT_CALL,
                    note=f"Demo: {demo.note}",
                ),
            )
    if demo.mdm:
        MdmAttestation.objects.create(
            patient=patient,
            month=today.replace(day=1),
            level=demo.mdm,
            practitioner=doctor,
            note="Multiple chronic conditions, medication changes",
            signed_at=timezone.now(),
        )
    return patient


@transaction.atomic
def seed_demo_patients(practice: Practice, today: dt.date | None = None) -> list[Patient]:
    """The demo patients and their month so far; existing ones are left as they are."""
    today = today or timezone.localdate()
    doctor = User.objects.get(username="doctor")
    nurse = User.objects.get(username="nurse")
    existing = {p.mrn: p for p in Patient.objects.filter(practice=practice)}
    return [
        existing.get(demo.mrn) or _seed_patient(demo, practice, doctor, nurse, today)
        for demo in DEMO_PATIENTS
    ]
