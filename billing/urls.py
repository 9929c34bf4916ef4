"""URLs of the billing app: the engine's API, live patient-month decisions, fee schedules,
and the pages that show decisions to the care team (my patients, a patient's month)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from billing import api, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/billing/evaluate/", api.EvaluateApi.as_view(), name="api-evaluate"),
    path(
        "api/patients/<int:pk>/months/<str:month>/",
        api.PatientMonthApi.as_view(),
        name="api-patient-month",
    ),
    path("my-patients/", views.my_patients, name="my-patients"),
    path("patients/<int:pk>/months/<str:month>/", views.patient_month, name="patient-month"),
]
