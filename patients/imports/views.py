"""The practice admin's bulk enrollment page: upload a CSV or a FHIR Bundle, check it
(a dry run), import it; the problems are listed by line (or entry) and field."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ccm.models import Practice, User
from ccm.views import role_required
from patients.imports.csv_format import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from patients.imports.services import IMPORTERS, MAX_FILE_BYTES, patients_import


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A CSV (columns below) or a FHIR R4B Bundle (.json).")
    dry_run = forms.BooleanField(required=False, initial=True, label="Check only (write nothing)")

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_FILE_BYTES:,} bytes.")
        return bytes(upload.read())


@role_required(IMPORTERS)
def patient_import(request: HttpRequest) -> HttpResponse:
    """Bulk enrollment (patients.imports.services.patients_import: all rows or none)."""
    user: User = request.user  # type: ignore[assignment]
    practice: Practice = user.practice  # type: ignore[assignment]
    form = ImportForm(request.POST or None, request.FILES or None)
    result, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            result = patients_import(
                practice=practice,
                actor=user,
                content=form.cleaned_data["file"],
                dry_run=form.cleaned_data["dry_run"],
            )
            status = 400 if result.errors else 200
        else:
            status = 400
    return render(
        request,
        "patients/import.html",
        {
            "form": form,
            "result": result,
            "required_columns": REQUIRED_COLUMNS,
            "optional_columns": OPTIONAL_COLUMNS,
        },
        status=status,
    )
