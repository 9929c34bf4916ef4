"""Writes of the claims app: opening an interchange (an export of claims, with its
control numbers and the rows it sends), audited."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction

from billing.claims.claims import (
    claim_frequency,
    claim_id_of,
    exportable_rows,
    original_claim_id,
)
from billing.claims.models import ClaimInterchange, InterchangeClaim
from billing.worklist import current_version
from ccm.audit import audit_record
from ccm.models import BillingProvider, Practice, User, billing_provider_missing

STORE_BATCH = 2000


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
    batch: list[InterchangeClaim] = []
    count = 0
    for row_id, status, billable in rows.values_list("id", "status", "billable").iterator(
        chunk_size=STORE_BATCH
    ):
        frequency = claim_frequency(status, billable)
        original = original_claim_id(row_id) if frequency != "1" else ""
        batch.append(
            InterchangeClaim(
                interchange=interchange,
                row_id=row_id,
                claim_id=claim_id_of(row_id),
                frequency=frequency if original else "1",
                original_claim_id=original,
            )
        )
        if len(batch) == STORE_BATCH:
            InterchangeClaim.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    InterchangeClaim.objects.bulk_create(batch)
    count += len(batch)
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
