"""Plain forms of the patient pages. They parse input only; the services validate the
facts, and `apply_service_errors` puts the services' errors next to the fields."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from ccm.limits import CARE_PLAN_TEXT_MAX_LENGTH
from ccm.models import Practice, User
from patients.models import Consent, InpatientStay
from patients.selectors import practice_practitioners
from patients.visit_codes import VISIT_CODES as KNOWN_VISIT_CODES

# Codes offered on the pages (the service refuses any other).
VISIT_CODES: list[tuple[str, str]] = [
    (visit.code, f"{visit.description} ({visit.group})") for visit in KNOWN_VISIT_CODES.values()
]
OTHER_SERVICE_CODES: list[tuple[str, str]] = [
    ("G0182", "Hospice care plan oversight (supervision)"),
    ("G0181", "Home health care plan oversight (supervision)"),
    ("90960", "ESRD monthly services, 4+ visits (ESRD 90951-90970)"),
    ("90961", "ESRD monthly services, 2-3 visits"),
    ("90966", "ESRD home dialysis, per month"),
    ("90970", "ESRD home dialysis, per day"),
    ("99424", "PCM, practitioner, first 30 min"),
    ("99426", "PCM, clinical staff, first 30 min"),
    ("G0556", "Advanced Primary Care Management (APCM)"),
    ("99490", "CCM by another practitioner, first 20 min"),
    ("99487", "Complex CCM by another practitioner"),
    ("99491", "CCM by another practitioner personally, 30 min"),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: next to the field it names when the
    form has that field, above the form otherwise."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


def _limit_to_practitioners(form: forms.Form, name: str, practice: Practice) -> None:
    cast(forms.ModelChoiceField, form.fields[name]).queryset = practice_practitioners(
        practice=practice
    )


class PractitionerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        user: User = obj
        return user.display_name


class PatientForm(forms.Form):
    mrn = forms.CharField(label="MRN", max_length=40)
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    birth_date = forms.DateField(widget=DateInput())
    billing_practitioner = PractitionerChoiceField(queryset=User.objects.none())

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_to_practitioners(self, "billing_practitioner", practice)


class PatientEditForm(PatientForm):
    is_active = forms.BooleanField(label="Active patient", required=False)


class ConditionForm(forms.Form):
    icd10 = forms.CharField(
        label="ICD-10-CM code",
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "E11.9", "autocapitalize": "characters"}),
    )
    description = forms.CharField(
        max_length=255, required=False, help_text="Leave blank for the code set's description."
    )
    onset = forms.DateField(widget=DateInput())
    resolved = forms.DateField(widget=DateInput(), required=False)


class ConsentForm(forms.Form):
    date = forms.DateField(widget=DateInput())
    method = forms.ChoiceField(
        choices=Consent.Method.choices, widget=forms.RadioSelect, initial=Consent.Method.VERBAL
    )
    billing_practitioner = PractitionerChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="The patient's billing practitioner",
    )
    informed_service_available = forms.BooleanField(
        required=False, label="Told that CCM is available"
    )
    informed_cost_sharing = forms.BooleanField(
        required=False, label="Told that cost sharing applies"
    )
    informed_one_practitioner = forms.BooleanField(
        required=False, label="Told that only one practitioner can bill CCM a month"
    )
    informed_may_stop = forms.BooleanField(
        required=False, label="Told that they may stop at any time"
    )

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_to_practitioners(self, "billing_practitioner", practice)


class ConsentRevokeForm(forms.Form):
    date = forms.DateField(label="Revoked on", widget=DateInput())
    reason = forms.CharField(max_length=500)


class VisitForm(forms.Form):
    date = forms.DateField(widget=DateInput())
    code = forms.CharField(
        max_length=10, label="Visit code", widget=forms.TextInput(attrs={"list": "visit-codes"})
    )
    ccm_discussed = forms.BooleanField(required=False, label="CCM discussed at this visit")
    practitioner = PractitionerChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="(not recorded)",
        label="Seen by",
        help_text="Only the billing practitioner's own visits count for CCM.",
    )

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_to_practitioners(self, "practitioner", practice)


class OtherServiceForm(forms.Form):
    code = forms.CharField(
        max_length=10,
        widget=forms.TextInput(attrs={"list": "other-service-codes"}),
        help_text="Hospice G0182, home health G0181, ESRD 90951-90970, "
        "PCM 99424-99427, another practitioner's CCM 99490...",
    )
    date = forms.DateField(widget=DateInput())
    practitioner_npi = forms.CharField(label="Practitioner NPI", max_length=20, required=False)
    note = forms.CharField(max_length=255, required=False)


class InpatientStayForm(forms.Form):
    admitted = forms.DateField(widget=DateInput())
    discharged = forms.DateField(widget=DateInput())
    kind = forms.ChoiceField(
        choices=InpatientStay.Kind.choices, initial=InpatientStay.Kind.HOSPITAL
    )
    facility = forms.CharField(max_length=200, required=False)


class CarePlanText(forms.CharField):
    """A section of the care plan: a text area, at most CARE_PLAN_TEXT_MAX_LENGTH long."""

    def __init__(self, *, rows: int = 2, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows}))
        super().__init__(max_length=CARE_PLAN_TEXT_MAX_LENGTH, **kwargs)


class CarePlanForm(forms.Form):
    established = forms.DateField(widget=DateInput())
    problems = CarePlanText(label="Problem list", rows=3)
    expected_outcome = CarePlanText(label="Expected outcome and prognosis", required=False)
    goals = CarePlanText(label="Measurable goals", rows=3)
    symptom_management = CarePlanText(required=False)
    interventions = CarePlanText(label="Planned interventions", rows=3)
    medication_management = CarePlanText(required=False)
    coordination = CarePlanText(label="Coordination with outside providers", required=False)
    reviewed = forms.DateField(
        label="Last reviewed",
        widget=DateInput(),
        required=False,
        help_text="The last review or revision; blank: the day it was established.",
    )
