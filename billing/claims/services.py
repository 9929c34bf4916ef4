"""Writes of the claims app: opening an interchange (an export of claims, with its
control numbers and the rows it sends), audited."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet

from billing.claims.claims import (
    CLAIM_ID_PREFIX,
    NEEDS_CORRECTION,
    claim_frequency,
    exportable_rows,
    original_claim_id,
)
from billing.claims.models import ClaimInterchange, InterchangeClaim
from billing.models import WorklistRow
from billing.worklist import current_version
from ccm.audit import audit_record
from ccm.models import BillingProvider, Practice, User, billing_provider_missing


@transaction.atomic
def claim_interchange_create(
    *,
    practice: Practice,
    actor: User | None,
    month: dt.date,
    kind: str,
    practitioner_id: int | None = None,
) -> ClaimInterchange:
    """Open an export of the month's claims (billing rule: one claim per billable
    patient-month not yet submitted, of the current close version): its control number
    (the row's id, never reused), and one stored item per claim, so the file that
    streams afterwards is exactly what was recorded. Refused (ValidationError) while
    the billing provider lacks anything a claim needs, or when no claim is ready."""
    provider = BillingProvider.objects.filter(practice=practice).first()
    missing = billing_provider_missing(provider)
    if provider is None or missing:
        raise ValidationError(
            {
                "billing_provider": [
                    f"Set the billing provider's {', '.join(missing)} first "
                    "(Billing provider page, or PUT /api/practice/billing-provider/)."
                ]
            }
        )
    interchange = ClaimInterchange.objects.create(
        practice=practice,
        kind=kind,
        month=month,
        version=current_version(practice, month),
        created_by=actor,
        usage=provider.usage,
    )
    rows = exportable_rows(practice=practice, month=month, practitioner_id=practitioner_id)
    count = _store_claims(interchange, rows)
    if count == 0:
        raise ValidationError(
            {
                "month": [
                    f"No claim of {month:%Y-%m} is ready to export: a claim goes out once "
                    "the month is closed, billable, not yet submitted and has its claim "
                    "data (the worklist says what each row lacks)."
                ]
            }
        )
    interchange.claims = count
    interchange.save(update_fields=["claims"])
    audit_record(
        actor=actor,
        action=f"claims.export_{kind}",
        instance=interchange,
        practice=practice,
        after={
            "month": f"{month:%Y-%m}",
            "version": interchange.version,
            "claims": count,
            "control_number": interchange.control_number,
            "practitioner": practitioner_id,
        },
    )
    return interchange


def _store_claims(interchange: ClaimInterchange, rows: QuerySet[WorklistRow]) -> int:
    """One item per row, in the rows' order (the file's order: the items' ids), in one
    INSERT ... SELECT: each an original claim (frequency 1) under its row's claim id.
    Then the corrections, few, as claim_frequency and original_claim_id say: a
    replacement (7) or a void (8) of the claim they correct, or an original when no
    claim of theirs went out."""
    chosen = rows.order_by().values_list("id", "patient__last_name", "patient__first_name")
    selected, params = chosen.query.get_compiler(rows.db).as_sql()
    table = InterchangeClaim._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(  # the ids follow the ORDER BY (exportable_rows' order)
            f"INSERT INTO {table} (interchange_id, row_id, claim_id, frequency,"  # noqa: S608
            " original_claim_id)"
            f" SELECT %s, c.id, %s || c.id, %s, '' FROM ({selected}) c (id, last_name, first_name)"
            " ORDER BY c.last_name, c.first_name, c.id",
            [interchange.pk, CLAIM_ID_PREFIX, InterchangeClaim.Frequency.ORIGINAL, *params],
        )
        count = int(cursor.rowcount)
    # The corrections read from the rows (their index), not by joining every item.
    corrections = rows.order_by().filter(status=NEEDS_CORRECTION)
    for row_id, status, billable in corrections.values_list("id", "status", "billable"):
        original = original_claim_id(row_id)
        if original:
            InterchangeClaim.objects.filter(interchange=interchange, row_id=row_id).update(
                frequency=claim_frequency(status, billable), original_claim_id=original
            )
    return count
