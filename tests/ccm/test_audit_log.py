"""The append-only audit log records who changed what, when, before and after."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from ccm.audit import audit_record, snapshot
from ccm.models import AuditEvent, Practice, User
from ccm.services import user_create

pytestmark = pytest.mark.django_db


def test_a_change_is_recorded_with_actor_and_snapshots(
    practice: Practice, admin_user: User
) -> None:
    created = user_create(
        username="new-rn", role="rn", practice=practice, actor=admin_user, credential="RN"
    )
    event = AuditEvent.objects.get(action="user.create", object_id=str(created.pk))
    assert event.actor == admin_user
    assert event.practice == practice
    assert event.object_type == "ccm.user"
    assert event.before is None
    assert event.after["role"] == "rn" and event.after["credential"] == "RN"
    assert event.at is not None


def test_before_and_after_are_kept(practice: Practice, admin_user: User, nurse: User) -> None:
    before = snapshot(nurse, ["credential"])
    nurse.credential = "LPN"
    nurse.save()
    audit_record(
        actor=admin_user,
        action="user.update",
        instance=nurse,
        before=before,
        after=snapshot(nurse, ["credential"]),
        reason="license change",
    )
    event = AuditEvent.objects.get(action="user.update")
    assert (event.before, event.after, event.reason) == (
        {"credential": "RN"},
        {"credential": "LPN"},
        "license change",
    )


def test_events_cannot_be_changed_or_deleted_through_the_orm(admin_user: User) -> None:
    event = audit_record(actor=admin_user, action="x.test", object_type="x", object_id=1)
    event.action = "rewritten"
    with pytest.raises(PermissionDenied):
        event.save()
    with pytest.raises(PermissionDenied):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "x.test"


def test_reads_of_patient_records_are_audited_without_phi(
    nurse: User, api_client_for: object, patient: object, client: object
) -> None:
    from django.utils import timezone

    api = api_client_for(nurse)  # type: ignore[operator]
    assert api.get(f"/api/patients/{patient.pk}/").status_code == 200  # type: ignore[attr-defined]
    month = f"{timezone.localdate():%Y-%m}"
    assert api.get(f"/api/patients/{patient.pk}/months/{month}/").status_code == 200  # type: ignore[attr-defined]
    client.force_login(nurse)  # type: ignore[attr-defined]
    assert client.get(f"/patients/{patient.pk}/").status_code == 200  # type: ignore[attr-defined]
    reads = AuditEvent.objects.filter(action="patient.read", actor=nurse, object_id=str(patient.pk))  # type: ignore[attr-defined]
    assert sorted(event.after["view"] for event in reads) == [
        "api:patient-detail",
        f"api:patient-month {month}",
        "page:patient-detail",
    ]
    assert all(patient.last_name not in str(event.after) for event in reads)  # type: ignore[attr-defined]
