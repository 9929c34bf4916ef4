"""Demo data for `make run`: one practice, one user per role (and a second practitioner),
and patients with a realistic month: near and past each threshold, blocked, and showing
each finding of billing rules revision 2. Running it twice changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billing.models import MdmAttestation
from ccm.models import Practice, Role, User
from ccm.services import practice_get_or_create, user_create
from patients.models import CarePlan, ChronicCondition, Consent, OtherService, Patient, Visit
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
    # A second practitioner of the practice: their time on Diane's patients is staff time.
    DemoUser("partner", Role.PRACTITIONER, "Dr. Priya Partner", "DO", "1245319599"),
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
    #: Conditions Dr. Doctor attests chronic (rule CONDITION_NOT_CHRONIC).
    attested: tuple[str, ...] = ()
    #: The second practitioner's minutes (rule ENTRY_OTHER_PRACTITIONER).
    partner_minutes: tuple[int, ...] = ()
    #: Codes Dr. Doctor billed for the month elsewhere (rule DUPLICATE_CCM).
    billed_elsewhere: tuple[str, ...] = ()
    #: The care plan: signed by the billing practitioner (CARE_PLAN_UNSIGNED), and how
    #: many days before the month it was established, never reviewed since
    #: (CARE_PLAN_NOT_REVIEWED past 365).
    plan_signed: bool = True
    plan_age_days: int = 120
    #: One entry of 60+ minutes without a start time (ENTRY_LUMPED).
    lumped_minutes: int = 0
    #: Every entry with the same note (ENTRY_NOTE_REPEATED).
    copied_note: bool = False
    #: The first entry logged this many days after the day it records (ENTRY_LATE; the
    #: month must have run that long).
    late_days: int = 0


# A realistic month: patients near and past each threshold, one blocked for missing
# consent, one with a single condition, one complex month waiting for the practitioner;
# then one patient for each finding of billing rules revision 2.
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
    DemoPatient(
        "D-1010",
        "Jonas",
        "Jensen",
        dt.date(1947, 2, 17),
        ("E11.9", "J06.9", "M54.50"),
        (14, 12),
        attested=("M54.50",),
        note="J06.9 is acute; low back pain attested chronic",
    ),
    DemoPatient(
        "D-1011",
        "Keiko",
        "Kato",
        dt.date(1952, 10, 3),
        ("E11.9", "I10"),
        (15, 10),
        partner_minutes=(12,),
        note="Dr. Partner's minutes count as staff time, not 99491",
    ),
    DemoPatient(
        "D-1012",
        "Luis",
        "Lopez",
        dt.date(1945, 5, 28),
        ("I50.22", "N18.30"),
        (25,),
        billed_elsewhere=("99490",),
        note="blocked: 99490 already billed elsewhere this month",
    ),
    DemoPatient(
        "D-1013",
        "Mara",
        "Moss",
        dt.date(1950, 1, 12),
        ("E11.9", "I10"),
        (12, 14),
        plan_signed=False,
        plan_age_days=500,
        note="care plan unsigned, not reviewed in a year",
    ),
    DemoPatient(
        "D-1014",
        "Nils",
        "Novak",
        dt.date(1943, 9, 24),
        ("J44.9", "I10"),
        lumped_minutes=65,
        note="one 65-minute entry without a start time",
    ),
    DemoPatient(
        "D-1015",
        "Olga",
        "Ortiz",
        dt.date(1953, 4, 7),
        ("E11.65", "I10"),
        (8, 7, 9),
        copied_note=True,
        late_days=9,
        note="the same note three times; one entry logged 9 days late",
    ),
)

# What the care team did, one note per entry (a note copied onto three entries is an
# audit finding of its own).
CARE_NOTES = (
    "Reviewed home glucose log; reinforced carbohydrate counting",
    "Medication reconciliation after the pharmacy refill; no changes",
    "Called about ankle swelling; weight stable, reminded low-salt diet",
    "Coordinated the cardiology follow-up and sent the latest labs",
    "Checked inhaler technique by phone; spacer ordered",
)
COPIED_NOTE = "Monthly check-in call"


def _entry_days(today: dt.date, count: int) -> list[dt.date]:
    """`count` dates of the current month, spread over the days elapsed so far."""
    first = today.replace(day=1)
    span = max(today.day - 1, 0)
    return [first + dt.timedelta(days=(span * (i + 1)) // (count + 1)) for i in range(count)]


def _log(
    performer: User, patient: Patient, day: dt.date, minutes: int, note: str, *, logged: dt.date
) -> None:
    """One entry through the service the pages use, entered on `logged` (logged_on)."""
    time_activity_create(
        performer=performer,
        today=logged,
        entry=TimeActivityInput(
            patients=[patient],
            date=day,
            duration_seconds=minutes * 60,
            activity=ActivityType.PATIENT_CALL,
            note=note,
        ),
    )


def _seed_time(demo: DemoPatient, patient: Patient, team: dict[str, User], today: dt.date) -> None:
    """The month's entries, each logged the day it records, but for the late one."""
    work = [
        *((team["nurse"], minutes) for minutes in demo.staff_minutes),
        *((team["doctor"], minutes) for minutes in demo.practitioner_minutes),
        *((team["partner"], minutes) for minutes in demo.partner_minutes),
    ]
    days = _entry_days(today, len(work))
    for index, ((performer, minutes), day) in enumerate(zip(work, days, strict=True)):
        logged = day
        if index == 0 and demo.late_days:
            day = max(today.replace(day=1), today - dt.timedelta(days=demo.late_days))
            logged = today
        note = COPIED_NOTE if demo.copied_note else CARE_NOTES[index % len(CARE_NOTES)]
        _log(performer, patient, day, minutes, note, logged=logged)
    if demo.lumped_minutes:
        note = "Care coordination after discharge: pharmacy, home health, family meeting"
        _log(team["nurse"], patient, today, demo.lumped_minutes, note, logged=today)


def _seed_patient(
    demo: DemoPatient, practice: Practice, team: dict[str, User], today: dt.date
) -> Patient:
    doctor, nurse = team["doctor"], team["nurse"]
    first = today.replace(day=1)
    since = first - dt.timedelta(days=120)
    patient = Patient.objects.create(
        practice=practice,
        mrn=demo.mrn,
        first_name=demo.first_name,
        last_name=demo.last_name,
        birth_date=demo.birth_date,
        billing_practitioner=doctor,
    )
    for code in demo.conditions:
        attested = code in demo.attested
        ChronicCondition.objects.create(
            patient=patient,
            icd10=code,
            onset=dt.date(2018, 1, 1),
            attested_chronic_by=doctor if attested else None,
            attested_chronic_at=timezone.now() if attested else None,
        )
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
    established = first - dt.timedelta(days=demo.plan_age_days)
    CarePlan.objects.create(
        patient=patient,
        version=1,
        established=established,
        reviewed=established,
        created_by=doctor,
        problems=", ".join(demo.conditions),
        goals="Stable symptoms; A1c < 8",
        interventions="Monthly calls, medication review",
        signed_by=doctor if demo.plan_signed else None,
        signed_at=timezone.now() if demo.plan_signed else None,
    )
    for code in demo.billed_elsewhere:
        OtherService.objects.create(
            patient=patient,
            code=code,
            date=first,
            practitioner_npi=doctor.npi,
            note="Billed by the practice's other billing system",
        )
    _seed_time(demo, patient, team, today)
    if demo.mdm:
        MdmAttestation.objects.create(
            patient=patient,
            month=first,
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
    team = {user.username: user for user in User.objects.filter(practice=practice)}
    existing = {p.mrn: p for p in Patient.objects.filter(practice=practice)}
    return [
        existing.get(demo.mrn) or _seed_patient(demo, practice, team, today)
        for demo in DEMO_PATIENTS
    ]
