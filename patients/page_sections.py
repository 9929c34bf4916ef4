"""Sections that higher apps put at the head of the patient page.

The patient page leads with the patient's month (minutes, progress, findings), which the
billing app works out; patients may not import billing (dependencies point one way), so
billing registers a function here when it starts (billing.apps) and the page calls what
is registered. A section is HTML, or None when the signed-in person's role may not see it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from patients.models import Patient

LeadingSection = Callable[[HttpRequest, Patient], SafeString | None]

_leading: list[LeadingSection] = []


def register_leading_section(section: LeadingSection) -> None:
    """Show `section` at the head of every patient page (once, however often called)."""
    if section not in _leading:
        _leading.append(section)


def leading_sections(request: HttpRequest, patient: Patient) -> list[SafeString]:
    """The registered sections for this request, in registration order."""
    rendered = (section(request, patient) for section in _leading)
    return [html for html in rendered if html]
