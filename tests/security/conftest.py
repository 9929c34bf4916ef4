"""Two practices with one record of every kind each, a user of every role each, and a
closed month: the ground the security tests walk on.

The home practice's records carry the marker "Homeward" and the other practice's
"Farland" (in patient names, MRNs, notes and user names), so a response can be searched
for a foreign row by plain text."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from billing.close import close_request, close_run_inline
from billing.models import (
    ClaimLine,
    CloseRun,
    FeeScheduleEntry,
    MdmAttestation,
    WorklistRow,
)
from ccm.models import AuditEvent, BillingMonth, Practice, Role, User
from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)
from tests.conftest import make_eligible
from tests.factories import PatientFactory, PracticeFactory, UserFactory
from timelog.models import TimeActivity, TimeShare
from timelog.services import TimeActivityInput, time_activity_create

LONG_AGO = dt.date(2024, 3, 15)
#: Fees no shipped rulebook has, so an amount in an answer is recognised as money of
#: these practices: 25 minutes bill 99490 at 71.17 (tests/security/test_least_privilege).
PRACTICE_FEES = {
    "99490": Decimal("71.17"),
    "99439": Decimal("53.13"),
    "99487": Decimal("151.51"),
    "99489": Decimal("81.81"),
    "99491": Decimal("93.93"),
    "99437": Decimal("67.67"),
}
MONEY_MARKER = "71.17"


def this_month() -> dt.date:
    return timezone.localdate().replace(day=1)


def last_month() -> dt.date:
    return (this_month() - dt.timedelta(days=1)).replace(day=1)


@dataclass(frozen=True)
class Side:
    """One practice and one object of every kind that a URL can name."""

    practice: Practice
    users: dict[str, User]
    patient: Patient
    condition: ChronicCondition
    consent: Consent
    other_service: OtherService
    stay: InpatientStay
    time_entry: TimeActivity  # this month, by the RN: still editable
    worklist_row: WorklistRow  # of the closed month
    closed_month: dt.date
    marker: str

    @property
    def practitioner(self) -> User:
        return self.users[Role.PRACTITIONER]

    def object_ids(self) -> dict[str, int]:
        """The id of this side's object of each kind a URL parameter names."""
        return {
            "patient": self.patient.pk,
            "condition": self.condition.pk,
            "consent": self.consent.pk,
            "other_service": self.other_service.pk,
            "stay": self.stay.pk,
            "time_entry": self.time_entry.pk,
            "worklist_row": self.worklist_row.pk,
            "user": self.users[Role.RN].pk,
        }


@dataclass(frozen=True)
class World:
    home: Side
    other: Side


def log(performer: User, patient: Patient, day: dt.date, minutes: int, note: str) -> TimeActivity:
    activity, _ = time_activity_create(
        performer=performer,
        entry=TimeActivityInput(
            patients=[patient],
            date=day,
            duration_seconds=minutes * 60,
            activity="patient_call",
            note=note,
        ),
    )
    return activity


def build_side(
    slug: str,
    marker: str,
    *,
    names: Sequence[tuple[str, str]] = (),
    notes: Sequence[str] = (),
    minutes_this_month: int = 10,
) -> Side:
    """A practice with a user of each role and eligible patients (`names`: first and last
    names; default one patient named after the marker), each with 25 minutes in the
    previous month, which is closed (so each has a worklist row), and time this month
    (one entry per note); plus one record of every other kind for the first patient."""
    practice = PracticeFactory(slug=slug, name=f"{marker} Clinic")
    users = {
        role.value: UserFactory(
            username=f"{marker.lower()}_{role.value}",
            practice=practice,
            role=role,
            full_name=f"{marker} {role.label}",
            credential="MD" if role == Role.PRACTITIONER else "",
            npi="1234567893" if role == Role.PRACTITIONER else "",
        )
        for role in Role
    }
    nurse = users[Role.RN]
    closed, today = last_month(), timezone.localdate()
    for year in {closed.year, today.year}:
        for code, amount in PRACTICE_FEES.items():
            FeeScheduleEntry.objects.create(practice=practice, code=code, year=year, amount=amount)
    notes = notes or [f"{marker} call this month"]
    patients, entries = [], []
    for number, (first, last) in enumerate(names or [("Pat", marker)], start=1):
        patient = make_eligible(
            PatientFactory(
                practice=practice,
                mrn=f"{marker.upper()}-{number:04d}",
                first_name=first,
                last_name=last,
                billing_practitioner=users[Role.PRACTITIONER],
            )
        )
        patients.append(patient)
        log(nurse, patient, closed.replace(day=3), 25, f"{marker} call last month")
    run, _ = close_request(practice=practice, month=closed, actor=users[Role.BILLING])
    assert run is not None
    close_run_inline(run)
    for patient in patients:
        for note in notes:
            entries.append(log(nurse, patient, today, minutes_this_month // len(notes), note))
    patient = patients[0]
    return Side(
        practice=practice,
        users=users,
        patient=patient,
        condition=patient.conditions.order_by("pk").first(),  # type: ignore[arg-type]
        consent=patient.consents.order_by("pk").first(),  # type: ignore[arg-type]
        # Long past, so they change no decision of the months the tests look at.
        other_service=OtherService.objects.create(
            patient=patient, code="G0182", date=LONG_AGO, note=f"{marker} hospice"
        ),
        stay=InpatientStay.objects.create(
            patient=patient, admitted=LONG_AGO, discharged=LONG_AGO, facility=f"{marker} General"
        ),
        time_entry=entries[0],
        worklist_row=WorklistRow.objects.get(practice=practice, month=closed, patient=patient),
        closed_month=closed,
        marker=marker,
    )


@pytest.fixture
def world(db: None) -> World:
    return World(home=build_side("homeward", "Homeward"), other=build_side("farland", "Farland"))


def _practice_rows(practice: Practice) -> list[QuerySet[Model]]:
    """Every table that holds the practice's data, filtered to the practice."""
    of_patient = Q(patient__practice=practice)
    return [
        Practice.objects.filter(pk=practice.pk),
        User.objects.filter(practice=practice),
        Patient.objects.filter(practice=practice),
        ChronicCondition.objects.filter(of_patient),
        Consent.objects.filter(of_patient),
        Visit.objects.filter(of_patient),
        CarePlan.objects.filter(of_patient),
        OtherService.objects.filter(of_patient),
        InpatientStay.objects.filter(of_patient),
        TimeActivity.objects.filter(practice=practice),
        TimeShare.objects.filter(of_patient),
        MdmAttestation.objects.filter(of_patient),
        FeeScheduleEntry.objects.filter(practice=practice),
        BillingMonth.objects.filter(practice=practice),
        CloseRun.objects.filter(practice=practice),
        WorklistRow.objects.filter(practice=practice),
        ClaimLine.objects.filter(row__practice=practice),
        AuditEvent.objects.filter(practice=practice),
    ]


@functools.lru_cache(maxsize=8)
def _fingerprint_query(practice_id: int) -> tuple[str, tuple[object, ...]]:
    parts, params = [], []
    for rows in _practice_rows(Practice(pk=practice_id)):
        meta = rows.model._meta
        ids_sql, ids_params = rows.values("pk").query.sql_with_params()
        pk, table = meta.pk.column, meta.db_table  # our own names, never input
        checksum = f"md5(coalesce(string_agg(t::text, '|' ORDER BY t.{pk}), ''))"
        parts.append(f"(SELECT {checksum} FROM {table} t WHERE t.{pk} IN ({ids_sql}))")  # noqa: S608
        params.extend(ids_params)
    return "SELECT " + " || ".join(parts), tuple(params)


def practice_fingerprint(practice: Practice) -> str:
    """A checksum of every row (every column) of the practice's data, in one query: equal
    before and after a request means the request changed nothing of the practice."""
    sql, params = _fingerprint_query(practice.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (checksum,) = cursor.fetchone()
    return str(checksum)
