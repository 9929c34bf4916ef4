"""URLs of the month close and the worklist API (interface.md), and MDM attestation."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from billing import api

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "api/patients/<int:pk>/months/<str:month>/mdm/",
        api.MdmAttestApi.as_view(),
        name="api-mdm-attest",
    ),
    path(
        "api/billing-months/<str:month>/", api.BillingMonthApi.as_view(), name="api-billing-month"
    ),
    path(
        "api/billing-months/<str:month>/close/",
        api.BillingMonthCloseApi.as_view(),
        name="api-billing-month-close",
    ),
    path(
        "api/billing-months/<str:month>/reopen/",
        api.BillingMonthReopenApi.as_view(),
        name="api-billing-month-reopen",
    ),
    path("api/worklist/", api.WorklistApi.as_view(), name="api-worklist"),
    path("api/worklist/export/", api.WorklistExportApi.as_view(), name="api-worklist-export"),
    path(
        "api/worklist/bulk-status/",
        api.WorklistBulkStatusApi.as_view(),
        name="api-worklist-bulk-status",
    ),
    path("api/worklist/<int:pk>/", api.WorklistRowApi.as_view(), name="api-worklist-row"),
]
