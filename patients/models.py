"""Patient records that decide CCM eligibility (billing-rules.md section 4): chronic
conditions, consents, visits, care plans, services billed elsewhere, inpatient stays."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from ccm.models import Practice
from ccm.us_address import validate_state, validate_zip
from patients.mbi import validate_mbi

#: The payer a patient's CCM claims go to unless their coverage says otherwise.
MEDICARE_PART_B = "Medicare Part B"


class Sex(models.TextChoices):
    """Administrative sex as claims carry it (837P DMG03, FHIR Patient.gender)."""

    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Unknown"


class Patient(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=40)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    billing_practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing_patients"
    )
    is_active = models.BooleanField(default=True)
    # What a claim needs (837P subscriber loop 2010BA, FHIR Patient and Coverage); the
    # month close needs none of it, the worklist flags a claim that lacks it.
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True, default="", db_default="")
    mbi = models.CharField(
        "MBI",
        max_length=11,
        blank=True,
        default="",
        db_default="",
        validators=[validate_mbi],
        help_text="Medicare Beneficiary Identifier (CMS format), stored without dashes.",
    )
    address_line = models.CharField(max_length=55, blank=True, default="", db_default="")
    city = models.CharField(max_length=30, blank=True, default="", db_default="")
    state = models.CharField(
        max_length=2, blank=True, default="", db_default="", validators=[validate_state]
    )
    zip = models.CharField(
        "ZIP code", max_length=9, blank=True, default="", db_default="", validators=[validate_zip]
    )
    payer_name = models.CharField(
        max_length=60, default=MEDICARE_PART_B, db_default=MEDICARE_PART_B
    )
    payer_id = models.CharField(
        max_length=20,
        blank=True,
        default="",
        db_default="",
        help_text="The payer's id on claims; blank: the practice's Medicare payer id.",
    )
    member_id = models.CharField(
        max_length=30,
        blank=True,
        default="",
        db_default="",
        help_text="The coverage's member id; blank: the MBI.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["last_name", "first_name", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["practice", "mrn"], name="patient_mrn_unique_per_practice"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["practice", "last_name", "first_name"]),
            models.Index(fields=["practice", "billing_practitioner"]),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_medicare_part_b(self) -> bool:
        return self.payer_name.strip().casefold() == MEDICARE_PART_B.casefold()

    @property
    def subscriber_id(self) -> str:
        """The id the payer knows the patient by: the member id, else the MBI."""
        return self.member_id or self.mbi


class ChronicCondition(models.Model):
    """A chronic condition by ICD-10-CM code, active from `onset` until `resolved`.

    It counts toward CCM eligibility when the engine's classification marks its code
    chronic, or when a practitioner attests that it is expected to last at least 12
    months or until death (billing rule CONDITION_NOT_CHRONIC): who and when."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="conditions")
    icd10 = models.CharField("ICD-10-CM", max_length=8)
    description = models.CharField(max_length=255, blank=True)
    onset = models.DateField()
    resolved = models.DateField(null=True, blank=True)
    attested_chronic_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    attested_chronic_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(resolved__isnull=True) | Q(resolved__gte=models.F("onset")),
                name="condition_resolved_after_onset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.icd10} {self.description}"

    @property
    def attested_chronic(self) -> bool:
        return self.attested_chronic_by_id is not None


class Consent(models.Model):
    """The patient's consent to CCM with one billing practitioner, and the four things
    the patient must be told (CMS): the service is available, cost sharing applies, only
    one practitioner can bill it a month, they may stop at any time."""

    class Method(models.TextChoices):
        VERBAL = "verbal", "Verbal"
        WRITTEN = "written", "Written"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    date = models.DateField()
    method = models.CharField(max_length=10, choices=Method.choices)
    billing_practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consents_received"
    )
    informed_service_available = models.BooleanField(default=True)
    informed_cost_sharing = models.BooleanField(default=True)
    informed_one_practitioner = models.BooleanField(default=True)
    informed_may_stop = models.BooleanField(default=True)
    revoked = models.DateField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["date", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(revoked__isnull=True) | Q(revoked__gte=models.F("date")),
                name="consent_revoked_after_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} consent {self.date}"


class Visit(models.Model):
    """A face-to-face visit: prior visits and the initiating visit of CCM, with the
    practitioner who saw the patient (only the billing practitioner's visits count for
    the 12-month rule) and a code of patients.visit_codes."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="visits")
    date = models.DateField()
    code = models.CharField(max_length=10)
    ccm_discussed = models.BooleanField(default=False)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.code} on {self.date}"


class CarePlan(models.Model):
    """One version of the patient's comprehensive care plan (the typical CMS elements).
    A change writes a new version; the newest is current, older ones stay readable.

    The plan in force in a month is the latest established on/before its last day; it
    was last reviewed or revised on `reviewed` (blank: the day it was established;
    billing rule CARE_PLAN_NOT_REVIEWED) and signed by the billing practitioner
    (CARE_PLAN_UNSIGNED)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_plans")
    version = models.PositiveIntegerField()
    established = models.DateField()
    problems = models.TextField("problem list")
    expected_outcome = models.TextField("expected outcome and prognosis", blank=True)
    goals = models.TextField("measurable goals")
    symptom_management = models.TextField(blank=True)
    interventions = models.TextField("planned interventions")
    medication_management = models.TextField(blank=True)
    coordination = models.TextField("coordination with outside providers", blank=True)
    reviewed = models.DateField("last reviewed", null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-version"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["patient", "version"], name="care_plan_version_unique"),
        ]

    def __str__(self) -> str:
        return f"care plan v{self.version} ({self.established})"


class OtherService(models.Model):
    """A service billed elsewhere that may exclude or overlap CCM (hospice or home-health
    supervision, ESRD, PCM, another practitioner's CCM)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="other_services")
    code = models.CharField(max_length=10)
    date = models.DateField()
    practitioner_npi = models.CharField(max_length=10, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.code} on {self.date}"


class InpatientStay(models.Model):
    """An inpatient hospital or skilled nursing stay; CCM time dated within it (both days
    included) does not count."""

    class Kind(models.TextChoices):
        HOSPITAL = "hospital", "Inpatient hospital"
        SNF = "snf", "Skilled nursing facility"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="inpatient_stays")
    admitted = models.DateField()
    discharged = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HOSPITAL)
    facility = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["admitted", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(discharged__gte=models.F("admitted")),
                name="stay_discharged_after_admitted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.admitted}-{self.discharged}"
