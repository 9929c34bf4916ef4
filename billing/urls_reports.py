"""URLs of the practice reports (billing staff and admins)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from billing.reports import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("billing/reports/", views.reports, name="reports"),
    path("billing/reports/revenue.csv", views.revenue_csv, name="report-revenue-csv"),
    path("billing/reports/minutes.csv", views.minutes_csv, name="report-minutes-csv"),
    path("billing/reports/missed.csv", views.missed_csv, name="report-missed-csv"),
]
