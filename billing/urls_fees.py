"""URLs of the fee schedule: its API and the admin's page."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from billing import api, fee_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/fee-schedule/", api.FeeScheduleApi.as_view(), name="api-fee-schedule"),
    path(
        "api/fee-schedule/import/",
        api.FeeScheduleImportApi.as_view(),
        name="api-fee-schedule-import",
    ),
    path("fees/", fee_views.fee_schedule_page, name="fee-schedule"),
]
