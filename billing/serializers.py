"""Output shapes of the billing API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.claims.readiness import row_missing
from ccm.capabilities import Sight
from ccm.limits import NOTE_MAX_LENGTH, REASON_MAX_LENGTH


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2025-03"})
class MonthField(serializers.DateField):
    """A month as YYYY-MM (stored as its first day): the OpenAPI document must not call
    it a date, or clients validating answers reject every one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m", **kwargs)


class DecisionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The engine's decision (billing-rules.md section 3), already JSON."""

    month = serializers.CharField()
    billable = serializers.BooleanField()
    tier = serializers.CharField(allow_null=True)
    # Lines carry unit_amount and amount, and total_amount is given, only to callers who
    # may see the money (decision_seen).
    lines = serializers.ListField(child=serializers.DictField())
    total_amount = serializers.CharField(required=False)
    counted_seconds = serializers.DictField(child=serializers.IntegerField())
    excluded_seconds = serializers.IntegerField()
    service_date = serializers.CharField(allow_null=True)
    diagnoses = serializers.ListField(child=serializers.CharField())
    next_threshold = serializers.DictField(allow_null=True)
    findings = serializers.ListField(child=serializers.DictField())


#: The keys of a decision (billing-rules.md section 3) and of its lines that carry money.
DECISION_MONEY_KEYS = ("total_amount",)
LINE_MONEY_KEYS = ("unit_amount", "amount")


def decision_seen(decision: dict[str, Any], sight: Sight) -> dict[str, Any]:
    """A decision's JSON as `sight` may see it: codes and units always, amounts only for
    those who may see the money (ccm.capabilities)."""
    if sight.money:
        return decision
    lines = [
        {k: v for k, v in line.items() if k not in LINE_MONEY_KEYS} for line in decision["lines"]
    ]
    return {
        k: lines if k == "lines" else v for k, v in decision.items() if k not in DECISION_MONEY_KEYS
    }


class MonthEntrySerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(source="activity.id")
    date = serializers.DateField()
    started_at = serializers.TimeField(source="activity.started_at", allow_null=True)
    performer = serializers.CharField(source="activity.performer.display_name")
    performer_kind = serializers.CharField(source="activity.performer_kind")
    activity = serializers.CharField(source="activity.activity")
    program = serializers.CharField(source="activity.program")
    note = serializers.CharField(source="activity.note")
    outcome = serializers.CharField(source="activity.outcome")
    duration_seconds = serializers.IntegerField(source="activity.duration_seconds")
    shared_with = serializers.IntegerField(source="activity.patient_count")
    seconds = serializers.IntegerField()


class PatientMonthSerializer(serializers.Serializer):  # type: ignore[type-arg]
    patient = serializers.IntegerField()
    month = serializers.CharField()
    month_status = serializers.CharField()
    decision = DecisionSerializer()
    entries = MonthEntrySerializer(many=True)


class ClaimLineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    units = serializers.IntegerField()
    unit_amount = serializers.DecimalField(max_digits=9, decimal_places=2)
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)


class WorklistRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    patient_name = serializers.SerializerMethodField()
    mrn = serializers.CharField(source="patient.mrn")
    month = MonthField()
    version = serializers.IntegerField()
    billing_practitioner = serializers.IntegerField(source="billing_practitioner_id")
    tier = serializers.CharField(allow_blank=True)
    billable = serializers.BooleanField()
    lines = ClaimLineSerializer(many=True)
    total_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    counted_minutes = serializers.IntegerField()
    service_date = serializers.DateField(allow_null=True)
    diagnoses = serializers.ListField(child=serializers.CharField())
    findings = serializers.ListField(child=serializers.DictField())
    rulebook = serializers.CharField()
    status = serializers.CharField()
    denial_reason = serializers.CharField(allow_blank=True)
    supersedes = serializers.IntegerField(
        source="supersedes_id",
        allow_null=True,
        help_text="The row of an earlier version whose claim went out (submitted, paid or "
        "denied) and which this row continues, unchanged or correcting it.",
    )
    previous_lines = ClaimLineSerializer(
        many=True,
        allow_null=True,
        help_text="The lines of that claim when this row's lines differ (needs_correction).",
    )
    correction_reason = serializers.CharField(
        allow_blank=True, help_text="Why the lines changed (needs_correction)."
    )
    claim_missing = serializers.SerializerMethodField(
        help_text="What this row lacks to go out as an 837P or FHIR claim."
    )

    def get_claim_missing(self, row: Any) -> list[str]:
        return row_missing(row)

    def get_patient_name(self, row: object) -> str:
        patient = row.patient  # type: ignore[attr-defined]
        return f"{patient.last_name}, {patient.first_name}"


class CloseRunSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    task_id = serializers.UUIDField()
    patients = serializers.IntegerField()
    chunks_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class BillingMonthSerializer(serializers.Serializer):  # type: ignore[type-arg]
    month = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    run = CloseRunSerializer(allow_null=True)
    counts = serializers.DictField(child=serializers.IntegerField())
    total_amount = serializers.DecimalField(max_digits=12, decimal_places=2)


class ReopenInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(allow_blank=True, max_length=REASON_MAX_LENGTH)


class RowStatusInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(
        choices=["ready", "submitted", "paid", "denied", "needs_review"]
    )
    denial_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=REASON_MAX_LENGTH
    )


class RowsStatusInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=1000,
    )
    #: A batch goes one way: to the payer (a denial needs its own reason, row by row).
    status = serializers.ChoiceField(choices=["submitted"])


class RowsStatusOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    count = serializers.IntegerField()
    rows = WorklistRowSerializer(many=True)


class MdmInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    level = serializers.ChoiceField(choices=["moderate", "high"])
    note = serializers.CharField(allow_blank=True, max_length=NOTE_MAX_LENGTH)


class MdmOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    patient = serializers.IntegerField(source="patient_id")
    month = MonthField()
    level = serializers.CharField()
    note = serializers.CharField()
    practitioner = serializers.IntegerField(source="practitioner_id")
    signed_at = serializers.DateTimeField()
