"""URLs of the claims (interface.md, "Claims out and audit"): the 837P and FHIR exports,
a claim's audit packet, the month's packets as a ZIP, and their pages."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from billing.claims import api, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/worklist/export/837p/", api.Export837pApi.as_view(), name="api-worklist-export-837p"),
    path("api/worklist/export/fhir/", api.ExportFhirApi.as_view(), name="api-worklist-export-fhir"),
    path("api/worklist/<int:pk>/packet/", api.PacketApi.as_view(), name="api-worklist-packet"),
    path(
        "api/billing-months/<str:month>/packets.zip",
        api.PacketsZipApi.as_view(),
        name="api-billing-month-packets",
    ),
    path("billing/months/<str:month>/packets/", views.month_packets, name="month-packets"),
]
