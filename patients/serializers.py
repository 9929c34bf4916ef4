"""Explicit input and output serializers of the patients API: inputs only parse and shape
the request (the services validate the facts), outputs only present rows."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ccm.capabilities import sight_of
from ccm.limits import CARE_PLAN_TEXT_MAX_LENGTH, REASON_MAX_LENGTH
from ccm.models import User
from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Sex,
    Visit,
)
from patients.selectors import patient_current_care_plan


class PracticeUserField(serializers.PrimaryKeyRelatedField):
    """A user id of the caller's practice; another practice's user is "not found", like a
    user that does not exist (their existence is not confirmed)."""

    default_error_messages = {
        "does_not_exist": "No user with id {pk_value} in your practice.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=User.objects.all(), **kwargs)

    def get_queryset(self) -> QuerySet[User]:
        request = self.context.get("request")
        practice_id = getattr(getattr(request, "user", None), "practice_id", None)
        if practice_id is None:
            return User.objects.none()
        return User.objects.filter(practice_id=practice_id)


# -- inputs ----------------------------------------------------------------------------


class PatientCreateInputSerializer(serializers.Serializer):
    mrn = serializers.CharField(max_length=40)
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    birth_date = serializers.DateField()
    billing_practitioner = PracticeUserField(help_text="The id of a practitioner of the practice.")
    # What a claim needs (optional; the service validates the MBI, state and ZIP).
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, allow_blank=True)
    mbi = serializers.CharField(
        max_length=20, required=False, allow_blank=True, help_text="1EG4-TE5-MK73 or 1EG4TE5MK73."
    )
    address_line = serializers.CharField(max_length=55, required=False, allow_blank=True)
    city = serializers.CharField(max_length=30, required=False, allow_blank=True)
    state = serializers.CharField(max_length=2, required=False, allow_blank=True)
    zip = serializers.CharField(max_length=10, required=False, allow_blank=True)
    payer_name = serializers.CharField(
        max_length=60, required=False, allow_blank=True, help_text="Blank: Medicare Part B."
    )
    payer_id = serializers.CharField(max_length=20, required=False, allow_blank=True)
    member_id = serializers.CharField(
        max_length=30, required=False, allow_blank=True, help_text="Blank: the MBI."
    )


class PatientUpdateInputSerializer(PatientCreateInputSerializer):
    is_active = serializers.BooleanField(required=False)


class ConditionInputSerializer(serializers.Serializer):
    icd10 = serializers.CharField(max_length=20, help_text="An ICD-10-CM code: E11.9 or E119.")
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    onset = serializers.DateField()
    resolved = serializers.DateField(required=False, allow_null=True)


class ConsentInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    method = serializers.ChoiceField(choices=Consent.Method.choices)
    billing_practitioner = PracticeUserField(
        required=False, allow_null=True, help_text="Defaults to the patient's."
    )
    informed_service_available = serializers.BooleanField(default=True)
    informed_cost_sharing = serializers.BooleanField(default=True)
    informed_one_practitioner = serializers.BooleanField(default=True)
    informed_may_stop = serializers.BooleanField(default=True)


class ConsentRevokeInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    reason = serializers.CharField(allow_blank=True, max_length=REASON_MAX_LENGTH)


class VisitInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    code = serializers.CharField(
        max_length=10,
        help_text="A visit code of the practice (patients.visit_codes): 99214, G0438, 99495...",
    )
    ccm_discussed = serializers.BooleanField(default=False)
    practitioner = PracticeUserField(
        required=False,
        allow_null=True,
        help_text="The practitioner who saw the patient (a user id); default: the caller "
        "when a practitioner, else none.",
    )


def care_plan_text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=CARE_PLAN_TEXT_MAX_LENGTH, **kwargs)


class CarePlanInputSerializer(serializers.Serializer):
    established = serializers.DateField()
    problems = care_plan_text()
    goals = care_plan_text()
    interventions = care_plan_text()
    expected_outcome = care_plan_text(required=False, allow_blank=True, default="")
    symptom_management = care_plan_text(required=False, allow_blank=True, default="")
    medication_management = care_plan_text(required=False, allow_blank=True, default="")
    coordination = care_plan_text(required=False, allow_blank=True, default="")
    reviewed = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The last review or revision of the plan; defaults to `established`.",
    )


class OtherServiceInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=10, help_text="G0182, G0181, 90960, 99424, 99490...")
    date = serializers.DateField()
    practitioner_npi = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default=""
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class InpatientStayInputSerializer(serializers.Serializer):
    admitted = serializers.DateField()
    discharged = serializers.DateField()
    kind = serializers.ChoiceField(
        choices=InpatientStay.Kind.choices, default=InpatientStay.Kind.HOSPITAL
    )
    facility = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


# -- outputs ---------------------------------------------------------------------------


def _name(user: User | None) -> str | None:
    return user.display_name if user is not None else None


class ConditionOutputSerializer(serializers.ModelSerializer):
    attested_chronic = serializers.BooleanField(read_only=True)
    attested_chronic_by_name = serializers.SerializerMethodField()

    class Meta:
        model = ChronicCondition
        fields = (
            "id",
            "icd10",
            "description",
            "onset",
            "resolved",
            "attested_chronic",
            "attested_chronic_by",
            "attested_chronic_by_name",
            "attested_chronic_at",
            "created_at",
        )
        read_only_fields = fields

    def get_attested_chronic_by_name(self, condition: ChronicCondition) -> str | None:
        return _name(condition.attested_chronic_by)


class ConsentOutputSerializer(serializers.ModelSerializer):
    billing_practitioner_name = serializers.CharField(
        source="billing_practitioner.display_name", read_only=True
    )

    class Meta:
        model = Consent
        fields = (
            "id",
            "date",
            "method",
            "billing_practitioner",
            "billing_practitioner_name",
            "informed_service_available",
            "informed_cost_sharing",
            "informed_one_practitioner",
            "informed_may_stop",
            "revoked",
            "revoked_reason",
            "recorded_by",
            "created_at",
        )
        read_only_fields = fields


class VisitOutputSerializer(serializers.ModelSerializer):
    practitioner_name = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        fields = (
            "id",
            "date",
            "code",
            "ccm_discussed",
            "practitioner",
            "practitioner_name",
            "created_at",
        )
        read_only_fields = fields

    def get_practitioner_name(self, visit: Visit) -> str | None:
        return _name(visit.practitioner)


class CarePlanOutputSerializer(serializers.ModelSerializer):
    signed_by_name = serializers.SerializerMethodField()

    class Meta:
        model = CarePlan
        fields = (
            "id",
            "version",
            "established",
            "problems",
            "expected_outcome",
            "goals",
            "symptom_management",
            "interventions",
            "medication_management",
            "coordination",
            "reviewed",
            "signed_by",
            "signed_by_name",
            "signed_at",
            "created_by",
            "created_at",
        )
        read_only_fields = fields

    def get_signed_by_name(self, plan: CarePlan) -> str | None:
        return _name(plan.signed_by)


class OtherServiceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OtherService
        fields = ("id", "code", "date", "practitioner_npi", "note", "created_at")
        read_only_fields = fields


class InpatientStayOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = InpatientStay
        fields = ("id", "admitted", "discharged", "kind", "facility", "created_at")
        read_only_fields = fields


class PatientOutputSerializer(serializers.ModelSerializer):
    billing_practitioner_name = serializers.CharField(
        source="billing_practitioner.display_name", read_only=True
    )
    # "" when not recorded: the choice field's enum would leave it out.
    sex = serializers.CharField(read_only=True, help_text="F, M, U; empty: not recorded.")

    class Meta:
        model = Patient
        fields: tuple[str, ...] = (
            "id",
            "mrn",
            "first_name",
            "last_name",
            "birth_date",
            "billing_practitioner",
            "billing_practitioner_name",
            "is_active",
            "sex",
            "mbi",
            "address_line",
            "city",
            "state",
            "zip",
            "payer_name",
            "payer_id",
            "member_id",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = fields


@extend_schema_field(CarePlanOutputSerializer(allow_null=True))
class CurrentCarePlanField(serializers.Field):  # type: ignore[type-arg]
    """The patient's current care plan version (null when none), read-only in use but not
    required in the answer: roles that may not see care plans get none."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", required=False, **kwargs)

    def to_representation(self, patient: Patient) -> dict[str, Any] | None:
        plan = patient_current_care_plan(patient)
        return CarePlanOutputSerializer(plan).data if plan else None


#: The parts of a patient's record that are clinical (ccm.capabilities: SEE_CLINICAL):
#: front desk sees demographics, visits and consents only.
CLINICAL_FIELDS = ("conditions", "care_plan", "other_services", "inpatient_stays")


class PatientDetailOutputSerializer(PatientOutputSerializer):
    """A patient with every fact the billing engine reads (from `patient_detail_get`);
    the clinical parts only for roles that may see them (context "request")."""

    # Not required in the answer (not read-only): roles without SEE_CLINICAL get none.
    conditions = ConditionOutputSerializer(many=True, required=False)
    consents = ConsentOutputSerializer(many=True, read_only=True)
    visits = VisitOutputSerializer(many=True, read_only=True)
    care_plan = CurrentCarePlanField()
    other_services = OtherServiceOutputSerializer(many=True, required=False)
    inpatient_stays = InpatientStayOutputSerializer(many=True, required=False)

    class Meta(PatientOutputSerializer.Meta):
        fields = (
            *PatientOutputSerializer.Meta.fields,
            "conditions",
            "consents",
            "visits",
            "care_plan",
            "other_services",
            "inpatient_stays",
        )
        read_only_fields = fields

    def to_representation(self, patient: Patient) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(patient)
        request = self.context.get("request")
        return sight_of(getattr(request, "user", None)).drop_unseen(data, clinical=CLINICAL_FIELDS)
