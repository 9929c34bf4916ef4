"""Synthetic practice data at MSO scale, for benchmarks (`generate_load`).

One practice, one month: patients with 2-4 chronic conditions, consents, initiating and
prior visits, care plans, MDM attestations, some services billed elsewhere and inpatient
stays, 300 staff, and the month's time activities with their per-patient shares. Some
patients are blocked on purpose (one chronic condition, no consent), so the close sees
every kind of decision. Everything follows from the seed: the same seed gives the same
data (row ids aside).

The large tables are written with PostgreSQL COPY; the ids are taken in one block from
each table's sequence under a table lock, so the shares can name their activities.

The shape of the month (billing-rules.md, what the engine reads):
- each patient has a primary nurse (RN or LPN) who logs 82% of their activities; nurses'
  panels differ in size (0.4x-1.6x the mean: about 200 to 800 patients at 100k patients);
  floats (MA, care managers) log 12% and the billing practitioner 6%;
- 1% of patients are "heavy" (five times the mean number of entries, about 100 at
  100k patients / 2M entries), the others 0.2x-1.8x the mean;
- 5% of activities are shared by 2-5 patients of the same panel (split evenly);
- about 6% of activities are another program (RPM, TCM, BHI, PCM, G0506);
- timed entries of one performer and day follow each other from 07:00, never overlapping
  (the product refuses overlaps at the source); about 10% are untimed.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from bench.shape import (
    CHRONIC_CODES,
    DAY_END,
    DAY_START,
    HEAVY_FRACTION,
    HEAVY_WEIGHT,
    HOSPICE_FRACTION,
    MDM_FRACTION,
    NO_CONSENT_FRACTION,
    NOTES,
    ONE_CONDITION_FRACTION,
    OTHER_PROGRAMS,
    RPM_SERVICE_FRACTION,
    SHARED_FRACTION,
    STAY_FRACTION,
    UNTIMED_FRACTION,
)
from billing.models import MdmAttestation
from ccm.models import Practice, Role, User
from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)
from timelog.models import ActivityType, Program, TimeActivity, TimeShare

STAFF = 300
#: (role, credential, how many) of the 300 staff.
STAFF_MIX: tuple[tuple[str, str, int], ...] = (
    (Role.PRACTITIONER, "MD", 18),
    (Role.PRACTITIONER, "NP", 8),
    (Role.PRACTITIONER, "PA", 4),
    (Role.RN, "RN", 140),
    (Role.LPN, "LPN", 60),
    (Role.MA, "CMA", 35),
    (Role.CARE_MANAGER, "CCM", 25),
    (Role.BILLING, "", 5),
    (Role.ADMIN, "", 2),
    (Role.FRONT_DESK, "", 3),
)
PANEL_ROLES = frozenset({Role.RN, Role.LPN})
FLOAT_ROLES = frozenset({Role.MA, Role.CARE_MANAGER})

FIRST_NAMES: tuple[str, ...] = (
    "Mary", "John", "Linda", "James", "Patricia", "Robert", "Barbara", "Michael", "Susan",
    "William", "Dorothy", "David", "Margaret", "Richard", "Betty", "Joseph", "Helen",
    "Charles", "Sandra", "Thomas", "Donna", "Daniel", "Carol", "Paul", "Ruth", "Mark",
    "Sharon", "Donald", "Nancy", "George", "Karen", "Kenneth", "Shirley", "Steven", "Joan",
    "Edward", "Judith", "Brian", "Janet", "Ronald", "Gloria", "Anthony", "Evelyn", "Frank",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green",
    "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter",
)  # fmt: skip
OUTCOMES: tuple[str, ...] = (
    "",
    "",
    "Patient understands the plan.",
    "Dose adjusted per practitioner.",
    "Appointment scheduled.",
)
#: problems, expected outcome, goals, symptom management, interventions, medication
#: management, coordination, review date.
PLAN_TEXT: tuple[str | None, ...] = ("Chronic conditions", "Stable", "Keep conditions controlled")
PLAN_TEXT += ("", "Monthly calls", "", "", None)
INITIATING_CODES = ("99213", "99214", "99215", "G0438", "G0439")


@dataclass(frozen=True)
class LoadSize:
    patients: int
    entries: int
    month: dt.date
    seed: int = 1


@dataclass
class LoadResult:
    practice: Practice
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Staff:
    id: int
    role: str
    credential: str
    kind: str


def npi_for(number: int) -> str:
    """A valid NPI (Luhn check digit over 80840 + nine digits) made from a number."""
    body = f"{1_000_000_000 - 1 - number:09d}"[-9:]
    digits = "80840" + body
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # the check digit will sit to the right: these get doubled
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return body + str((10 - total % 10) % 10)


def _kind(role: str) -> str:
    if role == Role.PRACTITIONER:
        return "practitioner"
    if role in PANEL_ROLES | FLOAT_ROLES:
        return "clinical_staff"
    return "non_clinical"


def _reserve_ids(cursor: Any, table: str, count: int) -> int:
    """The first of `count` consecutive ids taken from the table's sequence (the caller
    holds a lock that keeps other inserts out until the transaction ends)."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    (sequence,) = cursor.fetchone()
    cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 (our names)
    (high,) = cursor.fetchone()
    cursor.execute("SELECT nextval(%s)", [sequence])
    (next_value,) = cursor.fetchone()
    first = max(high + 1, next_value)
    if count:
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return int(first)


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    written = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def _skip_row_triggers(cursor: Any) -> None:
    """Skip the foreign-key triggers for this transaction (superusers only): the rows are
    made consistent, and checking millions of deferred references one by one at commit
    takes minutes. Without the privilege, the checks simply run. The facts revision
    triggers (billing migration 0006) are skipped too, harmlessly: the patients are new,
    so no call-list progress of theirs is stored yet."""
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        pass


def _staff(practice: Practice, rng: random.Random) -> list[_Staff]:
    users: list[User] = []
    number = 0
    per_role: dict[str, int] = {}
    for role, credential, how_many in STAFF_MIX:
        for _ in range(how_many):
            number += 1
            per_role[role] = per_role.get(role, 0) + 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            users.append(
                User(
                    username=f"{practice.slug}-{role}-{per_role[role]}",
                    practice=practice,
                    role=role,
                    first_name=first,
                    last_name=last,
                    full_name=f"{first} {last}",
                    credential=credential,
                    npi=npi_for(practice.pk * 1000 + number) if role == Role.PRACTITIONER else "",
                    password="!",  # noqa: S106 (unusable: the bench uses tokens)
                )
            )
    created = User.objects.bulk_create(users)
    return [_Staff(u.pk, u.role, u.credential, _kind(u.role)) for u in created]


def generate_load(*, practice_slug: str, size: LoadSize) -> LoadResult:
    """Create the practice (if missing) and fill one month of it; refuse a practice that
    already has patients (the MRNs follow from the seed)."""
    if connection.vendor != "postgresql":
        raise ValueError("generate_load writes with PostgreSQL COPY: use a PostgreSQL database")
    with transaction.atomic():
        practice, _ = Practice.objects.get_or_create(
            slug=practice_slug, defaults={"name": practice_slug.replace("-", " ").title()}
        )
        if Patient.objects.filter(practice=practice).exists():
            raise ValueError(f"practice {practice_slug!r} already has patients")
        result = LoadResult(practice)
        _Generator(practice, size, result).run()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Patient, TimeActivity, TimeShare, ChronicCondition, Consent, Visit):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    return result


class _Generator:
    def __init__(self, practice: Practice, size: LoadSize, result: LoadResult) -> None:
        self.practice = practice
        self.size = size
        self.result = result
        self.rng = random.Random(size.seed)  # noqa: S311 (synthetic data, not secrets)
        self.first = size.month.replace(day=1)
        self.days = calendar.monthrange(self.first.year, self.first.month)[1]
        self.last = self.first.replace(day=self.days)
        self.now = timezone.now()

    def run(self) -> None:
        rng = self.rng
        staff = _staff(self.practice, rng)
        self.result.counts["staff"] = len(staff)
        self.practitioners = [s for s in staff if s.role == Role.PRACTITIONER]
        self.nurses = [s for s in staff if s.role in PANEL_ROLES]
        self.floats = [s for s in staff if s.role in FLOAT_ROLES]
        with connection.cursor() as cursor:
            _skip_row_triggers(cursor)
            for model in (Patient, TimeActivity, TimeShare):
                cursor.execute(f"LOCK TABLE {model._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
            self._patients(cursor)
            self._records(cursor)
            self._time(cursor)

    # Patients and what decides their eligibility.

    def _patients(self, cursor: Any) -> None:
        rng, n = self.rng, self.size.patients
        first_id = _reserve_ids(cursor, Patient._meta.db_table, n)
        self.patient_ids = list(range(first_id, first_id + n))
        nurse_weights = list(itertools.accumulate(rng.uniform(0.4, 1.6) for _ in self.nurses))
        self.primary = [
            self.nurses[bisect.bisect(nurse_weights, rng.random() * nurse_weights[-1])]
            for _ in range(n)
        ]
        self.billing = [rng.choice(self.practitioners) for _ in range(n)]
        self.panels: dict[int, list[int]] = {}
        for index, nurse in enumerate(self.primary):
            self.panels.setdefault(nurse.id, []).append(index)
        seed = self.size.seed

        def rows() -> Iterable[tuple[Any, ...]]:
            for index, pid in enumerate(self.patient_ids):
                birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(365 * 32))
                yield (
                    pid,
                    self.practice.pk,
                    f"S{seed}-{index + 1:07d}",
                    rng.choice(FIRST_NAMES),
                    rng.choice(LAST_NAMES),
                    birth,
                    self.billing[index].id,
                    True,
                    self.now,
                    self.now,
                )

        columns: tuple[str, ...] = ("id", "practice_id", "mrn", "first_name", "last_name")
        columns += (
            "birth_date",
            "billing_practitioner_id",
            "is_active",
            "created_at",
            "updated_at",
        )
        self.result.counts["patients"] = _copy(cursor, Patient._meta.db_table, columns, rows())

    def _records(self, cursor: Any) -> None:
        rng = self.rng
        conditions: list[tuple[Any, ...]] = []
        consents: list[tuple[Any, ...]] = []
        visits: list[tuple[Any, ...]] = []
        plans: list[tuple[Any, ...]] = []
        attestations: list[tuple[Any, ...]] = []
        services: list[tuple[Any, ...]] = []
        stays: list[tuple[Any, ...]] = []
        self.consent_revoked: dict[int, dt.date] = {}
        earliest = dt.date(2022, 1, 1)
        window = (self.first - dt.timedelta(days=30) - earliest).days
        now = self.now
        for index, pid in enumerate(self.patient_ids):
            practitioner = self.billing[index].id
            nurse = self.primary[index].id
            roll = rng.random()
            how_many = 1 if roll < ONE_CONDITION_FRACTION else rng.randint(2, 4)
            for code in rng.sample(CHRONIC_CODES, how_many):
                onset = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(365 * 12))
                conditions.append((pid, code, "", onset, None, now))
            began = earliest + dt.timedelta(days=rng.randrange(window))
            consented = not (
                ONE_CONDITION_FRACTION <= roll < ONE_CONDITION_FRACTION + NO_CONSENT_FRACTION
            )
            if consented:
                revoked = None
                if rng.random() < 0.005:  # revoked mid-month: later entries don't count
                    revoked = self.first + dt.timedelta(days=rng.randrange(5, self.days - 5))
                method = rng.choice(("verbal", "written"))
                informed = (True, True, True, True)
                consents.append(
                    (pid, began, method, practitioner, *informed, revoked, "", nurse, now)
                )
            code = rng.choice(INITIATING_CODES)
            visits.append((pid, began, code, True, practitioner, now))
            if rng.random() < 0.5:
                prior = began - dt.timedelta(days=rng.randrange(30, 300))
                visits.append((pid, prior, "99213", False, practitioner, now))
            established = began + dt.timedelta(days=rng.randrange(0, 15))
            plans.append((pid, 1, established, *PLAN_TEXT, practitioner, now, nurse, now))
            if rng.random() < MDM_FRACTION:
                by = practitioner if rng.random() > 0.03 else rng.choice(self.practitioners).id
                signed = dt.datetime.combine(
                    self.first.replace(day=min(25, self.days)), dt.time(15), tzinfo=dt.UTC
                )
                level = rng.choice(("moderate", "high"))
                attestations.append((pid, self.first, level, "Unstable conditions", by, signed))
            if rng.random() < STAY_FRACTION:
                admitted = self.first + dt.timedelta(days=rng.randrange(self.days - 3))
                discharged = admitted + dt.timedelta(days=rng.randrange(1, 7))
                kind = rng.choice(("hospital", "snf"))
                stays.append((pid, admitted, discharged, kind, "General Hospital", now))
            roll = rng.random()
            day = self.first + dt.timedelta(days=rng.randrange(self.days))
            if roll < HOSPICE_FRACTION:
                services.append((pid, "G0182", day, "1999999984", "hospice oversight", now))
            elif roll < HOSPICE_FRACTION + RPM_SERVICE_FRACTION:
                services.append((pid, "99457", day, "", "remote monitoring", now))
        counts = self.result.counts
        counts["conditions"] = _copy(
            cursor,
            ChronicCondition._meta.db_table,
            ("patient_id", "icd10", "description", "onset", "resolved", "created_at"),
            conditions,
        )
        counts["consents"] = _copy(
            cursor,
            Consent._meta.db_table,
            (
                "patient_id",
                "date",
                "method",
                "billing_practitioner_id",
                "informed_service_available",
                "informed_cost_sharing",
                "informed_one_practitioner",
                "informed_may_stop",
                "revoked",
                "revoked_reason",
                "recorded_by_id",
                "created_at",
            ),
            consents,
        )
        counts["visits"] = _copy(
            cursor,
            Visit._meta.db_table,
            ("patient_id", "date", "code", "ccm_discussed", "practitioner_id", "created_at"),
            visits,
        )
        counts["care_plans"] = _copy(
            cursor,
            CarePlan._meta.db_table,
            (
                "patient_id",
                "version",
                "established",
                "problems",
                "expected_outcome",
                "goals",
                "symptom_management",
                "interventions",
                "medication_management",
                "coordination",
                "reviewed",
                "signed_by_id",
                "signed_at",
                "created_by_id",
                "created_at",
            ),
            plans,
        )
        counts["mdm_attestations"] = _copy(
            cursor,
            MdmAttestation._meta.db_table,
            ("patient_id", "month", "level", "note", "practitioner_id", "signed_at"),
            attestations,
        )
        counts["other_services"] = _copy(
            cursor,
            OtherService._meta.db_table,
            ("patient_id", "code", "date", "practitioner_npi", "note", "created_at"),
            services,
        )
        counts["inpatient_stays"] = _copy(
            cursor,
            InpatientStay._meta.db_table,
            ("patient_id", "admitted", "discharged", "kind", "facility", "created_at"),
            stays,
        )

    # The month's time.

    def _time(self, cursor: Any) -> None:
        rng, m = self.rng, self.size.entries
        n = len(self.patient_ids)
        weights = list(
            itertools.accumulate(
                HEAVY_WEIGHT if rng.random() < HEAVY_FRACTION else rng.uniform(0.2, 1.8)
                for _ in range(n)
            )
        )
        total = weights[-1]
        anchors = [bisect.bisect(weights, rng.random() * total) for _ in range(m)]
        drafts: list[tuple[Any, ...]] = []
        cursors: dict[tuple[int, int], int] = {}
        program_marks = list(itertools.accumulate(share for _, share in OTHER_PROGRAMS))
        activity_types = ActivityType.values
        for anchor in anchors:
            served = [anchor]
            if rng.random() < SHARED_FRACTION:
                panel = self.panels[self.primary[anchor].id]
                extra = min(rng.randint(1, 4), len(panel) - 1)
                if extra > 0:
                    served += [p for p in rng.sample(panel, extra + 1) if p != anchor][:extra]
            roll = rng.random()
            if roll < 0.82:
                performer = self.primary[anchor]
            elif roll < 0.94:
                performer = rng.choice(self.floats)
            else:
                performer = self.billing[anchor]
            seconds = int(rng.triangular(30, 360, 60))
            if len(served) > 1:
                seconds = int(rng.triangular(600, 2400, 900))
            day = rng.randrange(self.days)
            start = -1
            if rng.random() >= UNTIMED_FRACTION:
                key = (performer.id, day)
                at = cursors.get(key, DAY_START) + rng.randrange(0, 120)
                if at + seconds <= DAY_END:
                    start = at
                    cursors[key] = at + seconds
            program: str = Program.CCM
            roll = rng.random()
            if roll < program_marks[-1]:
                program = OTHER_PROGRAMS[bisect.bisect(program_marks, roll)][0]
            activity = rng.choice(activity_types)
            drafts.append((day, start, performer, seconds, activity, program, served))
        # Ids grow with time, as when the month is logged day by day.
        drafts.sort(key=lambda draft: (draft[0], draft[1], draft[2].id))
        first_activity = _reserve_ids(cursor, TimeActivity._meta.db_table, m)
        days = [self.first + dt.timedelta(days=d) for d in range(self.days)]
        practice_id, now = self.practice.pk, self.now
        notes = [rng.choice(NOTES) for _ in range(997)]
        outcomes = [rng.choice(OUTCOMES) for _ in range(991)]

        def activity_rows() -> Iterable[tuple[Any, ...]]:
            for number, (day, start, performer, seconds, activity, program, served) in enumerate(
                drafts
            ):
                yield (
                    first_activity + number,
                    practice_id,
                    performer.id,
                    performer.kind,
                    performer.credential,
                    days[day],
                    None if start < 0 else dt.time(start // 3600, start // 60 % 60, start % 60),
                    seconds,
                    activity,
                    notes[number % 997],
                    outcomes[number % 991],
                    program,
                    len(served),
                    now,
                    days[day],
                    now,
                )

        def share_rows() -> Iterable[tuple[Any, ...]]:
            ids = self.patient_ids
            for number, (day, _, _, seconds, _, _, served) in enumerate(drafts):
                share = seconds // len(served)
                for index in served:
                    yield (first_activity + number, ids[index], days[day], share)

        counts = self.result.counts
        counts["activities"] = _copy(
            cursor,
            TimeActivity._meta.db_table,
            (
                "id",
                "practice_id",
                "performer_id",
                "performer_kind",
                "performer_credential",
                "date",
                "started_at",
                "duration_seconds",
                "activity",
                "note",
                "outcome",
                "program",
                "patient_count",
                "created_at",
                "logged_on",
                "updated_at",
            ),
            activity_rows(),
        )
        counts["shares"] = _copy(
            cursor,
            TimeShare._meta.db_table,
            ("activity_id", "patient_id", "date", "seconds"),
            share_rows(),
        )
