"""The practice as billing provider of its claims: `GET`/`PUT /api/practice/billing-provider/`
(interface.md, "Claims out and audit") and its page, both for billing staff and the
practice admin. Writes go through ccm.services.billing_provider_save (validated, audited)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with
from ccm.models import BillingProvider, Practice, User, billing_provider_missing
from ccm.permissions import caller_practice
from ccm.services import BILLING_PROVIDER_FIELDS, billing_provider_save
from ccm.us_address import zip_text
from ccm.views import role_required

BILLING_PROVIDER_EDITORS = roles_with(C.EDIT_BILLING_PROVIDER)


def billing_provider_of(practice: Practice) -> BillingProvider:
    """The practice's billing provider, or an unsaved blank one (defaults filled)."""
    found = BillingProvider.objects.filter(practice=practice).first()
    return found or BillingProvider(practice=practice)


class BillingProviderInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The fields of interface.md (required) and the claim envelope's ids (optional:
    unchanged when left out). The service validates each value."""

    name = serializers.CharField(max_length=60)
    npi = serializers.CharField(max_length=12)
    tax_id = serializers.CharField(max_length=12, help_text="EIN: 12-3456789.")
    address_line = serializers.CharField(max_length=55)
    city = serializers.CharField(max_length=30)
    state = serializers.CharField(max_length=2)
    zip = serializers.CharField(max_length=10, help_text="ZIP+4: 12345-6789.")
    taxonomy = serializers.CharField(max_length=10, help_text="207Q00000X, 207R00000X...")
    place_of_service = serializers.CharField(max_length=2, required=False, help_text="11.")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    payer_id = serializers.CharField(max_length=20, required=False, allow_blank=True)
    submitter_id = serializers.CharField(max_length=15, required=False, allow_blank=True)
    receiver_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    receiver_id = serializers.CharField(max_length=15, required=False, allow_blank=True)
    usage = serializers.ChoiceField(choices=BillingProvider.Usage.choices, required=False)


class BillingProviderOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    npi = serializers.CharField()
    tax_id = serializers.CharField()
    address_line = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    zip = serializers.CharField()
    taxonomy = serializers.CharField()
    place_of_service = serializers.CharField()
    phone = serializers.CharField()
    payer_id = serializers.CharField()
    submitter_id = serializers.CharField()
    receiver_name = serializers.CharField()
    receiver_id = serializers.CharField()
    usage = serializers.CharField()
    missing = serializers.SerializerMethodField(
        help_text="What claims still need (empty: 837P and FHIR exports can go out)."
    )
    updated_at = serializers.DateTimeField(allow_null=True)

    def get_missing(self, provider: BillingProvider) -> list[str]:
        return billing_provider_missing(provider)


class BillingProviderApi(APIView):
    """The practice's billing provider (a blank one until it is first set)."""

    allowed_roles = {"GET": BILLING_PROVIDER_EDITORS, "PUT": BILLING_PROVIDER_EDITORS}

    @extend_schema(responses=BillingProviderOutputSerializer)
    def get(self, request: Request) -> Response:
        provider = billing_provider_of(caller_practice(request))
        return Response(BillingProviderOutputSerializer(provider).data)

    @extend_schema(
        request=BillingProviderInputSerializer, responses=BillingProviderOutputSerializer
    )
    def put(self, request: Request) -> Response:
        data = BillingProviderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = billing_provider_save(
            practice=caller_practice(request),
            actor=cast(User, request.user),
            **data.validated_data,
        )
        return Response(BillingProviderOutputSerializer(provider).data)


# -- the page --------------------------------------------------------------------------


class BillingProviderForm(forms.Form):
    name = forms.CharField(max_length=60, label="Practice name on claims")
    npi = forms.CharField(max_length=12, label="NPI (group)")
    tax_id = forms.CharField(max_length=12, label="Tax id (EIN)")
    address_line = forms.CharField(max_length=55, label="Street address")
    city = forms.CharField(max_length=30)
    state = forms.CharField(max_length=2)
    zip = forms.CharField(max_length=10, label="ZIP+4")
    taxonomy = forms.CharField(max_length=10, help_text="207Q00000X is family medicine.")
    place_of_service = forms.CharField(max_length=2, initial="11", help_text="11: office.")
    phone = forms.CharField(max_length=20, required=False, label="Billing contact phone")
    payer_id = forms.CharField(max_length=20, required=False, label="Medicare payer id")
    submitter_id = forms.CharField(
        max_length=15, required=False, help_text="From your clearinghouse; blank: the NPI."
    )
    receiver_name = forms.CharField(max_length=60, required=False)
    receiver_id = forms.CharField(
        max_length=15, required=False, help_text="Blank: the Medicare payer id."
    )
    usage = forms.ChoiceField(choices=BillingProvider.Usage.choices, label="Files are for")


def _initial(provider: BillingProvider) -> dict[str, Any]:
    initial = {field: getattr(provider, field) for field in BILLING_PROVIDER_FIELDS}
    initial["zip"] = zip_text(provider.zip)
    return initial


@role_required(BILLING_PROVIDER_EDITORS)
def billing_provider_page(request: HttpRequest) -> HttpResponse:
    """The billing provider's identity for claims (ccm.services.billing_provider_save)."""
    user: User = request.user  # type: ignore[assignment]
    practice: Practice = user.practice  # type: ignore[assignment]
    provider = billing_provider_of(practice)
    form = BillingProviderForm(
        request.POST if request.method == "POST" else None, initial=_initial(provider)
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                billing_provider_save(practice=practice, actor=user, **form.cleaned_data)
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                messages.success(request, "Billing provider saved.")
                return redirect("billing-provider")
        status = 400
    return render(
        request,
        "ccm/billing_provider.html",
        {"form": form, "missing": billing_provider_missing(provider), "provider": provider},
        status=status,
    )
