"""Fixtures for time-logging tests: eligible patients of the home practice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from ccm.models import Practice, User
from patients.models import CarePlan, ChronicCondition, Consent, Patient
from tests.factories import PatientFactory


def make_eligible(patient: Patient, since: dt.date = dt.date(2025, 1, 10)) -> Patient:
    """Two chronic conditions, consent to the billing practitioner, a care plan."""
    ChronicCondition.objects.create(patient=patient, icd10="E11.9", onset=dt.date(2019, 5, 1))
    ChronicCondition.objects.create(patient=patient, icd10="I50.22", onset=dt.date(2021, 2, 1))
    Consent.objects.create(patient=patient, date=since, method="verbal",
                           billing_practitioner=patient.billing_practitioner)
    CarePlan.objects.create(patient=patient, version=1, established=since,
                            problems="DM2, CHF", goals="A1c < 8", interventions="calls")
    from patients.models import Visit

    Visit.objects.create(patient=patient, date=since, code="99214", ccm_discussed=True)
    return patient


@pytest.fixture
def make_patient(practice: Practice, practitioner: User) -> Callable[..., Patient]:
    def make(eligible: bool = True, **fields: object) -> Patient:
        fields.setdefault("practice", practice)
        fields.setdefault("billing_practitioner", practitioner)
        patient = PatientFactory(**fields)
        return make_eligible(patient) if eligible else patient

    return make


@pytest.fixture
def patient(make_patient: Callable[..., Patient]) -> Patient:
    return make_patient()
