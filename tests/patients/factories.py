"""factory_boy factories of the patients app (the patient itself: tests.factories)."""

from __future__ import annotations

import datetime as dt

import factory

from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Visit,
)
from tests.factories import PatientFactory

__all__ = [
    "CarePlanFactory",
    "ChronicConditionFactory",
    "ConsentFactory",
    "InpatientStayFactory",
    "OtherServiceFactory",
    "PatientFactory",
    "VisitFactory",
]


class ChronicConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChronicCondition

    patient = factory.SubFactory(PatientFactory)
    icd10 = "E11.9"
    description = "Type 2 diabetes mellitus without complications"
    onset = dt.date(2019, 5, 1)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    patient = factory.SubFactory(PatientFactory)
    date = dt.date(2026, 1, 10)
    method = Consent.Method.VERBAL
    billing_practitioner = factory.SelfAttribute("patient.billing_practitioner")


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    patient = factory.SubFactory(PatientFactory)
    date = dt.date(2026, 1, 10)
    code = "99214"
    ccm_discussed = True


class CarePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarePlan

    patient = factory.SubFactory(PatientFactory)
    version = 1
    established = dt.date(2026, 1, 10)
    problems = "Type 2 diabetes; heart failure"
    goals = "HbA1c under 7.5"
    interventions = "Monthly call; medication review"


class OtherServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OtherService

    patient = factory.SubFactory(PatientFactory)
    code = "G0182"
    date = dt.date(2026, 3, 2)


class InpatientStayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InpatientStay

    patient = factory.SubFactory(PatientFactory)
    admitted = dt.date(2026, 3, 12)
    discharged = dt.date(2026, 3, 15)
