"""What a worklist row lacks to go out as a claim (837P or FHIR), in words billing staff
act on. The month close refuses nothing for lack of claim data; the worklist shows this
flag on each row, and the exports leave such rows out.

Each requirement is written once, as the fields that must not all be blank, and read two
ways: on a row in memory (`row_missing`, for the flag) and as a database filter
(`ready_filter`, for the exports)."""

from __future__ import annotations

from functools import reduce
from operator import and_

from django.db.models import Q

from billing.models import WorklistRow
from ccm.models import BillingProvider, billing_provider_missing

#: (what is missing, in words; the row's fields of which at least one must be set)
ROW_REQUIREMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("patient's MBI or member id", ("patient__mbi", "patient__member_id")),
    ("patient's sex", ("patient__sex",)),
    ("patient's street address", ("patient__address_line",)),
    ("patient's city", ("patient__city",)),
    ("patient's state", ("patient__state",)),
    ("patient's ZIP code", ("patient__zip",)),
    ("billing practitioner's NPI", ("billing_practitioner__npi",)),
)


def _value(row: WorklistRow, path: str) -> object:
    value: object = row
    for name in path.split("__"):
        value = getattr(value, name)
    return value


def row_missing(row: WorklistRow) -> list[str]:
    """The claim data this row's claim lacks (none when the row sends no claim: not
    billable and correcting nothing). The patient and billing practitioner must be
    loaded: select_related, as the worklist selectors do."""
    if not row.billable and row.status != "needs_correction":
        return []
    return [
        label
        for label, fields in ROW_REQUIREMENTS
        if not any(_value(row, field) for field in fields)
    ]


def ready_filter() -> Q:
    """Rows whose claim lacks nothing of ROW_REQUIREMENTS."""
    return reduce(
        and_,
        (~reduce(and_, (Q(**{field: ""}) for field in fields)) for _, fields in ROW_REQUIREMENTS),
    )


def export_missing(row: WorklistRow, provider: BillingProvider | None) -> list[str]:
    """Everything between this row and an exported claim: the practice's billing
    provider first, then the row's own claim data."""
    provider_gaps = [f"billing provider's {gap}" for gap in billing_provider_missing(provider)]
    return provider_gaps + row_missing(row)
