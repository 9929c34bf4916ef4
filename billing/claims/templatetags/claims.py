"""Template helpers of the claims pages: what a worklist row lacks to go out as a claim,
and what the practice's billing provider lacks."""

from __future__ import annotations

import datetime as dt

from django import template

from billing.claims.readiness import row_missing
from billing.models import WorklistRow
from ccm.models import BillingProvider, Practice, billing_provider_missing

register = template.Library()


@register.filter
def claim_missing(row: WorklistRow) -> list[str]:
    """{{ row|claim_missing }}: the claim data a row's claim lacks."""
    return row_missing(row)


@register.simple_tag
def billing_provider_gaps(practice: Practice) -> list[str]:
    """{% billing_provider_gaps practice as gaps %}: what claims need of the provider."""
    return billing_provider_missing(BillingProvider.objects.filter(practice=practice).first())


@register.simple_tag
def month_claim_row(patient_id: int, month: dt.date) -> WorklistRow | None:
    """{% month_claim_row patient.pk month as row %}: the patient-month's row of the
    month's current close version (None before the first close)."""
    return (
        WorklistRow.objects.filter(patient_id=patient_id, month=month).order_by("-version").first()
    )
