"""URLs of the timelog app: the time-entry API (interface.md) and the time pages."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from timelog import api, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/time-entries/", api.TimeEntryListApi.as_view(), name="api-time-entries"),
    path("api/time-entries/<int:pk>/", api.TimeEntryDetailApi.as_view(), name="api-time-entry"),
    path("time/log/", views.log_time, name="log-time"),
    path("time/mine/", views.my_entries, name="my-entries"),
    path("time/mine/<int:pk>/edit/", views.my_entry_edit, name="my-entry-edit"),
    path("time/mine/<int:pk>/delete/", views.my_entry_delete, name="my-entry-delete"),
]
