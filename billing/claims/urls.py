"""URLs of the claims: the 837P and FHIR exports, packets (interface.md)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from billing.claims import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/worklist/export/837p/", api.Export837pApi.as_view(), name="api-worklist-export-837p"),
    path("api/worklist/export/fhir/", api.ExportFhirApi.as_view(), name="api-worklist-export-fhir"),
]
