"""Stored call-list progress (billing.call_progress): every change to a patient's facts
bumps their revision (billing migration 0006), the call list works out again exactly the
patients whose stored progress is not current, what it reads back is what it would have
worked out, and the nightly job fills and prunes the store."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.loadgen import npi_for
from billing import tasks
from billing.call_list import active_patients, call_list_rows
from billing.call_progress import _revisions, _store, _work_out, call_list_progress
from billing.live_decisions import decide_months
from billing.models import CallListProgress, FactsRevision, MdmAttestation
from billing.selectors import patient_keys, patients_month_engine_facts, practice_rulebook
from ccm.models import Practice, User
from ccm.periods import month_start
from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)
from tests.factories import log_minutes as log
from timelog.models import TimeActivity, TimeShare
from timelog.views import shift_month

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
MONTH = month_start(TODAY)
URL = "/my-patients/"


def revision(patient: Patient) -> int:
    row = FactsRevision.objects.filter(patient_id=patient.pk).first()
    return row.revision if row is not None else 0


def _tables_read_by_the_facts_builder(patient_ids: list[int]) -> set[str]:
    """The tables (app_model) the patients' keys and facts are read from."""
    with CaptureQueriesContext(connection) as captured:
        patients_month_engine_facts(patient_keys(patient_ids), MONTH)
    tables: set[str] = set()
    for query in captured:
        tables.update(re.findall(r'(?:FROM|JOIN)\s+"?([a-z]+_[a-z_]+)"?', query["sql"]))
    return tables


def test_every_table_the_facts_are_read_from_is_watched(patient: Patient) -> None:
    """A table the facts builder reads without a trigger would leave stored progress stale."""
    from importlib import import_module

    watched = import_module("billing.migrations.0006_facts_revision_triggers").WATCHED
    read = _tables_read_by_the_facts_builder([patient.pk])
    assert {"timelog_timeshare", "patients_consent", "ccm_user"} <= read
    assert read <= set(watched), read - set(watched)


def test_each_change_to_a_patients_facts_bumps_their_revision(
    patient: Patient, nurse: User, practitioner: User, make_patient: Callable[..., Patient]
) -> None:
    other = make_patient()
    changes: list[tuple[str, Callable[[], object]]] = [
        (
            "condition added",
            lambda: ChronicCondition.objects.create(
                patient=patient, icd10="J44.9", onset=dt.date(2020, 1, 1)
            ),
        ),
        (
            "condition resolved",
            lambda: ChronicCondition.objects.filter(patient=patient, icd10="J44.9").update(
                resolved=TODAY
            ),
        ),
        (
            "condition deleted",
            lambda: ChronicCondition.objects.filter(patient=patient, icd10="J44.9").delete(),
        ),
        ("consent revoked", lambda: Consent.objects.filter(patient=patient).update(revoked=TODAY)),
        ("visit added", lambda: Visit.objects.create(patient=patient, date=TODAY, code="99213")),
        ("care plan deleted", lambda: CarePlan.objects.filter(patient=patient).delete()),
        (
            "other service",
            lambda: OtherService.objects.create(patient=patient, code="99424", date=TODAY),
        ),
        (
            "inpatient stay",
            lambda: InpatientStay.objects.create(patient=patient, admitted=TODAY, discharged=TODAY),
        ),
        (
            "MDM attested",
            lambda: MdmAttestation.objects.create(
                patient=patient,
                month=MONTH,
                level="moderate",
                note="n",
                practitioner=practitioner,
                signed_at=timezone.now(),
            ),
        ),
        ("time logged", lambda: log(nurse, [patient, other], 10)),
        (
            "activity edited",
            lambda: TimeActivity.objects.filter(performer=nurse).update(duration_seconds=900),
        ),
        ("share deleted", lambda: TimeShare.objects.filter(patient=patient).delete()),
        (
            "patient edited",
            lambda: Patient.objects.filter(pk=patient.pk).update(last_name="Renamed"),
        ),
        (
            "practitioner's NPI",
            lambda: User.objects.filter(pk=practitioner.pk).update(npi=npi_for(424242)),
        ),
        # The facts' names (billing migration 0008).
        (
            "practitioner's name",
            lambda: User.objects.filter(pk=practitioner.pk).update(full_name="Dr. New Name"),
        ),
        (
            "practitioner's credential",
            lambda: User.objects.filter(pk=practitioner.pk).update(credential="DO"),
        ),
    ]
    for what, change in changes:
        before = revision(patient)
        change()
        assert revision(patient) == before + 1, what


def test_a_change_that_cannot_move_a_decision_leaves_revisions_alone(
    patient: Patient, practitioner: User
) -> None:
    before = revision(patient)
    User.objects.filter(pk=practitioner.pk).update(last_login=timezone.now())  # each sign-in
    assert revision(patient) == before


def test_one_statement_bumps_each_of_its_patients_once(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    patients = [make_patient() for _ in range(3)]
    before = [revision(p) for p in patients]
    log(nurse, patients, 30)  # one activity, three shares in one insert
    assert [revision(p) for p in patients] == [b + 1 for b in before]


def test_the_call_list_shows_new_minutes_at_once(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient()
    client = Client()
    client.force_login(nurse)
    log(nurse, [patient], 12)
    assert "8 min to 99490" in client.get(URL).content.decode()
    assert CallListProgress.objects.filter(patient=patient, month=MONTH).exists()
    log(nurse, [patient], 5)
    assert "3 min to 99490" in client.get(URL).content.decode()


def test_stored_progress_reads_back_as_worked_out_on_the_demo_month() -> None:
    """Every state of the demo month (billable, on the way, blocked), and a patient whose
    facts the engine refuses: the rows from stored progress are the rows worked out live."""
    call_command("seed_demo", stdout=io.StringIO())
    nurse = User.objects.select_related("practice").get(username="nurse")
    practice = nurse.practice
    assert practice is not None
    refused = Patient.objects.filter(practice=practice, is_active=True).order_by("pk").first()
    assert refused is not None
    ChronicCondition.objects.filter(patient=refused).update(icd10="E11..9")
    listed = active_patients(nurse)
    keys = [p.key for p in listed]
    rulebook = practice_rulebook(practice, MONTH)
    live = _work_out(keys, MONTH, rulebook)
    assert isinstance(live[refused.pk], str)
    assert any(not isinstance(o, str) and o.blocks for o in live.values())
    assert any(not isinstance(o, str) and o.billable for o in live.values())
    call_list_progress(keys, MONTH, rulebook)  # stores them
    with CaptureQueriesContext(connection) as captured:
        stored = call_list_progress(keys, MONTH, rulebook)
    assert len(captured) == 2  # revisions, stored progress: nothing worked out again
    month_text = f"{MONTH:%Y-%m}"
    assert call_list_rows(listed, stored, month_text) == call_list_rows(listed, live, month_text)


def test_progress_stored_from_an_older_revision_is_worked_out_again(
    nurse: User, make_patient: Callable[..., Patient], practice: Practice
) -> None:
    """A result worked out from facts read before a change (its revision read before
    them) is stored under the old revision, so the next request works it out again."""
    patient = make_patient()
    log(nurse, [patient], 12)
    rulebook = practice_rulebook(practice, MONTH)
    key = (patient.pk, patient.billing_practitioner_id, patient.billing_practitioner.npi)
    revisions = _revisions([patient.pk])
    outcome = _work_out([key], MONTH, rulebook)
    log(nurse, [patient], 5)  # commits while the first result is on its way
    _store(outcome, MONTH, rulebook, revisions)
    progress = call_list_progress([key], MONTH, rulebook)[patient.pk]
    assert not isinstance(progress, str) and progress.minutes_needed == 3
    stored = CallListProgress.objects.get(patient=patient, month=MONTH)
    assert stored.revision == revision(patient)


def test_another_rulebook_is_worked_out_again(
    nurse: User, make_patient: Callable[..., Patient], practice: Practice
) -> None:
    patient = make_patient()
    log(nurse, [patient], 25)
    key = (patient.pk, patient.billing_practitioner_id, patient.billing_practitioner.npi)
    rulebook = practice_rulebook(practice, MONTH)
    call_list_progress([key], MONTH, rulebook)
    dearer = rulebook.with_fees({"99490": "99.99"})
    assert dearer.fingerprint != rulebook.fingerprint
    call_list_progress([key], MONTH, dearer)
    assert CallListProgress.objects.get(patient=patient).rulebook == dearer.fingerprint


def test_the_nightly_job_stores_every_active_patient_and_prunes_old_months(
    nurse: User, make_patient: Callable[..., Patient], outsider: User
) -> None:
    active = [make_patient() for _ in range(3)]
    inactive = make_patient(is_active=False)
    log(nurse, active[:1], 12)
    elsewhere = Patient.objects.create(
        practice=outsider.practice,
        mrn="X1",
        first_name="Other",
        last_name="Practice",
        birth_date=dt.date(1950, 1, 1),
        billing_practitioner=outsider,
    )
    old_month = shift_month(MONTH, -2)
    CallListProgress.objects.create(
        patient=active[1], month=old_month, revision=0, rulebook="old", computed_at=timezone.now()
    )
    assert tasks.refresh_call_lists() == 4
    stored = set(CallListProgress.objects.filter(month=MONTH).values_list("patient_id", flat=True))
    assert {p.pk for p in active} | {elsewhere.pk} <= stored
    assert inactive.pk not in stored
    assert not CallListProgress.objects.filter(month=old_month).exists()
    computed_at = dict(CallListProgress.objects.values_list("patient_id", "computed_at"))
    tasks.refresh_call_lists()  # nothing changed: nothing worked out again
    assert dict(CallListProgress.objects.values_list("patient_id", "computed_at")) == computed_at
    log(nurse, active[:1], 5)
    tasks.refresh_call_lists()
    again = dict(CallListProgress.objects.values_list("patient_id", "computed_at"))
    assert [pk for pk in again if again[pk] != computed_at[pk]] == [active[0].pk]


def test_the_nightly_job_is_scheduled() -> None:
    from django.conf import settings

    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "billing.refresh_call_lists" in tasks_scheduled


def test_stored_and_live_decisions_agree_for_one_patient(
    nurse: User, make_patient: Callable[..., Patient], practice: Practice
) -> None:
    patient = make_patient()
    log(nurse, [patient], 30)
    key = (patient.pk, patient.billing_practitioner_id, patient.billing_practitioner.npi)
    rulebook = practice_rulebook(practice, MONTH)
    call_list_progress([key], MONTH, rulebook)
    stored = call_list_progress([key], MONTH, rulebook)[patient.pk]
    decision = decide_months([key], MONTH, rulebook)[patient.pk]
    assert not isinstance(stored, str) and not isinstance(decision, str)
    assert stored.codes == tuple(line.code for line in decision.lines) == ("99490",)
    assert stored.counted_seconds == decision.counted_seconds.total == 30 * 60
