"""Fixtures of the patients tests: a patient of the home practice, one of another
practice, and closing a billing month (the period lock)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from ccm.models import AuditEvent, BillingMonth, Practice, Role, User
from patients.models import Patient
from tests.factories import UserFactory
from tests.patients.factories import PatientFactory


@pytest.fixture
def patient(practice: Practice, practitioner: User) -> Patient:
    """Overrides the shared `patient` (an eligible one) with a bare patient, so each test
    here adds exactly the facts it checks."""
    return PatientFactory(
        practice=practice,
        billing_practitioner=practitioner,
        mrn="MRN-001",
        first_name="Jane",
        last_name="Doe",
    )


@pytest.fixture
def other_practitioner(other_practice: Practice) -> User:
    """A practitioner of another practice (also the outsider of practitioner-only APIs)."""
    return UserFactory(role=Role.PRACTITIONER, practice=other_practice, credential="MD")


@pytest.fixture
def foreign_patient(other_practice: Practice, other_practitioner: User) -> Patient:
    return PatientFactory(
        practice=other_practice, billing_practitioner=other_practitioner, mrn="MRN-001"
    )


@pytest.fixture
def close_month(practice: Practice) -> Callable[..., BillingMonth]:
    """Mark the month holding `day` closed (or closing) for the home practice."""

    def close(day: dt.date, status: str = BillingMonth.Status.CLOSED) -> BillingMonth:
        month, _ = BillingMonth.objects.update_or_create(
            practice=practice, month=day.replace(day=1), defaults={"status": status}
        )
        return month

    return close


@pytest.fixture
def audit_events() -> Callable[..., list[AuditEvent]]:
    """The audit events of an action, oldest first."""

    def events(action: str) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(action=action).order_by("id"))

    return events
