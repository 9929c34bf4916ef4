"""URLs of the timelog app: the time-entry API (interface.md) and the time pages."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from timelog import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/time-entries/", api.TimeEntryListApi.as_view(), name="api-time-entries"),
    path("api/time-entries/<int:pk>/", api.TimeEntryDetailApi.as_view(), name="api-time-entry"),
]
