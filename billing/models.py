"""Billing data: MDM attestations and the practice's fee schedule (the engine itself is
billing/rules, pure)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from ccm.models import Practice
from patients.models import Patient


class MdmLevel(models.TextChoices):
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class MdmAttestation(models.Model):
    """The billing practitioner's attestation of moderate or high medical decision-making
    for a patient-month: with 60+ staff minutes it makes the month complex CCM (99487)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="mdm_attestations")
    month = models.DateField(help_text="The first day of the month attested.")
    level = models.CharField(max_length=10, choices=MdmLevel.choices)
    note = models.TextField()
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mdm_attestations"
    )
    signed_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patient", "month"], name="mdm_one_per_patient_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="mdm_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"MDM {self.level} {self.month:%Y-%m}"


class FeeScheduleEntry(models.Model):
    """A practice's expected payment for one code in one year and locality; it replaces
    the rulebook's shipped national default (billing-rules.md section 1: fees are data)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="fees")
    code = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    locality = models.CharField(max_length=20, blank=True)
    amount = models.DecimalField(max_digits=9, decimal_places=2)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["year", "locality", "code"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["practice", "code", "year", "locality"],
                                    name="fee_unique_per_code_year_locality"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.year} {self.locality or 'national'}: {self.amount}"
