"""Forms of the shared layer's pages: the practice admin's user management and practice
settings. They parse input only; ccm.services validates and writes."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from ccm.models import Practice, Role, User


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: next to the field it names when the
    form has that field, above the form otherwise."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


class UserFieldsForm(forms.Form):
    """What the admin sets of a user: role, name, credential, NPI (checked by the
    service: an NPI's check digit, an NPI for every practitioner)."""

    full_name = forms.CharField(max_length=200, label="Full name")
    role = forms.ChoiceField(choices=Role.choices)
    credential = forms.CharField(
        max_length=20,
        required=False,
        help_text="RN, LPN, CMA, MD, DO, NP, PA… (printed after the name on claims and notes)",
    )
    npi = forms.CharField(
        max_length=10,
        required=False,
        label="NPI",
        help_text="10 digits; required for practitioners.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_npi(self) -> str:
        return "".join(str(self.cleaned_data.get("npi", "")).split())


class UserCreateForm(UserFieldsForm):
    username = forms.CharField(
        max_length=150,
        help_text="What they type to sign in: letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )

    field_order = ("username", "full_name", "role", "credential", "npi")


class PracticeSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    """The practice's settings an admin may change (more are added beside them)."""

    class Meta:
        model = Practice
        fields = ("name", "fee_locality")
        labels = {"fee_locality": "Medicare fee locality"}


def user_initial(user: User) -> dict[str, str]:
    return {
        "full_name": user.full_name,
        "role": user.role,
        "credential": user.credential,
        "npi": user.npi,
    }
