"""The fee schedule page: what each code pays the practice this year, and a CSV upload."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from billing.fees import FEE_CSV_HEADER, FEE_EDITORS, effective_fees, fee_schedule_import
from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with
from ccm.views import role_required


class FeeUploadForm(forms.Form):
    file = forms.FileField(label="Fee schedule CSV", help_text=",".join(FEE_CSV_HEADER))


@role_required(roles_with(C.SEE_REVENUE))
def fee_schedule_page(request: HttpRequest) -> HttpResponse:
    """The effective fees of a year (billing-rules.md section 1: money, so billing staff
    and admins only) and, for those who edit fees, the CSV import."""
    year_text = request.GET.get("year", "")
    year = (
        int(year_text)
        if year_text.isdigit() and 2000 <= int(year_text) <= 2100
        else timezone.localdate().year
    )
    practice = request.user.practice  # type: ignore[union-attr]
    can_edit = request.user.role in FEE_EDITORS  # type: ignore[union-attr]
    form = FeeUploadForm()
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Your role may not change the fee schedule.")
        form = FeeUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
                result = fee_schedule_import(practice=practice, actor=request.user, text=text)
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text.")
            except ValidationError as error:
                for message in error.message_dict.get("file", error.messages):
                    form.add_error("file", message)
            else:
                messages.success(
                    request,
                    f"Fee schedule loaded: {result.created} new, "
                    f"{result.updated} changed, {result.unchanged} unchanged.",
                )
                return redirect(f"{request.path}?year={year}")
    return render(
        request,
        "billing/fees.html",
        {
            "year": year,
            "fees": effective_fees(practice, year),
            "form": form,
            "can_edit": can_edit,
            "locality": practice.fee_locality or "national",
        },
    )
