"""The product's URLs plus the bare insert the time-entry POST is compared with."""

from __future__ import annotations

from django.urls import include, path

from bench.bare import bare_time_entry

urlpatterns = [
    path("bench/bare-time-entry/", bare_time_entry, name="bench-bare-time-entry"),
    path("", include("ccm.urls")),
]
