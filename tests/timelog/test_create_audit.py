"""A new time entry is written with its shares and its audit event by one database call
(timelog migration 0006; issue 16). Held here: the event is the one the statement-by-
statement path writes (same action, object, actor, practice and snapshot), one per entry
and per change, never none and never two; the chain still verifies; a month that is not
open gets nothing written; the entry returned is the entry stored."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from ccm.audit_chain import audit_chain_problems
from ccm.exceptions import PeriodClosed
from ccm.models import AuditEvent, BillingMonth, Practice, User
from patients.models import Patient
from timelog import services
from timelog.models import TimeActivity, TimeShare
from timelog.services import (
    TimeActivityInput,
    time_activity_create,
    time_activity_delete,
    time_activity_update,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def entry(patients: list[Patient], **fields: Any) -> TimeActivityInput:
    values: dict[str, Any] = {
        "patients": patients,
        "date": TODAY,
        "duration_seconds": 725,
        "activity": "patient_call",
        "note": "  Called about the new inhaler.  ",
        "outcome": "Understood",
    }
    return TimeActivityInput(**{**values, **fields})


def events_of(activity_id: int) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type="timelog.timeactivity", object_id=str(activity_id)
        ).order_by("id")
    )


@pytest.fixture(params=["one call", "statement by statement"])
def create(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """time_activity_create, writing through the database function or through the ORM
    path kept for databases without it (the same service either way)."""
    if request.param == "statement by statement":
        monkeypatch.setattr(services, "_insert_audited", services._insert_audited_by_the_orm)
    return time_activity_create


@pytest.mark.parametrize("started_at", [None, dt.time(9, 5)])
def test_a_new_entry_is_audited_once_with_its_stored_snapshot(
    create: Callable[..., Any],
    nurse: User,
    practice: Practice,
    make_patient: Callable[..., Patient],
    started_at: dt.time | None,
) -> None:
    patients = sorted((make_patient() for _ in range(3)), key=lambda p: -p.pk)  # not by id
    before = AuditEvent.objects.count()
    activity, created = create(performer=nurse, entry=entry(patients, started_at=started_at))
    assert created
    assert AuditEvent.objects.count() == before + 1
    [event] = events_of(activity.pk)
    stored = TimeActivity.objects.get(pk=activity.pk)
    assert (event.action, event.actor_id, event.practice_id) == (
        "time_activity.create",
        nurse.pk,
        practice.pk,
    )
    assert (event.before, event.reason, event.chain) == (None, "", AuditEvent.Chain.CHANGES)
    assert event.after == services._activity_snapshot(stored)
    assert event.after["note"] == "Called about the new inhaler."
    assert event.after["started_at"] == (started_at.isoformat() if started_at else None)
    assert event.after["shares"] == [
        {"patient": p.pk, "seconds": 241} for p in sorted(patients, key=lambda p: p.pk)
    ]
    assert audit_chain_problems(practice.pk) == []


def test_the_entry_returned_is_the_entry_stored(
    create: Callable[..., Any], nurse: User, make_patient: Callable[..., Patient]
) -> None:
    patients = sorted((make_patient() for _ in range(3)), key=lambda p: -p.pk)
    activity, _ = create(performer=nurse, entry=entry(patients))
    stored = TimeActivity.objects.get(pk=activity.pk)
    fields = [field.attname for field in TimeActivity._meta.concrete_fields]
    assert {name: getattr(activity, name) for name in fields} == {
        name: getattr(stored, name) for name in fields
    }
    assert not activity._state.adding
    kept = list(activity.shares.all())  # kept from the write: no query
    assert [(s.pk, s.patient_id, s.seconds) for s in kept] == list(
        TimeShare.objects.filter(activity=stored)
        .order_by("patient_id")
        .values_list("pk", "patient_id", "seconds")
    )


def test_the_first_entry_of_a_month_makes_its_open_row(
    create: Callable[..., Any], nurse: User, practice: Practice, patient: Patient
) -> None:
    month = TODAY.replace(day=1)
    BillingMonth.objects.filter(practice=practice, month=month).delete()
    create(performer=nurse, entry=entry([patient]))
    assert BillingMonth.objects.get(practice=practice, month=month).status == "open"


@pytest.mark.parametrize("status", ["closing", "closed"])
@pytest.mark.parametrize("started_at", [None, dt.time(9, 5)])
def test_a_month_not_open_gets_nothing_written(
    create: Callable[..., Any],
    nurse: User,
    practice: Practice,
    patient: Patient,
    status: str,
    started_at: dt.time | None,
) -> None:
    BillingMonth.objects.update_or_create(
        practice=practice, month=TODAY.replace(day=1), defaults={"status": status, "version": 1}
    )
    events = AuditEvent.objects.count()
    with pytest.raises(PeriodClosed, match=f"{TODAY:%Y-%m} is {status}"):
        create(performer=nurse, entry=entry([patient], started_at=started_at))
    assert not TimeActivity.objects.exists() and not TimeShare.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_retry_writes_no_second_event(
    create: Callable[..., Any], nurse: User, patient: Patient
) -> None:
    request_id = uuid.uuid4()
    first, created = create(performer=nurse, entry=entry([patient]), request_id=request_id)
    again, created_again = create(performer=nurse, entry=entry([patient]), request_id=request_id)
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert [event.action for event in events_of(first.pk)] == ["time_activity.create"]


def test_every_write_of_an_entry_is_audited_once(
    create: Callable[..., Any],
    nurse: User,
    practice: Practice,
    make_patient: Callable[..., Patient],
) -> None:
    first, second = make_patient(), make_patient()
    activity, _ = create(performer=nurse, entry=entry([first]))
    time_activity_update(
        activity=activity, actor=nurse, entry=entry([first, second], duration_seconds=600)
    )
    time_activity_delete(activity=TimeActivity.objects.get(pk=activity.pk), actor=nurse)
    events = events_of(activity.pk)
    assert [event.action for event in events] == [
        "time_activity.create",
        "time_activity.update",
        "time_activity.delete",
    ]
    created, updated, deleted = events
    assert updated.before == created.after
    assert updated.after is not None
    assert updated.after["shares"] == [
        {"patient": p.pk, "seconds": 300} for p in sorted([first, second], key=lambda p: p.pk)
    ]
    assert deleted.before == updated.after
    assert audit_chain_problems(practice.pk) == []


def test_a_failed_create_leaves_no_event(
    nurse: User, practice: Practice, patient: Patient, make_patient: Callable[..., Patient]
) -> None:
    """The event is written in the entry's transaction: rolled back with it."""
    events = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        time_activity_create(performer=nurse, entry=entry([patient]))
        raise RuntimeError("the caller's transaction fails after the write")
    assert AuditEvent.objects.count() == events
    assert not TimeActivity.objects.exists()
    time_activity_create(performer=nurse, entry=entry([make_patient()]))
    assert audit_chain_problems(practice.pk) == []
