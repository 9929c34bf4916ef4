"""Database guards that hold whatever the path (ORM, QuerySet.update(), raw SQL): the
audit log is append-only and hash-chained; a closed month's data cannot change."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import threading
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from ccm.audit import audit_read, audit_record
from ccm.audit_chain import audit_chain_problems
from ccm.models import AuditEvent, BillingMonth, Practice, User
from ccm.test_database.base import owner_connection
from patients.models import ChronicCondition, Consent, Patient
from timelog.models import TimeActivity, TimeShare
from timelog.services import TimeActivityInput, time_activity_create

pytestmark = pytest.mark.django_db
MARCH = dt.date(2026, 3, 1)


def refused(sql: str, params: list[object] | None = None) -> str:
    """Run `sql` in a savepoint and return the database's refusal message."""
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(error.value)


def test_audit_rows_cannot_be_updated_or_deleted_by_any_path(admin_user: User) -> None:
    """As the application (the owner's attempts: tests/security/test_database_roles.py)."""
    event = audit_record(actor=admin_user, action="x.test", object_type="x", object_id=1)
    for sql in (
        "UPDATE ccm_auditevent SET action = 'y' WHERE id = %s",
        "DELETE FROM ccm_auditevent WHERE id = %s",
    ):
        assert "permission denied for table ccm_auditevent" in refused(sql, [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "x.test"


def test_each_practice_has_an_unbroken_chain(
    practice: Practice, other_practice: Practice, admin_user: User
) -> None:
    for n in range(3):
        audit_record(actor=admin_user, action=f"a.{n}", object_type="x", object_id=n)
        audit_record(
            actor=None, action=f"b.{n}", object_type="x", object_id=n, practice=other_practice
        )
    events = list(AuditEvent.objects.filter(practice=practice).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert audit_chain_problems() == []
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert json.loads(out.getvalue().splitlines()[-1])["problems"] == 0


def test_events_without_a_practice_keep_a_chain_of_their_own(
    practice: Practice, admin_user: User
) -> None:
    for n in range(3):
        audit_record(actor=admin_user, action=f"a.{n}", object_type="x", object_id=n)
        AuditEvent.objects.create(practice=None, actor=None, action=f"system.{n}", object_id=n)
    for chain in (
        AuditEvent.objects.filter(practice=practice),
        AuditEvent.objects.filter(practice=None),
    ):
        events = list(chain.order_by("seq"))
        assert [e.seq for e in events] == [1, 2, 3]
        assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert audit_chain_problems() == []


def test_the_chain_finds_the_last_event_through_the_index(practice: Practice) -> None:
    """The trigger's look-up of a practice's last event must be one index step, not a scan
    of the practice's whole log: it runs on every audited write, under the chain's lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'ccm_audit_chain'")
        source = cursor.fetchone()[0]
        lookup = re.search(r"SELECT seq, hash INTO .*?LIMIT 1", source, re.DOTALL)
        assert lookup is not None, source
        query = lookup.group(0).replace("INTO last_seq, last_hash ", "")
        query = query.replace("NEW.practice_id", "%(practice)s::bigint")
        query = query.replace("NEW.chain", "%(chain)s")
        cursor.execute("SET LOCAL enable_seqscan = off")  # what a large log would choose
        cursor.execute("EXPLAIN " + query, {"practice": practice.pk, "chain": "changes"})
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan Backward using ccm_auditevent_practice_seq" in plan, plan
    assert "Sort" not in plan, plan


def as_owner_without_the_guard(sql: str, params: list[object]) -> None:
    """What an attacker with the owner's rights could do (the application cannot: it owns
    nothing): switch the guard off, change the log, switch it on again."""
    with owner_connection(connection) as owner, owner.cursor() as cursor:
        cursor.execute("ALTER TABLE ccm_auditevent DISABLE TRIGGER ccm_audit_no_change")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE ccm_auditevent ENABLE TRIGGER ccm_audit_no_change")


@pytest.mark.django_db(transaction=True)  # committed, so the owner's session sees them
def test_a_tampered_row_is_reported(practice: Practice, admin_user: User) -> None:
    events = [
        audit_record(
            actor=admin_user, action=f"a.{n}", object_type="x", object_id=n, after={"minutes": n}
        )
        for n in range(3)
    ]
    tampered = events[1]
    as_owner_without_the_guard(
        "UPDATE ccm_auditevent SET after = '{\"minutes\": 99}' WHERE id = %s", [tampered.pk]
    )
    problems = audit_chain_problems(practice.pk)
    assert [(p.event_id, p.problem) for p in problems] == [
        (tampered.pk, "content does not match its hash")
    ]
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit_verify", "--practice", practice.slug, stdout=out)
    assert exit_info.value.code == 1
    assert json.loads(out.getvalue().splitlines()[0])["event_id"] == tampered.pk


@pytest.mark.django_db(transaction=True)
def test_a_deleted_row_is_reported_as_a_gap(practice: Practice, admin_user: User) -> None:
    events = [
        audit_record(actor=admin_user, action=f"a.{n}", object_type="x", object_id=n)
        for n in range(3)
    ]
    as_owner_without_the_guard("DELETE FROM ccm_auditevent WHERE id = %s", [events[1].pk])
    assert {p.event_id for p in audit_chain_problems(practice.pk)} == {events[2].pk}


@pytest.fixture
def closed_march(patient: Patient, nurse: User, practice: Practice) -> TimeActivity:
    activity, _ = time_activity_create(
        performer=nurse,
        entry=TimeActivityInput(
            patients=[patient],
            date=dt.date(2026, 3, 10),
            duration_seconds=1200,
            activity="patient_call",
            note="call",
        ),
    )
    BillingMonth.objects.filter(practice=practice, month=MARCH).update(status="closed", version=1)
    return activity


def test_a_closed_month_refuses_orm_update_and_raw_sql(
    closed_march: TimeActivity, patient: Patient
) -> None:
    closed_march.duration_seconds = 3600
    with pytest.raises(DatabaseError, match="2026-03 is closed"), transaction.atomic():
        closed_march.save()
    with pytest.raises(DatabaseError, match="closed"), transaction.atomic():
        TimeShare.objects.filter(activity=closed_march).update(seconds=3600)
    with pytest.raises(DatabaseError, match="closed"), transaction.atomic():
        TimeActivity.objects.filter(pk=closed_march.pk).delete()
    assert "closed" in refused(
        "INSERT INTO timelog_timeshare (activity_id, patient_id, date, seconds)"
        " VALUES (%s, %s, '2026-03-11', 600)",
        [closed_march.pk, patient.pk],
    )
    assert "closed" in refused(
        "UPDATE timelog_timeactivity SET date = '2026-04-02' WHERE id = %s", [closed_march.pk]
    )
    with pytest.raises(DatabaseError, match="closed"), transaction.atomic():
        Consent.objects.create(
            patient=patient,
            date=dt.date(2026, 3, 5),
            method="verbal",
            billing_practitioner=patient.billing_practitioner,
        )
    closed_march.refresh_from_db()
    assert closed_march.duration_seconds == 1200
    assert TimeShare.objects.get(activity=closed_march).seconds == 1200


def test_an_update_touching_no_closed_date_passes(
    closed_march: TimeActivity, patient: Patient, practice: Practice
) -> None:
    march = BillingMonth.objects.filter(practice=practice, month=MARCH)
    march.update(status="open")
    condition = ChronicCondition.objects.create(
        patient=patient, icd10="J44.9", onset=dt.date(2026, 3, 2)
    )
    march.update(status="closed")
    condition.resolved = dt.date(2026, 5, 1)  # only a date in an open month changes
    condition.save()
    condition.icd10 = "J45.909"  # the row changes as a whole: its March onset is locked
    with pytest.raises(DatabaseError, match="closed"), transaction.atomic():
        condition.save()
    april, _ = time_activity_create(
        performer=closed_march.performer,
        entry=TimeActivityInput(
            patients=[patient],
            date=dt.date(2026, 4, 1),
            duration_seconds=600,
            activity="patient_call",
            note="call",
        ),
    )
    assert TimeShare.objects.get(activity=april).seconds == 600


def test_reads_and_changes_are_chained_apart_and_both_verify(
    practice: Practice, admin_user: User, patient: Patient
) -> None:
    for n in range(3):
        audit_record(actor=admin_user, action=f"a.{n}", object_type="x", object_id=n)
        audit_read(actor=admin_user, instance=patient, what=f"page:{n}")
    for chain in AuditEvent.Chain.values:
        events = list(AuditEvent.objects.filter(practice=practice, chain=chain).order_by("seq"))
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert AuditEvent.objects.filter(chain="reads").count() == 3
    assert audit_chain_problems() == []


@pytest.mark.django_db(transaction=True)
def test_a_read_audit_never_waits_for_a_write_holding_the_chain(
    practice: Practice, admin_user: User, patient: Patient
) -> None:
    """A write holds its practice's chain lock from its audit insert to its commit; a page
    view of the same practice, audited meanwhile, goes through (were it to wait, its lock
    timeout would fail it: the write commits only after the view is done)."""
    outcome: list[object] = []

    def view() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")
                outcome.append(audit_read(actor=admin_user, instance=patient, what="page:x").pk)
        except DatabaseError as error:
            outcome.append(error)
        finally:
            connection.close()

    with transaction.atomic():
        audit_record(actor=admin_user, action="a.write", object_type="x", object_id=1)
        reader = threading.Thread(target=view)
        reader.start()
        reader.join()
    assert outcome == [AuditEvent.objects.get(chain="reads").pk]
