"""Writing the audit log: every service that changes clinical or billing data calls
`audit_record` inside its transaction, so the change and its record commit together."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from ccm.models import AuditEvent, Practice, User


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The JSON-ready values of a model's concrete fields (foreign keys by id)."""
    names = (
        list(fields)
        if fields is not None
        else [field.attname for field in instance._meta.concrete_fields]
    )
    return {name: _json_value(getattr(instance, name)) for name in names}


def audit_record(
    *,
    actor: User | None,
    action: str,
    instance: models.Model | None = None,
    object_type: str | None = None,
    object_id: object = "",
    practice: Practice | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    chain: str = AuditEvent.Chain.CHANGES,
) -> AuditEvent:
    """Append one audit event: who (`actor`), what (`action` on an object), when (now),
    with before/after snapshots. The practice defaults to the object's or the actor's.

    The insert takes the practice's chain lock until the transaction ends (ccm.locks,
    the last lock of all): call it after the transaction's other writes."""
    if instance is not None:
        object_type = object_type or instance._meta.label_lower
        object_id = object_id or instance.pk
        practice = practice or getattr(instance, "practice", None)
    if practice is None and actor is not None:
        practice = actor.practice
    return AuditEvent.objects.create(
        practice=practice,
        actor=actor,
        action=action,
        object_type=object_type or "",
        object_id=str(object_id),
        before=_json_value(dict(before)) if before is not None else None,
        after=_json_value(dict(after)) if after is not None else None,
        reason=reason,
        chain=chain,
    )


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of `after` whose values differ from `before`."""
    return {key: value for key, value in after.items() if before.get(key) != value}


def audit_read(*, actor: User, instance: models.Model, what: str) -> AuditEvent:
    """Record that `actor` opened a patient record (`what` names the view, never PHI):
    HIPAA asks who saw a record, not only who changed it. On the reads chain, whose lock
    no write waits for; call it outside a write's transaction (a GET's autocommit)."""
    return audit_record(
        actor=actor,
        action=f"{instance._meta.model_name}.read",
        instance=instance,
        after={"view": what},
        chain=AuditEvent.Chain.READS,
    )


def audited_delete(
    *,
    actor: User | None,
    action: str,
    instance: models.Model,
    fields: Iterable[str],
    practice: Practice,
) -> None:
    """Delete `instance` and record it with its last values (`fields`), so the audit log
    keeps what the database no longer holds."""
    before = snapshot(instance, fields)
    object_type, object_id = instance._meta.label_lower, instance.pk
    instance.delete()
    audit_record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        practice=practice,
        before=before,
    )
