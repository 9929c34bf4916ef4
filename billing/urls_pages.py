"""URLs of the billing staff's and the practitioner's pages: the MDM queue, the month
dashboard and its actions, the worklist, and services billed elsewhere."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from billing import views_billing

urlpatterns: list[URLPattern | URLResolver] = [
    path("billing/", views_billing.billing_dashboard, name="billing-dashboard"),
    path(
        "billing/months/<str:month>/close/",
        views_billing.billing_month_close,
        name="billing-month-close",
    ),
    path(
        "billing/months/<str:month>/reopen/",
        views_billing.billing_month_reopen,
        name="billing-month-reopen",
    ),
    path("billing/mdm-queue/", views_billing.mdm_queue, name="mdm-queue"),
    path("billing/mdm-queue/attest/", views_billing.mdm_queue_attest, name="mdm-queue-attest"),
    path("billing/worklist/", views_billing.worklist, name="worklist"),
    path(
        "billing/worklist/bulk-status/",
        views_billing.worklist_bulk_status,
        name="worklist-bulk-status",
    ),
    path(
        "billing/worklist/<int:pk>/status/",
        views_billing.worklist_row_status,
        name="worklist-row-status",
    ),
    path(
        "billing/other-services/new/",
        views_billing.other_service_add,
        name="other-service-add",
    ),
]
