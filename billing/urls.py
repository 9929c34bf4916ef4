"""URLs of the billing app: pages at the root, the API under api/ (interface.md)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
