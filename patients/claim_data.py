"""The patient's claim data: sex, MBI, address and coverage (what an 837P or FHIR claim
needs), as a page and as GET/PATCH /api/patients/{id}/claim-data/, for the roles that
edit patients and for billing staff, who fix what the worklist says a claim lacks
(interface.md's PATCH /api/patients/{id}/ takes the same fields, for the roles that edit
patients). Saved by patients.services.patient_update: the MBI validated by CMS's format,
audited."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with
from ccm.models import Practice, User
from ccm.us_address import zip_text
from ccm.views import role_required
from patients import selectors, services
from patients.api import PatientScopedApi
from patients.forms import apply_service_errors
from patients.models import MEDICARE_PART_B, Patient, Sex
from patients.serializers import PatientCreateInputSerializer

CLAIM_DATA_WRITERS = roles_with(C.RECORD_COVERAGE)


class ClaimDataForm(forms.Form):
    sex = forms.ChoiceField(choices=[("", "Not recorded"), *Sex.choices], required=False)
    mbi = forms.CharField(
        label="MBI", max_length=20, required=False, help_text="As on the card: 1EG4-TE5-MK73."
    )
    address_line = forms.CharField(label="Street address", max_length=55, required=False)
    city = forms.CharField(max_length=30, required=False)
    state = forms.CharField(max_length=2, required=False, help_text="Two letters: NY.")
    zip = forms.CharField(label="ZIP code", max_length=10, required=False)
    payer_name = forms.CharField(
        max_length=60, required=False, help_text=f"Blank: {MEDICARE_PART_B}."
    )
    payer_id = forms.CharField(
        max_length=20, required=False, help_text="Blank: the practice's Medicare payer id."
    )
    member_id = forms.CharField(max_length=30, required=False, help_text="Blank: the MBI.")


@role_required(CLAIM_DATA_WRITERS)
def patient_claim_data(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit what the patient's claims need (no billing rule reads it; the worklist flags a
    claim that lacks it)."""
    user: User = request.user  # type: ignore[assignment]
    practice: Practice = user.practice  # type: ignore[assignment]
    patient = selectors.patient_get(practice=practice, patient_id=pk)
    initial = {field: getattr(patient, field) for field in services.PATIENT_CLAIM_FIELDS}
    initial["zip"] = zip_text(patient.zip)
    form = ClaimDataForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.patient_update(patient=patient, actor=user, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, "Claim data saved.")
                return redirect(reverse("patient-detail", args=[patient.pk]))
    return render(
        request, "patients/claim_data_form.html", {"form": form, "patient": patient}, status=status
    )


class ClaimDataInputSerializer(PatientCreateInputSerializer):
    """Only the claim fields of the patient input (all optional)."""

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        fields = super().get_fields()
        return {name: fields[name] for name in services.PATIENT_CLAIM_FIELDS}


class ClaimDataOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    sex = serializers.CharField(read_only=True, help_text="F, M, U; empty: not recorded.")

    class Meta:
        model = Patient
        fields = ("id", *services.PATIENT_CLAIM_FIELDS)
        read_only_fields = fields


class ClaimDataApi(PatientScopedApi):
    """GET/PATCH /api/patients/{id}/claim-data/: the patient's claim data."""

    allowed_roles = {"GET": services.PATIENT_READERS, "PATCH": CLAIM_DATA_WRITERS}
    serializer_class = ClaimDataOutputSerializer
    queryset = Patient.objects.none()

    def get(self, request: Request, patient_id: int) -> Response:
        return Response(ClaimDataOutputSerializer(self.patient).data)

    @extend_schema(request=ClaimDataInputSerializer, responses=ClaimDataOutputSerializer)
    def patch(self, request: Request, patient_id: int) -> Response:
        data = ClaimDataInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.patient_update(patient=self.patient, actor=request.user, **data.validated_data)
        return Response(ClaimDataOutputSerializer(self.patient).data)
