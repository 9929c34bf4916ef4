"""Demo data: a previous month ready to close (issue 14, part 6). About forty patients
whose month shows, once closed, every kind of finding of billing-rules.md section 4 that
this application's data can produce, beside plain billable months of each family, so a
new biller can close it (the dashboard, or `close_month YYYY-MM --practice demo`), work
the worklist, export it and read the reports.

Written through the services the pages use (validated and audited, as real work would
be), each entry logged on the day it records unless a case wants it late. Idempotent: a
patient whose MRN exists is left as it is, so running it twice, or after the month was
closed, changes nothing.

Three findings cannot arise from this application's data, by design, and are not here:
ENTRY_OUTSIDE_MONTH (a month's facts hold only its own entries), ENTRY_NON_CLINICAL (the
time services refuse time from non-clinical roles) and ENTRY_OVERLAP (they refuse an
entry that overlaps the performer's own: log it once, shared). FEES_FROM_OTHER_YEAR
shows by itself, on every row, in a year with no shipped rulebook."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from billing.models import MdmLevel
from billing.rules import findings as rules
from billing.services import mdm_attest
from ccm.models import Practice, Role, User
from ccm.periods import month_start
from ccm.services import user_create
from patients import services as patient_services
from patients.models import Consent, InpatientStay, Patient
from timelog.models import ActivityType, Program
from timelog.services import TimeActivityInput, time_activity_create

#: Findings the application prevents at the source (see the module docstring).
UNREACHABLE = {
    rules.ENTRY_OUTSIDE_MONTH: "a month's facts hold only the entries dated in it",
    rules.ENTRY_NON_CLINICAL: "the time services refuse time from non-clinical roles",
    rules.ENTRY_OVERLAP: "the time services refuse an entry overlapping the performer's own",
}
#: A practitioner outside the practice (a valid NPI) who bills PCM for one patient.
OUTSIDE_NPI = "1003000126"
PARTNER = ("partner", "Dr. Priya Partner", "DO", "1245319599")
DAY_STARTS = dt.time(8, 0)


@dataclass(frozen=True)
class Entry:
    day: int  # of the month
    minutes: int
    by: str = "nurse"  # a demo username
    program: str = Program.CCM
    activity: str = ActivityType.PATIENT_CALL
    late_days: int = 0  # logged this many days after the day it records
    timed: bool = True  # with a start time (an hour or more without one is "lumped")


@dataclass(frozen=True)
class Case:
    """One patient and their month; `shows`: the findings the case is there for."""

    mrn: str
    first_name: str
    last_name: str
    birth_date: dt.date
    story: str
    conditions: tuple[str, ...] = ("E11.9", "I10")
    entries: tuple[Entry, ...] = ()
    shows: tuple[str, ...] = ()
    consent_to: str | None = "doctor"  # whose consent (None: none recorded)
    consent_day: int | None = None  # a day of the month; None: long before it
    initiating_visit: bool = True
    care_plan: bool = True
    mdm: str = ""
    services: tuple[tuple[str, int, str], ...] = ()  # (code, day, NPI or "doctor")
    stay: tuple[int, int] | None = None  # (admitted, discharged) days of the month
    #: The billing practitioner changes to the partner after the MDM (the partner's
    #: consent and visit recorded too): the attestation is no longer the billing
    #: practitioner's.
    switch_to_partner: bool = False
    #: The care plan: signed by the billing practitioner, and established this many days
    #: before the month and never reviewed since (None: shortly before CCM began).
    plan_signed: bool = True
    plan_age_days: int | None = None
    #: One note copied onto every entry (else each entry has its own).
    copied_note: str = ""


def _e(*entries: tuple[int, int] | tuple[int, int, str]) -> tuple[Entry, ...]:
    return tuple(Entry(*entry) for entry in entries)  # type: ignore[arg-type]


CASES: tuple[Case, ...] = (
    # Billable months of every family.
    Case("P-2001", "Abel", "Archer", dt.date(1947, 4, 2), "99490", entries=_e((3, 12), (17, 13))),
    Case(
        "P-2002",
        "Bianca",
        "Bishop",
        dt.date(1951, 8, 19),
        "99490 + 99439",
        entries=_e((4, 20, "lpn"), (18, 26, "lpn")),
    ),
    Case(
        "P-2003",
        "Cyrus",
        "Cole",
        dt.date(1944, 2, 5),
        "99439 at its cap, 25 min unbilled",
        conditions=("I50.22", "N18.30", "E11.9"),
        entries=_e((2, 30), (9, 30), (16, 25)),
        shows=(rules.ADDON_CAP_REACHED, rules.COMPLEX_NO_MDM),
    ),
    Case(
        "P-2004",
        "Delia",
        "Dunn",
        dt.date(1940, 11, 30),
        "complex: 99487 + 99489",
        conditions=("C50.911", "I10", "F33.1"),
        entries=_e((3, 35, "caremanager"), (10, 30, "caremanager"), (24, 30, "caremanager")),
        mdm=MdmLevel.MODERATE,
    ),
    Case(
        "P-2005",
        "Emil",
        "Eaton",
        dt.date(1946, 6, 14),
        "65 min, no MDM yet",
        conditions=("J44.9", "I50.22"),
        entries=_e((5, 35), (19, 30)),
        shows=(rules.COMPLEX_NO_MDM,),
    ),
    Case(
        "P-2006",
        "Fay",
        "Ford",
        dt.date(1949, 9, 9),
        "MDM attested, only 45 min",
        entries=_e((6, 25, "ma"), (20, 20, "ma")),
        mdm=MdmLevel.HIGH,
        shows=(rules.COMPLEX_BELOW_60,),
    ),
    Case(
        "P-2007",
        "Gus",
        "Grant",
        dt.date(1942, 3, 21),
        "the practitioner's own 35 min: 99491",
        conditions=("I48.91", "E78.5"),
        entries=_e((8, 35, "doctor")),
    ),
    Case(
        "P-2008",
        "Hana",
        "Holt",
        dt.date(1955, 12, 1),
        "practitioner 65 min: 99491 + 99437",
        conditions=("I48.91", "N18.30"),
        entries=_e((7, 30, "doctor"), (21, 35, "doctor")),
    ),
    # Time short of a code (the missed-revenue report).
    Case(
        "P-2009",
        "Ivo",
        "Irwin",
        dt.date(1950, 1, 8),
        "12 min: short of 99490",
        entries=_e((11, 12)),
        shows=(rules.NO_TIME_THRESHOLD,),
    ),
    Case(
        "P-2010",
        "Jade",
        "Jordan",
        dt.date(1948, 5, 27),
        "17 min: 3 short of 99490",
        entries=_e((12, 17, "lpn")),
        shows=(rules.NO_TIME_THRESHOLD,),
    ),
    Case(
        "P-2011",
        "Kurt",
        "Kemp",
        dt.date(1953, 7, 4),
        "37 min: 3 short of 99439",
        entries=_e((13, 20), (27, 17)),
    ),
    # Eligibility.
    Case(
        "P-2012",
        "Lena",
        "Lowe",
        dt.date(1956, 10, 3),
        "one chronic condition: PCM, not CCM",
        conditions=("E11.9",),
        entries=_e((14, 25)),
        shows=(rules.ELIGIBILITY_CONDITIONS,),
    ),
    Case(
        "P-2013",
        "Milo",
        "Marsh",
        dt.date(1945, 1, 15),
        "no consent recorded",
        entries=_e((15, 30)),
        consent_to=None,
        shows=(rules.CONSENT_MISSING, rules.ENTRY_OUTSIDE_CONSENT),
    ),
    Case(
        "P-2014",
        "Nora",
        "Nash",
        dt.date(1952, 4, 22),
        "consent given to Dr. Partner",
        entries=_e((16, 25, "ma")),
        consent_to="partner",
        shows=(rules.CONSENT_PRACTITIONER_MISMATCH,),
    ),
    Case(
        "P-2015",
        "Otto",
        "Olsen",
        dt.date(1943, 8, 11),
        "new to CCM, no initiating visit",
        entries=_e((17, 30)),
        consent_day=2,
        initiating_visit=False,
        shows=(rules.INITIATING_VISIT_MISSING,),
    ),
    Case(
        "P-2016",
        "Pia",
        "Price",
        dt.date(1950, 2, 28),
        "no care plan",
        entries=_e((18, 25, "caremanager")),
        care_plan=False,
        shows=(rules.CARE_PLAN_MISSING,),
    ),
    Case(
        "P-2017",
        "Quinn",
        "Quade",
        dt.date(1938, 6, 6),
        "hospice supervision (G0182)",
        conditions=("C34.90", "J44.9"),
        entries=_e((9, 25)),
        services=(("G0182", 5, OUTSIDE_NPI),),
        shows=(rules.EXCLUSIVE_SERVICE,),
    ),
    Case(
        "P-2018",
        "Rosa",
        "Reyes",
        dt.date(1947, 12, 19),
        "PCM billed by another practitioner",
        entries=_e((10, 25, "lpn")),
        services=(("99424", 6, OUTSIDE_NPI),),
        shows=(rules.OVERLAPPING_SERVICE,),
    ),
    # Time that does not count.
    Case(
        "P-2019",
        "Saul",
        "Stone",
        dt.date(1951, 3, 3),
        "15 min under RPM do not count",
        entries=(Entry(11, 25), Entry(12, 15, program=Program.RPM)),
        shows=(rules.ENTRY_EXCLUDED_PROGRAM,),
    ),
    Case(
        "P-2020",
        "Tara",
        "Tate",
        dt.date(1949, 7, 17),
        "time before the consent was given",
        entries=_e((4, 10), (22, 25)),
        consent_day=10,
        shows=(rules.ENTRY_OUTSIDE_CONSENT,),
    ),
    Case(
        "P-2021",
        "Uri",
        "Underwood",
        dt.date(1944, 10, 10),
        "a call during a hospital stay",
        conditions=("I50.22", "J44.9"),
        entries=_e((10, 10), (23, 22)),
        stay=(8, 12),
        shows=(rules.ENTRY_DURING_INPATIENT_STAY,),
    ),
    Case(
        "P-2022",
        "Vera",
        "Vance",
        dt.date(1946, 4, 29),
        "MDM signed before the practitioner changed",
        conditions=("I50.22", "E11.9", "N18.30"),
        entries=_e((3, 40), (17, 30)),
        mdm=MdmLevel.MODERATE,
        switch_to_partner=True,
        shows=(rules.MDM_NOT_BILLING_PRACTITIONER,),
    ),
    # A shared call (SHARED_CALLS) and a plain caseload for the reports.
    Case(
        "P-2023",
        "Wes",
        "Walsh",
        dt.date(1948, 9, 2),
        "a call shared with his wife",
        entries=_e((6, 10)),
    ),
    Case(
        "P-2024",
        "Wren",
        "Walsh",
        dt.date(1950, 1, 20),
        "a call shared with her husband",
        entries=_e((6, 12, "lpn")),
    ),
    Case("P-2025", "Xena", "Xu", dt.date(1953, 5, 5), "99490", entries=_e((19, 22, "ma"))),
    Case(
        "P-2026",
        "Yusuf",
        "Young",
        dt.date(1941, 11, 11),
        "99490 + 99439",
        conditions=("J44.9", "I10", "E78.5"),
        entries=_e((2, 25, "caremanager"), (25, 20, "caremanager")),
    ),
    Case("P-2027", "Zoe", "Zeller", dt.date(1954, 8, 8), "99490", entries=_e((20, 21))),
    Case(
        "P-2028",
        "Arlo",
        "Ames",
        dt.date(1945, 2, 14),
        "99490 + 99439",
        entries=_e((5, 22, "lpn"), (26, 20, "lpn")),
    ),
    Case("P-2029", "Bea", "Brooks", dt.date(1947, 6, 30), "99490", entries=_e((24, 20, "ma"))),
    Case("P-2030", "Cato", "Cruz", dt.date(1952, 12, 12), "no time logged this month"),
    # Revision 2 of the rules: chronic conditions, whose time counts, the care plan, and
    # what an auditor cites.
    Case(
        "P-2031",
        "Dora",
        "Dietz",
        dt.date(1950, 6, 9),
        "J06.9 is acute: only two count",
        conditions=("E11.9", "I10", "J06.9"),
        entries=_e((8, 23)),
        shows=(rules.CONDITION_NOT_CHRONIC,),
    ),
    Case(
        "P-2032",
        "Enzo",
        "Engel",
        dt.date(1948, 2, 2),
        "Dr. Partner's call counts as staff time",
        entries=_e((9, 12, "partner"), (21, 15)),
        shows=(rules.ENTRY_OTHER_PRACTITIONER,),
    ),
    Case(
        "P-2033",
        "Faye",
        "Fox",
        dt.date(1946, 10, 1),
        "99490 already billed elsewhere by Dr. Doctor",
        entries=_e((12, 25, "lpn")),
        services=(("99490", 28, "doctor"),),
        shows=(rules.DUPLICATE_CCM,),
    ),
    Case(
        "P-2034",
        "Gil",
        "Gray",
        dt.date(1944, 4, 4),
        "care plan unsigned, not reviewed in a year",
        entries=_e((14, 22, "ma")),
        plan_signed=False,
        plan_age_days=500,
        shows=(rules.CARE_PLAN_UNSIGNED, rules.CARE_PLAN_NOT_REVIEWED),
    ),
    Case(
        "P-2035",
        "Hal",
        "Hart",
        dt.date(1951, 9, 19),
        "one 65-minute entry without a start time",
        conditions=("J44.9", "I50.22"),
        entries=(Entry(15, 65, timed=False),),
        shows=(rules.ENTRY_LUMPED,),
    ),
    Case(
        "P-2036",
        "Ida",
        "Ives",
        dt.date(1953, 1, 31),
        "the same note on three entries",
        entries=_e((3, 8, "lpn"), (10, 7, "lpn"), (24, 9, "lpn")),
        copied_note="Called patient, no changes",
        shows=(rules.ENTRY_NOTE_REPEATED,),
    ),
    Case(
        "P-2037",
        "Jon",
        "Jones",
        dt.date(1949, 3, 13),
        "a call logged nine days after it",
        entries=(Entry(2, 14, late_days=9), Entry(16, 10)),
        shows=(rules.ENTRY_LATE,),
    ),
)

#: Calls that served several patients at once: one activity, split evenly.
SHARED_CALLS: tuple[tuple[tuple[str, ...], int, int, str], ...] = (
    (("P-2023", "P-2024"), 13, 30, "nurse"),  # 15 min each: both reach 99490
)

#: What the team wrote, one note per entry (the same note on three is an audit finding).
NOTES = (
    "Reviewed home glucose log; reinforced carbohydrate counting",
    "Medication reconciliation after pharmacy refill; no changes",
    "Called about ankle swelling; weight up 2 lb, diuretic timing reviewed",
    "Coordinated cardiology follow-up and transport",
    "Went through inhaler technique; spacer ordered",
    "Checked blood pressure log; reminded of low-salt plan",
    "Discussed new symptoms with the practitioner; labs ordered",
    "Reviewed care plan goals with the patient and daughter",
)


def previous_month(today: dt.date) -> dt.date:
    return month_start(month_start(today) - dt.timedelta(days=1))


class _Clock:
    """Start times that never overlap one performer's own entries on a day (the time
    services refuse overlaps): each entry starts five minutes after the last ends."""

    def __init__(self) -> None:
        self.next: dict[tuple[int, dt.date], dt.datetime] = defaultdict(lambda: dt.datetime.min)

    def start(self, performer: User, day: dt.date, minutes: int) -> dt.time:
        at = max(self.next[(performer.pk, day)], dt.datetime.combine(day, DAY_STARTS))
        self.next[(performer.pk, day)] = at + dt.timedelta(minutes=minutes + 5)
        return at.time()


@dataclass
class _Team:
    practice: Practice
    users: dict[str, User]
    clock: _Clock = field(default_factory=_Clock)
    notes: int = 0

    def note(self, patient: Patient, day: dt.date) -> str:
        self.notes += 1
        return f"{NOTES[self.notes % len(NOTES)]} ({patient.first_name}, {day:%b %d})"


def _partner(practice: Practice) -> User:
    """The practice's second practitioner (seed_demo's users may already hold them)."""
    username, full_name, credential, npi = PARTNER
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    return user_create(
        username=username,
        role=Role.PRACTITIONER,
        practice=practice,
        password=None,
        full_name=full_name,
        credential=credential,
        npi=npi,
    )


def _log(
    team: _Team,
    patients: list[Patient],
    day: dt.date,
    entry: Entry,
    performer: User,
    note: str = "",
) -> None:
    time_activity_create(
        performer=performer,
        # logged on its own day (or late, where a case wants ENTRY_LATE)
        today=day + dt.timedelta(days=entry.late_days),
        entry=TimeActivityInput(
            patients=patients,
            date=day,
            duration_seconds=entry.minutes * 60,
            activity=entry.activity,
            note=note or team.note(patients[0], day),
            program=entry.program,
            started_at=team.clock.start(performer, day, entry.minutes) if entry.timed else None,
        ),
    )


def _seed_case(case: Case, team: _Team, first: dt.date) -> Patient:
    users = team.users
    doctor, nurse = users["doctor"], users["nurse"]
    began = first - dt.timedelta(days=150)

    def day(number: int) -> dt.date:
        return first.replace(day=number)

    patient = patient_services.patient_create(
        practice=team.practice,
        actor=users["frontdesk"],
        mrn=case.mrn,
        first_name=case.first_name,
        last_name=case.last_name,
        birth_date=case.birth_date,
        billing_practitioner=doctor,
    )
    for code in case.conditions:
        patient_services.condition_create(
            patient=patient, actor=nurse, icd10=code, onset=dt.date(2019, 3, 1)
        )
    consent_on = day(case.consent_day) if case.consent_day else began
    if case.initiating_visit:
        patient_services.visit_create(
            patient=patient,
            actor=users["frontdesk"],
            date=consent_on,
            code="99214",
            ccm_discussed=True,
            practitioner=doctor,
        )
    if case.consent_to:
        patient_services.consent_create(
            patient=patient,
            actor=nurse,
            date=consent_on,
            method=Consent.Method.VERBAL,
            billing_practitioner=users[case.consent_to],
        )
    if case.care_plan:
        patient_services.care_plan_save(
            patient=patient,
            actor=nurse,
            established=first - dt.timedelta(days=case.plan_age_days)
            if case.plan_age_days
            else min(consent_on, day(1)),
            problems=", ".join(case.conditions),
            goals="Symptoms stable at home; no avoidable admission",
            interventions="Monthly calls, medication review, coordination of follow-ups",
        )
        if case.plan_signed:
            patient_services.care_plan_sign(patient=patient, actor=doctor)
    if case.stay:
        patient_services.inpatient_stay_create(
            patient=patient,
            actor=nurse,
            admitted=day(case.stay[0]),
            discharged=day(case.stay[1]),
            kind=InpatientStay.Kind.HOSPITAL,
            facility="Demo General Hospital",
        )
    for code, number, npi in case.services:
        patient_services.other_service_create(
            patient=patient,
            actor=users["billing"],
            code=code,
            date=day(number),
            practitioner_npi=doctor.npi if npi == "doctor" else npi,
            note=case.story,
        )
    for entry in case.entries:
        _log(team, [patient], day(entry.day), entry, users[entry.by], case.copied_note)
    if case.mdm:
        mdm_attest(
            practitioner=doctor,
            patient=patient,
            month=first,
            level=case.mdm,
            note="Two unstable conditions; medications changed twice this month",
        )
    if case.switch_to_partner:
        partner = users["partner"]
        patient_services.patient_update(
            patient=patient, actor=users["admin"], billing_practitioner=partner
        )
        moved = began + dt.timedelta(days=30)  # to the partner's panel, months ago
        patient_services.visit_create(
            patient=patient,
            actor=users["frontdesk"],
            date=moved,
            code="99214",
            ccm_discussed=True,
            practitioner=partner,
        )
        patient_services.consent_create(
            patient=patient,
            actor=nurse,
            date=moved,
            method=Consent.Method.WRITTEN,
            billing_practitioner=partner,
        )
        # The new billing practitioner reviews the plan and signs the new version.
        patient_services.care_plan_save(
            patient=patient,
            actor=partner,
            established=moved,
            problems=", ".join(case.conditions),
            goals="Symptoms stable at home; no avoidable admission",
            interventions="Monthly calls, medication review, coordination of follow-ups",
        )
        patient_services.care_plan_sign(patient=patient, actor=partner)
    return patient


@transaction.atomic
def seed_previous_month(practice: Practice, today: dt.date | None = None) -> list[Patient]:
    """The previous month's demo patients and their month (existing ones left as they
    are). Needs seed_demo's users."""
    first = previous_month(today or timezone.localdate())
    users = {user.username: user for user in User.objects.filter(practice=practice)}
    users["partner"] = _partner(practice)
    team = _Team(practice, users)
    existing = {p.mrn: p for p in Patient.objects.filter(practice=practice)}
    patients = {case.mrn: existing.get(case.mrn) or _seed_case(case, team, first) for case in CASES}
    new = {case.mrn for case in CASES} - set(existing)
    for mrns, number, minutes, by in SHARED_CALLS:
        if set(mrns) <= new:
            _log(
                team,
                [patients[mrn] for mrn in mrns],
                first.replace(day=number),
                Entry(number, minutes, by),
                users[by],
            )
    return [patients[case.mrn] for case in CASES]
